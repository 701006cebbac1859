//! Verifier applications on both backends: the per-address limit (counted
//! and inserted in one transaction), the queue oldest first, a decision taken
//! once, and the use case on top: an approval registers the organisation
//! with what it asked for and hands out a working key, a refusal needs a
//! reason, both are security events naming the staff member.

use secrecy::{ExposeSecret, SecretString};
use shengshi_app::staff::capability::{authorize, VerifierRegistrarCap};
use shengshi_app::staff::{totp, NewStaff, StaffAccounts};
use shengshi_app::transfer::{export, import};
use shengshi_app::verifier_applications::{self, ApplyError, DecideError, NewApplication};
use shengshi_app::verifiers::{self, VerificationRefused, VerifierGate};
use shengshi_domain::{Clock, Department, Role, SecurityEventKind, StaffId};
use shengshi_eid::{Purpose, VerifierCategory};
use shengshi_store::{ApplicationStatus, StoredVerifierApplication};
use shengshi_test_support::staff::{totp_secret, STAFF_PASSWORD};
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb, TestServices};
use std::net::IpAddr;
use std::sync::Arc;
use time::Duration;

tests_on_both_backends!(
    the_store_limits_each_address_and_decides_once,
    approval_registers_the_organisation_and_its_key_works,
    a_refusal_needs_a_reason_and_is_final,
    applications_travel_through_export_and_import,
);

fn application(address: u8, at: shengshi_domain::Timestamp) -> StoredVerifierApplication {
    StoredVerifierApplication {
        id: uuid::Uuid::now_v7(),
        name: "西湖大酒店".into(),
        category: "hotel".into(),
        purposes: vec!["hotel_checkin".into(), "age_over_18".into()],
        contact: "frontdesk@xihu-hotel.example".into(),
        address_mac: vec![address; 32],
        status: ApplicationStatus::Pending,
        submitted_at: at,
        decided_by: None,
        decided_at: None,
        reason: None,
        verifier: None,
    }
}

async fn the_store_limits_each_address_and_decides_once(backend: Backend) {
    let Some(TestServices {
        db,
        services,
        clock,
    }) = TestServices::new(backend).await
    else {
        return;
    };
    let store = &services.store;
    let day_ago = |c: &shengshi_domain::FixedClock| c.now().plus(-Duration::days(1));
    let first = application(1, clock.now());
    assert!(store
        .insert_verifier_application(&first, 2, day_ago(&clock))
        .await
        .unwrap());
    clock.advance(Duration::minutes(1));
    let second = application(1, clock.now());
    assert!(store
        .insert_verifier_application(&second, 2, day_ago(&clock))
        .await
        .unwrap());
    // A third from the same address in the window is refused and not stored;
    // another address is not affected.
    let third = application(1, clock.now());
    assert!(!store
        .insert_verifier_application(&third, 2, day_ago(&clock))
        .await
        .unwrap());
    assert_eq!(store.verifier_application(third.id).await.unwrap(), None);
    let other = application(2, clock.now());
    assert!(store
        .insert_verifier_application(&other, 2, day_ago(&clock))
        .await
        .unwrap());
    // A day later the address may apply again.
    clock.advance(Duration::days(1));
    let later = application(1, clock.now());
    assert!(store
        .insert_verifier_application(&later, 2, day_ago(&clock))
        .await
        .unwrap());

    let queue = store.pending_verifier_applications().await.unwrap();
    let ids: Vec<_> = queue.iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![first.id, second.id, other.id, later.id]);
    assert_eq!(queue[0], first);

    let staff = StaffId::new();
    assert!(store
        .decide_verifier_application(
            first.id,
            ApplicationStatus::Refused,
            staff,
            clock.now(),
            Some("not a hotel")
        )
        .await
        .unwrap());
    // Decided once: a second decision changes nothing.
    assert!(!store
        .decide_verifier_application(
            first.id,
            ApplicationStatus::Approved,
            staff,
            clock.now(),
            None
        )
        .await
        .unwrap());
    let refused = store.verifier_application(first.id).await.unwrap().unwrap();
    assert_eq!(refused.status, ApplicationStatus::Refused);
    assert_eq!(refused.reason.as_deref(), Some("not a hotel"));
    assert_eq!(refused.decided_by, Some(staff));
    assert_eq!(refused.decided_at, Some(clock.now()));
    // A refused application names no verifier.
    assert!(!store
        .set_application_verifier(first.id, uuid::Uuid::now_v7())
        .await
        .unwrap());
    assert_eq!(
        store.pending_verifier_applications().await.unwrap().len(),
        3
    );
    // The database itself keeps a decision and the application's content.
    assert!(db
        .exec("UPDATE verifier_applications SET status = 'pending', decided_by = NULL, decided_at = NULL, reason = NULL")
        .await
        .is_err());
    assert!(db
        .exec("UPDATE verifier_applications SET name = 'x'")
        .await
        .is_err());
    assert!(db.exec("DELETE FROM verifier_applications").await.is_err());
}

