//! Key rotation on the real server, on both backends: a rolling restart with
//! the new key as primary and the old one as a previous key, `keys rotate`
//! while residents keep using the platform, dropping the old key; and start-up
//! refusing a wrong or lost key-encryption key with a message that names the
//! key it needs, having written nothing.

mod common;

use common::{call, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use shengshi::Config;
use shengshi_envelope::{KeyEncryptionKey, LocalKek};
use shengshi_test_support::{
    spawn_app_with, tests_on_both_backends, try_spawn_app_with, AppOptions, Backend, TestApp,
    TestDb,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

tests_on_both_backends!(the_platform_serves_through_a_key_rotation_and_refuses_a_wrong_or_lost_key);

fn keys(kek_file: &Path, previous: &[&Path]) -> AppOptions {
    AppOptions {
        demo: true,
        kek_file: Some(kek_file.to_owned()),
        previous_kek_files: previous.iter().map(|p| p.to_path_buf()).collect(),
        ..Default::default()
    }
}

async fn me(app: &TestApp, sid: &str) -> u16 {
    call(app, Method::GET, "/api/v1/me", Some(sid), None)
        .await
        .0
}

/// The security events and the installation's key: what a refused start-up
/// must leave as it found them.
async fn state(db: &TestDb) -> (usize, String) {
    let store = db.store().await;
    let events = store.security_events(0, 1_000_000).await.unwrap().len();
    let kek = store.installation().await.unwrap().unwrap().kek_id;
    store.close().await;
    (events, kek)
}

async fn refused(db: TestDb, options: AppOptions) -> (String, TestDb) {
    match try_spawn_app_with(db, options).await {
        Ok(_) => panic!("start-up should have been refused"),
        Err(refused) => (refused.message, refused.db),
    }
}

async fn the_platform_serves_through_a_key_rotation_and_refuses_a_wrong_or_lost_key(
    backend: Backend,
) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let old: PathBuf = db.dir().join("old.kek");
    let new: PathBuf = db.dir().join("new.kek");
    let old_id = LocalKek::create(&old).unwrap().id().to_owned();
    let new_id = LocalKek::create(&new).unwrap().id().to_owned();

    let app = spawn_app_with(db, keys(&old, &[])).await;
    register(&app, 0, "13800138000").await;
    let (sid, _) = log_in(&app, "13800138000", CHROME_ON_ANDROID).await;
    assert_eq!(me(&app, &sid).await, 200);
    let db = app.stop().await;

    // 1. The rolling restart: the new key wraps, the old one still unwraps.
    let app = Arc::new(spawn_app_with(db, keys(&new, &[&old])).await);
    assert_eq!(me(&app, &sid).await, 200);
    let config = Config {
        data_dir: app.data_dir.clone(),
        database_url: Some(shengshi::config::DatabaseUrl::new(app.db.url().to_owned())),
        kek_file: Some(new.clone()),
        previous_kek_files: vec![old.clone()],
        ..Config::default()
    };

    // 2. The rotation, while a resident keeps reading their account and
    // another registers and logs in.
    let rotating = Arc::new(AtomicBool::new(true));
    let served_during = Arc::new(AtomicU64::new(0));
    let reader = {
        let (app, sid, rotating, served_during) = (
            app.clone(),
            sid.clone(),
            rotating.clone(),
            served_during.clone(),
        );
        tokio::spawn(async move {
            let mut failures = Vec::new();
            while rotating.load(Ordering::SeqCst) {
                let status = me(&app, &sid).await;
                if status != 200 {
                    failures.push(status);
                } else if rotating.load(Ordering::SeqCst) {
                    served_during.fetch_add(1, Ordering::SeqCst);
                }
            }
            failures
        })
    };
    let newcomer = {
        let app = app.clone();
        tokio::spawn(async move {
            register(&app, 1, "13900139000").await;
            log_in(&app, "13900139000", CHROME_ON_ANDROID).await.0
        })
    };
    let rotated = shengshi::keys_cli::rotate(&config, None, 200, None)
        .await
        .unwrap();
    let newcomer_sid = newcomer.await.unwrap();
    rotating.store(false, Ordering::SeqCst);
    let failures = reader.await.unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(
        served_during.load(Ordering::SeqCst) > 0,
        "the resident was served while the rotation ran"
    );
    assert_eq!(
        (rotated.from.as_str(), rotated.to.as_str()),
        (old_id.as_str(), new_id.as_str())
    );
    assert!(
        rotated.report.rewrapped > 1_000,
        "the demo registry's keys and the accounts': {:?}",
        rotated.report
    );
    assert_eq!(rotated.report.late, 0);
    assert_eq!(me(&app, &sid).await, 200);
    assert_eq!(me(&app, &newcomer_sid).await, 200);
    let app = Arc::into_inner(app).expect("no task holds the server");
    let db = app.stop().await;
    assert_eq!(state(&db).await.1, new_id);

    // 3. The old key dropped: the new one alone serves everyone.
    let app = spawn_app_with(db, keys(&new, &[])).await;
    assert_eq!(me(&app, &sid).await, 200);
    assert_eq!(me(&app, &newcomer_sid).await, 200);
    let db = app.stop().await;
    let before = state(&db).await;

    // 4. A wrong key: refused, naming the key it needs; nothing written.
    let (message, db) = refused(db, keys(&old, &[])).await;
    assert!(
        message.contains("the key-encryption key is wrong")
            && message.contains(&new_id)
            && message.contains(&old_id),
        "{message}"
    );
    assert_eq!(state(&db).await, before);

    // 5. A lost key file, configured or in its default place: refused, naming
    // the key to restore, and no new key is created in its stead.
    std::fs::rename(&new, db.dir().join("moved.kek")).unwrap();
    let (message, db) = refused(db, keys(&new, &[])).await;
    assert!(
        message.contains("does not exist") && message.contains(&new_id),
        "{message}"
    );
    assert!(!message.contains("keys init"), "{message}");
    assert_eq!(state(&db).await, before);
    let default_key = db.dir().join("data").join("kek.key");
    assert!(!default_key.exists());
    let (message, db) = refused(
        db,
        AppOptions {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    assert!(
        message.contains("does not exist") && message.contains(&new_id),
        "{message}"
    );
    assert!(
        !default_key.exists(),
        "a lost key is never replaced by a new one"
    );
    assert_eq!(state(&db).await, before);
}
