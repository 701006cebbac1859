//! Mandates (亲友代办) on both backends: granting, acting, every refusal,
//! expiry by the clock, revocation (also racing concurrent actions), the
//! grantor's view of actions, the append-only record, and export/import.

use shengshi_app::mandates::{self, ActError, GrantError, GrantRequest, RevokeError};
use shengshi_app::transfer::{export, import};
use shengshi_app::{installation, Services};
use shengshi_domain::mandate::{
    ActionCode, MandateError, MandateRefusal, MandateStatus, Relationship, ServiceCode, ServiceSet,
};
use shengshi_domain::{AccountId, Clock, FixedClock, MandateId, SubjectId};
use shengshi_envelope::{Algorithm, DataKey, KeyRef};
use shengshi_store::{Store, StoredAccount, StoredDataKey};
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb, TestServices};
use std::sync::Arc;
use time::Duration;

tests_on_both_backends!(
    a_grantee_acts_and_the_grantor_sees_it,
    each_refusal_is_specific,
    grants_that_break_a_rule_are_refused,
    a_mandate_expires_by_the_clock_alone,
    a_revoked_mandate_refuses_actions_and_revoking_is_idempotent,
    a_revocation_racing_actions_leaves_none_recorded_after_it,
    the_database_refuses_to_alter_or_delete_actions,
    mandates_and_actions_survive_export_and_import,
);

struct World {
    db: TestDb,
    services: Services,
    clock: FixedClock,
}

async fn world(backend: Backend) -> Option<World> {
    let TestServices {
        db,
        services,
        clock,
    } = TestServices::new(backend).await?;
    Some(World {
        db,
        services,
        clock,
    })
}

impl World {
    /// An active account at `level`, with its data key.
    async fn account(&self, level: i64) -> AccountId {
        let now = self.clock.now();
        let subject = SubjectId::new();
        let key_id = uuid::Uuid::now_v7();
        let key = DataKey::generate(KeyRef(*key_id.as_bytes()), Algorithm::Aes256Gcm);
        let account = StoredAccount {
            id: AccountId::new(),
            subject,
            assurance_level: level,
            id_number_mac: (level >= 2).then(|| uuid::Uuid::now_v7().as_bytes().to_vec()),
            phone_mac: uuid::Uuid::now_v7().as_bytes().to_vec(),
            sealed_profile: key.seal(b"{}", b"account.profile").into_bytes(),
            status: "active".into(),
            in_person_verified_at: None,
            created_at: now,
            updated_at: now,
        };
        let stored_key = StoredDataKey {
            subject,
            key_id,
            algorithm: "aes-256-gcm".into(),
            kek_id: self.services.kek.id().into(),
            wrapped_key: Some(key.wrap(self.services.kek.as_ref()).await.unwrap()),
            created_at: now,
            destroyed_at: None,
        };
        self.services
            .store
            .create_account(&account, &stored_key)
            .await
            .unwrap();
        account.id
    }

    fn request(&self, grantor: AccountId, grantee: AccountId, days: i64) -> GrantRequest {
        let now = self.clock.now();
        GrantRequest {
            grantor,
            grantee,
            relationship: Relationship::Child,
            services: ServiceSet::parse(&["traffic_fine.pay", "social_security.query"]).unwrap(),
            valid_from: now,
            valid_until: now.plus(Duration::days(days)),
        }
    }

    async fn act(
        &self,
        mandate: MandateId,
        actor: AccountId,
        service: &str,
    ) -> Result<shengshi_domain::mandate::MandateAction, ActError> {
        mandates::act_under_mandate(
            &self.services,
            mandate,
            actor,
            ServiceCode::parse(service).unwrap(),
            ActionCode::parse("traffic_fine.paid").unwrap(),
        )
        .await
    }

    /// The names of the security events logged so far.
    async fn event_kinds(&self) -> Vec<&'static str> {
        self.services
            .store
            .security_events(0, 1_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event.event.name())
            .collect()
    }
}

