//! The storage contract: every behaviour a use case relies on, run against
//! SQLite and PostgreSQL alike. Names read as the rule they check.
use shengshi_app::door::{self, DoorError};

use shengshi_app::{keys, SecurityLog, Services};
use shengshi_domain::{
    Actor, Clock, InstallationId, SecurityEvent, SecurityEventKind, SubjectId, SystemClock,
    Timestamp,
};
use shengshi_envelope::{Algorithm, KeyEncryptionKey, LocalKek};
use shengshi_store::{Installation, Store, StoreError, StoredDataKey};
use shengshi_test_support::{start_access_log, tests_on_both_backends, Backend, TestDb};
use std::sync::Arc;

tests_on_both_backends!(
    migrations_are_idempotent_and_leave_the_schema_current,
    a_schema_from_a_newer_version_is_refused,
    the_installation_is_recorded_once,
    security_events_come_back_in_order_and_in_pages,
    the_database_refuses_to_alter_or_delete_security_events,
    concurrent_security_events_are_all_durable,
    a_subject_has_exactly_one_data_key,
    a_destroyed_data_key_cannot_come_back,
    data_keys_page_in_subject_order,
    kek_rotation_rewraps_every_live_key_and_is_resumable,
    an_empty_database_is_empty_until_something_is_written,
);

async fn db_and_store(backend: Backend) -> Option<(TestDb, Arc<dyn Store>)> {
    let db = TestDb::new(backend).await?;
    let store = db.store().await;
    Some((db, store))
}

fn event(kind: SecurityEventKind) -> SecurityEvent {
    SecurityEvent::new(SystemClock.now(), Actor::System, kind)
}

fn installation(kek: &str) -> Installation {
    Installation {
        id: InstallationId::new(),
        created_at: Timestamp::from_unix_millis(1_764_000_000_000).unwrap(),
        kek_id: kek.into(),
        kek_check: vec![1, 2, 3],
        envelope_algorithm: "aes-256-gcm".into(),
        demo: false,
    }
}

fn stored_key(subject: SubjectId) -> StoredDataKey {
    StoredDataKey {
        subject,
        key_id: uuid::Uuid::now_v7(),
        algorithm: "aes-256-gcm".into(),
        kek_id: "local:test".into(),
        wrapped_key: Some(vec![7; 60]),
        created_at: Timestamp::from_unix_millis(1_764_000_000_000).unwrap(),
        destroyed_at: None,
    }
}

async fn migrations_are_idempotent_and_leave_the_schema_current(backend: Backend) {
    let Some((_db, store)) = db_and_store(backend).await else {
        return;
    };
    let first = store.schema_status().await.unwrap();
    assert!(first.is_current(), "{first:?}");
    let again = store.migrate().await.unwrap();
    assert_eq!(first, again);
    store.ping().await.unwrap();
}

async fn a_schema_from_a_newer_version_is_refused(backend: Backend) {
    let Some((db, store)) = db_and_store(backend).await else {
        return;
    };
    db.exec(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', true, x'00', 1)"
            .replace(
                "x'00'",
                if backend == Backend::Postgres {
                    "'\\x00'::bytea"
                } else {
                    "x'00'"
                },
            )
            .as_str(),
    )
    .await
    .unwrap();
    assert!(matches!(
        store.schema_status().await,
        Err(StoreError::SchemaTooNew {
            database: 99990101000000,
            ..
        })
    ));
    assert!(matches!(
        store.migrate().await,
        Err(StoreError::SchemaTooNew { .. })
    ));
    let readiness = shengshi_app::health::readiness(store.as_ref()).await;
    assert!(matches!(
        readiness,
        Err(shengshi_app::health::NotReady::SchemaTooNew)
    ));
}

