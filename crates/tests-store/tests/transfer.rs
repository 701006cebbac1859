//! Export and import between backends: a populated installation moves from
//! SQLite to PostgreSQL and back without losing or changing anything.

use shengshi_app::door::{self, DoorError};
use shengshi_app::transfer::{export, import, TransferError};
use shengshi_app::{installation, keys, SecurityLog, Services};
use shengshi_domain::{Actor, SecurityEventKind, SubjectId, SystemClock};
use shengshi_envelope::{Algorithm, KeyEncryptionKey, LocalKek};
use shengshi_store::Store;
use shengshi_test_support::{Backend, TestDb};
use std::sync::Arc;

/// An installation with events, live keys and a destroyed key.
async fn populate(
    store: Arc<dyn Store>,
    kek: Arc<dyn KeyEncryptionKey>,
) -> Vec<(SubjectId, shengshi_envelope::Sealed)> {
    let clock = Arc::new(SystemClock);
    let log = SecurityLog::start(store.clone(), clock.clone());
    installation::open_or_create(
        store.as_ref(),
        kek.as_ref(),
        clock.as_ref(),
        &log,
        Algorithm::Aes256Gcm,
        true,
    )
    .await
    .unwrap();
    let access_log =
        shengshi_test_support::start_access_log(store.clone(), kek.as_ref(), clock.clone()).await;
    let services = Services {
        store,
        clock,
        kek,
        security_log: log.clone(),
        envelope_algorithm: Algorithm::Aes256Gcm,
        access_log,
    };
    let mut sealed = Vec::new();
    for i in 0..25 {
        let subject = SubjectId::new();
        let key = keys::create(&services, subject).await.unwrap();
        sealed.push((
            subject,
            key.seal(format!("resident {i}").as_bytes(), b"test.name"),
        ));
    }
    keys::destroy(&services, sealed[0].0, Actor::Operator)
        .await
        .unwrap();
    // An account (with its own data key, written in the same transaction).
    let now = services.clock.now();
    let subject = SubjectId::new();
    let key_id = uuid::Uuid::now_v7();
    let key = shengshi_envelope::DataKey::generate(
        shengshi_envelope::KeyRef(*key_id.as_bytes()),
        Algorithm::Aes256Gcm,
    );
    let account = shengshi_store::StoredAccount {
        id: shengshi_domain::AccountId::new(),
        subject,
        assurance_level: 2,
        id_number_mac: Some(vec![1; 32]),
        phone_mac: vec![2; 32],
        sealed_profile: key.seal(b"{}", b"account.profile").into_bytes(),
        status: "active".into(),
        in_person_verified_at: Some(now),
        created_at: now,
        updated_at: now,
    };
    let stored_key = shengshi_store::StoredDataKey {
        subject,
        key_id,
        algorithm: "aes-256-gcm".into(),
        kek_id: services.kek.id().into(),
        wrapped_key: Some(key.wrap(services.kek.as_ref()).await.unwrap()),
        created_at: now,
        destroyed_at: None,
    };
    services
        .store
        .create_account(&account, &stored_key)
        .await
        .unwrap();
    // e-ID: an issuer key, a trust list, and a card of that account (one
    // revoked by its replacement, so both statuses travel).
    services
        .store
        .insert_issuer_key(&shengshi_store::StoredIssuerKey {
            kid: "0011223344556677".into(),
            algorithm: "ed25519".into(),
            public_key: vec![3; 32],
            wrapped_secret: vec![4; 70],
            kek_id: services.kek.id().into(),
            not_before: now,
            sign_until: now.plus(time::Duration::days(365)),
            created_at: now,
        })
        .await
        .unwrap();
    services
        .store
        .insert_trust_list(&shengshi_store::StoredTrustList {
            signed: vec![5; 120],
            issued_at: now,
            expires_at: now.plus(time::Duration::days(30)),
            published_at: now,
        })
        .await
        .unwrap();
    let mut card_ids = Vec::new();
    for index in [17, 99_999] {
        let id = shengshi_domain::CardId::new();
        card_ids.push(id);
        services
            .store
            .activate_card(&shengshi_store::StoredCard {
                id,
                account: account.id,
                subject,
                status_index: index,
                status: shengshi_store::CardStatus::Active,
                reason: shengshi_store::CardStatusReason::Activated,
                sealed_attributes: key.seal(b"{}", b"eid").into_bytes(),
                activated_at: now,
                changed_at: now,
            })
            .await
            .unwrap();
    }
    // Two printable documents of the second card, one revoked: their
    // indices must stay taken after a move.
    for (index, revoked) in [(4_242, false), (4_243, true)] {
        let document = shengshi_store::StoredDocument {
            id: uuid::Uuid::now_v7(),
            account: account.id,
            card: card_ids[1],
            status_index: index,
            kid: "00112233aabbccdd".into(),
            fields: vec!["name".into(), "birth_date".into()],
            issued_at: now,
            expires_at: now.plus(time::Duration::days(30)),
            revoked_at: None,
        };
        services.store.insert_document(&document).await.unwrap();
        if revoked {
            services
                .store
                .revoke_document(account.id, document.id, now)
                .await
                .unwrap();
        }
    }
    // A verifier organisation (suspended), its first key (revoked by a
    // rotation) and the current one, and two codes it accepted online.
    let hotel = shengshi_store::StoredVerifier {
        id: uuid::Uuid::now_v7(),
        name: "西湖大酒店".into(),
        category: "hotel".into(),
        purposes: vec!["hotel_checkin".into(), "age_over_18".into()],
        status: "active".into(),
        created_at: now,
        changed_at: now,
    };
    let verifier_key = |mac: u8| shengshi_store::StoredVerifierKey {
        id: uuid::Uuid::now_v7(),
        verifier: hotel.id,
        key_mac: vec![mac; 32],
        created_at: now,
        revoked_at: None,
    };
    services
        .store
        .insert_verifier(&hotel, &verifier_key(8))
        .await
        .unwrap();
    let current_key = verifier_key(9);
    services
        .store
        .replace_verifier_keys(&current_key)
        .await
        .unwrap();
    // Two codes of the current card, accepted before the suspension.
    let claims: Vec<_> = (1..=2u8)
        .map(|n| shengshi_store::VerificationClaim {
            cti: hex::encode([n; 16]),
            verifier: hotel.id,
            key: current_key.id,
            status_index: 99_999,
            verified_at: now,
            expires_at: now.plus(time::Duration::seconds(60)),
        })
        .collect();
    let outcomes = services
        .store
        .commit_access_batch(&claims, &mut |_| Ok(None))
        .await
        .unwrap();
    assert!(claims.iter().zip(&outcomes).all(|(c, o)| o.holds_for(c)));
    services
        .store
        .set_verifier_status(hotel.id, "suspended", now)
        .await
        .unwrap();
    // A correction request of that account, sealed with its key.
    services
        .store
        .insert_correction(&shengshi_store::StoredCorrection {
            id: uuid::Uuid::now_v7(),
            account: account.id,
            field: "address".into(),
            sealed_value: key
                .seal("文三路".as_bytes(), b"correction.value")
                .into_bytes(),
            sealed_explanation: key.seal(b"moved", b"correction.explanation").into_bytes(),
            status: "open".into(),
            created_at: now,
            decided_at: None,
        })
        .await
        .unwrap();
    // A staff member, locked out mid-way, with a used TOTP step.
    services
        .store
        .insert_staff(&shengshi_store::StoredStaff {
            id: shengshi_domain::StaffId::new(),
            username: "li.wei".into(),
            display_name: "李伟".into(),
            department: "civil_affairs".into(),
            role: "supervisor".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g".into(),
            sealed_totp_secret: vec![7; 48],
            disabled: false,
            failed_logins: 2,
            first_failed_at: Some(now),
            locked_until: Some(now),
            last_totp_step: Some(59_000_000),
            created_at: now,
        })
        .await
        .unwrap();
    // Passkeys: the resident's (one revoked) and a staff member's.
    for (n, owner, revoked) in [
        (
            1u8,
            shengshi_store::PasskeyOwner::Resident(account.id),
            None,
        ),
        (
            2,
            shengshi_store::PasskeyOwner::Resident(account.id),
            Some(now),
        ),
        (
            3,
            shengshi_store::PasskeyOwner::Staff(shengshi_domain::StaffId::new()),
            None,
        ),
    ] {
        services
            .store
            .insert_passkey(&shengshi_store::StoredPasskey {
                credential_id: vec![n; 16],
                owner,
                label: format!("key {n}"),
                passkey: format!("{{\"n\":{n}}}"),
                created_at: now,
                last_used_at: Some(now),
                revoked_at: revoked,
            })
            .await
            .unwrap();
    }
    log.record(
        Actor::Anonymous,
        SecurityEventKind::LoginFailed {
            method: "sms".into(),
            reason: "wrong code".into(),
        },
    )
    .await
    .unwrap();
    sealed
}

