//! The `shengshi` binary as operators run it: start-up refusals, signals,
//! logs, configuration output, and export/import between backends.

use shengshi_test_support::{Backend, TestDb};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn shengshi(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shengshi"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("SHENGSHI_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Asserts a refused start: non-zero exit, one line on stderr naming the problem, no panic.
fn assert_refused(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should have failed: {stderr}");
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected:\n{stderr}");
    assert!(
        errors[0].contains(expected),
        "expected {expected:?} in {:?}",
        errors[0]
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A running `shengshi serve`, killed on drop.
struct Server {
    child: Child,
    origin: String,
}

impl Server {
    fn start(mut cmd: Command) -> Server {
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shengshi");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(at) = line.find("http://localhost:") {
                    let _ = tx.send(line[at..].trim().to_owned());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(origin) => Server { child, origin },
            Err(_) => {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                panic!(
                    "server did not start: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
    }

    fn get(&self, path: &str) -> String {
        let url = format!("{}{path}", self.origin);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
        })
        .join()
        .unwrap()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(mut self) -> Output {
        let mut child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        let _ = child.stdout.take();
        child.wait_with_output().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn zero_configuration_serves_on_sqlite_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shengshi(dir.path());
    cmd.args(["serve", "--demo"])
        .env("SHENGSHI_LOG_FORMAT", "json");
    let server = Server::start(cmd);
    assert!(
        server.origin.starts_with("http://localhost:"),
        "a name, not an IP: {}",
        server.origin
    );
    assert!(server.get("/healthz").contains("ok"));
    assert!(server.get("/readyz").contains("ok"));
    assert!(
        dir.path().join("shengshi-data/shengshi.db").exists(),
        "SQLite in the default data directory"
    );
    server.signal("-TERM");
    let output = server.wait();
    assert!(output.status.success(), "graceful exit: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // JSON logs: every line parses, and request lines carry the request ID.
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    let request_lines: Vec<_> = lines
        .iter()
        .filter(|l| l["span"]["request_id"].is_string())
        .collect();
    assert!(request_lines.len() >= 2, "{stderr}");
    assert!(stderr.contains("shutdown signal received"));
}

#[test]
fn a_malformed_config_file_stops_start_up_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "listen = 8080\n").unwrap();
    let output = shengshi(dir.path())
        .args(["--config", "bad.toml", "serve"])
        .output()
        .unwrap();
    assert_refused(&output, "config file bad.toml, line 1");
    assert!(!dir.path().join("shengshi-data").exists());
}

#[test]
fn an_unknown_option_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = shengshi(dir.path())
        .args(["serve", "--dmeo"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--dmeo"));
    assert!(!dir.path().join("shengshi-data").exists());
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = shengshi(dir.path())
        .args([
            "serve",
            "--database-url",
            "postgres://shengshi:hunter2@127.0.0.1:1/shengshi",
        ])
        .output()
        .unwrap();
    assert_refused(
        &output,
        "cannot reach the database at postgres://shengshi:***@127.0.0.1:1/shengshi",
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("hunter2"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("hunter2"));
}

#[test]
fn a_port_in_use_stops_start_up_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = shengshi(dir.path())
        .args(["serve", "--listen", &address])
        .output()
        .unwrap();
    assert_refused(&output, "already in use");
    assert!(!dir.path().join("shengshi-data").exists());
}

#[test]
fn an_unwritable_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-file"), "").unwrap();
    let output = shengshi(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "a-file/data",
        ])
        .output()
        .unwrap();
    assert_refused(&output, "cannot create the data directory a-file/data");
}

#[test]
fn production_refuses_unsafe_settings() {
    let dir = tempfile::tempdir().unwrap();
    let output = shengshi(dir.path())
        .args(["serve"])
        .env("SHENGSHI_MODE", "production")
        .output()
        .unwrap();
    assert_refused(&output, "explicit public origin");
    let output = shengshi(dir.path())
        .args(["serve", "--demo"])
        .env("SHENGSHI_MODE", "production")
        .env("SHENGSHI_PUBLIC_ORIGIN", "https://shengshi.example.gov.cn")
        .output()
        .unwrap();
    assert_refused(&output, "refuses demo data");
    assert!(!dir.path().join("shengshi-data").exists());
}

fn run_once(dir: &Path, extra: &[&str]) -> Output {
    let mut cmd = shengshi(dir);
    cmd.arg("serve").args(extra);
    let server = Server::start(cmd);
    server.signal("-TERM");
    server.wait()
}

#[test]
fn a_missing_or_wrong_key_encryption_key_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run_once(dir.path(), &[]).status.success());
    let kek = dir.path().join("shengshi-data/kek.key");
    let original = std::fs::read(&kek).unwrap();

    std::fs::remove_file(&kek).unwrap();
    let output = shengshi(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_refused(&output, "does not exist");
    assert!(
        !kek.exists(),
        "an existing installation never gets a new key silently"
    );

    let other = dir.path().join("other.key");
    assert!(shengshi(dir.path())
        .args(["keys", "init", "--kek-file", "other.key"])
        .output()
        .unwrap()
        .status
        .success());
    std::fs::copy(&other, &kek).unwrap();
    let output = shengshi(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_refused(&output, "the key-encryption key is wrong");

    std::fs::write(&kek, original).unwrap();
    assert!(
        run_once(dir.path(), &[]).status.success(),
        "the right key starts it again"
    );
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run_once(dir.path(), &[]).status.success());
    let url = format!(
        "sqlite://{}",
        dir.path().join("shengshi-data/shengshi.db").display()
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99990101000000, 'future', 1, x'00', 1)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let output = shengshi(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_refused(&output, "migrated by a newer version");
    let output = shengshi(dir.path()).args(["migrate"]).output().unwrap();
    assert_refused(&output, "migrated by a newer version");
}

#[test]
fn a_kill_minus_9_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shengshi(dir.path());
    cmd.arg("serve");
    let server = Server::start(cmd);
    assert!(server.get("/readyz").contains("ok"));
    server.signal("-KILL");
    drop(server);
    // The enrolment and start-up events were acknowledged before "listening" was printed.
    let export = shengshi(dir.path())
        .args(["export", "--out", "dump.jsonl"])
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("dump.jsonl")).unwrap();
    assert!(
        text.contains("key_encryption_key_enrolled") && text.contains("server_started"),
        "{text}"
    );
    assert!(
        run_once(dir.path(), &[]).status.success(),
        "and the installation starts again"
    );
}

#[test]
fn config_show_prints_the_effective_configuration_redacted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("url"),
        "postgres://shengshi:hunter2@db.internal:5432/shengshi\n",
    )
    .unwrap();
    let output = shengshi(dir.path())
        .args(["config", "show"])
        .env("SHENGSHI_DATABASE_URL_FILE", "url")
        .env("SHENGSHI_LISTEN", "127.0.0.1:9999")
        .env("SHENGSHI_LISTN", "typo")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(r#"listen = "127.0.0.1:9999""#), "{stdout}");
    assert!(
        stdout.contains("postgres://shengshi:***@db.internal:5432/shengshi"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("SHENGSHI_LISTN"),
        "unknown variables are warned about"
    );
}

#[test]
fn export_and_import_move_an_installation_between_backends() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(pg) = rt.block_on(TestDb::new(Backend::Postgres)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    assert!(run_once(dir.path(), &["--demo"]).status.success());
    let ok = |output: Output| {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    ok(shengshi(dir.path())
        .args(["export", "--out", "sqlite.jsonl"])
        .output()
        .unwrap());
    ok(shengshi(dir.path())
        .args(["import", "sqlite.jsonl", "--database-url", pg.url()])
        .output()
        .unwrap());
    ok(shengshi(dir.path())
        .args(["export", "--out", "pg.jsonl", "--database-url", pg.url()])
        .output()
        .unwrap());
    let records = |file: &str| -> Vec<String> {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        text.lines().skip(1).map(str::to_owned).collect()
    };
    let from_sqlite = records("sqlite.jsonl");
    let from_pg = records("pg.jsonl");
    // PostgreSQL holds everything SQLite held, plus the import's own security event
    // (which sorts among the events, before the data keys) and a trailer counting it.
    let moved = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| !l.contains("installation_imported") && !l.contains(r#""record":"end""#))
            .cloned()
            .collect()
    };
    assert_eq!(moved(&from_pg), moved(&from_sqlite));
    assert!(from_pg.iter().any(|l| l.contains("installation_imported")));

    // The moved installation serves on PostgreSQL with the original key.
    let mut cmd = shengshi(dir.path());
    cmd.args(["serve", "--database-url", pg.url()])
        .env("SHENGSHI_KEK_FILE", "shengshi-data/kek.key");
    let server = Server::start(cmd);
    assert!(server
        .get("/api/v1/status")
        .contains(r#""database":"postgres""#));
    assert!(server.get("/readyz").contains("ok"));
    drop(server);

    // And back to SQLite.
    ok(shengshi(dir.path())
        .args(["import", "pg.jsonl", "--data-dir", "back"])
        .output()
        .unwrap());
    ok(shengshi(dir.path())
        .args(["export", "--out", "back.jsonl", "--data-dir", "back"])
        .output()
        .unwrap());
    let back = records("back.jsonl");
    // SQLite holds everything PostgreSQL held, in order, plus security events of
    // its own (the server's start on PostgreSQL, the import), which sort among
    // the events, before the data keys.
    let held: std::collections::HashSet<&String> = from_pg[..from_pg.len() - 1].iter().collect();
    let (same, extra): (Vec<&String>, Vec<&String>) = back[..back.len() - 1]
        .iter()
        .partition(|l| held.contains(l));
    assert_eq!(
        same,
        from_pg[..from_pg.len() - 1].iter().collect::<Vec<_>>()
    );
    assert!(
        extra
            .iter()
            .all(|l| l.contains(r#""record":"security_event""#)),
        "{extra:?}"
    );
}

#[test]
fn staff_add_reads_the_password_from_stdin_and_refuses_weak_ones_and_duplicates() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    assert!(run_once(dir.path(), &[]).status.success());
    let add = |username: &str, password: &str| -> Output {
        let mut child = shengshi(dir.path())
            .args([
                "staff",
                "add",
                "--username",
                username,
                "--name",
                "李伟",
                "--department",
                "civil_affairs",
                "--role",
                "clerk",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{password}").unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    };
    let added = add("Li.Wei", "Correct-horse-42");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(
        stdout.starts_with("otpauth://totp/Shengshi:li.wei?secret="),
        "{stdout}"
    );
    assert!(stdout.contains("&issuer=Shengshi"), "{stdout}");
    assert!(!String::from_utf8_lossy(&added.stderr).contains("Correct-horse-42"));

    assert_refused(&add("li.wei", "Correct-horse-42"), "already taken");
    assert_refused(&add("zhang.min", "short1A"), "weak password");
    assert_refused(&add("zhang.min", "onlylowercaseletters"), "weak password");
}

#[test]
fn keys_rotate_moves_the_installation_to_a_new_key_and_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run_once(dir.path(), &["--demo"]).status.success());
    let init = shengshi(dir.path())
        .args(["keys", "init", "--kek-file", "new.key"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let rotate = shengshi(dir.path())
        .args(["keys", "rotate", "--new-kek-file", "new.key"])
        .output()
        .unwrap();
    assert!(
        rotate.status.success(),
        "{}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    assert!(String::from_utf8_lossy(&rotate.stdout).contains("re-wrapped"));

    // The old key no longer opens the installation; the new one does.
    let old = shengshi(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_refused(&old, "the key-encryption key is wrong");
    let mut cmd = shengshi(dir.path());
    cmd.arg("serve").env("SHENGSHI_KEK_FILE", "new.key");
    let server = Server::start(cmd);
    assert!(server.get("/readyz").contains("ok"));
    drop(server);

    let export = shengshi(dir.path())
        .args(["export", "--out", "after.jsonl"])
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("after.jsonl")).unwrap();
    assert!(
        text.contains("key_encryption_key_rotated"),
        "the rotation is in the security log"
    );
}

#[test]
fn keys_rotate_killed_half_way_resumes_and_the_servers_need_both_keys_until_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run_once(dir.path(), &["--demo"]).status.success());
    let init = shengshi(dir.path())
        .args(["keys", "init", "--kek-file", "new.key"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let both = |cmd: &mut Command| {
        cmd.env("SHENGSHI_KEK_FILE", "new.key")
            .env("SHENGSHI_PREVIOUS_KEK_FILES", "shengshi-data/kek.key");
    };

    // kill -9 in the middle of a rotation, one key per transaction.
    let mut rotate = shengshi(dir.path());
    both(&mut rotate);
    let mut child = rotate
        .args(["keys", "rotate", "--batch-size", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "10,000 keys one per transaction take longer than that"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // Half-way, the new key alone is refused (the installation still names
    // the old one); both keys serve.
    let output = shengshi(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SHENGSHI_KEK_FILE", "new.key")
        .output()
        .unwrap();
    assert_refused(&output, "the key-encryption key is wrong");
    let mut serve = shengshi(dir.path());
    both(&mut serve);
    serve.arg("serve");
    let server = Server::start(serve);
    assert!(server.get("/readyz").contains("ok"));

    // Resumed while that server serves, it finishes.
    let mut again = shengshi(dir.path());
    both(&mut again);
    let finished = again.args(["keys", "rotate"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&finished.stdout);
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    assert!(
        stdout.contains("the installation's key is now local:"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("(0 already under it"),
        "it resumed: {stdout}"
    );
    assert!(server.get("/readyz").contains("ok"));
    drop(server);

    // The old key can go.
    let mut cmd = shengshi(dir.path());
    cmd.arg("serve").env("SHENGSHI_KEK_FILE", "new.key");
    let server = Server::start(cmd);
    assert!(server.get("/readyz").contains("ok"));
}