fn refused(result: Result<shengshi_domain::mandate::MandateAction, ActError>) -> MandateRefusal {
    match result {
        Err(ActError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn a_grantee_acts_and_the_grantor_sees_it(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (mother, son) = (w.account(2).await, w.account(2).await);
    let mandate = mandates::grant(&w.services, w.request(mother, son, 30))
        .await
        .unwrap();
    assert_eq!(mandate.status(w.clock.now()), MandateStatus::Active);

    w.clock.advance(Duration::minutes(1));
    let action = w.act(mandate.id(), son, "traffic_fine.pay").await.unwrap();
    assert_eq!(
        (action.mandate, action.actor, action.service.as_str()),
        (mandate.id(), son, "traffic_fine.pay")
    );

    let seen = mandates::actions_for_grantor(&w.services, mother)
        .await
        .unwrap();
    assert_eq!(seen, vec![action], "the grantor sees exactly what was done");
    assert!(mandates::actions_for_grantor(&w.services, son)
        .await
        .unwrap()
        .is_empty());

    let given = mandates::list_for_grantor(&w.services, mother)
        .await
        .unwrap();
    assert_eq!(given.len(), 1);
    assert_eq!(given[0].mandate, mandate);
    assert_eq!(given[0].status, MandateStatus::Active);
    let received = mandates::list_for_grantee(&w.services, son).await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].mandate.id(), mandate.id());
    assert!(mandates::list_for_grantee(&w.services, mother)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        w.services.store.mandate(mandate.id()).await.unwrap(),
        Some(mandate)
    );
    assert!(w.event_kinds().await.contains(&"mandate_granted"));
}

async fn each_refusal_is_specific(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (mother, son, stranger) = (w.account(2).await, w.account(2).await, w.account(2).await);
    let now = w.clock.now();
    let mandate = mandates::grant(&w.services, w.request(mother, son, 30))
        .await
        .unwrap();

    assert_eq!(
        refused(w.act(mandate.id(), stranger, "traffic_fine.pay").await),
        MandateRefusal::NotGrantee
    );
    assert_eq!(
        refused(w.act(mandate.id(), mother, "traffic_fine.pay").await),
        MandateRefusal::NotGrantee,
        "the grantor does not act under their own mandate"
    );
    assert_eq!(
        refused(w.act(mandate.id(), son, "marriage.book").await),
        MandateRefusal::ServiceNotCovered
    );
    assert!(matches!(
        w.act(MandateId::new(), son, "traffic_fine.pay").await,
        Err(ActError::NoSuchMandate)
    ));

    let mut later = w.request(mother, son, 30);
    later.valid_from = now.plus(Duration::days(7));
    later.valid_until = now.plus(Duration::days(14));
    let later = mandates::grant(&w.services, later).await.unwrap();
    assert_eq!(later.status(now), MandateStatus::NotYetValid);
    assert_eq!(
        refused(w.act(later.id(), son, "traffic_fine.pay").await),
        MandateRefusal::NotYetValid
    );

    w.clock.advance(Duration::days(31));
    assert_eq!(
        refused(w.act(mandate.id(), son, "traffic_fine.pay").await),
        MandateRefusal::Expired
    );

    mandates::revoke(&w.services, later.id(), mother)
        .await
        .unwrap();
    assert_eq!(
        refused(w.act(later.id(), son, "traffic_fine.pay").await),
        MandateRefusal::Revoked
    );
    assert!(
        mandates::actions_for_grantor(&w.services, mother)
            .await
            .unwrap()
            .is_empty(),
        "no refusal records an action"
    );
}

async fn grants_that_break_a_rule_are_refused(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (mother, son, phone_only) = (w.account(2).await, w.account(2).await, w.account(1).await);
    assert!(matches!(
        mandates::grant(&w.services, w.request(mother, mother, 30)).await,
        Err(GrantError::Invalid(MandateError::SelfMandate))
    ));
    assert!(matches!(
        mandates::grant(&w.services, w.request(mother, phone_only, 30)).await,
        Err(GrantError::Invalid(MandateError::GranteeLevelTooLow(1)))
    ));
    assert!(matches!(
        mandates::grant(&w.services, w.request(mother, AccountId::new(), 30)).await,
        Err(GrantError::NoSuchGrantee)
    ));
    assert!(matches!(
        mandates::grant(&w.services, w.request(AccountId::new(), son, 30)).await,
        Err(GrantError::GrantorNotActive)
    ));
    assert!(matches!(
        mandates::grant(&w.services, w.request(mother, son, 400)).await,
        Err(GrantError::Invalid(MandateError::TooLong { .. }))
    ));
    let mut guardian = w.request(mother, son, 5 * 365);
    guardian.relationship = Relationship::Guardian;
    assert!(mandates::grant(&w.services, guardian).await.is_ok());
    let mut past = w.request(mother, son, 10);
    past.valid_from = w.clock.now().plus(Duration::days(-20));
    past.valid_until = w.clock.now().plus(Duration::days(-10));
    assert!(matches!(
        mandates::grant(&w.services, past).await,
        Err(GrantError::AlreadyEnded)
    ));
    assert_eq!(
        mandates::list_for_grantor(&w.services, mother)
            .await
            .unwrap()
            .len(),
        1,
        "only the valid grant was stored"
    );
}

async fn a_mandate_expires_by_the_clock_alone(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (mother, son) = (w.account(2).await, w.account(2).await);
    let mandate = mandates::grant(&w.services, w.request(mother, son, 1))
        .await
        .unwrap();
    let until = mandate.valid_until();
    w.clock.set(until.plus(Duration::milliseconds(-1)));
    w.act(mandate.id(), son, "traffic_fine.pay").await.unwrap();
    w.clock.set(until);
    assert_eq!(
        refused(w.act(mandate.id(), son, "traffic_fine.pay").await),
        MandateRefusal::Expired
    );
    let listed = mandates::list_for_grantee(&w.services, son).await.unwrap();
    assert_eq!(listed[0].status, MandateStatus::Expired);
    // Nothing was written to expire it: the stored mandate is as granted.
    assert_eq!(
        w.services.store.mandate(mandate.id()).await.unwrap(),
        Some(mandate)
    );
}

async fn a_revoked_mandate_refuses_actions_and_revoking_is_idempotent(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (mother, son) = (w.account(2).await, w.account(2).await);
    let mandate = mandates::grant(&w.services, w.request(mother, son, 30))
        .await
        .unwrap();
    w.act(mandate.id(), son, "traffic_fine.pay").await.unwrap();

    assert!(matches!(
        mandates::revoke(&w.services, mandate.id(), son).await,
        Err(RevokeError::NotFound)
    ));
    assert!(matches!(
        mandates::revoke(&w.services, MandateId::new(), mother).await,
        Err(RevokeError::NotFound)
    ));
    let revoked_at = w.clock.now();
    let revoked = mandates::revoke(&w.services, mandate.id(), mother)
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at(), Some(revoked_at));
    w.clock.advance(Duration::minutes(5));
    let again = mandates::revoke(&w.services, mandate.id(), mother)
        .await
        .unwrap();
    assert_eq!(
        again.revoked_at(),
        Some(revoked_at),
        "the first revocation stays"
    );
    assert_eq!(
        refused(w.act(mandate.id(), son, "traffic_fine.pay").await),
        MandateRefusal::Revoked
    );
    let listed = mandates::list_for_grantor(&w.services, mother)
        .await
        .unwrap();
    assert_eq!(listed[0].status, MandateStatus::Revoked);
    assert_eq!(
        mandates::actions_for_grantor(&w.services, mother)
            .await
            .unwrap()
            .len(),
        1,
        "the action before the revocation stays visible"
    );
    let kinds = w.event_kinds().await;
    assert_eq!(
        kinds.iter().filter(|k| **k == "mandate_revoked").count(),
        1,
        "a repeated revocation logs nothing more"
    );
}