async fn the_installation_is_recorded_once(backend: Backend) {
    let Some((_db, store)) = db_and_store(backend).await else {
        return;
    };
    assert_eq!(store.installation().await.unwrap(), None);
    let first = installation("local:a");
    store.create_installation(&first).await.unwrap();
    assert_eq!(store.installation().await.unwrap(), Some(first.clone()));
    let err = store
        .create_installation(&installation("local:b"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.installation().await.unwrap(),
        Some(first),
        "the first record is unchanged"
    );
    store.set_kek("local:c", &[9]).await.unwrap();
    let rotated = store.installation().await.unwrap().unwrap();
    assert_eq!(
        (rotated.kek_id.as_str(), rotated.kek_check.as_slice()),
        ("local:c", &[9u8][..])
    );
}

async fn security_events_come_back_in_order_and_in_pages(backend: Backend) {
    let Some((_db, store)) = db_and_store(backend).await else {
        return;
    };
    let events: Vec<_> = (0..7)
        .map(|i| {
            event(SecurityEventKind::LoginFailed {
                method: "sms".into(),
                reason: format!("attempt {i}"),
            })
        })
        .collect();
    store.append_security_events(&events[..3]).await.unwrap();
    store.append_security_events(&events[3..]).await.unwrap();
    let page1 = store.security_events(0, 4).await.unwrap();
    let page2 = store
        .security_events(page1.last().unwrap().seq, 4)
        .await
        .unwrap();
    assert_eq!(page1.len(), 4);
    assert_eq!(page2.len(), 3);
    let read: Vec<_> = page1.into_iter().chain(page2).map(|l| l.event).collect();
    assert_eq!(read, events, "every field comes back, in append order");
    // A batch with a duplicate id fails whole.
    let dup = vec![
        event(SecurityEventKind::Lockout { until: "x".into() }),
        events[0].clone(),
    ];
    assert!(store.append_security_events(&dup).await.is_err());
    assert_eq!(
        store.security_events(0, 100).await.unwrap().len(),
        7,
        "nothing half-written"
    );
}

async fn the_database_refuses_to_alter_or_delete_security_events(backend: Backend) {
    let Some((db, store)) = db_and_store(backend).await else {
        return;
    };
    store
        .append_security_events(&[event(SecurityEventKind::LoginSucceeded {
            method: "passkey".into(),
        })])
        .await
        .unwrap();
    let update = db.exec("UPDATE security_events SET kind = 'forged'").await;
    assert!(update.unwrap_err().contains("append-only"));
    let delete = db.exec("DELETE FROM security_events").await;
    assert!(delete.unwrap_err().contains("append-only"));
    assert_eq!(store.security_events(0, 10).await.unwrap().len(), 1);
}

async fn concurrent_security_events_are_all_durable(backend: Backend) {
    let Some((_db, store)) = db_and_store(backend).await else {
        return;
    };
    let log = SecurityLog::start(store.clone(), Arc::new(SystemClock));
    let writers: Vec<_> = (0..200)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move {
                log.record(
                    Actor::Anonymous,
                    SecurityEventKind::LoginFailed {
                        method: "sms".into(),
                        reason: i.to_string(),
                    },
                )
                .await
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap().expect("acknowledged only once written");
    }
    // Acknowledged means committed: a fresh connection sees all of them.
    let seen = store.security_events(0, 1000).await.unwrap();
    assert_eq!(seen.len(), 200);
    let mut reasons: Vec<_> = seen
        .iter()
        .map(|l| match &l.event.event {
            SecurityEventKind::LoginFailed { reason, .. } => reason.parse::<u32>().unwrap(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    reasons.sort();
    assert_eq!(reasons, (0..200).collect::<Vec<_>>());
}

async fn a_subject_has_exactly_one_data_key(backend: Backend) {
    let Some((_db, store)) = db_and_store(backend).await else {
        return;
    };
    let subject = SubjectId::new();
    let key = stored_key(subject);
    store
        .insert_data_keys(std::slice::from_ref(&key))
        .await
        .unwrap();
    assert_eq!(store.data_key(subject).await.unwrap(), Some(key));
    let again = store
        .insert_data_keys(&[stored_key(subject)])
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "{again:?}");
    // A batch containing a conflict inserts nothing.
    let fresh = SubjectId::new();
    assert!(store
        .insert_data_keys(&[stored_key(fresh), stored_key(subject)])
        .await
        .is_err());
    assert_eq!(store.data_key(fresh).await.unwrap(), None);
}

async fn a_destroyed_data_key_cannot_come_back(backend: Backend) {
    let Some((db, store)) = db_and_store(backend).await else {
        return;
    };
    let subject = SubjectId::new();
    store
        .insert_data_keys(&[stored_key(subject)])
        .await
        .unwrap();
    let at = Timestamp::from_unix_millis(1_765_000_000_000).unwrap();
    assert!(store.destroy_data_key(subject, at).await.unwrap());
    assert!(
        !store.destroy_data_key(subject, at).await.unwrap(),
        "idempotent"
    );
    let gone = store.data_key(subject).await.unwrap().unwrap();
    assert_eq!((&gone.wrapped_key, gone.destroyed_at), (&None, Some(at)));
    let rewrap = shengshi_store::DataKeyRewrap {
        subject,
        from_kek_id: gone.kek_id.clone(),
        kek_id: "local:new".into(),
        wrapped_key: vec![1, 2, 3],
    };
    assert_eq!(store.rewrap_data_keys(&[rewrap]).await.unwrap(), 0);
    let restore = db
        .exec(
            "UPDATE data_keys SET wrapped_key = x'01', destroyed_at = NULL"
                .replace(
                    "x'01'",
                    if backend == Backend::Postgres {
                        "'\\x01'::bytea"
                    } else {
                        "x'01'"
                    },
                )
                .as_str(),
        )
        .await;
    assert!(restore.unwrap_err().contains("cannot be restored"));
    assert!(
        !store.destroy_data_key(SubjectId::new(), at).await.unwrap(),
        "absent subject"
    );
}

async fn data_keys_page_in_subject_order(backend: Backend) {
    let Some((_db, store)) = db_and_store(backend).await else {
        return;
    };
    let mut subjects: Vec<_> = (0..5).map(|_| SubjectId::new()).collect();
    let keys: Vec<_> = subjects.iter().rev().map(|s| stored_key(*s)).collect();
    store.insert_data_keys(&keys).await.unwrap();
    subjects.sort();
    let first = store.data_keys(None, 2).await.unwrap();
    let rest = store.data_keys(Some(first[1].subject), 10).await.unwrap();
    let seen: Vec<_> = first.iter().chain(&rest).map(|k| k.subject).collect();
    assert_eq!(seen, subjects);
}

async fn kek_rotation_rewraps_every_live_key_and_is_resumable(backend: Backend) {
    let Some((db, store)) = db_and_store(backend).await else {
        return;
    };
    let old: Arc<dyn KeyEncryptionKey> =
        Arc::new(LocalKek::create(&db.dir().join("old.kek")).unwrap());
    let new = LocalKek::create(&db.dir().join("new.kek")).unwrap();
    let services = Services {
        store: store.clone(),
        clock: Arc::new(SystemClock),
        kek: old.clone(),
        security_log: SecurityLog::start(store.clone(), Arc::new(SystemClock)),
        envelope_algorithm: Algorithm::Sm4Gcm,
        access_log: start_access_log(store.clone(), old.as_ref(), Arc::new(SystemClock)).await,
    };
    store
        .create_installation(&installation(old.id()))
        .await
        .unwrap();
    let subjects: Vec<_> = (0..3).map(|_| SubjectId::new()).collect();
    let mut sealed = Vec::new();
    for s in &subjects {
        let key = keys::create(&services, *s).await.unwrap();
        sealed.push(key.seal(b"personal data", b"test.field"));
    }
    keys::destroy(&services, subjects[2], shengshi_domain::Actor::Operator)
        .await
        .unwrap();
    // An e-ID issuer key, wrapped by the same KEK.
    let root =
        shengshi_eid::SoftwareKey::from_seed(shengshi_eid::Algorithm::Ed25519, &[9; 32]).unwrap();
    let settings = shengshi_app::eid::EidSettings {
        issuer: "https://shengshi.example".into(),
        status_uri: "https://shengshi.example/eid/status/1".into(),
        algorithm: shengshi_eid::Algorithm::Ed25519,
        trust_root: Some(root.public_key()),
        development_root: false,
    };
    let issuer = shengshi_app::eid::Issuer::load(&services, settings.clone())
        .await
        .unwrap();
    shengshi_app::eid::create_key(
        &services,
        &issuer,
        shengshi_eid::Algorithm::EcdsaP256,
        services.clock.now(),
    )
    .await
    .unwrap();

    let report = keys::rotate_kek(store.as_ref(), old.as_ref(), &new)
        .await
        .unwrap();
    assert_eq!((report.rewrapped, report.destroyed), (2, 1));
    assert_eq!(report.issuer_keys_rewrapped, 1);
    let again = keys::rotate_kek(store.as_ref(), old.as_ref(), &new)
        .await
        .unwrap();
    assert_eq!(
        (again.rewrapped, again.already_done),
        (0, 2),
        "a second run finds nothing to do"
    );
    assert_eq!(
        store.installation().await.unwrap().unwrap().kek_id,
        new.id()
    );

    let rotated = Services {
        kek: Arc::new(new),
        ..services.clone()
    };
    for (s, c) in subjects[..2].iter().zip(&sealed) {
        let key = door::open(&rotated, migration_check(*s)).await.unwrap();
        assert_eq!(&*key.open(c, b"test.field").unwrap(), b"personal data");
    }
    // The issuer key opens with the new KEK (and its public key still matches).
    shengshi_app::eid::Issuer::load(&rotated, settings)
        .await
        .unwrap();
    assert!(matches!(
        door::open(&rotated, migration_check(subjects[2])).await,
        Err(DoorError::Key(keys::KeyError::Destroyed(_)))
    ));
    assert!(matches!(
        door::open(&services, migration_check(subjects[0])).await,
        Err(DoorError::Key(keys::KeyError::WrappedByOtherKek { .. }))
    ));
}

async fn an_empty_database_is_empty_until_something_is_written(backend: Backend) {
    let Some((_db, store)) = db_and_store(backend).await else {
        return;
    };
    assert!(store.is_empty().await.unwrap());
    store
        .append_security_events(&[event(SecurityEventKind::Lockout {
            until: "later".into(),
        })])
        .await
        .unwrap();
    assert!(!store.is_empty().await.unwrap());
}

/// Opens a subject's data through the door, as an operator checking a migration.
fn migration_check(subject: SubjectId) -> shengshi_app::door::AccessRequest {
    shengshi_app::door::AccessRequest {
        subject,
        accessor: shengshi_domain::access::Accessor::Operator,
        purpose: shengshi_domain::access::Purpose::DataMigration,
        reference: None,
        fields: vec!["test.field"],
    }
}
