//! A server configured with `[witness]` has its access log cosigned in the
//! background, without an operator running `shengshi audit cosign`.

mod common;

use common::register;
use shengshi_test_support::{spawn_app_with, tests_on_both_backends, AppOptions, Backend, TestDb};
use std::sync::Arc;
use std::time::Duration;

async fn the_server_gets_its_checkpoints_cosigned(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    // The witness needs the log's key, which exists once the installation
    // does: start the server once without a witness to learn it.
    let first = spawn_app_with(
        db,
        AppOptions {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    let log_key = {
        let config = shengshi::Config {
            data_dir: first.data_dir.clone(),
            database_url: Some(shengshi::config::DatabaseUrl::new(
                first.db.url().to_owned(),
            )),
            ..shengshi::Config::default()
        };
        let (services, _, _) =
            shengshi::startup::open_installation(&config, Arc::new(first.clock.clone()))
                .await
                .unwrap();
        let key = services.access_log.verifier().clone();
        services.store.close().await;
        key
    };
    let db = first.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let secret = shengshi_witness::create_key(&dir.path().join("key")).unwrap();
    let witness = shengshi_witness::Witness::open(
        "audit.example/witness",
        &secret,
        vec![log_key],
        dir.path().join("state.json"),
    )
    .unwrap();
    let witness_key = witness.vkey();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, shengshi_witness::router(Arc::new(witness)))
            .await
            .unwrap();
    });

    let app = spawn_app_with(
        db,
        AppOptions {
            demo: true,
            witness: Some(shengshi::config::WitnessConfig {
                url: url.parse().unwrap(),
                key: witness_key.clone(),
                interval: Duration::from_millis(200),
            }),
            ..Default::default()
        },
    )
    .await;
    register(&app, 0, "13912345678").await; // a registry check: one access
    let verifier = shengshi_tlog::CosignatureVerifier::from_vkey(&witness_key).unwrap();
    let store = app.db.store().await;
    // Polls for at most 20 s; the task asks five times a second.
    let mut cosigned = false;
    for _ in 0..100 {
        if let Some(latest) = store.latest_access_checkpoint().await.unwrap() {
            let note = shengshi_tlog::SignedNote::parse(&latest.note).unwrap();
            if verifier.verify(&note).is_ok() {
                cosigned = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        cosigned,
        "the latest checkpoint was cosigned in the background"
    );
}

tests_on_both_backends!(the_server_gets_its_checkpoints_cosigned);