/// A platform operations administrator, logged in, with their capability.
async fn registrar(test: &TestServices) -> (VerifierRegistrarCap, StaffId) {
    let staff = StaffAccounts::new(&test.services, Arc::new(test.secrets().await));
    let enrolled = staff
        .add_by_operator(NewStaff {
            username: "ops.admin".to_owned(),
            display_name: "王芳".to_owned(),
            department: Department::PlatformOperations,
            role: Role::Administrator,
            password: SecretString::from(STAFF_PASSWORD.to_owned()),
        })
        .await
        .unwrap();
    let seconds = test.clock.now().unix_millis() / 1000;
    let code = totp::code_for_step(
        &totp_secret(&enrolled),
        totp::step_at(seconds),
        totp::DIGITS,
    );
    let member = staff
        .verify_password_and_totp(
            "ops.admin",
            &SecretString::from(STAFF_PASSWORD.to_owned()),
            &code,
        )
        .await
        .unwrap();
    let cap = authorize(&member).verifier_registrar.expect("registrar");
    (cap, member.id())
}

fn hotel() -> NewApplication {
    NewApplication {
        name: "西湖大酒店".into(),
        category: VerifierCategory::Hotel,
        purposes: vec![Purpose::HotelCheckin, Purpose::AgeOver18],
        contact: "frontdesk@xihu-hotel.example".into(),
    }
}

async fn events(test: &TestServices) -> Vec<SecurityEventKind> {
    test.services
        .store
        .security_events(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.event)
        .collect()
}

async fn approval_registers_the_organisation_and_its_key_works(backend: Backend) {
    let Some(test) = TestServices::new(backend).await else {
        return;
    };
    let services = &test.services;
    let secrets = test.secrets().await;
    let address: IpAddr = "203.0.113.7".parse().unwrap();
    // A purpose its category does not allow is refused before anything is stored.
    let mut greedy = hotel();
    greedy.purposes.push(Purpose::IdentityFull);
    assert!(matches!(
        verifier_applications::apply(services, &secrets, greedy, address).await,
        Err(ApplyError::PurposeNotForCategory { .. })
    ));
    let applied = verifier_applications::apply(services, &secrets, hotel(), address)
        .await
        .unwrap();
    for _ in 1..verifier_applications::APPLICATIONS_PER_ADDRESS_PER_DAY {
        verifier_applications::apply(services, &secrets, hotel(), address)
            .await
            .unwrap();
    }
    assert!(matches!(
        verifier_applications::apply(services, &secrets, hotel(), address).await,
        Err(ApplyError::TooMany)
    ));

    let (cap, staff) = registrar(&test).await;
    let queue = verifier_applications::pending(services, &cap)
        .await
        .unwrap();
    assert_eq!(queue.first().map(|a| a.id), Some(applied.id));
    let issued = verifier_applications::approve(services, &secrets, &cap, applied.id)
        .await
        .unwrap();
    assert_eq!(issued.verifier.name, "西湖大酒店");
    assert_eq!(issued.verifier.category, VerifierCategory::Hotel);
    assert_eq!(
        issued.verifier.purposes,
        vec![Purpose::HotelCheckin, Purpose::AgeOver18]
    );
    let stored = services
        .store
        .verifier_application(applied.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, ApplicationStatus::Approved);
    assert_eq!(stored.verifier, Some(issued.verifier.id));
    assert!(matches!(
        verifier_applications::approve(services, &secrets, &cap, applied.id).await,
        Err(DecideError::AlreadyDecided)
    ));
    assert_eq!(
        verifier_applications::organisations(services, &cap)
            .await
            .unwrap()
            .len(),
        1
    );

    // The key is accepted by the online service: it gets past
    // authentication to "not ready" (no trust list is published here).
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
    let key = issued.key.expose_secret().to_owned();
    assert!(matches!(
        verifiers::verify(
            services,
            &issuer,
            &secrets,
            &gate,
            Some(key.as_str()),
            "SS1:"
        )
        .await,
        Err(VerificationRefused::NotReady(_))
    ));
    // Suspended, the same key is refused.
    verifier_applications::set_active(services, &cap, issued.verifier.id, false)
        .await
        .unwrap();
    assert!(!matches!(
        verifiers::verify(
            services,
            &issuer,
            &secrets,
            &gate,
            Some(key.as_str()),
            "SS1:"
        )
        .await,
        Err(VerificationRefused::NotReady(_))
    ));

    assert!(events(&test)
        .await
        .contains(&SecurityEventKind::VerifierApplicationApproved {
            application: applied.id,
            verifier: issued.verifier.id,
            staff,
        }));
}

