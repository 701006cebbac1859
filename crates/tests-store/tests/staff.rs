//! Staff accounts on both backends: enrolment, password + TOTP login, replay
//! protection, lockout, timing-safe unknown usernames, sealed TOTP secrets, and
//! the capabilities each role is given.

use secrecy::{ExposeSecret, SecretString};
use shengshi_app::staff::capability::authorize;
use shengshi_app::staff::{
    admin, supervisor, totp, Enrolled, LoginError, NewStaff, RefusalReason, StaffAccounts,
    StaffError, StaffMember,
};
use shengshi_app::Services;
use shengshi_domain::{Clock, Department, FixedClock, Role, SecurityEventKind};
use shengshi_test_support::staff::totp_secret;
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb, TestServices};
use std::sync::Arc;
use time::Duration;

const PASSWORD: &str = shengshi_test_support::staff::STAFF_PASSWORD;

struct World {
    db: TestDb,
    services: Services,
    clock: FixedClock,
    staff: StaffAccounts,
}

async fn world(backend: Backend) -> Option<World> {
    let test = TestServices::new(backend).await?;
    let secrets = test.secrets().await;
    let TestServices {
        db,
        services,
        clock,
    } = test;
    let staff = StaffAccounts::new(&services, Arc::new(secrets));
    Some(World {
        db,
        services,
        clock,
        staff,
    })
}

fn new_staff(username: &str, department: Department, role: Role) -> NewStaff {
    NewStaff {
        username: username.to_owned(),
        display_name: "王芳".to_owned(),
        department,
        role,
        password: SecretString::from(PASSWORD.to_owned()),
    }
}

fn secret(password: &str) -> SecretString {
    SecretString::from(password.to_owned())
}

impl World {
    async fn add(&self, username: &str, department: Department, role: Role) -> Enrolled {
        self.staff
            .add_by_operator(new_staff(username, department, role))
            .await
            .expect("staff added")
    }

    fn code(&self, enrolled: &Enrolled) -> String {
        let seconds = self.clock.now().unix_millis() / 1000;
        totp::code_for_step(&totp_secret(enrolled), totp::step_at(seconds), totp::DIGITS)
    }

    async fn login(&self, enrolled: &Enrolled) -> Result<StaffMember, LoginError> {
        let code = self.code(enrolled);
        self.staff
            .verify_password_and_totp(&enrolled.username, &secret(PASSWORD), &code)
            .await
    }

    async fn event_kinds(&self) -> Vec<SecurityEventKind> {
        self.services
            .store
            .security_events(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event.event)
            .collect()
    }
}

