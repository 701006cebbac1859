//! Purpose-bound staff access on both backends: a resident's record opens for
//! a staff member only through work assigned to them (a correction request),
//! or through break-glass with a written justification that alerts the
//! department's supervisors and is flagged in the resident's view.

use shengshi_app::access_view::{self, AccessQuery};
use shengshi_app::break_glass::{self, BreakGlassError, ReviewError};
use shengshi_app::casework::{self, CaseError, Decision};
use shengshi_app::rights;
use shengshi_app::secrets::PlatformSecrets;
use shengshi_app::staff::capability::Capabilities;
use shengshi_app::staff::StaffAccounts;
use shengshi_app::transfer::{export, import};
use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::{Clock, Department, ResidentIdNumber, Role};
use shengshi_store::{BreakGlassOutcome, StoredAccount};
use shengshi_test_support::staff::logged_in_member;
use shengshi_test_support::{
    add_account_with_profile, tests_on_both_backends, Backend, TestDb, TestServices,
};
use std::sync::Arc;

tests_on_both_backends!(
    only_the_assigned_member_opens_a_correction_case,
    two_members_taking_one_request_at_once_one_wins,
    break_glass_needs_a_justification_alerts_supervisors_and_is_flagged,
    casework_travels_through_export_and_import,
);

const ID_NUMBER: &str = "11010519491231002X";
const NAME: &str = "张秀英";

struct World {
    t: TestServices,
    secrets: PlatformSecrets,
    staff: StaffAccounts,
    resident: StoredAccount,
}

async fn world(backend: Backend) -> Option<World> {
    let t = TestServices::new(backend).await?;
    let secrets = t.secrets().await;
    let staff = StaffAccounts::new(&t.services, Arc::new(t.secrets().await));
    let id_number = ResidentIdNumber::parse(ID_NUMBER, t.clock.today()).unwrap();
    let profile = serde_json::json!({
        "name": NAME, "id_number": ID_NUMBER, "phone": "13800138000",
    });
    let resident = add_account_with_profile(
        &t.services,
        &t.clock,
        profile.to_string().as_bytes(),
        shengshi_app::registration::id_number_mac(&secrets, &id_number),
    )
    .await;
    Some(World {
        t,
        secrets,
        staff,
        resident,
    })
}

impl World {
    /// Adds a staff member and logs them in, returning their capabilities.
    async fn member(&self, username: &str, department: Department, role: Role) -> Capabilities {
        logged_in_member(&self.staff, &self.t.clock, username, department, role).await
    }

    async fn request_correction(&self) -> uuid::Uuid {
        rights::request_correction(
            &self.t.services,
            self.resident.id,
            "name",
            "张秀瑛",
            "The registry has a wrong character in my name.",
        )
        .await
        .unwrap()
        .id
    }

    /// The resident's access entries opened by staff, newest first.
    async fn staff_accesses(&self) -> Vec<access_view::AccessRow> {
        access_view::list(
            &self.t.services,
            self.resident.subject,
            AccessQuery::default(),
        )
        .await
        .unwrap()
        .rows
        .into_iter()
        .filter(|r| r.accessor == access_view::AccessorKind::Staff)
        .collect()
    }

    async fn event_kinds(&self) -> Vec<&'static str> {
        self.t
            .services
            .store
            .security_events(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event.event.name())
            .collect()
    }
}

