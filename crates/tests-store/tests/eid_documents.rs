//! The storage side of printable identity documents (Claim 169) on both
//! backends: a document takes its own status index, never one a card or
//! another document holds; the resident lists and revokes only their own;
//! revocation is final; a revoked or suspended card carries its documents
//! into the status list; the issuer keys of live documents are known.

use shengshi_domain::{CardId, Clock, Timestamp};
use shengshi_store::{
    CardStatus, CardStatusEntry, CardStatusReason, StoreError, StoredAccount, StoredCard,
    StoredDocument,
};
use shengshi_test_support::{add_account, tests_on_both_backends, Backend, TestServices};
use time::Duration;
use uuid::Uuid;

tests_on_both_backends!(
    a_document_takes_an_index_nobody_holds,
    residents_list_and_revoke_only_their_own_documents,
    a_card_revoked_or_suspended_carries_its_documents,
    revocation_is_final_and_documents_stay,
    live_document_keys_name_the_signers_until_expiry,
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

fn document(card: &StoredCard, index: u32, at: Timestamp, days: i64) -> StoredDocument {
    StoredDocument {
        id: Uuid::now_v7(),
        account: card.account,
        card: card.id,
        status_index: index,
        kid: "00112233aabbccdd".into(),
        fields: vec!["full_name".into(), "date_of_birth".into()],
        issued_at: at,
        expires_at: at.plus(Duration::days(days)),
        revoked_at: None,
    }
}

async fn a_document_takes_an_index_nobody_holds(backend: Backend) {
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
    let c = card(&resident, 100, clock.now());
    store.activate_card(&c).await.unwrap();

    // The card's index, then another document's: both refused as conflicts,
    // and nothing is written.
    let on_card = document(&c, 100, clock.now(), 365);
    assert!(matches!(
        store.insert_document(&on_card).await,
        Err(StoreError::Conflict(_))
    ));
    let first = document(&c, 200, clock.now(), 365);
    store.insert_document(&first).await.unwrap();
    let twin = document(&c, 200, clock.now(), 365);
    assert!(matches!(
        store.insert_document(&twin).await,
        Err(StoreError::Conflict(_))
    ));
    let listed = store.account_documents(resident.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].document, first);
    assert_eq!(listed[0].card_status, CardStatus::Active);

    // A card may not take a document's index either.
    let other = add_account(&services, &clock).await;
    assert!(matches!(
        store.activate_card(&card(&other, 200, clock.now())).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.current_card(other.id).await.unwrap(), None);
}

async fn residents_list_and_revoke_only_their_own_documents(backend: Backend) {
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
    let alice_card = card(&alice, 1, clock.now());
    let bob_card = card(&bob, 2, clock.now());
    store.activate_card(&alice_card).await.unwrap();
    store.activate_card(&bob_card).await.unwrap();
    let older = document(&alice_card, 10, clock.now(), 30);
    store.insert_document(&older).await.unwrap();
    clock.advance(Duration::minutes(1));
    let newer = document(&alice_card, 11, clock.now(), 30);
    store.insert_document(&newer).await.unwrap();
    let bobs = document(&bob_card, 12, clock.now(), 30);
    store.insert_document(&bobs).await.unwrap();

    let ids: Vec<Uuid> = store
        .account_documents(alice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.document.id)
        .collect();
    assert_eq!(ids, vec![newer.id, older.id], "newest first, only hers");

    // Bob cannot revoke Alice's document; nothing changes.
    assert!(!store
        .revoke_document(bob.id, older.id, clock.now())
        .await
        .unwrap());
    assert_eq!(store.document_status_entries().await.unwrap(), vec![]);

    clock.advance(Duration::minutes(1));
    let at = clock.now();
    assert!(store.revoke_document(alice.id, older.id, at).await.unwrap());
    // Twice is a no-op.
    assert!(!store.revoke_document(alice.id, older.id, at).await.unwrap());
    let listed = store.account_documents(alice.id).await.unwrap();
    assert_eq!(listed[1].document.revoked_at, Some(at));
    assert_eq!(listed[0].document.revoked_at, None);
    assert_eq!(
        store.document_status_entries().await.unwrap(),
        vec![CardStatusEntry {
            status_index: 10,
            status: CardStatus::Revoked
        }]
    );
}

async fn a_card_revoked_or_suspended_carries_its_documents(backend: Backend) {
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
    let c = card(&resident, 5, clock.now());
    store.activate_card(&c).await.unwrap();
    let d = document(&c, 50, clock.now(), 365);
    store.insert_document(&d).await.unwrap();

    assert!(store
        .set_card_status(
            c.id,
            CardStatus::Active,
            CardStatus::Suspended,
            CardStatusReason::PhoneLost,
            clock.now()
        )
        .await
        .unwrap());
    assert_eq!(
        store.document_status_entries().await.unwrap(),
        vec![CardStatusEntry {
            status_index: 50,
            status: CardStatus::Suspended
        }]
    );
    // The death (or closure) of the card: revoked, and the document with it.
    store
        .revoke_account_cards(resident.id, CardStatusReason::Deceased, clock.now())
        .await
        .unwrap();
    assert_eq!(
        store.document_status_entries().await.unwrap(),
        vec![CardStatusEntry {
            status_index: 50,
            status: CardStatus::Revoked
        }]
    );
    let listed = store.account_documents(resident.id).await.unwrap();
    assert_eq!(listed[0].card_status, CardStatus::Revoked);
    // A replacement card does not revive the old card's documents.
    store
        .activate_card(&card(&resident, 6, clock.now()))
        .await
        .unwrap();
    assert_eq!(store.document_status_entries().await.unwrap().len(), 1);
}

async fn revocation_is_final_and_documents_stay(backend: Backend) {
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
    let c = card(&resident, 7, clock.now());
    store.activate_card(&c).await.unwrap();
    let d = document(&c, 70, clock.now(), 365);
    store.insert_document(&d).await.unwrap();
    store
        .revoke_document(resident.id, d.id, clock.now())
        .await
        .unwrap();
    // Straight SQL cannot un-revoke, widen or delete a document, nor free an index.
    for sql in [
        "UPDATE eid_documents SET revoked_at = NULL",
        "UPDATE eid_documents SET expires_at = expires_at + 1000",
        "DELETE FROM eid_documents",
        "DELETE FROM eid_status_indices",
    ] {
        assert!(db.exec(sql).await.is_err(), "{sql} must fail");
    }
    assert_eq!(store.account_documents(resident.id).await.unwrap().len(), 1);
}

async fn live_document_keys_name_the_signers_until_expiry(backend: Backend) {
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
    let c = card(&resident, 8, clock.now());
    store.activate_card(&c).await.unwrap();
    let short = document(&c, 80, clock.now(), 30);
    let long = document(&c, 81, clock.now(), 400);
    let mut other_key = document(&c, 82, clock.now(), 100);
    other_key.kid = "ffeeddccbbaa9988".into();
    let mut revoked = document(&c, 83, clock.now(), 1000);
    revoked.kid = "0101010101010101".into();
    for d in [&short, &long, &other_key, &revoked] {
        store.insert_document(d).await.unwrap();
    }
    store
        .revoke_document(resident.id, revoked.id, clock.now())
        .await
        .unwrap();
    assert_eq!(
        store.live_document_keys(clock.now()).await.unwrap(),
        vec![
            ("00112233aabbccdd".to_owned(), long.expires_at),
            ("ffeeddccbbaa9988".to_owned(), other_key.expires_at),
        ]
    );
    assert_eq!(
        store
            .live_document_keys(clock.now().plus(Duration::days(200)))
            .await
            .unwrap(),
        vec![("00112233aabbccdd".to_owned(), long.expires_at)]
    );
}
