//! The storage side of verifier organisations and online verification, on
//! both backends: keys found by their id, rotation revoking older keys in
//! the same transaction (and a revoked key refused by the service), a code
//! claimed by exactly one organisation even when two claim it at once (in the
//! access log's batch transaction, checked against the key, the organisation
//! and the card, and kept only if the batch commits), the card found by its
//! status index, and rows the database keeps from being rewritten.

use shengshi_app::verifiers::{self, NewVerifier, VerificationRefused, VerifierGate};
use shengshi_app::Services;
use shengshi_domain::security::Actor;
use shengshi_domain::{CardId, Clock, FixedClock, Timestamp};
use shengshi_eid::{Purpose, VerifierCategory};
use shengshi_store::{
    AccessBatch, CardStatus, CardStatusReason, ClaimOutcome, StoreError, StoredAccessEntry,
    StoredCard, StoredCheckpoint, StoredVerification, StoredVerifier, StoredVerifierKey,
    VerificationClaim,
};
use shengshi_test_support::{add_account, tests_on_both_backends, Backend, TestServices};
use time::Duration;

tests_on_both_backends!(
    keys_are_found_by_id_and_rotation_revokes_the_older_ones,
    a_rotated_out_key_is_refused_by_the_service,
    two_organisations_claiming_one_code_at_once_leave_one_owner,
    claims_committed_together_keep_the_first_owner_of_each_code,
    a_claim_is_checked_against_its_key_verifier_and_card,
    a_batch_that_does_not_continue_the_log_keeps_no_claim,
    a_card_is_found_by_its_status_index,
    suspension_is_recorded_and_identity_is_kept,
    a_storm_killed_mid_batch_keeps_every_answer_and_no_claim_without_its_entry,
);

async fn card(services: &Services, clock: &FixedClock, index: u32) -> StoredCard {
    let resident = add_account(services, clock).await;
    let card = StoredCard {
        id: CardId::new(),
        account: resident.id,
        subject: resident.subject,
        status_index: index,
        status: CardStatus::Active,
        reason: CardStatusReason::Activated,
        sealed_attributes: vec![7; 48],
        activated_at: clock.now(),
        changed_at: clock.now(),
    };
    services.store.activate_card(&card).await.unwrap();
    card
}

fn verifier(name: &str, category: &str, purposes: &[&str], at: Timestamp) -> StoredVerifier {
    StoredVerifier {
        id: uuid::Uuid::now_v7(),
        name: name.into(),
        category: category.into(),
        purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
        status: "active".into(),
        created_at: at,
        changed_at: at,
    }
}

fn key(verifier: &StoredVerifier, mac: u8, at: Timestamp) -> StoredVerifierKey {
    StoredVerifierKey {
        id: uuid::Uuid::now_v7(),
        verifier: verifier.id,
        key_mac: vec![mac; 32],
        created_at: at,
        revoked_at: None,
    }
}

/// An organisation stored with its first key (whose MAC is `mac` repeated).
async fn registered(
    store: &std::sync::Arc<dyn shengshi_store::Store>,
    name: &str,
    category: &str,
    purposes: &[&str],
    mac: u8,
    at: Timestamp,
) -> (StoredVerifier, StoredVerifierKey) {
    let organisation = verifier(name, category, purposes, at);
    let first = key(&organisation, mac, at);
    store.insert_verifier(&organisation, &first).await.unwrap();
    (organisation, first)
}