async fn only_the_assigned_member_opens_a_correction_case(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let services = &w.t.services;
    let ana = w
        .member("ana.li", Department::PublicSecurity, Role::Clerk)
        .await;
    let bo = w
        .member("bo.wang", Department::PublicSecurity, Role::Reviewer)
        .await;
    let boss = w
        .member("boss", Department::PublicSecurity, Role::Supervisor)
        .await;
    let tax = w.member("tax.clerk", Department::Tax, Role::Clerk).await;
    assert!(
        tax.correction_desk.is_none(),
        "only the department that keeps the records works corrections"
    );
    let ana_desk = ana.correction_desk.as_ref().unwrap();
    let bo_desk = bo.correction_desk.as_ref().unwrap();
    let id = w.request_correction().await;

    // The queue shows the work, not the person.
    let queue = casework::queue(services, bo_desk).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!((queue[0].id, queue[0].field.as_str()), (id, "name"));
    assert_eq!(queue[0].assigned_to, None);

    // Unassigned: nobody opens the record, and the attempt is recorded.
    assert!(matches!(
        casework::open(services, bo_desk, id).await,
        Err(CaseError::NotAssigned)
    ));
    assert!(w.staff_accesses().await.is_empty());
    assert!(w.event_kinds().await.contains(&"record_access_refused"));

    casework::take(services, ana_desk, id).await.unwrap();
    assert!(matches!(
        casework::take(services, bo_desk, id).await,
        Err(CaseError::AlreadyAssigned)
    ));
    assert!(matches!(
        casework::open(services, bo_desk, id).await,
        Err(CaseError::NotAssigned)
    ));
    assert!(w.staff_accesses().await.is_empty());

    let case = casework::open(services, ana_desk, id).await.unwrap();
    assert_eq!(case.record.name, NAME);
    assert_eq!(case.record.id_number, ID_NUMBER);
    assert_eq!(case.proposed_value, "张秀瑛");
    let seen = w.staff_accesses().await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].purpose, Purpose::CaseWork);
    assert_eq!(seen[0].reference, Some(format!("correction:{id}")));
    assert_eq!(seen[0].department, Some(Department::PublicSecurity));
    assert_eq!(seen[0].role, Some(Role::Clerk));
    assert!(!seen[0].is_break_glass());

    // A supervisor moves the case to Bo: Ana's access ends with it.
    let boss_caps = (
        boss.correction_desk.as_ref().unwrap(),
        boss.supervisor.as_ref().unwrap(),
    );
    let bo_id = bo_desk.staff();
    assert!(matches!(
        casework::assign(
            services,
            boss_caps.0,
            boss_caps.1,
            id,
            tax.clerk.as_ref().unwrap().staff()
        )
        .await,
        Err(CaseError::NotACaseworker)
    ));
    casework::assign(services, boss_caps.0, boss_caps.1, id, bo_id)
        .await
        .unwrap();
    assert!(matches!(
        casework::open(services, ana_desk, id).await,
        Err(CaseError::NotAssigned)
    ));
    assert!(matches!(
        casework::decide(services, ana_desk, id, Decision::Done, "").await,
        Err(CaseError::NotAssigned)
    ));

    // A rejection must say why; a note has a limit.
    assert!(matches!(
        casework::decide(services, bo_desk, id, Decision::Rejected, "  ").await,
        Err(CaseError::NoteRequired)
    ));
    assert!(matches!(
        casework::decide(services, bo_desk, id, Decision::Done, &"字".repeat(1001)).await,
        Err(CaseError::NoteTooLong)
    ));
    casework::decide(services, bo_desk, id, Decision::Done, "已在户籍系统更正。")
        .await
        .unwrap();
    assert!(matches!(
        casework::decide(services, bo_desk, id, Decision::Rejected, "no").await,
        Err(CaseError::AlreadyDecided)
    ));
    assert!(casework::queue(services, bo_desk).await.unwrap().is_empty());

    // The resident reads the decision and its note.
    let mine = rights::corrections(services, &w.resident).await.unwrap();
    assert_eq!(mine[0].status, "done");
    assert_eq!(mine[0].note.as_deref(), Some("已在户籍系统更正。"));
    let kinds = w.event_kinds().await;
    for kind in ["correction_assigned", "correction_decided"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

async fn two_members_taking_one_request_at_once_one_wins(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let services = &w.t.services;
    let ana = w
        .member("ana.li", Department::PublicSecurity, Role::Clerk)
        .await;
    let bo = w
        .member("bo.wang", Department::PublicSecurity, Role::Clerk)
        .await;
    for _ in 0..5 {
        let id = w.request_correction().await;
        let (a, b) = tokio::join!(
            casework::take(services, ana.correction_desk.as_ref().unwrap(), id),
            casework::take(services, bo.correction_desk.as_ref().unwrap(), id),
        );
        assert!(
            a.is_ok() != b.is_ok(),
            "exactly one take wins: {a:?} / {b:?}"
        );
        let loser = if a.is_ok() { b } else { a };
        assert!(
            matches!(loser, Err(CaseError::AlreadyAssigned)),
            "{loser:?}"
        );
        let case = services.store.correction_case(id).await.unwrap().unwrap();
        let winner = if case.assignment.as_ref().unwrap().staff
            == ana.correction_desk.as_ref().unwrap().staff()
        {
            &ana
        } else {
            &bo
        };
        casework::open(services, winner.correction_desk.as_ref().unwrap(), id)
            .await
            .unwrap();
    }
}

async fn break_glass_needs_a_justification_alerts_supervisors_and_is_flagged(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let services = &w.t.services;
    let clerk = w
        .member("clerk", Department::CivilAffairs, Role::Clerk)
        .await;
    let boss = w
        .member("boss", Department::CivilAffairs, Role::Supervisor)
        .await;
    let other_boss = w
        .member("other.boss", Department::Tax, Role::Supervisor)
        .await;
    for (who, department, role) in [
        ("auditor", Department::CivilAffairs, Role::Auditor),
        ("admin", Department::PlatformOperations, Role::Administrator),
        ("ops.boss", Department::PlatformOperations, Role::Supervisor),
    ] {
        let caps = w.member(who, department, role).await;
        assert!(caps.break_glass.is_none(), "{who} may not break glass");
    }
    let cap = clerk.break_glass.as_ref().unwrap();
    let why = "Resident collapsed at the counter; hospital needs identity now";

    // Refusals open and store nothing.
    let refused = |r: Result<_, BreakGlassError>| r.map(|_| ()).unwrap_err();
    assert!(matches!(
        refused(break_glass::open_record(services, &w.secrets, cap, ID_NUMBER, "urgent").await),
        BreakGlassError::JustificationTooShort
    ));
    assert!(matches!(
        refused(
            break_glass::open_record(services, &w.secrets, cap, ID_NUMBER, &"急".repeat(1001))
                .await
        ),
        BreakGlassError::JustificationTooLong
    ));
    assert!(matches!(
        refused(
            break_glass::open_record(services, &w.secrets, cap, "110105194912310021", why).await
        ),
        BreakGlassError::InvalidIdNumber
    ));
    assert!(matches!(
        refused(
            break_glass::open_record(services, &w.secrets, cap, "110105198001010016", why).await
        ),
        BreakGlassError::NoSuchResident
    ));
    let boss_cap = boss.supervisor.as_ref().unwrap();
    assert!(break_glass::alerts(services, boss_cap, true)
        .await
        .unwrap()
        .is_empty());
    assert!(w.staff_accesses().await.is_empty());

    let (access, record) = break_glass::open_record(services, &w.secrets, cap, ID_NUMBER, why)
        .await
        .unwrap();
    assert_eq!(record.name, NAME);
    assert_eq!(record.account, w.resident.id);

    // The resident's view flags it, naming department and role only.
    let seen = w.staff_accesses().await;
    assert_eq!(seen.len(), 1);
    assert!(seen[0].is_break_glass());
    assert_eq!(
        seen[0].reference,
        Some(format!("break-glass:{}", access.id))
    );
    assert_eq!(seen[0].department, Some(Department::CivilAffairs));
    let entry = services
        .store
        .access_entries(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| shengshi_domain::access::AccessEntry::from_bytes(&e.entry).unwrap())
        .find(|e| e.purpose == Purpose::BreakGlass)
        .unwrap();
    assert!(matches!(entry.accessor, Accessor::Staff { staff, .. } if staff == cap.staff()));

    // The department's supervisors are alerted; another department's are not.
    let alerts = break_glass::alerts(services, boss_cap, true).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].access.justification, why);
    assert_eq!(alerts[0].staff_username, "clerk");
    assert!(
        break_glass::alerts(services, other_boss.supervisor.as_ref().unwrap(), false)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        break_glass::review(
            services,
            other_boss.supervisor.as_ref().unwrap(),
            access.id,
            BreakGlassOutcome::Justified,
            ""
        )
        .await,
        Err(ReviewError::NotFound)
    ));

    // A supervisor's own break-glass is reviewed by someone else.
    let (own, _) = break_glass::open_record(
        services,
        &w.secrets,
        boss.break_glass.as_ref().unwrap(),
        ID_NUMBER,
        why,
    )
    .await
    .unwrap();
    assert!(matches!(
        break_glass::review(services, boss_cap, own.id, BreakGlassOutcome::Justified, "").await,
        Err(ReviewError::OwnAccess)
    ));

    // A referral says what is wrong; a review is written once.
    assert!(matches!(
        break_glass::review(
            services,
            boss_cap,
            access.id,
            BreakGlassOutcome::Referred,
            " "
        )
        .await,
        Err(ReviewError::NoteRequired)
    ));
    let reviewed = break_glass::review(
        services,
        boss_cap,
        access.id,
        BreakGlassOutcome::Justified,
        "",
    )
    .await
    .unwrap();
    assert_eq!(
        reviewed.review.as_ref().map(|r| r.outcome),
        Some(BreakGlassOutcome::Justified)
    );
    assert!(matches!(
        break_glass::review(
            services,
            boss_cap,
            access.id,
            BreakGlassOutcome::Referred,
            "misuse"
        )
        .await,
        Err(ReviewError::AlreadyReviewed)
    ));
    let open: Vec<_> = break_glass::alerts(services, boss_cap, true)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.access.id)
        .collect();
    assert_eq!(open, vec![own.id], "only the unreviewed one is left");
    let kinds = w.event_kinds().await;
    for kind in ["break_glass_access", "break_glass_reviewed"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

async fn casework_travels_through_export_and_import(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let services = &w.t.services;
    let clerk = w
        .member("clerk", Department::PublicSecurity, Role::Clerk)
        .await;
    let boss = w
        .member("boss", Department::PublicSecurity, Role::Supervisor)
        .await;
    let desk = clerk.correction_desk.as_ref().unwrap();
    let decided = w.request_correction().await;
    casework::take(services, desk, decided).await.unwrap();
    casework::decide(services, desk, decided, Decision::Rejected, "证件号码不符")
        .await
        .unwrap();
    let taken = w.request_correction().await;
    casework::take(services, desk, taken).await.unwrap();
    let why = "Resident collapsed at the counter; hospital needs identity now";
    let (access, _) = break_glass::open_record(
        services,
        &w.secrets,
        clerk.break_glass.as_ref().unwrap(),
        ID_NUMBER,
        why,
    )
    .await
    .unwrap();
    break_glass::review(
        services,
        boss.supervisor.as_ref().unwrap(),
        access.id,
        BreakGlassOutcome::Referred,
        "no emergency recorded",
    )
    .await
    .unwrap();
    let assignments = services
        .store
        .correction_assignments(None, 100)
        .await
        .unwrap();
    let accesses = services
        .store
        .break_glass_accesses(None, 100)
        .await
        .unwrap();
    assert_eq!((assignments.len(), accesses.len()), (2, 1));

    let mut text = Vec::new();
    export(services.store.as_ref(), &mut text).await.unwrap();
    let target_db = TestDb::new(backend).await.unwrap();
    let target = target_db.store().await;
    import(target.as_ref(), &mut text.as_slice()).await.unwrap();
    assert_eq!(
        target.correction_assignments(None, 100).await.unwrap(),
        assignments
    );
    assert_eq!(
        target.break_glass_accesses(None, 100).await.unwrap(),
        accesses
    );
    let case = target.correction_case(taken).await.unwrap().unwrap();
    assert_eq!(case.assignment.unwrap().staff, desk.staff());
}