async fn export_text(store: &dyn Store) -> String {
    let mut out = Vec::new();
    export(store, &mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

/// The records, without the header (which names the exporting backend).
fn records(text: &str) -> Vec<&str> {
    text.lines().skip(1).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installation_moves_from_sqlite_to_postgres_and_back_unchanged() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let sqlite = TestDb::sqlite();
    let source = sqlite.store().await;
    let kek: Arc<dyn KeyEncryptionKey> =
        Arc::new(LocalKek::create(&sqlite.dir().join("kek")).unwrap());
    let sealed = populate(source.clone(), kek.clone()).await;
    let original = export_text(source.as_ref()).await;
    assert!(original
        .lines()
        .next()
        .unwrap()
        .contains(r#""backend":"sqlite""#));
    assert!(
        original.contains(r#"{"record":"staff","#),
        "staff are exported"
    );
    assert_eq!(
        original.matches(r#"{"record":"passkey","#).count(),
        3,
        "passkeys are exported, revoked ones too"
    );
    assert!(original.contains(r#""in_person_verified_at":"#));
    assert_eq!(original.matches(r#"{"record":"eid_card","#).count(), 2);
    assert_eq!(original.matches(r#"{"record":"eid_document","#).count(), 2);
    assert_eq!(
        original.matches(r#"{"record":"eid_issuer_key","#).count(),
        1
    );
    assert_eq!(
        original.matches(r#"{"record":"eid_trust_list","#).count(),
        1
    );
    assert_eq!(
        original.matches(r#"{"record":"correction","#).count(),
        1,
        "correction requests are exported"
    );
    assert_eq!(original.matches(r#"{"record":"verifier","#).count(), 1);
    assert_eq!(
        original.matches(r#"{"record":"verifier_key","#).count(),
        2,
        "verifier keys are exported, revoked ones too"
    );
    assert!(original.contains(r#""status":"suspended""#));
    assert_eq!(
        original.matches(r#"{"record":"eid_verification","#).count(),
        2,
        "online verifications are exported"
    );

    let target = pg.store().await;
    let report = import(target.as_ref(), &mut original.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        report.records as usize,
        records(&original).len() - 1,
        "every record but the trailer"
    );
    let via_postgres = export_text(target.as_ref()).await;
    assert_eq!(
        records(&via_postgres),
        records(&original),
        "PostgreSQL holds exactly what SQLite held"
    );

    // The moved keys still open the moved data with the same KEK; the destroyed one stays destroyed.
    let services = Services {
        store: target.clone(),
        clock: Arc::new(SystemClock),
        kek: kek.clone(),
        security_log: SecurityLog::start(target.clone(), Arc::new(SystemClock)),
        envelope_algorithm: Algorithm::Aes256Gcm,
        access_log: shengshi_test_support::start_access_log(
            target.clone(),
            kek.as_ref(),
            Arc::new(SystemClock),
        )
        .await,
    };
    for (i, (subject, ciphertext)) in sealed.iter().enumerate().skip(1) {
        let key = door::open(&services, migration_check(*subject))
            .await
            .unwrap();
        assert_eq!(
            &*key.open(ciphertext, b"test.name").unwrap(),
            format!("resident {i}").as_bytes()
        );
    }
    assert!(matches!(
        door::open(&services, migration_check(sealed[0].0)).await,
        Err(DoorError::Key(keys::KeyError::Destroyed(_)))
    ));

    let back = TestDb::sqlite();
    let back_store = back.store().await;
    import(back_store.as_ref(), &mut via_postgres.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        records(&export_text(back_store.as_ref()).await),
        records(&original),
        "and back to SQLite"
    );
}

async fn exported(backend: Backend) -> Option<(TestDb, String)> {
    let db = TestDb::new(backend).await?;
    let store = db.store().await;
    let kek: Arc<dyn KeyEncryptionKey> = Arc::new(LocalKek::create(&db.dir().join("kek")).unwrap());
    populate(store.clone(), kek).await;
    let text = export_text(store.as_ref()).await;
    Some((db, text))
}

async fn refused(backend: Backend, input: &str) -> (TransferError, bool) {
    let target = TestDb::new(backend).await.unwrap();
    let store = target.store().await;
    let err = import(store.as_ref(), &mut input.as_bytes())
        .await
        .unwrap_err();
    // Nothing usable is left: no installation record means start-up refuses the database.
    let installed = store.installation().await.unwrap().is_some();
    (err, installed)
}

async fn bad_exports_are_refused_and_leave_no_installation(backend: Backend) {
    let Some((_db, text)) = exported(backend).await else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();

    let truncated = lines[..lines.len() - 1].join("\n");
    let (err, installed) = refused(backend, &truncated).await;
    assert!(matches!(err, TransferError::Truncated), "{err}");
    assert!(!installed);

    let mut miscounted = lines.clone();
    miscounted.remove(3);
    let (err, installed) = refused(backend, &miscounted.join("\n")).await;
    assert!(err.to_string().contains("trailer says"), "{err}");
    assert!(!installed);

    let newer = text.replacen(r#""version":1"#, r#""version":99"#, 1);
    let (err, _) = refused(backend, &newer).await;
    assert!(err.to_string().contains("not supported"), "{err}");

    let mut garbage = lines.clone();
    garbage[2] = r#"{"record":"mystery"}"#;
    let (err, installed) = refused(backend, &garbage.join("\n")).await;
    assert!(
        matches!(err, TransferError::BadInput { line: 3, .. }),
        "{err}"
    );
    assert!(!installed);

    let (err, _) = refused(backend, "").await;
    assert!(matches!(err, TransferError::Truncated), "{err}");
}

async fn import_refuses_a_database_that_is_not_empty(backend: Backend) {
    let Some((db, text)) = exported(backend).await else {
        return;
    };
    let store = db.store().await;
    let err = import(store.as_ref(), &mut text.as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(err, TransferError::TargetNotEmpty), "{err}");
}

shengshi_test_support::tests_on_both_backends!(
    bad_exports_are_refused_and_leave_no_installation,
    import_refuses_a_database_that_is_not_empty,
);

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
