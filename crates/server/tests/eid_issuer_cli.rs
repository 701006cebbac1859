//! The production way to a working e-ID issuer, as an operator runs it, on
//! both backends: create the offline trust root on "another machine", create
//! an issuer key, export the unsigned trust list, sign it offline, publish
//! it; then `eid present` mints a code that verifies under that root. A list
//! signed by any other root is refused and changes nothing.

mod common;

use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb};
use std::path::Path;
use std::process::{Command, Output};

tests_on_both_backends!(an_operator_sets_up_the_issuer_with_an_offline_root);

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shengshi"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SHENGSHI_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

/// `shengshi --config C eid <args…> --data-dir D --database-url U`, with the
/// database arguments where the command takes them.
fn on_installation(config: &Path, db: &TestDb, data_dir: &Path, args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.arg("--config").arg(config).arg("eid");
    let (head, tail) = args.split_at(1);
    cmd.args(head)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--database-url", db.url()])
        .args(tail);
    run(&mut cmd)
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn an_operator_sets_up_the_issuer_with_an_offline_root(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345801";
    register(&app, 0, phone).await;
    let (_, id_number) = app.demo.as_ref().unwrap().examples[0].clone();
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let (status, _, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);
    let data_dir = app.data_dir.clone();
    let db = app.stop().await;

    // The offline machine: a trust root, never on the server.
    let offline = tempfile::tempdir().unwrap();
    let root_key = offline.path().join("root.key");
    let init = run(bin()
        .args(["eid", "trust-root", "init", "--out"])
        .arg(&root_key));
    assert!(init.status.success(), "{}", text(&init));
    let root_public = String::from_utf8(init.stdout).unwrap().trim().to_owned();
    let root_file = offline.path().join("root.pub");
    std::fs::write(&root_file, &root_public).unwrap();

    let config = data_dir.join("shengshi.toml");
    std::fs::write(&config, format!("[eid]\ntrust_root = {root_public:?}\n")).unwrap();

    // Until a list this root signed is published, nothing signs.
    let refused = on_installation(
        &config,
        &db,
        &data_dir,
        &[
            "present",
            "--resident",
            &id_number,
            "--purpose",
            "hotel_checkin",
        ],
    );
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("not available yet"),
        "{}",
        text(&refused)
    );

    let created = on_installation(
        &config,
        &db,
        &data_dir,
        &["issuer", "create-key", "--algorithm", "p256"],
    );
    assert!(created.status.success(), "{}", text(&created));
    let unsigned = offline.path().join("list.json");
    let exported = on_installation(
        &config,
        &db,
        &data_dir,
        &[
            "issuer",
            "export-trust-list",
            "--out",
            unsigned.to_str().unwrap(),
        ],
    );
    assert!(exported.status.success(), "{}", text(&exported));

    // A list signed by some other root is refused.
    let other_key = offline.path().join("other.key");
    assert!(run(bin()
        .args(["eid", "trust-root", "init", "--out"])
        .arg(&other_key))
    .status
    .success());
    let forged = offline.path().join("forged.cose");
    let signed = run(bin()
        .args(["eid", "trust-list", "sign", "--root-key"])
        .arg(&other_key)
        .arg("--in")
        .arg(&unsigned)
        .arg("--out")
        .arg(&forged));
    assert!(signed.status.success(), "{}", text(&signed));
    let refused = on_installation(
        &config,
        &db,
        &data_dir,
        &[
            "issuer",
            "publish-trust-list",
            "--in",
            forged.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success(), "{}", text(&refused));

    // Signed by the real root on the offline machine, then published.
    let good = offline.path().join("list.cose");
    let signed = run(bin()
        .args(["eid", "trust-list", "sign", "--root-key"])
        .arg(&root_key)
        .arg("--in")
        .arg(&unsigned)
        .arg("--out")
        .arg(&good));
    assert!(signed.status.success(), "{}", text(&signed));
    let published = on_installation(
        &config,
        &db,
        &data_dir,
        &[
            "issuer",
            "publish-trust-list",
            "--in",
            good.to_str().unwrap(),
        ],
    );
    assert!(published.status.success(), "{}", text(&published));

    let presented = on_installation(
        &config,
        &db,
        &data_dir,
        &[
            "present",
            "--resident",
            &id_number,
            "--purpose",
            "hotel_checkin",
        ],
    );
    assert!(presented.status.success(), "{}", text(&presented));
    let code = String::from_utf8(presented.stdout)
        .unwrap()
        .trim()
        .to_owned();
    assert!(code.starts_with("SS1:"), "{code}");

    // Verified offline under the root. With no status list the answer is
    // "status unknown" (exit 2), reached only after every other check passed.
    let verified = run(bin()
        .args(["eid", "verify", &code, "--trust-list"])
        .arg(&good)
        .arg("--trust-root")
        .arg(&root_file)
        .args(["--purpose", "hotel_checkin"]));
    assert_eq!(verified.status.code(), Some(2), "{}", text(&verified));
    let json: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(json["code"], "status_unknown", "{json}");
    assert_eq!(json["presentation"]["algorithm"], "ES256", "{json}");
}
