//! The storage side of the resident's rights on both backends: correction
//! requests (stored as given, listed newest first, refused for an unknown
//! field) and closing an account in one transaction (sessions, passkeys and
//! mandates given revoked; mandates received left to their grantor).

use shengshi_app::mandates::{self, GrantRequest};
use shengshi_app::Services;
use shengshi_domain::mandate::{MandateStatus, Relationship, ServiceSet};
use shengshi_domain::{AccountId, Clock, FixedClock};
use shengshi_store::{PasskeyOwner, StoredCorrection, StoredPasskey, StoredSession};
use shengshi_test_support::{add_account, tests_on_both_backends, Backend, TestServices};
use time::Duration;

tests_on_both_backends!(
    corrections_are_stored_and_listed_newest_first,
    closing_revokes_everything_in_one_step_and_only_once,
);

async fn account(services: &Services, clock: &FixedClock) -> AccountId {
    add_account(services, clock).await.id
}

fn correction(account: AccountId, field: &str, at: shengshi_domain::Timestamp) -> StoredCorrection {
    StoredCorrection {
        id: uuid::Uuid::now_v7(),
        account,
        field: field.into(),
        sealed_value: vec![1; 40],
        sealed_explanation: vec![2; 40],
        status: "open".into(),
        created_at: at,
        decided_at: None,
    }
}

async fn corrections_are_stored_and_listed_newest_first(backend: Backend) {
    // `_db` keeps the test's database (or schema) alive until the end.
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let mine = account(&services, &clock).await;
    let theirs = account(&services, &clock).await;
    let first = correction(mine, "name", clock.now());
    clock.advance(Duration::minutes(1));
    let second = correction(mine, "address", clock.now());
    for c in [&first, &second, &correction(theirs, "phone", clock.now())] {
        services.store.insert_correction(c).await.unwrap();
    }
    let listed = services.store.corrections_by_account(mine).await.unwrap();
    assert_eq!(listed, vec![second.clone(), first.clone()]);
    assert_eq!(services.store.corrections(None, 10).await.unwrap().len(), 3);
    let after_first = services
        .store
        .corrections(Some(first.id), 10)
        .await
        .unwrap();
    assert_eq!(after_first.len(), 2);

    // The database refuses a field or status outside the list, and a
    // request for an account that does not exist.
    for bad in [
        correction(mine, "shoe_size", clock.now()),
        StoredCorrection {
            status: "maybe".into(),
            ..correction(mine, "name", clock.now())
        },
        correction(AccountId::new(), "name", clock.now()),
    ] {
        assert!(services.store.insert_correction(&bad).await.is_err());
    }
    assert_eq!(services.store.corrections(None, 10).await.unwrap().len(), 3);
}

async fn closing_revokes_everything_in_one_step_and_only_once(backend: Backend) {
    // `_db` keeps the test's database (or schema) alive until the end.
    let Some(TestServices {
        db: _db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let me = account(&services, &clock).await;
    let family = account(&services, &clock).await;
    let now = clock.now();
    services
        .store
        .create_session(&StoredSession {
            token_hash: vec![9; 32],
            account: me,
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus(Duration::days(1)),
            revoked_at: None,
            device: None,
        })
        .await
        .unwrap();
    services
        .store
        .insert_passkey(&StoredPasskey {
            credential_id: vec![4; 16],
            owner: PasskeyOwner::Resident(me),
            label: "phone".into(),
            passkey: "{}".into(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        })
        .await
        .unwrap();
    let request = |grantor, grantee| GrantRequest {
        grantor,
        grantee,
        relationship: Relationship::Child,
        services: ServiceSet::parse(&["traffic_fine.pay"]).unwrap(),
        valid_from: now,
        valid_until: now.plus(Duration::days(30)),
    };
    let given = mandates::grant(&services, request(me, family))
        .await
        .unwrap();
    let received = mandates::grant(&services, request(family, me))
        .await
        .unwrap();

    clock.advance(Duration::minutes(1));
    assert!(services.store.close_account(me, clock.now()).await.unwrap());
    let closed = services.store.account(me).await.unwrap().unwrap();
    assert_eq!(closed.status, "closed");
    let live = services
        .store
        .live_sessions(me, clock.now(), now.plus(-Duration::days(1)))
        .await
        .unwrap();
    assert!(live.is_empty());
    assert!(services
        .store
        .owner_passkeys(PasskeyOwner::Resident(me))
        .await
        .unwrap()
        .is_empty());
    let status = |id| {
        let services = &services;
        let clock = &clock;
        async move {
            services
                .store
                .mandate(id)
                .await
                .unwrap()
                .unwrap()
                .status(clock.now())
        }
    };
    assert_eq!(status(given.id()).await, MandateStatus::Revoked);
    assert_eq!(status(received.id()).await, MandateStatus::Active);

    // A second close finds nothing active and writes nothing.
    assert!(!services.store.close_account(me, clock.now()).await.unwrap());
    assert_eq!(
        services
            .store
            .account(family)
            .await
            .unwrap()
            .unwrap()
            .status,
        "active"
    );
}