async fn a_revocation_racing_actions_leaves_none_recorded_after_it(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    // Rounds with the revocation starting later and later, so that it lands
    // before, among and after the actions.
    for delay in 0..4 {
        let (mother, son) = (w.account(2).await, w.account(2).await);
        race_once(&w, mother, son, delay).await;
    }
}

async fn race_once(w: &World, mother: AccountId, son: AccountId, delay: usize) {
    let mandate = mandates::grant(&w.services, w.request(mother, son, 30))
        .await
        .unwrap()
        .id();
    const ACTIONS: usize = 20;
    let start = Arc::new(tokio::sync::Barrier::new(ACTIONS + 1));
    let mut tasks = Vec::new();
    for i in 0..ACTIONS {
        let (services, start) = (w.services.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            for _ in 0..i % 3 {
                tokio::task::yield_now().await;
            }
            mandates::act_under_mandate(
                &services,
                mandate,
                son,
                ServiceCode::parse("traffic_fine.pay").unwrap(),
                ActionCode::parse("traffic_fine.paid").unwrap(),
            )
            .await
        }));
    }
    let (services, revoke_start) = (w.services.clone(), start.clone());
    let revocation = tokio::spawn(async move {
        revoke_start.wait().await;
        for _ in 0..delay {
            tokio::task::yield_now().await;
        }
        mandates::revoke(&services, mandate, mother).await
    });
    revocation.await.unwrap().unwrap();
    // Read right after the revocation committed: nothing may be added later.
    let at_revocation = mandates::actions_for_grantor(&w.services, mother)
        .await
        .unwrap();

    let mut recorded = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(action) => recorded.push(action.id),
            Err(ActError::Refused(MandateRefusal::Revoked)) => {}
            Err(other) => panic!("unexpected answer: {other:?}"),
        }
    }
    let at_end = mandates::actions_for_grantor(&w.services, mother)
        .await
        .unwrap();
    assert_eq!(
        at_end, at_revocation,
        "no action was recorded after the revocation committed"
    );
    let mut stored: Vec<_> = at_end.iter().map(|a| a.id).collect();
    stored.sort();
    recorded.sort();
    assert_eq!(
        stored, recorded,
        "exactly the actions answered as recorded are stored"
    );
}

