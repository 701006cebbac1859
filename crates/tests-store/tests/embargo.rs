//! Deferred disclosure on both backends: an embargo needs a basis, an end and
//! another supervisor's approval from the same department; an access under an
//! approved embargo is in the log (and the statistics) at once, but the
//! resident sees it only once the embargo ends, marked with its basis.

use shengshi_app::access_view::{self, AccessQuery, AccessViewError};
use shengshi_app::door::{self, AccessRequest};
use shengshi_app::embargo::{self, DecideError, EmbargoRequest, GrantError, RequestError};
use shengshi_app::staff::capability::Capabilities;
use shengshi_app::staff::StaffAccounts;
use shengshi_app::transfer::{export, import};
use shengshi_app::{audit, keys};
use shengshi_domain::access::{AccessEntry, Accessor, Purpose};
use shengshi_domain::{Clock, Department, Role, SecurityEventKind, SubjectId, Timestamp};
use shengshi_store::StoredEmbargo;
use shengshi_test_support::staff::logged_in_member;
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb, TestServices};
use std::sync::Arc;
use time::Duration;

tests_on_both_backends!(
    an_embargo_needs_a_basis_and_a_bounded_future_end,
    only_another_supervisor_of_the_department_decides,
    an_embargoed_access_is_logged_at_once_and_shown_after_its_end,
    embargoes_travel_through_export_and_import,
);

struct World {
    t: TestServices,
    staff: StaffAccounts,
    subject: SubjectId,
}

async fn world(backend: Backend) -> Option<World> {
    let t = TestServices::new(backend).await?;
    let staff = StaffAccounts::new(&t.services, Arc::new(t.secrets().await));
    let subject = SubjectId::new();
    keys::create(&t.services, subject).await.unwrap();
    Some(World { t, staff, subject })
}

impl World {
    /// Adds a staff member and logs them in, returning their capabilities.
    async fn member(&self, username: &str, department: Department, role: Role) -> Capabilities {
        logged_in_member(&self.staff, &self.t.clock, username, department, role).await
    }

    fn in_days(&self, days: i64) -> Timestamp {
        self.t.clock.now().plus(Duration::days(days))
    }

    async fn request(&self, caps: &Capabilities, basis: &str, days: i64) -> StoredEmbargo {
        embargo::request(
            &self.t.services,
            caps.clerk.as_ref().unwrap(),
            EmbargoRequest {
                subject: self.subject,
                basis: basis.to_owned(),
                until: self.in_days(days),
            },
        )
        .await
        .unwrap()
    }

    fn access(&self, caps: &Capabilities) -> AccessRequest {
        let clerk = caps.clerk.as_ref().unwrap();
        AccessRequest {
            subject: self.subject,
            accessor: Accessor::Staff {
                staff: clerk.staff(),
                department: clerk.department(),
                role: clerk.role(),
            },
            purpose: Purpose::CounterCheck,
            reference: Some("case-2026-17".into()),
            fields: vec!["name", "phone"],
        }
    }
}

async fn an_embargo_needs_a_basis_and_a_bounded_future_end(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let clerk = w
        .member("clerk", Department::PublicSecurity, Role::Clerk)
        .await;
    let cap = clerk.clerk.as_ref().unwrap();
    let ask = |basis: &str, until| EmbargoRequest {
        subject: w.subject,
        basis: basis.to_owned(),
        until,
    };
    let services = &w.t.services;
    let refused = |r: Result<StoredEmbargo, RequestError>| r.unwrap_err();
    assert!(matches!(
        refused(embargo::request(services, cap, ask("  ", w.in_days(30))).await),
        RequestError::NoBasis
    ));
    assert!(matches!(
        refused(embargo::request(services, cap, ask(&"法".repeat(201), w.in_days(30))).await),
        RequestError::BasisTooLong
    ));
    assert!(matches!(
        refused(embargo::request(services, cap, ask("刑事诉讼法第152条", w.in_days(-1))).await),
        RequestError::EndsInThePast
    ));
    assert!(matches!(
        refused(embargo::request(services, cap, ask("刑事诉讼法第152条", w.in_days(400))).await),
        RequestError::TooLong
    ));
    let ok = embargo::request(services, cap, ask("刑事诉讼法第152条", w.in_days(365)))
        .await
        .unwrap();
    assert_eq!(ok.legal_basis, "刑事诉讼法第152条");

    // Requested but not approved: it cannot be used.
    assert!(matches!(
        embargo::grant(services, cap, ok.id, w.subject).await,
        Err(GrantError::NotApproved)
    ));
}