fn refused(result: Result<StaffMember, LoginError>) -> RefusalReason {
    match result {
        Err(LoginError::Refused(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn add_and_duplicate_refused(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("Li.Wei", Department::CivilAffairs, Role::Clerk).await;
    assert_eq!(enrolled.username, "li.wei");
    assert!(enrolled
        .provisioning_uri
        .expose_secret()
        .starts_with("otpauth://totp/Shengshi:li.wei?secret="));
    assert!(enrolled
        .provisioning_uri
        .expose_secret()
        .contains("&issuer=Shengshi"));

    let again = w
        .staff
        .add_by_operator(new_staff("li.wei", Department::Tax, Role::Auditor))
        .await;
    assert!(matches!(again, Err(StaffError::Duplicate(ref u)) if u == "li.wei"));

    let mut weak = new_staff("zhang.min", Department::Tax, Role::Clerk);
    weak.password = secret("alllowercaseletters");
    assert!(matches!(
        w.staff.add_by_operator(weak).await,
        Err(StaffError::WeakPassword(_))
    ));
    assert!(w
        .services
        .store
        .staff_by_username("zhang.min")
        .await
        .unwrap()
        .is_none());
    assert!(w.event_kinds().await.iter().any(|e| matches!(
        e,
        SecurityEventKind::StaffAdded { staff, role, .. } if *staff == enrolled.id && role == "clerk"
    )));
}

async fn login_success(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w
        .add("li.wei", Department::CivilAffairs, Role::Reviewer)
        .await;
    let member = w.login(&enrolled).await.expect("login");
    assert_eq!(member.id(), enrolled.id);
    assert_eq!(member.role(), Role::Reviewer);
    assert_eq!(member.department(), Department::CivilAffairs);
    assert!(w.event_kinds().await.iter().any(
        |e| matches!(e, SecurityEventKind::StaffLoginSucceeded { staff } if *staff == enrolled.id)
    ));
}

async fn wrong_password_refused(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Department::Tax, Role::Clerk).await;
    let code = w.code(&enrolled);
    let result = w
        .staff
        .verify_password_and_totp("li.wei", &secret("Wrong-horse-42"), &code)
        .await;
    assert_eq!(refused(result), RefusalReason::WrongPassword);
    let stored = w.services.store.staff(enrolled.id).await.unwrap().unwrap();
    assert_eq!(stored.failed_logins, 1);
    assert!(w.event_kinds().await.iter().any(|e| matches!(
        e,
        SecurityEventKind::StaffLoginFailed { staff: Some(s), reason } if *s == enrolled.id && reason == "wrong_password"
    )));
    // The same code still works with the right password: the failure used nothing up.
    w.login(&enrolled).await.expect("login");
    let stored = w.services.store.staff(enrolled.id).await.unwrap().unwrap();
    assert_eq!(stored.failed_logins, 0, "a success resets the count");
}

async fn wrong_totp_refused(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Department::Tax, Role::Clerk).await;
    let right = w.code(&enrolled);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    for code in [wrong.as_str(), "12345", "abcdef", ""] {
        let result = w
            .staff
            .verify_password_and_totp("li.wei", &secret(PASSWORD), code)
            .await;
        assert_eq!(refused(result), RefusalReason::WrongCode, "code {code:?}");
    }
    // A code two steps old is outside the window.
    w.clock.advance(Duration::seconds(61));
    let result = w
        .staff
        .verify_password_and_totp("li.wei", &secret(PASSWORD), &right)
        .await;
    assert_eq!(refused(result), RefusalReason::WrongCode);
}

async fn replayed_totp_step_refused(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Department::Tax, Role::Clerk).await;
    let code = w.code(&enrolled);
    w.login(&enrolled).await.expect("first use");
    let replay = w
        .staff
        .verify_password_and_totp("li.wei", &secret(PASSWORD), &code)
        .await;
    assert_eq!(refused(replay), RefusalReason::ReplayedCode);
    // Still within the ±1 window 30 s later, and still refused.
    w.clock.advance(Duration::seconds(30));
    let replay = w
        .staff
        .verify_password_and_totp("li.wei", &secret(PASSWORD), &code)
        .await;
    assert_eq!(refused(replay), RefusalReason::ReplayedCode);
    // The next step's code works.
    w.login(&enrolled).await.expect("a fresh step");
}

async fn lockout_after_five_failures_and_release(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Department::Tax, Role::Clerk).await;
    for _ in 0..5 {
        let result = w
            .staff
            .verify_password_and_totp("li.wei", &secret("Wrong-horse-42"), "000000")
            .await;
        assert_eq!(refused(result), RefusalReason::WrongPassword);
        w.clock.advance(Duration::seconds(60));
    }
    // Locked: even the right password and code are refused.
    let locked = w.login(&enrolled).await;
    assert!(
        matches!(locked, Err(LoginError::LockedOut { .. })),
        "{locked:?}"
    );
    assert!(w.event_kinds().await.iter().any(
        |e| matches!(e, SecurityEventKind::StaffLockedOut { staff, .. } if *staff == enrolled.id)
    ));
    // Released 15 minutes after the fifth failure.
    w.clock.advance(Duration::minutes(14));
    w.login(&enrolled).await.expect("released after 15 minutes");
}

async fn failures_outside_the_window_do_not_lock(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Department::Tax, Role::Clerk).await;
    for _ in 0..8 {
        let result = w
            .staff
            .verify_password_and_totp("li.wei", &secret("Wrong-horse-42"), "000000")
            .await;
        assert_eq!(refused(result), RefusalReason::WrongPassword);
        // Four failures per 16 minutes: never five within 15.
        w.clock.advance(Duration::minutes(4));
    }
    w.login(&enrolled).await.expect("not locked");
}

async fn disabled_staff_refused(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let admin_enrolled = w
        .add("admin", Department::PlatformOperations, Role::Administrator)
        .await;
    let clerk = w.add("li.wei", Department::Tax, Role::Clerk).await;
    let admin_member = w.login(&admin_enrolled).await.expect("admin login");
    let admin_cap = authorize(&admin_member).admin.expect("admin capability");
    admin::disable_staff(&admin_cap, &w.staff, clerk.id)
        .await
        .expect("disabled");
    assert_eq!(refused(w.login(&clerk).await), RefusalReason::Disabled);
    assert!(matches!(
        admin::disable_staff(&admin_cap, &w.staff, shengshi_domain::StaffId::new()).await,
        Err(StaffError::NotFound)
    ));
}

