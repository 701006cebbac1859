//! The passkey store's contract, on both backends: credential ids are unique,
//! revoked passkeys are gone from every lookup, a ceremony is taken exactly
//! once (even by two requests at once) and never after it expires, and an
//! eviction revokes the squatter's sessions and passkeys in the same
//! transaction that opens the resident's account.

use shengshi_domain::{AccountId, StaffId, SubjectId, Timestamp};
use shengshi_store::{
    CeremonyPurpose, PasskeyOwner, Store, StoreError, StoredAccount, StoredCeremony, StoredDataKey,
    StoredPasskey, StoredSession,
};
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb};
use std::sync::Arc;
use time::Duration;

tests_on_both_backends!(
    credential_ids_are_unique_and_revocation_hides_a_passkey,
    a_ceremony_is_taken_once_and_never_after_it_expires,
    two_takes_of_one_ceremony_at_once_give_it_to_one,
    eviction_revokes_everything_and_opens_the_replacement_atomically,
    an_in_person_check_and_level_apply_only_to_active_accounts,
);

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(ms).unwrap()
}

fn passkey(id: u8, owner: PasskeyOwner) -> StoredPasskey {
    StoredPasskey {
        credential_id: vec![id; 20],
        owner,
        label: format!("key {id}"),
        passkey: "{}".into(),
        created_at: at(1_000 + i64::from(id)),
        last_used_at: None,
        revoked_at: None,
    }
}

fn account_and_key(id_number_mac: &[u8], now: Timestamp) -> (StoredAccount, StoredDataKey) {
    let subject = SubjectId::new();
    let account = StoredAccount {
        id: AccountId::new(),
        subject,
        assurance_level: 2,
        id_number_mac: Some(id_number_mac.to_vec()),
        phone_mac: vec![9; 32],
        sealed_profile: vec![1, 2, 3],
        status: "active".into(),
        in_person_verified_at: None,
        created_at: now,
        updated_at: now,
    };
    let key = StoredDataKey {
        subject,
        key_id: uuid::Uuid::now_v7(),
        algorithm: "aes-256-gcm".into(),
        kek_id: "local:test".into(),
        wrapped_key: Some(vec![5; 60]),
        created_at: now,
        destroyed_at: None,
    };
    (account, key)
}

async fn store_for(backend: Backend) -> Option<(TestDb, Arc<dyn Store>)> {
    let db = TestDb::new(backend).await?;
    let store = db.store().await;
    Some((db, store))
}