async fn only_another_supervisor_of_the_department_decides(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let services = &w.t.services;
    let boss = w
        .member("boss", Department::PublicSecurity, Role::Supervisor)
        .await;
    let other = w
        .member("other.boss", Department::Tax, Role::Supervisor)
        .await;
    let clerk = w
        .member("clerk", Department::PublicSecurity, Role::Clerk)
        .await;

    // A supervisor may request, but not approve their own request.
    let own = w.request(&boss, "PIPL Art. 18(1)", 30).await;
    assert!(matches!(
        embargo::approve(services, boss.supervisor.as_ref().unwrap(), own.id).await,
        Err(DecideError::OwnRequest)
    ));

    let asked = w.request(&clerk, "PIPL Art. 18(1)", 30).await;
    // Another department's supervisor does not even see it.
    assert!(matches!(
        embargo::approve(services, other.supervisor.as_ref().unwrap(), asked.id).await,
        Err(DecideError::NotFound)
    ));
    let cap = boss.supervisor.as_ref().unwrap();
    let refused = embargo::refuse(services, cap, asked.id).await.unwrap();
    assert_eq!(refused.approved_by, Some(cap.staff()));
    // Decided once.
    assert!(matches!(
        embargo::approve(services, cap, asked.id).await,
        Err(DecideError::AlreadyDecided)
    ));
    assert!(matches!(
        embargo::grant(services, clerk.clerk.as_ref().unwrap(), asked.id, w.subject).await,
        Err(GrantError::NotApproved)
    ));

    let kinds: Vec<&str> = services
        .store
        .security_events(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.event.name())
        .filter(|n| n.starts_with("embargo_"))
        .collect();
    assert_eq!(
        kinds,
        ["embargo_requested", "embargo_requested", "embargo_refused"]
    );
}