async fn keys_are_found_by_id_and_rotation_revokes_the_older_ones(backend: Backend) {
    let Some(TestServices {
        db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = &services.store;
    let (hotel, first) = registered(
        store,
        "西湖大酒店",
        "hotel",
        &["hotel_checkin", "age_over_18"],
        1,
        clock.now(),
    )
    .await;
    assert_eq!(store.verifier(hotel.id).await.unwrap(), Some(hotel.clone()));
    assert_eq!(
        store.verifier_key(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.verifier_key(uuid::Uuid::now_v7()).await.unwrap(),
        None
    );
    // The same MAC twice is refused (and changes nothing).
    let station = verifier("杭州东站", "railway", &["travel_security"], clock.now());
    assert!(matches!(
        store
            .insert_verifier(&station, &key(&station, 1, clock.now()))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.verifier(station.id).await.unwrap(), None);

    clock.advance(Duration::minutes(1));
    let second = key(&hotel, 2, clock.now());
    assert_eq!(store.replace_verifier_keys(&second).await.unwrap(), 1);
    clock.advance(Duration::minutes(1));
    let third = key(&hotel, 3, clock.now());
    assert_eq!(store.replace_verifier_keys(&third).await.unwrap(), 1);
    let old = store.verifier_key(first.id).await.unwrap().unwrap();
    assert_eq!(old.revoked_at, Some(second.created_at));
    let middle = store.verifier_key(second.id).await.unwrap().unwrap();
    assert_eq!(middle.revoked_at, Some(third.created_at));
    assert_eq!(
        store
            .verifier_key(third.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    assert_eq!(store.verifier_keys().await.unwrap().len(), 3);

    // A revoked key stays revoked; keys and verifiers are never deleted.
    assert!(db
        .exec("UPDATE verifier_keys SET revoked_at = NULL")
        .await
        .is_err());
    assert!(db.exec("DELETE FROM verifier_keys").await.is_err());
    assert!(db.exec("DELETE FROM verifiers").await.is_err());
    assert_eq!(
        store
            .verifier_key(first.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(second.created_at)
    );
}

async fn a_rotated_out_key_is_refused_by_the_service(backend: Backend) {
    let Some(test) = TestServices::new(backend).await else {
        return;
    };
    let secrets = test.secrets().await;
    let services = &test.services;
    let issued = verifiers::register(
        services,
        &secrets,
        Actor::Operator,
        NewVerifier {
            name: "  西湖大酒店 ".into(),
            category: VerifierCategory::Hotel,
            purposes: vec![Purpose::HotelCheckin, Purpose::AgeOver18],
        },
    )
    .await
    .unwrap();
    assert_eq!(issued.verifier.name, "西湖大酒店");
    let old_key = secrecy::ExposeSecret::expose_secret(&issued.key).to_owned();
    assert!(old_key.starts_with("svk_"));
    // Only a MAC is stored: the key text is nowhere in the row.
    let stored = services
        .store
        .verifier_key(issued.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.key_mac.len(), 32);
    assert!(!old_key.contains(&hex::encode(&stored.key_mac)));

    // No trust list is published here: a live key gets as far as "not
    // ready", a dead one no further than "unauthenticated".
    let issuer = shengshi_app::eid::Issuer::load(
        services,
        shengshi_app::eid::EidSettings {
            issuer: "https://shengshi.example".into(),
            status_uri: "https://shengshi.example/eid/status/1".into(),
            algorithm: shengshi_eid::Algorithm::Ed25519,
            trust_root: None,
            development_root: false,
        },
    )
    .await
    .unwrap();
    let gate = VerifierGate::default();
    let verify = |key: String| {
        let (issuer, secrets, gate) = (&issuer, &secrets, &gate);
        async move {
            verifiers::verify(services, issuer, secrets, gate, Some(key.as_str()), "SS1:").await
        }
    };
    assert!(matches!(
        verify(old_key.clone()).await,
        Err(VerificationRefused::NotReady(_))
    ));
    let rotated = verifiers::rotate_key(services, &secrets, Actor::Operator, issued.verifier.id)
        .await
        .unwrap();
    assert_eq!(rotated.revoked, 1);
    let new_key = secrecy::ExposeSecret::expose_secret(&rotated.key).to_owned();
    assert_ne!(new_key, old_key);
    assert!(matches!(
        verify(old_key.clone()).await,
        Err(VerificationRefused::Unauthenticated)
    ));
    assert!(matches!(
        verify(new_key.clone()).await,
        Err(VerificationRefused::NotReady(_))
    ));
    // A key with one character changed, or another key's secret under this
    // key's id, is refused like an unknown one.
    let mut tampered = new_key.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    assert!(matches!(
        verify(String::from_utf8(tampered).unwrap()).await,
        Err(VerificationRefused::Unauthenticated)
    ));
    let (new_id, _) = new_key[4..].split_once('_').unwrap();
    let (_, old_secret) = old_key[4..].split_once('_').unwrap();
    assert!(matches!(
        verify(format!("svk_{new_id}_{old_secret}")).await,
        Err(VerificationRefused::Unauthenticated)
    ));
    assert!(matches!(
        verify("Bearer nonsense".into()).await,
        Err(VerificationRefused::Unauthenticated)
    ));

    // Suspended: refused whatever the key.
    verifiers::set_active(services, Actor::Operator, issued.verifier.id, false)
        .await
        .unwrap();
    assert!(matches!(
        verify(new_key.clone()).await,
        Err(VerificationRefused::Suspended)
    ));
    // A suspended organisation that keeps trying runs into its rate limit
    // (the clock stands still here): 429, with no read and no security
    // event each.
    let mut answers = Vec::new();
    for _ in 0..30 {
        let answer = verify(new_key.clone()).await;
        let limited = matches!(answer, Err(VerificationRefused::RateLimited { .. }));
        answers.push(answer);
        if limited {
            break;
        }
    }
    let (last, before) = answers.split_last().unwrap();
    assert!(
        matches!(last, Err(VerificationRefused::RateLimited { .. })),
        "{answers:?}"
    );
    assert!(before
        .iter()
        .all(|a| matches!(a, Err(VerificationRefused::Suspended))));
    verifiers::set_active(services, Actor::Operator, issued.verifier.id, true)
        .await
        .unwrap();

    // A hotel may not be registered for a full identity.
    assert!(matches!(
        verifiers::register(
            services,
            &secrets,
            Actor::Operator,
            NewVerifier {
                name: "西湖大酒店".into(),
                category: VerifierCategory::Hotel,
                purposes: vec![Purpose::IdentityFull],
            },
        )
        .await,
        Err(verifiers::VerifierAdminError::PurposeNotForCategory { .. })
    ));

    // Every refusal is a security event naming no code and no resident.
    let events = services.store.security_events(0, 1000).await.unwrap();
    let refusals: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event.event {
            shengshi_domain::SecurityEventKind::VerificationRefused { verifier, reason } => {
                Some((*verifier, reason.clone()))
            }
            _ => None,
        })
        .collect();
    assert!(refusals.contains(&(Some(issued.verifier.id), "revoked_key".to_owned())));
    assert!(refusals.contains(&(None, "unknown_key".to_owned())));
    assert!(refusals.contains(&(Some(issued.verifier.id), "verifier_suspended".to_owned())));
}

/// A claim of `cti` (all bytes `cti`) for the card at `index`.
fn claim(
    by: &StoredVerifier,
    with: &StoredVerifierKey,
    cti: u8,
    index: u32,
    at: Timestamp,
) -> VerificationClaim {
    VerificationClaim {
        cti: hex::encode([cti; 16]),
        verifier: by.id,
        key: with.id,
        status_index: index,
        verified_at: at,
        expires_at: at.plus(Duration::seconds(60)),
    }
}

/// Settles claims in a transaction that logs nothing.
async fn settle(
    store: &std::sync::Arc<dyn shengshi_store::Store>,
    claims: &[VerificationClaim],
) -> Vec<ClaimOutcome> {
    store
        .commit_access_batch(claims, &mut |_| Ok(None))
        .await
        .unwrap()
}

/// The row a claim holds the code with (the claim as stored).
fn row(claim: &VerificationClaim, card: &StoredCard) -> StoredVerification {
    StoredVerification {
        cti: claim.cti.clone(),
        verifier: claim.verifier,
        card: card.id,
        subject: card.subject,
        verified_at: claim.verified_at,
        expires_at: claim.expires_at,
    }
}

fn held(card: &StoredCard, holder: StoredVerification) -> ClaimOutcome {
    ClaimOutcome::Held {
        card: card.id,
        subject: card.subject,
        holder: Box::new(holder),
    }
}

async fn two_organisations_claiming_one_code_at_once_leave_one_owner(backend: Backend) {
    let Some(TestServices {
        db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = services.store.clone();
    let now = clock.now();
    let (hotel, hotel_key) =
        registered(&store, "西湖大酒店", "hotel", &["age_over_18"], 1, now).await;
    let (shop, shop_key) = registered(&store, "便利店", "retail", &["age_over_18"], 2, now).await;
    let card = card(&services, &clock, 4242).await;
    let mut wins = [0, 0];
    for round in 0..10u8 {
        let a = claim(&hotel, &hotel_key, round, 4242, now);
        let b = claim(
            &shop,
            &shop_key,
            round,
            4242,
            now.plus(Duration::milliseconds(1)),
        );
        let (ra, rb) = tokio::join!(
            settle(&store, std::slice::from_ref(&a)),
            settle(&store, std::slice::from_ref(&b))
        );
        // Both are answered with the one row that holds the code, and it
        // holds for exactly one of them.
        assert_eq!(ra, rb, "round {round}");
        let a_won = ra[0] == held(&card, row(&a, &card));
        assert!(
            a_won || ra[0] == held(&card, row(&b, &card)),
            "round {round}: {ra:?}"
        );
        assert_eq!(ra[0].holds_for(&a), a_won);
        assert_eq!(rb[0].holds_for(&b), !a_won);
        wins[usize::from(!a_won)] += 1;
        // The winner scanning again is answered with its first claim.
        let (winner, first) = if a_won { (&a, &ra[0]) } else { (&b, &ra[0]) };
        let mut again = winner.clone();
        again.verified_at = now.plus(Duration::seconds(5));
        let answer = settle(&store, &[again.clone()]).await;
        assert_eq!(&answer[0], first);
        assert!(answer[0].holds_for(&again));
        let stored = store.verification(&a.cti).await.unwrap();
        assert_eq!(stored, Some(row(winner, &card)));
    }
    assert_eq!(
        store.verification(&hex::encode([99u8; 16])).await.unwrap(),
        None
    );
    assert_eq!(wins[0] + wins[1], 10);

    let page = store.verifications(None, 4).await.unwrap();
    assert_eq!(page.len(), 4);
    assert_eq!(page[0].cti, hex::encode([0u8; 16]));
    let rest = store
        .verifications(Some(page[3].cti.as_str()), 100)
        .await
        .unwrap();
    assert_eq!(rest.len(), 6);
    assert_eq!(rest[0].cti, hex::encode([4u8; 16]));

    // A claim is never rewritten or removed.
    assert!(db
        .exec(&format!(
            "UPDATE eid_verifications SET verified_at = verified_at + 1 WHERE cti = '{}'",
            hex::encode([0u8; 16])
        ))
        .await
        .is_err());
    assert!(db.exec("DELETE FROM eid_verifications").await.is_err());
    assert_eq!(store.verifications(None, 100).await.unwrap().len(), 10);
}

/// The access log's batch: one transaction for many claims, each answered
/// with the row that holds its code, in the order given.
async fn claims_committed_together_keep_the_first_owner_of_each_code(backend: Backend) {
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = services.store.clone();
    let now = clock.now();
    let (hotel, hk) = registered(&store, "西湖大酒店", "hotel", &["age_over_18"], 1, now).await;
    let (shop, sk) = registered(&store, "便利店", "retail", &["age_over_18"], 2, now).await;
    let card = card(&services, &clock, 4343).await;
    let at = |ms: i64| now.plus(Duration::milliseconds(ms));
    assert_eq!(settle(&store, &[]).await, vec![]);
    // Code 1 is the shop's already; codes 2 and 3 are new; code 3 is claimed
    // twice in the batch (the earlier claim in the batch wins, though the
    // later one sorts first by verifier).
    let first = claim(&shop, &sk, 1, 4343, at(0));
    settle(&store, std::slice::from_ref(&first)).await;
    let batch = [
        claim(&hotel, &hk, 9, 4343, at(1)),
        claim(&hotel, &hk, 1, 4343, at(2)),
        claim(&shop, &sk, 3, 4343, at(3)),
        claim(&hotel, &hk, 3, 4343, at(4)),
        claim(&hotel, &hk, 2, 4343, at(5)),
    ];
    let answers = settle(&store, &batch).await;
    let owner = |c: &VerificationClaim| held(&card, row(c, &card));
    assert_eq!(
        answers,
        vec![
            owner(&batch[0]),
            owner(&first),
            owner(&batch[2]),
            owner(&batch[2]),
            owner(&batch[4]),
        ]
    );
    let holds: Vec<bool> = batch
        .iter()
        .zip(&answers)
        .map(|(c, a)| a.holds_for(c))
        .collect();
    assert_eq!(holds, [true, false, true, false, true]);
    for (cti, owner) in [
        (1u8, &first),
        (2, &batch[4]),
        (3, &batch[2]),
        (9, &batch[0]),
    ] {
        assert_eq!(
            store.verification(&hex::encode([cti; 16])).await.unwrap(),
            Some(row(owner, &card)),
            "code {cti}"
        );
    }
    // Two batches racing for the same codes (another process, say), listing
    // them in opposite orders: each code ends with one owner, both batches
    // are told the same owner, and neither deadlocks.
    for round in 20..30u8 {
        let a = [
            claim(&hotel, &hk, round, 4343, now),
            claim(&hotel, &hk, round + 100, 4343, now),
        ];
        let b = [
            claim(&shop, &sk, round + 100, 4343, at(1)),
            claim(&shop, &sk, round, 4343, at(1)),
        ];
        let (ra, rb) = tokio::join!(settle(&store, &a), settle(&store, &b));
        assert_eq!(ra[0], rb[1], "round {round}");
        assert_eq!(ra[1], rb[0], "round {round}");
        assert!(ra[0].holds_for(&a[0]) != rb[1].holds_for(&b[1]));
        assert!(ra[1].holds_for(&a[1]) != rb[0].holds_for(&b[0]));
    }
    assert_eq!(store.verifications(None, 100).await.unwrap().len(), 4 + 20);
}

/// A claim holds only while its key is live and its verifier's, its
/// verifier active and its card active; the batch's builder sees why not,
/// and nothing is stored for a claim that fails a check.
async fn a_claim_is_checked_against_its_key_verifier_and_card(backend: Backend) {
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = services.store.clone();
    let now = clock.now();
    let (hotel, old_key) =
        registered(&store, "西湖大酒店", "hotel", &["age_over_18"], 1, now).await;
    let (shop, _) = registered(&store, "便利店", "retail", &["age_over_18"], 2, now).await;
    let new_key = key(&hotel, 3, now.plus(Duration::seconds(1)));
    store.replace_verifier_keys(&new_key).await.unwrap();
    let live = card(&services, &clock, 7001).await;
    let suspended = card(&services, &clock, 7002).await;
    assert!(store
        .set_card_status(
            suspended.id,
            CardStatus::Active,
            CardStatus::Suspended,
            CardStatusReason::PhoneLost,
            now,
        )
        .await
        .unwrap());
    let revoked = card(&services, &clock, 7003).await;
    store
        .revoke_account_cards(revoked.account, CardStatusReason::Deceased, now)
        .await
        .unwrap();

    let shop_with_hotel_key = VerificationClaim {
        verifier: shop.id,
        ..claim(&shop, &new_key, 6, 7001, now)
    };
    let unknown_key = VerificationClaim {
        key: uuid::Uuid::now_v7(),
        ..claim(&hotel, &new_key, 7, 7001, now)
    };
    let claims = [
        claim(&hotel, &old_key, 1, 7001, now),
        claim(&hotel, &new_key, 2, 7002, now),
        claim(&hotel, &new_key, 3, 7003, now),
        claim(&hotel, &new_key, 4, 7999, now),
        claim(&hotel, &new_key, 5, 7001, now),
        shop_with_hotel_key,
        unknown_key,
    ];
    let mut seen = Vec::new();
    let outcomes = store
        .commit_access_batch(&claims, &mut |outcomes| {
            seen = outcomes.to_vec();
            Ok(None)
        })
        .await
        .unwrap();
    assert_eq!(seen, outcomes);
    assert_eq!(
        outcomes,
        vec![
            ClaimOutcome::KeyNotLive,
            ClaimOutcome::CardNotActive(CardStatus::Suspended),
            ClaimOutcome::CardNotActive(CardStatus::Revoked),
            ClaimOutcome::NoCard,
            held(&live, row(&claims[4], &live)),
            ClaimOutcome::KeyNotLive,
            ClaimOutcome::KeyNotLive,
        ]
    );
    let stored: Vec<String> = store
        .verifications(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.cti)
        .collect();
    assert_eq!(stored, [hex::encode([5u8; 16])]);

    // Suspended, the verifier's claims fail even with its live key; an
    // earlier claim of a code does not help a repeated scan either.
    assert!(store
        .set_verifier_status(hotel.id, "suspended", now)
        .await
        .unwrap());
    let again = claim(&hotel, &new_key, 5, 7001, now);
    assert_eq!(
        settle(&store, &[again]).await,
        vec![ClaimOutcome::VerifierSuspended]
    );
}

/// Claims and entries commit together or not at all: a batch that does not
/// continue the log (another sequencer got there first) stores no claim.
async fn a_batch_that_does_not_continue_the_log_keeps_no_claim(backend: Backend) {
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = services.store.clone();
    let now = clock.now();
    let (hotel, hk) = registered(&store, "西湖大酒店", "hotel", &["age_over_18"], 1, now).await;
    let card = card(&services, &clock, 8001).await;
    let size_before = store
        .latest_access_checkpoint()
        .await
        .unwrap()
        .map_or(0, |c| c.tree_size);
    let c = claim(&hotel, &hk, 1, 8001, now);
    let entry = |index: u64| StoredAccessEntry {
        leaf_index: index,
        subject: card.subject,
        at: now,
        entry: vec![1, 2, 3],
        leaf_hash: vec![index as u8; 32],
    };
    let checkpoint = |size: u64| StoredCheckpoint {
        tree_size: size,
        root_hash: vec![9; 32],
        right_edge: "{}".into(),
        note: format!("checkpoint {size}"),
        created_at: now,
    };
    let stale = size_before + 5;
    let result = store
        .commit_access_batch(std::slice::from_ref(&c), &mut |_| {
            Ok(Some(AccessBatch {
                previous_size: stale,
                entries: vec![entry(stale)],
                checkpoint: checkpoint(stale + 1),
            }))
        })
        .await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(store.verification(&c.cti).await.unwrap(), None);

    // Continuing the log, the claim and its entry commit together.
    let outcomes = store
        .commit_access_batch(std::slice::from_ref(&c), &mut |outcomes| {
            assert!(outcomes[0].holds_for(&c));
            Ok(Some(AccessBatch {
                previous_size: size_before,
                entries: vec![entry(size_before)],
                checkpoint: checkpoint(size_before + 1),
            }))
        })
        .await
        .unwrap();
    assert!(outcomes[0].holds_for(&c));
    assert_eq!(
        store.verification(&c.cti).await.unwrap(),
        Some(row(&c, &card))
    );
    let logged = store.access_entries(size_before, 10).await.unwrap();
    assert_eq!(logged, vec![entry(size_before)]);
}

async fn a_card_is_found_by_its_status_index(backend: Backend) {
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = &services.store;
    let card = card(&services, &clock, 1_000_003).await;
    assert_eq!(
        store.card_by_status_index(1_000_003).await.unwrap(),
        Some(card.clone())
    );
    assert_eq!(store.card_by_status_index(1_000_004).await.unwrap(), None);
    // Revoked, it is still found (and says so).
    store
        .revoke_account_cards(card.account, CardStatusReason::Deceased, clock.now())
        .await
        .unwrap();
    let found = store
        .card_by_status_index(1_000_003)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, found.status), (card.id, CardStatus::Revoked));
}

async fn suspension_is_recorded_and_identity_is_kept(backend: Backend) {
    let Some(TestServices {
        db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = &services.store;
    let bank = verifier(
        "省农商银行",
        "bank",
        &["identity_full", "age_over_18"],
        clock.now(),
    );
    store
        .insert_verifier(&bank, &key(&bank, 9, clock.now()))
        .await
        .unwrap();
    clock.advance(Duration::minutes(3));
    assert!(store
        .set_verifier_status(bank.id, "suspended", clock.now())
        .await
        .unwrap());
    assert!(!store
        .set_verifier_status(bank.id, "suspended", clock.now())
        .await
        .unwrap());
    let now = store.verifier(bank.id).await.unwrap().unwrap();
    assert_eq!(
        (now.status.as_str(), now.changed_at),
        ("suspended", clock.now())
    );
    assert_eq!(now.purposes, vec!["identity_full", "age_over_18"]);
    assert_eq!(store.verifiers().await.unwrap(), vec![now]);
    // A bank does not become a hotel.
    assert!(db
        .exec("UPDATE verifiers SET category = 'hotel'")
        .await
        .is_err());
}

/// Concurrent verifications in the child process of the crash test below.
const CRASH_TASKS: usize = 16;
/// Answers the crash test waits for before it kills the child.
const CRASH_ANSWERS: usize = 300;
const CRASH_SETUP: &str = "SHENGSHI_TEST_CRASH_SETUP";

/// The code id of verification `n` of task `task` in the crash test.
fn crash_cti(task: usize, n: usize) -> String {
    format!("{task:08x}{n:024x}")
}

/// kill -9 while verifications are being committed: every verification
/// that was answered is still claimed and logged; of those in flight, each
/// has both its claim and its entry or neither; the log verifies and goes on.
async fn a_storm_killed_mid_batch_keeps_every_answer_and_no_claim_without_its_entry(
    backend: Backend,
) {
    let Some(TestServices {
        db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = services.store.clone();
    let now = clock.now();
    let (hotel, hk) = registered(&store, "西湖大酒店", "hotel", &["hotel_checkin"], 1, now).await;
    let mut indices = Vec::new();
    for index in 9101..9109 {
        indices.push(card(&services, &clock, index).await.status_index);
    }
    let setup = db.dir().join("crash-setup.json");
    let text = serde_json::json!({
        "backend": backend.name(),
        "url": db.url(),
        "kek": db.dir().join("kek"),
        "verifier": hotel.id,
        "name": hotel.name,
        "key": hk.id,
        "indices": indices,
    });
    std::fs::write(&setup, text.to_string()).unwrap();

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["child_verifies_until_killed", "--exact", "--ignored"])
        .args(["--nocapture", "--test-threads", "1"])
        .env(CRASH_SETUP, &setup)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (sender, answers) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(cti) = line.strip_prefix("held ") {
                let _ = sender.send(cti.to_owned());
            }
        }
    });
    let mut answered = Vec::new();
    while answered.len() < CRASH_ANSWERS {
        match answers.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(cti) => answered.push(cti),
            Err(e) => panic!("{} answers, then {e}", answered.len()),
        }
    }
    child.kill().unwrap(); // SIGKILL, in the middle of whatever batch is in flight
    child.wait().unwrap();
    reader.join().unwrap();
    answered.extend(answers.try_iter());

    let report = shengshi_app::audit::verify(store.as_ref(), services.access_log.verifier())
        .await
        .expect("the log verifies after the crash");
    let entries = store.access_entries(0, u32::MAX).await.unwrap();
    let logged: std::collections::HashSet<String> = entries
        .iter()
        .filter_map(|e| {
            let entry = shengshi_domain::access::AccessEntry::from_bytes(&e.entry).ok()?;
            Some(entry.reference?.strip_prefix("crash:")?.to_owned())
        })
        .collect();
    for cti in &answered {
        assert!(logged.contains(cti), "answered {cti} is in the log");
        let holder = store.verification(cti).await.unwrap();
        assert_eq!(holder.map(|h| h.verifier), Some(hotel.id), "{cti}");
    }
    // Every code each task may have had in flight: claimed if and only if logged.
    for task in 0..CRASH_TASKS {
        let tried = (0..)
            .take_while(|n| logged.contains(&crash_cti(task, *n)))
            .count();
        for n in 0..tried + 8 {
            let cti = crash_cti(task, n);
            let claimed = store.verification(&cti).await.unwrap().is_some();
            assert_eq!(claimed, logged.contains(&cti), "{cti}: claim and entry");
        }
    }

    // The log goes on from where the crash left it.
    let card = card(&services, &clock, 9200).await;
    let again = shengshi_test_support::start_access_log(
        store.clone(),
        services.kek.as_ref(),
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let entry = shengshi_domain::access::AccessEntry {
        id: shengshi_domain::EventId::new(),
        at: now,
        subject: card.subject,
        accessor: shengshi_domain::access::Accessor::Verifier {
            organisation: hotel.id,
            name: hotel.name.clone(),
        },
        purpose: shengshi_domain::access::Purpose::EidVerification,
        reference: None,
        fields: Vec::new(),
        embargo: None,
    };
    again.record(entry).await.unwrap();
    let after = shengshi_app::audit::verify(store.as_ref(), services.access_log.verifier())
        .await
        .unwrap();
    assert_eq!(after.entries, report.entries + 1);
}

/// The child process of the crash test above (run only by it): verifies
/// fresh codes from [`CRASH_TASKS`] tasks at once, printing each answer,
/// until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the crash test's child process; it runs until killed"]
async fn child_verifies_until_killed() {
    use shengshi_app::access_log::{ClaimedAccess, ClaimedOutcome};
    let Ok(path) = std::env::var(CRASH_SETUP) else {
        return;
    };
    let setup: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let text = |name: &str| setup[name].as_str().unwrap().to_owned();
    let backend = match text("backend").as_str() {
        "sqlite" => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    let store = shengshi_test_support::open_store(backend, &text("url")).await;
    let kek = shengshi_envelope::LocalKek::load(std::path::Path::new(&text("kek"))).unwrap();
    let clock = std::sync::Arc::new(shengshi_domain::SystemClock);
    let log = shengshi_test_support::start_access_log(store, &kek, clock.clone()).await;
    let verifier: uuid::Uuid = text("verifier").parse().unwrap();
    let key: uuid::Uuid = text("key").parse().unwrap();
    let name = text("name");
    let indices: Vec<u32> = serde_json::from_value(setup["indices"].clone()).unwrap();
    let mut tasks = Vec::new();
    for task in 0..CRASH_TASKS {
        let (log, clock, name, indices) =
            (log.clone(), clock.clone(), name.clone(), indices.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let cti = crash_cti(task, n);
                let now = clock.now();
                let access = ClaimedAccess {
                    claim: VerificationClaim {
                        cti: cti.clone(),
                        verifier,
                        key,
                        status_index: indices[(task + n) % indices.len()],
                        verified_at: now,
                        expires_at: now.plus(Duration::seconds(60)),
                    },
                    at: now,
                    accessor: shengshi_domain::access::Accessor::Verifier {
                        organisation: verifier,
                        name: name.clone(),
                    },
                    purpose: shengshi_domain::access::Purpose::EidVerification,
                    reference: Some(format!("crash:{cti}")),
                    fields: vec!["age_over_18".into()],
                };
                match log.record_claimed(access).await.unwrap() {
                    ClaimedOutcome::Logged { .. } => println!("held {cti}"),
                    other => panic!("{cti}: {other:?}"),
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}
