//! The real server with its key-encryption key in a KMS: the fake Vault Transit
//! server, spoken to over HTTP exactly as a real Vault or OpenBao would be.

use secrecy::{ExposeSecret, SecretString};
use shengshi::config::KmsConfig;
use shengshi_kms::FakeVaultTransit;
use shengshi_test_support::{spawn_app_with, try_spawn_app_with, AppOptions, Refused, TestDb};
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

fn with_kms(kms: KmsConfig) -> AppOptions {
    AppOptions {
        kms: Some(kms),
        ..AppOptions::default()
    }
}

async fn refused(db: TestDb, kms: KmsConfig) -> Refused {
    match try_spawn_app_with(db, with_kms(kms)).await {
        Ok(_) => panic!("start-up should have been refused"),
        Err(refused) => refused,
    }
}

/// Nothing was written: no migration ran.
async fn assert_untouched(db: &TestDb) {
    let err = db
        .exec("SELECT 1 FROM _sqlx_migrations")
        .await
        .expect_err("no migrations before the KMS is proven");
    assert!(err.contains("no such table"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_its_kek_in_the_kms_and_refuses_another_transit_key() {
    let vault = FakeVaultTransit::start()
        .await
        .expect("the fake Vault starts");
    vault.create_key("shengshi-kek");
    vault.create_key("another-key");
    let db = TestDb::sqlite();
    let right = kms(&vault, "shengshi-kek", db.dir());
    let wrong = kms(&vault, "another-key", db.dir());

    let app = spawn_app_with(db, with_kms(right.clone())).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert!(vault.requests() > 0, "start-up asked the KMS");
    assert!(
        !app.data_dir.join("kek.key").exists(),
        "no key file is created when the key is in the KMS"
    );
    let db = app.stop().await;

    // A restart with the same transit key checks the stored check value through the KMS.
    let app = spawn_app_with(db, with_kms(right)).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let db = app.stop().await;

    let message = refused(db, wrong).await.message;
    assert!(
        message.contains("the key-encryption key is wrong"),
        "{message}"
    );
    assert!(
        message.contains("vault:transit/shengshi-kek")
            && message.contains("vault:transit/another-key"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_stops_before_writing_when_the_kms_is_unusable() {
    let vault = FakeVaultTransit::start()
        .await
        .expect("the fake Vault starts");
    vault.create_key_without_derivation("not-derived");
    vault.create_key("shengshi-kek");
    let db = TestDb::sqlite();
    let settings = kms(&vault, "not-derived", db.dir());

    let refused_key = refused(db, settings.clone()).await;
    assert!(
        refused_key.message.contains("derived=true"),
        "{}",
        refused_key.message
    );
    assert_untouched(&refused_key.db).await;

    let bad_token = KmsConfig {
        key: "shengshi-kek".to_owned(),
        token: SecretString::from("s.not-the-token"),
        ..settings
    };
    let refused_token = refused(refused_key.db, bad_token).await;
    let message = &refused_token.message;
    assert!(message.contains("token was refused"), "{message}");
    assert!(!message.contains("s.not-the-token"), "{message}");
    assert_untouched(&refused_token.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kms_outage_at_restart_is_named_as_such_not_as_an_altered_key() {
    let vault = FakeVaultTransit::start()
        .await
        .expect("the fake Vault starts");
    vault.create_key("shengshi-kek");
    let db = TestDb::sqlite();
    let settings = kms(&vault, "shengshi-kek", db.dir());
    let db = spawn_app_with(db, with_kms(settings.clone()))
        .await
        .stop()
        .await;

    vault.fail_next(usize::MAX);
    let message = refused(db, settings).await.message;
    assert!(message.contains("HTTP 503: Vault is sealed"), "{message}");
    assert!(!message.contains("altered"), "{message}");
}