async fn the_database_refuses_to_alter_or_delete_actions(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (mother, son) = (w.account(2).await, w.account(2).await);
    let mandate = mandates::grant(&w.services, w.request(mother, son, 30))
        .await
        .unwrap();
    w.act(mandate.id(), son, "traffic_fine.pay").await.unwrap();

    let update =
        w.db.exec("UPDATE mandate_actions SET action = 'forged'")
            .await;
    assert!(update.unwrap_err().contains("append-only"));
    let delete = w.db.exec("DELETE FROM mandate_actions").await;
    assert!(delete.unwrap_err().contains("append-only"));

    // A mandate changes only by being revoked, once.
    let widen =
        w.db.exec(r#"UPDATE mandates SET services = '["marriage.book"]'"#)
            .await;
    assert!(widen.unwrap_err().contains("only be revoked"));
    mandates::revoke(&w.services, mandate.id(), mother)
        .await
        .unwrap();
    let unrevoke = w.db.exec("UPDATE mandates SET revoked_at = NULL").await;
    assert!(unrevoke.unwrap_err().contains("only be revoked"));
    assert_eq!(
        mandates::actions_for_grantor(&w.services, mother)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn populated_export(w: &World) -> String {
    installation::open_or_create(
        w.services.store.as_ref(),
        w.services.kek.as_ref(),
        w.services.clock.as_ref(),
        &w.services.security_log,
        Algorithm::Aes256Gcm,
        true,
    )
    .await
    .unwrap();
    let (mother, son, daughter) = (w.account(2).await, w.account(2).await, w.account(3).await);
    let first = mandates::grant(&w.services, w.request(mother, son, 30))
        .await
        .unwrap();
    let mut guardian = w.request(mother, daughter, 1_000);
    guardian.relationship = Relationship::Guardian;
    let second = mandates::grant(&w.services, guardian).await.unwrap();
    w.act(first.id(), son, "traffic_fine.pay").await.unwrap();
    w.act(second.id(), daughter, "social_security.query")
        .await
        .unwrap();
    mandates::revoke(&w.services, first.id(), mother)
        .await
        .unwrap();
    let mut out = Vec::new();
    export(w.services.store.as_ref(), &mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

async fn mandates_and_actions_survive_export_and_import(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let original = populated_export(&w).await;
    let count = |kind: &str| {
        original
            .lines()
            .filter(|l| l.contains(&format!(r#""record":"{kind}""#)))
            .count()
    };
    assert_eq!((count("mandate"), count("mandate_action")), (2, 2));

    let Some(target_db) = TestDb::new(backend).await else {
        return;
    };
    let target: Arc<dyn Store> = target_db.store().await;
    import(target.as_ref(), &mut original.as_bytes())
        .await
        .unwrap();
    let mut again = Vec::new();
    export(target.as_ref(), &mut again).await.unwrap();
    let again = String::from_utf8(again).unwrap();
    assert_eq!(
        again.lines().skip(1).collect::<Vec<_>>(),
        original.lines().skip(1).collect::<Vec<_>>(),
        "the target holds exactly what the source held"
    );
}