async fn a_refusal_needs_a_reason_and_is_final(backend: Backend) {
    let Some(test) = TestServices::new(backend).await else {
        return;
    };
    let services = &test.services;
    let secrets = test.secrets().await;
    let applied =
        verifier_applications::apply(services, &secrets, hotel(), "2001:db8::1".parse().unwrap())
            .await
            .unwrap();
    let (cap, staff) = registrar(&test).await;
    assert!(matches!(
        verifier_applications::refuse(services, &cap, applied.id, "   ").await,
        Err(DecideError::NoReason)
    ));
    assert!(matches!(
        verifier_applications::refuse(services, &cap, uuid::Uuid::now_v7(), "no").await,
        Err(DecideError::NotFound)
    ));
    let refused = verifier_applications::refuse(services, &cap, applied.id, " 不是酒店 ")
        .await
        .unwrap();
    assert_eq!(refused.status, ApplicationStatus::Refused);
    assert_eq!(refused.reason.as_deref(), Some("不是酒店"));
    assert!(matches!(
        verifier_applications::approve(services, &secrets, &cap, applied.id).await,
        Err(DecideError::AlreadyDecided)
    ));
    assert!(verifier_applications::pending(services, &cap)
        .await
        .unwrap()
        .is_empty());
    assert!(verifiers::list(services).await.unwrap().is_empty());
    assert!(events(&test)
        .await
        .contains(&SecurityEventKind::VerifierApplicationRefused {
            application: applied.id,
            staff,
            reason: "不是酒店".into(),
        }));
}

async fn applications_travel_through_export_and_import(backend: Backend) {
    let Some(test) = TestServices::new(backend).await else {
        return;
    };
    let services = &test.services;
    let secrets = test.secrets().await;
    let address: IpAddr = "198.51.100.4".parse().unwrap();
    let approved = verifier_applications::apply(services, &secrets, hotel(), address)
        .await
        .unwrap();
    let refused = verifier_applications::apply(services, &secrets, hotel(), address)
        .await
        .unwrap();
    let pending = verifier_applications::apply(services, &secrets, hotel(), address)
        .await
        .unwrap();
    let (cap, _) = registrar(&test).await;
    verifier_applications::approve(services, &secrets, &cap, approved.id)
        .await
        .unwrap();
    verifier_applications::refuse(services, &cap, refused.id, "重复申请")
        .await
        .unwrap();
    let store = &services.store;
    // Paged by id, as export reads them.
    let first = store.verifier_applications(None, 2).await.unwrap();
    let rest = store
        .verifier_applications(Some(first[1].id), 2)
        .await
        .unwrap();
    let ids: Vec<_> = first.iter().chain(&rest).map(|a| a.id).collect();
    assert_eq!(ids, vec![approved.id, refused.id, pending.id]);
    let before: Vec<_> = first.into_iter().chain(rest).collect();
    assert!(before[0].verifier.is_some());

    let mut text = Vec::new();
    export(store.as_ref(), &mut text).await.unwrap();
    assert!(String::from_utf8_lossy(&text).contains(r#""record":"verifier_application""#));
    let target_db = TestDb::new(backend).await.unwrap();
    let target = target_db.store().await;
    import(target.as_ref(), &mut text.as_slice()).await.unwrap();
    assert_eq!(
        target.verifier_applications(None, 10).await.unwrap(),
        before
    );
    // The imported queue holds the one still waiting.
    assert_eq!(
        target.pending_verifier_applications().await.unwrap(),
        vec![before[2].clone()]
    );
}
