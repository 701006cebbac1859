//! The storage side of electronic ID cards on both backends: one current card
//! per account (a new activation revokes the old one in the same
//! transaction), random status indices that are never reused, status changes
//! that are compare-and-set and final once revoked, cards revoked with the
//! account that held them, issuer keys that are never deleted.

use shengshi_domain::{AccountId, CardId, Clock, SubjectId, Timestamp};
use shengshi_envelope::{Algorithm, DataKey, KeyRef};
use shengshi_store::{
    CardStatus, CardStatusEntry, CardStatusReason, DevicePresentation, StoreError, StoredAccount,
    StoredCard, StoredDataKey, StoredIssuerKey, StoredTrustList,
};
use shengshi_test_support::{add_account, tests_on_both_backends, Backend, TestServices};
use time::Duration;

tests_on_both_backends!(
    a_new_card_replaces_the_current_one_in_one_step,
    a_taken_status_index_changes_nothing,
    status_changes_are_compare_and_set_and_revocation_is_final,
    closing_or_evicting_an_account_revokes_its_card,
    concurrent_activations_leave_one_current_card,
    issuer_keys_and_trust_lists_are_kept,
    a_death_in_the_registry_revokes_the_card,
    a_reported_offline_code_is_remembered_once,
);

fn card(account: &StoredAccount, index: u32, at: Timestamp) -> StoredCard {
    StoredCard {
        id: CardId::new(),
        account: account.id,
        subject: account.subject,
        status_index: index,
        status: CardStatus::Active,
        reason: CardStatusReason::Activated,
        sealed_attributes: vec![7; 48],
        activated_at: at,
        changed_at: at,
    }
}

async fn a_new_card_replaces_the_current_one_in_one_step(backend: Backend) {
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = &services.store;
    let resident = add_account(&services, &clock).await;
    assert_eq!(store.current_card(resident.id).await.unwrap(), None);

    let first = card(&resident, 41, clock.now());
    store.activate_card(&first).await.unwrap();
    assert_eq!(
        store.current_card(resident.id).await.unwrap(),
        Some(first.clone())
    );

    clock.advance(Duration::minutes(5));
    let second = card(&resident, 900_001, clock.now());
    store.activate_card(&second).await.unwrap();
    assert_eq!(
        store.current_card(resident.id).await.unwrap(),
        Some(second.clone())
    );

    // The first card is revoked as replaced, and its index stays taken.
    let entries = store.card_status_entries().await.unwrap();
    assert_eq!(
        entries,
        vec![CardStatusEntry {
            status_index: 41,
            status: CardStatus::Revoked
        }]
    );
    let all = store.cards(None, 10).await.unwrap();
    let old = all.iter().find(|c| c.id == first.id).unwrap();
    assert_eq!(old.status, CardStatus::Revoked);
    assert_eq!(old.reason, CardStatusReason::Replaced);
    assert_eq!(old.changed_at, second.activated_at);
}

