//! `shengshi audit verify` and `shengshi audit key` as an operator runs them,
//! on both backends: a demo installation where residents registered and
//! looked at their accounts verifies; an entry edited beneath the store is
//! named and the command fails.

mod common;

use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb};
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shengshi"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SHENGSHI_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn audit_with(db: &TestDb, data_dir: &std::path::Path, args: &[&str]) -> Output {
    bin()
        .arg("audit")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--database-url", db.url()])
        .output()
        .expect("the binary runs")
}

fn audit(db: &TestDb, data_dir: &std::path::Path, what: &str) -> Output {
    audit_with(db, data_dir, &[what])
}

async fn the_access_log_of_a_used_installation_verifies_and_edits_are_named(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";
    register(&app, 0, phone).await; // a registry check: one access
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let page = app
        .client
        .get(app.url("/account"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200); // the resident's own profile: another
    let (status, _, _) = call(&app, Method::GET, "/api/v1/me", Some(&sid), None).await;
    assert_eq!(status, 200);
    let data_dir = app.data_dir.clone();
    let db = app.stop().await;

    let key = audit(&db, &data_dir, "key");
    assert!(key.status.success(), "{key:?}");
    let vkey = String::from_utf8(key.stdout).unwrap();
    assert!(vkey.starts_with("shengshi.access-log/"), "{vkey}");
    shengshi_tlog::NoteVerifier::from_vkey(vkey.trim()).expect("a C2SP verifier key");

    let verified = audit(&db, &data_dir, "verify");
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{verified:?}");
    assert!(
        stdout.contains("access log verified: 2 entries"),
        "{stdout}"
    );

    // An independent witness, run with the same binary elsewhere.
    let witness_dir = tempfile::tempdir().unwrap();
    let key_file = witness_dir.path().join("witness.key");
    let init = bin()
        .args([
            "witness",
            "init",
            "--name",
            "audit.example/witness",
            "--key-file",
        ])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let witness_vkey = String::from_utf8(init.stdout).unwrap().trim().to_owned();
    let mut server = bin()
        .args([
            "witness",
            "serve",
            "--name",
            "audit.example/witness",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--key-file")
        .arg(&key_file)
        .arg("--state-file")
        .arg(witness_dir.path().join("state.json"))
        .args(["--log", vkey.trim()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split("listening on ")
        .nth(1)
        .expect("the witness says where it listens")
        .trim()
        .to_owned();
    let unwitnessed = audit_with(&db, &data_dir, &["verify", "--witness", &witness_vkey]);
    assert!(!unwitnessed.status.success());
    assert!(
        String::from_utf8_lossy(&unwitnessed.stderr)
            .contains("no checkpoint carries a cosignature"),
        "{unwitnessed:?}"
    );
    let cosigned = audit_with(
        &db,
        &data_dir,
        &["cosign", "--witness-url", &url, "--witness", &witness_vkey],
    );
    assert!(cosigned.status.success(), "{cosigned:?}");
    let witnessed = audit_with(&db, &data_dir, &["verify", "--witness", &witness_vkey]);
    assert!(witnessed.status.success(), "{witnessed:?}");
    assert!(
        String::from_utf8_lossy(&witnessed.stdout)
            .contains("witness audit.example/witness cosigned the first 2 entries"),
        "{witnessed:?}"
    );
    let _ = server.kill();
    let _ = server.wait();

    // An insider edits the purpose of entry 1 beneath the store.
    let (drop, edit) = match backend {
        Backend::Sqlite => (
            "DROP TRIGGER access_log_no_update",
            "UPDATE access_log SET entry = CAST(replace(CAST(entry AS TEXT), 'own_account', 'registration_check') AS BLOB) WHERE leaf_index = 1",
        ),
        Backend::Postgres => (
            "ALTER TABLE access_log DISABLE TRIGGER USER",
            "UPDATE access_log SET entry = convert_to(replace(convert_from(entry, 'UTF8'), 'own_account', 'registration_check'), 'UTF8') WHERE leaf_index = 1",
        ),
    };
    db.exec(drop).await.unwrap();
    assert_eq!(db.exec(edit).await.unwrap(), 1);
    let refused = audit(&db, &data_dir, "verify");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("entry 1: its bytes do not match its leaf hash"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

tests_on_both_backends!(the_access_log_of_a_used_installation_verifies_and_edits_are_named);
