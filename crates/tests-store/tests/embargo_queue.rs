//! The supervisors' queue of embargoes on both backends: only their own
//! department's, only those still waiting, oldest first.

use secrecy::SecretString;
use shengshi_app::keys;
use shengshi_app::staff::{NewStaff, StaffAccounts};
use shengshi_domain::{Clock, Department, EmbargoId, Role, SubjectId};
use shengshi_store::{EmbargoStatus, StoredEmbargo};
use shengshi_test_support::staff::STAFF_PASSWORD;
use shengshi_test_support::{tests_on_both_backends, Backend, TestServices};
use std::sync::Arc;
use time::Duration;

tests_on_both_backends!(the_queue_holds_the_departments_waiting_embargoes);

async fn the_queue_holds_the_departments_waiting_embargoes(backend: Backend) {
    let Some(test) = TestServices::new(backend).await else {
        return;
    };
    let (services, clock) = (&test.services, &test.clock);
    let store = &services.store;
    // Embargoes name a real clerk and a subject with a data key.
    let staff = StaffAccounts::new(services, Arc::new(test.secrets().await));
    let mut members = Vec::new();
    for username in ["clerk", "head"] {
        let enrolled = staff
            .add_by_operator(NewStaff {
                username: username.to_owned(),
                display_name: "王芳".to_owned(),
                department: Department::PublicSecurity,
                role: Role::Supervisor,
                password: SecretString::from(STAFF_PASSWORD.to_owned()),
            })
            .await
            .unwrap();
        members.push(enrolled.id);
    }
    let (clerk, head) = (members[0], members[1]);
    let subject = SubjectId::new();
    keys::create(services, subject).await.unwrap();
    let embargo = |department: Department| StoredEmbargo {
        id: EmbargoId::new(),
        subject,
        requested_by: clerk,
        department,
        legal_basis: "刑事诉讼法第152条".into(),
        until: clock.now().plus(Duration::days(30)),
        status: EmbargoStatus::Requested,
        approved_by: None,
        decided_at: None,
        created_at: clock.now(),
    };
    let first = embargo(Department::PublicSecurity);
    store.insert_embargo(&first).await.unwrap();
    clock.advance(Duration::minutes(1));
    let decided = embargo(Department::PublicSecurity);
    store.insert_embargo(&decided).await.unwrap();
    let elsewhere = embargo(Department::Tax);
    store.insert_embargo(&elsewhere).await.unwrap();
    clock.advance(Duration::minutes(1));
    let last = embargo(Department::PublicSecurity);
    store.insert_embargo(&last).await.unwrap();
    assert!(store
        .decide_embargo(decided.id, EmbargoStatus::Refused, head, clock.now())
        .await
        .unwrap());

    let queue = store
        .embargoes_awaiting_decision(Department::PublicSecurity)
        .await
        .unwrap();
    assert_eq!(queue, vec![first, last]);
    let tax = store
        .embargoes_awaiting_decision(Department::Tax)
        .await
        .unwrap();
    assert_eq!(tax, vec![elsewhere]);
    assert!(store
        .embargoes_awaiting_decision(Department::CivilAffairs)
        .await
        .unwrap()
        .is_empty());
}