async fn an_embargoed_access_is_logged_at_once_and_shown_after_its_end(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let services = &w.t.services;
    let boss = w
        .member("boss", Department::PublicSecurity, Role::Supervisor)
        .await;
    let clerk = w
        .member("clerk", Department::PublicSecurity, Role::Clerk)
        .await;
    let start = w.t.clock.now();
    let asked = w.request(&clerk, "刑事诉讼法第152条", 30).await;
    let approved = embargo::approve(services, boss.supervisor.as_ref().unwrap(), asked.id)
        .await
        .unwrap();
    let clerk_cap = clerk.clerk.as_ref().unwrap();

    // A grant is for the embargo's subject only.
    assert!(matches!(
        embargo::grant(services, clerk_cap, approved.id, SubjectId::new()).await,
        Err(GrantError::NotFound)
    ));
    let grant = embargo::grant(services, clerk_cap, approved.id, w.subject)
        .await
        .unwrap();

    // One ordinary access, one under the embargo.
    let plain = door::open(services, w.access(&clerk)).await.unwrap();
    let hidden = door::open_embargoed(services, w.access(&clerk), &grant)
        .await
        .unwrap();

    // The log has both at once, and verifies.
    let report = audit::verify(services.store.as_ref(), services.access_log.verifier())
        .await
        .unwrap();
    assert_eq!(report.entries, 2);
    let stored = services.store.access_entries(0, 10).await.unwrap();
    let plain_bytes = &stored[plain.leaf_index() as usize].entry;
    assert!(!String::from_utf8_lossy(plain_bytes).contains("embargo"));
    let entry = AccessEntry::from_bytes(&stored[hidden.leaf_index() as usize].entry).unwrap();
    let carried = entry.embargo.expect("the entry carries the embargo");
    assert_eq!(
        (carried.basis.as_str(), carried.approval),
        ("刑事诉讼法第152条", approved.id)
    );

    // Published numbers count it.
    let stats = access_view::statistics(services, start, w.in_days(1))
        .await
        .unwrap();
    assert_eq!((stats.total, stats.embargoed), (2, 1));
    let by_department = stats
        .by_department
        .iter()
        .find(|(d, _)| *d == Department::PublicSecurity)
        .map(|(_, n)| *n);
    assert_eq!(by_department, Some(2));

    // The resident sees only the plain one: not in the list, the export or a proof.
    let query = AccessQuery {
        limit: 50,
        ..AccessQuery::default()
    };
    let page = access_view::list(services, w.subject, query).await.unwrap();
    let shown: Vec<u64> = page.rows.iter().map(|r| r.leaf_index).collect();
    assert_eq!(shown, [plain.leaf_index()]);
    assert_eq!(
        access_view::all(services, w.subject).await.unwrap().len(),
        1
    );
    assert!(matches!(
        access_view::inclusion(services, w.subject, hidden.leaf_index()).await,
        Err(AccessViewError::NotFound)
    ));
    access_view::inclusion(services, w.subject, plain.leaf_index())
        .await
        .unwrap();

    // After the embargo ends: shown, marked with its basis, provable.
    w.t.clock.advance(Duration::days(31));
    let page = access_view::list(services, w.subject, query).await.unwrap();
    assert_eq!(page.rows.len(), 2);
    let newest = &page.rows[0];
    assert_eq!(newest.leaf_index, hidden.leaf_index());
    assert_eq!(
        newest.disclosed_after_embargo.as_deref(),
        Some("刑事诉讼法第152条")
    );
    assert_eq!(page.rows[1].disclosed_after_embargo, None);
    assert_eq!(
        access_view::all(services, w.subject).await.unwrap().len(),
        2
    );
    access_view::inclusion(services, w.subject, hidden.leaf_index())
        .await
        .unwrap();
    // An ended embargo cannot hide new accesses.
    assert!(matches!(
        embargo::grant(services, clerk_cap, approved.id, w.subject).await,
        Err(GrantError::Ended)
    ));

    let approvals = services
        .store
        .security_events(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.event.event, SecurityEventKind::EmbargoApproved { .. }))
        .count();
    assert_eq!(approvals, 1);
}

async fn embargoes_travel_through_export_and_import(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let services = &w.t.services;
    let boss = w
        .member("boss", Department::CivilAffairs, Role::Supervisor)
        .await;
    let clerk = w
        .member("clerk", Department::CivilAffairs, Role::Clerk)
        .await;
    let decided = w.request(&clerk, "PIPL Art. 18(1)", 30).await;
    embargo::approve(services, boss.supervisor.as_ref().unwrap(), decided.id)
        .await
        .unwrap();
    w.request(&clerk, "刑事诉讼法第152条", 60).await;
    let before = services.store.embargoes(None, 100).await.unwrap();
    assert_eq!(before.len(), 2);

    let mut text = Vec::new();
    export(services.store.as_ref(), &mut text).await.unwrap();
    assert!(String::from_utf8_lossy(&text).contains(r#""record":"embargo""#));
    let target_db = TestDb::new(backend).await.unwrap();
    let target = target_db.store().await;
    import(target.as_ref(), &mut text.as_slice()).await.unwrap();
    assert_eq!(target.embargoes(None, 100).await.unwrap(), before);
    assert!(!target.is_empty().await.unwrap());
}