async fn a_taken_status_index_changes_nothing(backend: Backend) {
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = &services.store;
    let alice = add_account(&services, &clock).await;
    let bob = add_account(&services, &clock).await;
    let alices = card(&alice, 7, clock.now());
    store.activate_card(&alices).await.unwrap();
    let bobs = card(&bob, 7, clock.now());
    assert!(matches!(
        store.activate_card(&bobs).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.current_card(bob.id).await.unwrap(), None);

    // Bob replacing his card with a taken index keeps his current card active.
    let bobs = card(&bob, 8, clock.now());
    store.activate_card(&bobs).await.unwrap();
    let clash = card(&bob, 7, clock.now());
    assert!(matches!(
        store.activate_card(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.current_card(bob.id).await.unwrap(), Some(bobs));
    assert_eq!(store.current_card(alice.id).await.unwrap(), Some(alices));
    assert!(store.card_status_entries().await.unwrap().is_empty());
}

async fn status_changes_are_compare_and_set_and_revocation_is_final(backend: Backend) {
    let Some(TestServices {
        db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = &services.store;
    let resident = add_account(&services, &clock).await;
    let c = card(&resident, 3, clock.now());
    store.activate_card(&c).await.unwrap();

    let later = clock.now().plus(Duration::minutes(1));
    assert!(store
        .set_card_status(
            c.id,
            CardStatus::Active,
            CardStatus::Suspended,
            CardStatusReason::PhoneLost,
            later
        )
        .await
        .unwrap());
    // A second report from a stale read finds it no longer active.
    assert!(!store
        .set_card_status(
            c.id,
            CardStatus::Active,
            CardStatus::Suspended,
            CardStatusReason::PhoneLost,
            later
        )
        .await
        .unwrap());
    let now = store.current_card(resident.id).await.unwrap().unwrap();
    assert_eq!(
        (now.status, now.reason, now.changed_at),
        (CardStatus::Suspended, CardStatusReason::PhoneLost, later)
    );
    assert_eq!(
        store.card_status_entries().await.unwrap(),
        vec![CardStatusEntry {
            status_index: 3,
            status: CardStatus::Suspended
        }]
    );

    assert_eq!(
        store
            .revoke_account_cards(resident.id, CardStatusReason::Deceased, later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.current_card(resident.id).await.unwrap(), None);
    // Revoked is final: neither the store nor raw SQL brings it back.
    assert!(!store
        .set_card_status(
            c.id,
            CardStatus::Revoked,
            CardStatus::Active,
            CardStatusReason::Resumed,
            later
        )
        .await
        .unwrap());
    assert!(db
        .exec("UPDATE eid_cards SET status = 'active'")
        .await
        .is_err());
    assert!(db
        .exec("UPDATE eid_cards SET status_index = 4")
        .await
        .is_err());
    assert!(db.exec("DELETE FROM eid_cards").await.is_err());
    assert_eq!(
        store
            .revoke_account_cards(resident.id, CardStatusReason::Deceased, later)
            .await
            .unwrap(),
        0
    );
}

async fn closing_or_evicting_an_account_revokes_its_card(backend: Backend) {
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = &services.store;
    let closing = add_account(&services, &clock).await;
    store
        .activate_card(&card(&closing, 10, clock.now()))
        .await
        .unwrap();
    assert!(store.close_account(closing.id, clock.now()).await.unwrap());
    assert_eq!(store.current_card(closing.id).await.unwrap(), None);

    let squatter = add_account(&services, &clock).await;
    store
        .activate_card(&card(&squatter, 11, clock.now()))
        .await
        .unwrap();
    // The resident's new account, inserted with the eviction.
    let subject = SubjectId::new();
    let key_id = uuid::Uuid::now_v7();
    let key = DataKey::generate(KeyRef(*key_id.as_bytes()), Algorithm::Aes256Gcm);
    let replacement = StoredAccount {
        id: AccountId::new(),
        subject,
        assurance_level: 2,
        id_number_mac: Some(vec![9; 16]),
        phone_mac: vec![8; 16],
        sealed_profile: key.seal(b"{}", b"account.profile").into_bytes(),
        status: "active".into(),
        in_person_verified_at: Some(clock.now()),
        created_at: clock.now(),
        updated_at: clock.now(),
    };
    let stored_key = StoredDataKey {
        subject,
        key_id,
        algorithm: "aes-256-gcm".into(),
        kek_id: services.kek.id().into(),
        wrapped_key: Some(key.wrap(services.kek.as_ref()).await.unwrap()),
        created_at: clock.now(),
        destroyed_at: None,
    };
    store
        .evict_and_replace(squatter.id, &replacement, &stored_key, clock.now())
        .await
        .unwrap();
    assert_eq!(store.current_card(squatter.id).await.unwrap(), None);

    let reasons: Vec<_> = store
        .cards(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.status_index, c.status, c.reason))
        .collect();
    assert!(reasons.contains(&(10, CardStatus::Revoked, CardStatusReason::AccountClosed)));
    assert!(reasons.contains(&(11, CardStatus::Revoked, CardStatusReason::Evicted)));
}

async fn concurrent_activations_leave_one_current_card(backend: Backend) {
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = services.store.clone();
    let resident = add_account(&services, &clock).await;
    for round in 0..5u32 {
        let a = card(&resident, 100 + round * 2, clock.now());
        let b = card(&resident, 101 + round * 2, clock.now());
        let (ra, rb) = tokio::join!(store.activate_card(&a), store.activate_card(&b));
        // Each either committed (replacing what was current) or conflicted
        // with the other and changed nothing; at least one committed.
        for r in [&ra, &rb] {
            assert!(matches!(r, Ok(()) | Err(StoreError::Conflict(_))), "{r:?}");
        }
        assert!(ra.is_ok() || rb.is_ok());
        let current = store.current_card(resident.id).await.unwrap().unwrap();
        assert!(current.id == a.id || current.id == b.id);
    }
    let not_revoked = store
        .cards(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.status != CardStatus::Revoked)
        .count();
    assert_eq!(not_revoked, 1);
}

async fn issuer_keys_and_trust_lists_are_kept(backend: Backend) {
    let Some(TestServices {
        db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = &services.store;
    let now = clock.now();
    let key = |kid: &str, from: Timestamp| StoredIssuerKey {
        kid: kid.into(),
        algorithm: "ed25519".into(),
        public_key: vec![1; 32],
        wrapped_secret: vec![2; 60],
        kek_id: "kek-1".into(),
        not_before: from,
        sign_until: from.plus(Duration::days(365)),
        created_at: from,
    };
    let first = key("00112233445566aa", now);
    let second = key("00112233445566bb", now.plus(Duration::days(1)));
    store.insert_issuer_key(&first).await.unwrap();
    store.insert_issuer_key(&second).await.unwrap();
    assert!(matches!(
        store.insert_issuer_key(&first).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.issuer_keys().await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    // Ending the signing period moves it earlier only, never later, and
    // never before the key starts.
    let end = now.plus(Duration::days(1));
    assert!(store.end_issuer_key_signing(&first.kid, end).await.unwrap());
    assert!(!store
        .end_issuer_key_signing(&first.kid, now.plus(Duration::days(30)))
        .await
        .unwrap());
    assert!(!store
        .end_issuer_key_signing(&second.kid, now)
        .await
        .unwrap());
    assert_eq!(store.issuer_keys().await.unwrap()[0].sign_until, end);
    assert!(db.exec("DELETE FROM eid_issuer_keys").await.is_err());

    assert_eq!(store.latest_trust_list().await.unwrap(), None);
    let list = |n: u8, at: Timestamp| StoredTrustList {
        signed: vec![n; 100],
        issued_at: at,
        expires_at: at.plus(Duration::days(30)),
        published_at: at,
    };
    store.insert_trust_list(&list(1, now)).await.unwrap();
    store
        .insert_trust_list(&list(2, now.plus(Duration::hours(1))))
        .await
        .unwrap();
    assert_eq!(
        store.latest_trust_list().await.unwrap(),
        Some(list(2, now.plus(Duration::hours(1))))
    );
    assert_eq!(store.trust_lists().await.unwrap().len(), 2);
}

async fn a_death_in_the_registry_revokes_the_card(backend: Backend) {
    use shengshi_app::registry::{LifeStatus, MaritalStatus, RegistryRecord};
    use shengshi_domain::{CivilDate, PersonName, ResidentIdNumber, Sex};

    let Some(test) = TestServices::new(backend).await else {
        return;
    };
    let secrets = test.secrets().await;
    let (services, clock) = (&test.services, &test.clock);
    let today = CivilDate::new(time::macros::date!(2026 - 01 - 01));
    let record = |number: &str, life_status| RegistryRecord {
        id_number: ResidentIdNumber::parse(number, today).unwrap(),
        name: PersonName::parse("张三").unwrap(),
        sex: Sex::Male,
        birth_date: CivilDate::new(time::macros::date!(1990 - 01 - 01)),
        address: "广东省汕头市".into(),
        marital_status: MaritalStatus::Married,
        life_status,
        photo: None,
        fictional: true,
    };
    let holder = "440106199001010013";
    let other = "440106199001010021";
    shengshi_app::registry_db::upsert_records(
        services,
        &secrets,
        &[
            record(holder, LifeStatus::Alive),
            record(other, LifeStatus::Alive),
        ],
    )
    .await
    .unwrap();
    // The holder's account, found by the MAC of the ID number as registration stores it.
    let template = add_account(services, clock).await;
    let with_mac = StoredAccount {
        id: AccountId::new(),
        subject: SubjectId::new(),
        id_number_mac: Some(shengshi_app::registration::id_number_mac(
            &secrets,
            &ResidentIdNumber::parse(holder, today).unwrap(),
        )),
        ..template
    };
    let key_id = uuid::Uuid::now_v7();
    let key = DataKey::generate(KeyRef(*key_id.as_bytes()), Algorithm::Aes256Gcm);
    services
        .store
        .create_account(
            &with_mac,
            &StoredDataKey {
                subject: with_mac.subject,
                key_id,
                algorithm: "aes-256-gcm".into(),
                kek_id: services.kek.id().into(),
                wrapped_key: Some(key.wrap(services.kek.as_ref()).await.unwrap()),
                created_at: clock.now(),
                destroyed_at: None,
            },
        )
        .await
        .unwrap();
    services
        .store
        .activate_card(&card(&with_mac, 500, clock.now()))
        .await
        .unwrap();

    // The other person dies: the holder's card is untouched.
    shengshi_app::registry_db::upsert_records(
        services,
        &secrets,
        &[record(other, LifeStatus::Deceased)],
    )
    .await
    .unwrap();
    assert!(services
        .store
        .current_card(with_mac.id)
        .await
        .unwrap()
        .is_some());
    // The holder dies: the card is revoked, naming why.
    shengshi_app::registry_db::upsert_records(
        services,
        &secrets,
        &[record(holder, LifeStatus::Deceased)],
    )
    .await
    .unwrap();
    assert_eq!(
        services.store.current_card(with_mac.id).await.unwrap(),
        None
    );
    let revoked = services.store.cards(None, 10).await.unwrap();
    assert!(revoked
        .iter()
        .any(|c| c.status_index == 500 && c.reason == CardStatusReason::Deceased));
}

async fn a_reported_offline_code_is_remembered_once(backend: Backend) {
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = &services.store;
    let resident = add_account(&services, &clock).await;
    let c = card(&resident, 77, clock.now());
    store.activate_card(&c).await.unwrap();
    let code = |n: u8| DevicePresentation {
        cti: [n; 16],
        issued_at: clock.now(),
    };
    let first = store
        .record_device_presentations(c.id, &[code(1), code(2)], clock.now())
        .await
        .unwrap();
    assert_eq!(first, vec![[1; 16], [2; 16]]);
    // The phone sends its log again (the answer was lost) with one new code.
    let again = store
        .record_device_presentations(c.id, &[code(2), code(1), code(3)], clock.now())
        .await
        .unwrap();
    assert_eq!(again, vec![[3; 16]]);
    assert!(store
        .record_device_presentations(c.id, &[], clock.now())
        .await
        .unwrap()
        .is_empty());
}