async fn credential_ids_are_unique_and_revocation_hides_a_passkey(backend: Backend) {
    let Some((_db, store)) = store_for(backend).await else {
        return;
    };
    let resident = PasskeyOwner::Resident(AccountId::new());
    let staff = PasskeyOwner::Staff(StaffId::new());
    store.insert_passkey(&passkey(1, resident)).await.unwrap();
    store.insert_passkey(&passkey(2, resident)).await.unwrap();
    store.insert_passkey(&passkey(3, staff)).await.unwrap();
    // The same credential id for anyone else is a conflict, and writes nothing.
    assert!(matches!(
        store.insert_passkey(&passkey(1, staff)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.owner_passkeys(staff).await.unwrap().len(), 1);

    let mine = store.owner_passkeys(resident).await.unwrap();
    assert_eq!(mine, vec![passkey(1, resident), passkey(2, resident)]);

    // A use updates the stored JSON and time.
    assert!(store
        .record_passkey_use(&[1; 20], r#"{"counter":5}"#, at(9_000))
        .await
        .unwrap());
    let used = store.live_passkey(&[1; 20]).await.unwrap().unwrap();
    assert_eq!(
        (used.passkey.as_str(), used.last_used_at),
        (r#"{"counter":5}"#, Some(at(9_000)))
    );

    // Only the owner revokes, once.
    assert!(!store
        .revoke_passkey(staff, &[1; 20], at(10_000))
        .await
        .unwrap());
    assert!(store
        .revoke_passkey(resident, &[1; 20], at(10_000))
        .await
        .unwrap());
    assert!(!store
        .revoke_passkey(resident, &[1; 20], at(11_000))
        .await
        .unwrap());
    assert!(store.live_passkey(&[1; 20]).await.unwrap().is_none());
    assert!(!store
        .record_passkey_use(&[1; 20], "{}", at(12_000))
        .await
        .unwrap());
    assert_eq!(
        store.owner_passkeys(resident).await.unwrap(),
        vec![passkey(2, resident)]
    );

    // Export still sees all three, revoked too, in credential-id order, in pages.
    let first = store.passkeys(None, 2).await.unwrap();
    let rest = store
        .passkeys(Some(&first[1].credential_id), 2)
        .await
        .unwrap();
    let ids: Vec<u8> = first
        .iter()
        .chain(&rest)
        .map(|p| p.credential_id[0])
        .collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(first[0].revoked_at, Some(at(10_000)));
}

fn ceremony(id: u8, purpose: CeremonyPurpose, expires_at: Timestamp) -> StoredCeremony {
    StoredCeremony {
        id_hash: vec![id; 32],
        purpose,
        owner: Some(PasskeyOwner::Resident(AccountId::new())),
        state: format!("{{\"state\":{id}}}"),
        expires_at,
    }
}

async fn a_ceremony_is_taken_once_and_never_after_it_expires(backend: Backend) {
    let Some((_db, store)) = store_for(backend).await else {
        return;
    };
    let now = at(100_000);
    let live = ceremony(1, CeremonyPurpose::ResidentRegistration, at(400_000));
    store.create_ceremony(&live, now).await.unwrap();
    let short = ceremony(2, CeremonyPurpose::ResidentLogin, at(150_000));
    store.create_ceremony(&short, now).await.unwrap();

    // The wrong purpose finds nothing (and does not use it up).
    let taken = store
        .take_ceremony(&[1; 32], CeremonyPurpose::StaffRegistration, now)
        .await
        .unwrap();
    assert!(taken.is_none());
    let taken = store
        .take_ceremony(&[1; 32], CeremonyPurpose::ResidentRegistration, now)
        .await
        .unwrap();
    assert_eq!(taken, Some(live));
    let again = store
        .take_ceremony(&[1; 32], CeremonyPurpose::ResidentRegistration, now)
        .await
        .unwrap();
    assert!(again.is_none(), "a ceremony works once");

    let late = store
        .take_ceremony(&[2; 32], CeremonyPurpose::ResidentLogin, at(150_000))
        .await
        .unwrap();
    assert!(late.is_none(), "not at or after its expiry");

    // Expired ceremonies are swept when a new one is made.
    let old = ceremony(3, CeremonyPurpose::StaffLogin, at(200_000));
    store.create_ceremony(&old, now).await.unwrap();
    store
        .create_ceremony(
            &ceremony(4, CeremonyPurpose::StaffLogin, at(900_000)),
            at(300_000),
        )
        .await
        .unwrap();
    let swept = store
        .take_ceremony(&[3; 32], CeremonyPurpose::StaffLogin, at(100_000))
        .await
        .unwrap();
    assert!(
        swept.is_none(),
        "deleted when it expired, whatever the reader's clock"
    );
}

async fn two_takes_of_one_ceremony_at_once_give_it_to_one(backend: Backend) {
    let Some((_db, store)) = store_for(backend).await else {
        return;
    };
    let now = at(100_000);
    for round in 0..10u8 {
        let c = ceremony(round, CeremonyPurpose::ResidentLogin, at(400_000));
        store.create_ceremony(&c, now).await.unwrap();
        let take = || {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .take_ceremony(&[round; 32], CeremonyPurpose::ResidentLogin, now)
                    .await
                    .unwrap()
                    .is_some()
            })
        };
        let (a, b) = (take(), take());
        let winners = [a.await.unwrap(), b.await.unwrap()]
            .iter()
            .filter(|won| **won)
            .count();
        assert_eq!(winners, 1, "round {round}");
    }
}

async fn eviction_revokes_everything_and_opens_the_replacement_atomically(backend: Backend) {
    let Some((_db, store)) = store_for(backend).await else {
        return;
    };
    let now = at(1_000_000);
    let (squatter, squatter_key) = account_and_key(&[7; 32], now);
    store
        .create_account(&squatter, &squatter_key)
        .await
        .unwrap();
    let session = StoredSession {
        token_hash: vec![4; 32],
        account: squatter.id,
        created_at: now,
        last_seen_at: now,
        expires_at: now.plus(Duration::hours(1)),
        revoked_at: None,
        device: None,
    };
    store.create_session(&session).await.unwrap();
    let owner = PasskeyOwner::Resident(squatter.id);
    store.insert_passkey(&passkey(1, owner)).await.unwrap();

    // A replacement whose data key collides: nothing at all changes.
    let (bad, mut bad_key) = account_and_key(&[7; 32], now);
    bad_key.subject = squatter.subject;
    let later = now.plus(Duration::minutes(1));
    assert!(store
        .evict_and_replace(squatter.id, &bad, &bad_key, later)
        .await
        .is_err());
    let still = store.account(squatter.id).await.unwrap().unwrap();
    assert_eq!(still.status, "active");
    assert!(store
        .session(&[4; 32])
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    assert_eq!(store.owner_passkeys(owner).await.unwrap().len(), 1);
    assert!(store.account(bad.id).await.unwrap().is_none());

    let (resident, resident_key) = account_and_key(&[7; 32], now);
    store
        .evict_and_replace(squatter.id, &resident, &resident_key, later)
        .await
        .unwrap();
    let evicted = store.account(squatter.id).await.unwrap().unwrap();
    assert_eq!(
        (evicted.status.as_str(), evicted.updated_at),
        ("evicted", later)
    );
    assert_eq!(
        store.session(&[4; 32]).await.unwrap().unwrap().revoked_at,
        Some(later)
    );
    assert!(store.owner_passkeys(owner).await.unwrap().is_empty());
    let holder = store
        .active_account_by_id_number(&[7; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holder.id, resident.id);

    // Evicting again (a second clerk at the same moment) is a conflict.
    let (third, third_key) = account_and_key(&[7; 32], now);
    assert!(matches!(
        store
            .evict_and_replace(squatter.id, &third, &third_key, later)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.account(third.id).await.unwrap().is_none());
}

async fn an_in_person_check_and_level_apply_only_to_active_accounts(backend: Backend) {
    let Some((_db, store)) = store_for(backend).await else {
        return;
    };
    let now = at(1_000_000);
    let (account, key) = account_and_key(&[8; 32], now);
    store.create_account(&account, &key).await.unwrap();
    let later = now.plus(Duration::minutes(5));
    assert!(store
        .record_in_person_check(account.id, later)
        .await
        .unwrap());
    store
        .set_assurance_level(account.id, 3, later)
        .await
        .unwrap();
    let stored = store.account(account.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.in_person_verified_at, stored.assurance_level),
        (Some(later), 3)
    );
    assert!(!store
        .record_in_person_check(AccountId::new(), later)
        .await
        .unwrap());
}
