//! Rotating from one transit key to another in the same KMS while serving:
//! `kms_key` is the new key, `previous_kms_keys` the old one.

use secrecy::ExposeSecret;
use shengshi::config::KmsConfig;
use shengshi::Config;
use shengshi_kms::FakeVaultTransit;
use shengshi_test_support::{spawn_app_with, try_spawn_app_with, AppOptions, TestDb};
use std::path::Path;

fn kms(vault: &FakeVaultTransit, key: &str, dir: &Path) -> KmsConfig {
    let token_file = dir.join("kms-token");
    std::fs::write(&token_file, vault.token().expose_secret()).expect("write the token file");
    KmsConfig {
        url: vault.url().clone(),
        mount: vault.mount().to_owned(),
        key: key.to_owned(),
        token: vault.token(),
        token_file,
        ca_file: None,
    }
}

fn options(kms: &KmsConfig, previous: &[&str]) -> AppOptions {
    AppOptions {
        kms: Some(kms.clone()),
        previous_kms_keys: previous.iter().map(|k| (*k).to_owned()).collect(),
        ..AppOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_moves_everything_to_another_transit_key_while_serving() {
    let vault = FakeVaultTransit::start()
        .await
        .expect("the fake Vault starts");
    vault.create_key("kek-2026");
    vault.create_key("kek-2027");
    let db = TestDb::sqlite();
    let old = kms(&vault, "kek-2026", db.dir());
    let new = kms(&vault, "kek-2027", db.dir());

    let app = spawn_app_with(db, options(&old, &[])).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let db = app.stop().await;

    // Both keys: the server starts on the installation that names the old one.
    let app = spawn_app_with(db, options(&new, &["kek-2026"])).await;
    let config = Config {
        data_dir: app.data_dir.clone(),
        database_url: Some(shengshi::config::DatabaseUrl::new(app.db.url().to_owned())),
        kms: Some(new.clone()),
        previous_kms_keys: vec!["kek-2026".into()],
        ..Config::default()
    };
    let rotated = shengshi::keys_cli::rotate(&config, None, 100, None)
        .await
        .unwrap();
    assert_eq!(
        (rotated.from.as_str(), rotated.to.as_str()),
        ("vault:transit/kek-2026", "vault:transit/kek-2027")
    );
    assert!(
        rotated.report.secrets_rewrapped >= 5,
        "{:?}",
        rotated.report
    );
    assert!(
        rotated.report.issuer_keys_rewrapped >= 1,
        "{:?}",
        rotated.report
    );
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(app.get("/.well-known/eid/trust-list").await.status(), 200);
    let db = app.stop().await;

    // The old transit key dropped: the new one alone starts it.
    let app = spawn_app_with(db, options(&new, &[])).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let db = app.stop().await;

    // The old one alone is refused, naming the key the installation needs.
    let message = match try_spawn_app_with(db, options(&old, &[])).await {
        Ok(_) => panic!("start-up should have been refused"),
        Err(refused) => refused.message,
    };
    assert!(
        message.contains("the key-encryption key is wrong")
            && message.contains("vault:transit/kek-2027"),
        "{message}"
    );
}
