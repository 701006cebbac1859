//! `shengshi audit verify` and `shengshi audit key` as an operator runs them,
//! on both backends: a demo installation where residents registered and
//! looked at their accounts verifies; an entry edited beneath the store is
//! named and the command fails.

mod common;

use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb};
use std::process::{Command, Output};

fn audit(db: &TestDb, data_dir: &std::path::Path, what: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shengshi"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SHENGSHI_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(["audit", what, "--data-dir"])
        .arg(data_dir)
        .args(["--database-url", db.url()])
        .output()
        .expect("the binary runs")
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