async fn unknown_usernames_cost_one_hash_like_known_ones(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Department::Tax, Role::Clerk).await;
    let code = w.code(&enrolled);
    let count = |w: &World| w.staff.hasher().computations();

    let before = count(&w);
    let known = w
        .staff
        .verify_password_and_totp("li.wei", &secret("Wrong-horse-42"), &code)
        .await;
    assert_eq!(refused(known), RefusalReason::WrongPassword);
    let known_cost = count(&w) - before;

    for unknown_name in ["wang.fang", "x", "not a valid name!"] {
        let before = count(&w);
        let unknown = w
            .staff
            .verify_password_and_totp(unknown_name, &secret("Wrong-horse-42"), &code)
            .await;
        assert_eq!(refused(unknown), RefusalReason::UnknownUsername);
        assert_eq!(count(&w) - before, known_cost, "{unknown_name}");
    }
    assert_eq!(known_cost, 1);

    let before = count(&w);
    w.login(&enrolled).await.expect("login");
    assert_eq!(count(&w) - before, 1);
}

async fn no_plaintext_totp_secret_at_rest(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Department::Tax, Role::Clerk).await;
    let secret_bytes = totp_secret(&enrolled);
    let base32 = totp::base32(&secret_bytes);
    let values = w.db.raw_values("staff").await.expect("raw values");
    assert!(!values.is_empty());
    for value in &values {
        assert!(
            !value.windows(secret_bytes.len()).any(|w| w == secret_bytes),
            "the raw TOTP secret is stored"
        );
        assert!(
            !value.windows(base32.len()).any(|w| w == base32.as_bytes()),
            "the base32 TOTP secret is stored"
        );
        assert!(
            !value
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "the password is stored"
        );
    }
    let stored = w.services.store.staff(enrolled.id).await.unwrap().unwrap();
    assert!(stored
        .password_hash
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
}

async fn capabilities_follow_the_role(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut members = Vec::new();
    for (name, department, role) in [
        ("clerk1", Department::CivilAffairs, Role::Clerk),
        ("reviewer1", Department::CivilAffairs, Role::Reviewer),
        ("supervisor1", Department::CivilAffairs, Role::Supervisor),
        ("auditor1", Department::CivilAffairs, Role::Auditor),
        (
            "admin1",
            Department::PlatformOperations,
            Role::Administrator,
        ),
        ("taxclerk", Department::Tax, Role::Clerk),
    ] {
        let enrolled = w.add(name, department, role).await;
        members.push(w.login(&enrolled).await.expect("login"));
    }
    let caps: Vec<_> = members.iter().map(authorize).collect();
    let has = |i: usize| {
        let c = &caps[i];
        [
            c.clerk.is_some(),
            c.reviewer.is_some(),
            c.supervisor.is_some(),
            c.auditor.is_some(),
            c.admin.is_some(),
        ]
    };
    assert_eq!(has(0), [true, false, false, false, false]);
    assert_eq!(has(1), [false, true, false, false, false]);
    assert_eq!(has(2), [true, true, true, false, false]);
    assert_eq!(has(3), [false, false, false, true, false]);
    assert_eq!(has(4), [false, false, false, false, true]);

    let supervisor_cap = caps[2].supervisor.clone().expect("supervisor");
    assert_eq!(supervisor_cap.staff(), members[2].id());
    let listed = supervisor::list_department_staff(&supervisor_cap, &w.staff)
        .await
        .expect("list");
    let names: Vec<_> = listed.iter().map(|s| s.username.as_str()).collect();
    assert_eq!(
        names,
        ["auditor1", "clerk1", "reviewer1", "supervisor1"],
        "own department only"
    );

    // An administrator adds staff to any department.
    let admin_cap = caps[4].admin.clone().expect("admin");
    let added = admin::add_staff(
        &admin_cap,
        &w.staff,
        new_staff("newclerk", Department::Tax, Role::Clerk),
    )
    .await
    .expect("added by an administrator");
    let member = w.login(&added).await.expect("login");
    assert_eq!(member.department(), Department::Tax);
}

tests_on_both_backends!(
    add_and_duplicate_refused,
    login_success,
    wrong_password_refused,
    wrong_totp_refused,
    replayed_totp_step_refused,
    lockout_after_five_failures_and_release,
    failures_outside_the_window_do_not_lock,
    disabled_staff_refused,
    unknown_usernames_cost_one_hash_like_known_ones,
    no_plaintext_totp_secret_at_rest,
    capabilities_follow_the_role,
);
