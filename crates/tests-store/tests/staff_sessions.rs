//! Staff sessions on both backends: the use cases (login opens a fresh
//! session, refusals open none, disabling and logging out everywhere end
//! sessions, idle and absolute timeouts, coalesced activity writes) and the
//! JSON API (`staff_sid` cookie, /api/v1/staff/me, logout, problems).

use secrecy::SecretString;
use serde_json::{json, Value};
use shengshi_app::staff::capability::authorize;
use shengshi_app::staff::session::{
    self, StaffSessionError, StaffSessionToken, ABSOLUTE_TIMEOUT, IDLE_TIMEOUT,
};
use shengshi_app::staff::{admin, Enrolled, LoginError, NewStaff, StaffAccounts};
use shengshi_app::transfer::{export, import};
use shengshi_app::{SecurityLog, Services};
use shengshi_domain::{Clock, Department, FixedClock, Role, SecurityEventKind};
use shengshi_test_support::{
    spawn_app, tests_on_both_backends, Backend, TestApp, TestDb, TestServices,
};
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

/// The code an authenticator app would show at the clock's time.
fn code_at(enrolled: &Enrolled, clock: &FixedClock) -> String {
    shengshi_test_support::staff::totp_code(enrolled, clock)
}

/// A code that is certainly wrong now.
fn wrong_code(enrolled: &Enrolled, clock: &FixedClock) -> String {
    let right: u32 = code_at(enrolled, clock).parse().unwrap();
    format!("{:06}", (right + 1) % 1_000_000)
}

impl World {
    async fn add(&self, username: &str, role: Role) -> Enrolled {
        self.staff
            .add_by_operator(new_staff(username, Department::CivilAffairs, role))
            .await
            .expect("staff added")
    }

    /// Logs in with the current code, then moves past its TOTP step so that
    /// the next login has a fresh code (a reused step is a replay).
    async fn login(&self, enrolled: &Enrolled) -> Result<StaffSessionToken, LoginError> {
        let code = code_at(enrolled, &self.clock);
        let result = session::login(
            &self.staff,
            &enrolled.username,
            &SecretString::from(PASSWORD.to_owned()),
            &code,
            None,
        )
        .await;
        self.clock.advance(Duration::seconds(30));
        result.map(|login| login.token)
    }

    /// Rows in `staff_sessions`, read beneath the store: each has one
    /// 32-byte value, its token's SHA-256 (no other column is 32 bytes long).
    async fn staff_session_rows(&self) -> usize {
        self.db
            .raw_values("staff_sessions")
            .await
            .unwrap()
            .iter()
            .filter(|v| v.len() == 32)
            .count()
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

async fn login_opens_a_session_with_a_new_token_every_time(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Role::Supervisor).await;
    let first = w.login(&enrolled).await.unwrap();
    let session = session::authenticate(&w.services, &first).await.unwrap();
    assert_eq!(session.member.id(), enrolled.id);
    assert_eq!(session.member.role(), Role::Supervisor);
    assert!(authorize(&session.member).supervisor.is_some());

    // A second login gets a new token and ends the one the browser held.
    let code = code_at(&enrolled, &w.clock);
    let second = session::login(
        &w.staff,
        "li.wei",
        &SecretString::from(PASSWORD.to_owned()),
        &code,
        Some(&first),
    )
    .await
    .unwrap();
    assert_ne!(second.token, first);
    assert_eq!(
        session::authenticate(&w.services, &first)
            .await
            .unwrap_err(),
        StaffSessionError::Revoked
    );
    session::authenticate(&w.services, &second.token)
        .await
        .unwrap();
    // Both are stored: sessions are revoked, never deleted.
    assert_eq!(w.staff_session_rows().await, 2);
}

async fn a_refused_login_opens_no_session(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Role::Clerk).await;
    let wrong = wrong_code(&enrolled, &w.clock);
    let refused = session::login(
        &w.staff,
        "li.wei",
        &SecretString::from(PASSWORD.to_owned()),
        &wrong,
        None,
    )
    .await;
    assert!(
        matches!(refused, Err(LoginError::Refused(_))),
        "{refused:?}"
    );
    let code = code_at(&enrolled, &w.clock);
    let refused = session::login(
        &w.staff,
        "li.wei",
        &SecretString::from("Wrong-password-1".to_owned()),
        &code,
        None,
    )
    .await;
    assert!(
        matches!(refused, Err(LoginError::Refused(_))),
        "{refused:?}"
    );
    assert_eq!(w.staff_session_rows().await, 0);
    let unknown = session::authenticate(&w.services, &StaffSessionToken::from_client("forged"))
        .await
        .unwrap_err();
    assert_eq!(unknown, StaffSessionError::Unknown);
}

async fn disabling_a_staff_member_ends_their_sessions(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let clerk = w.add("li.wei", Role::Clerk).await;
    let admin_enrolled = w.add("zhang.min", Role::Administrator).await;
    let clerk_token = w.login(&clerk).await.unwrap();
    let admin_token = w.login(&admin_enrolled).await.unwrap();
    let admin_session = session::authenticate(&w.services, &admin_token)
        .await
        .unwrap();
    let cap = authorize(&admin_session.member).admin.expect("admin cap");
    admin::disable_staff(&cap, &w.staff, clerk.id)
        .await
        .unwrap();
    assert_eq!(
        session::authenticate(&w.services, &clerk_token)
            .await
            .unwrap_err(),
        StaffSessionError::Revoked
    );

    // Even a session that escaped revocation opens nothing for a disabled member.
    w.services
        .store
        .set_staff_disabled(clerk.id, false)
        .await
        .unwrap();
    let again = w.login(&clerk).await.unwrap();
    w.services
        .store
        .set_staff_disabled(clerk.id, true)
        .await
        .unwrap();
    assert_eq!(
        session::authenticate(&w.services, &again)
            .await
            .unwrap_err(),
        StaffSessionError::Disabled
    );
    session::authenticate(&w.services, &admin_token)
        .await
        .unwrap();
}

async fn logout_and_logout_everywhere_end_sessions_and_are_logged(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Role::Reviewer).await;
    let desk = w.login(&enrolled).await.unwrap();
    let laptop = w.login(&enrolled).await.unwrap();
    let counter = w.login(&enrolled).await.unwrap();

    let session = session::authenticate(&w.services, &counter).await.unwrap();
    session::logout(&w.services, &session).await.unwrap();
    assert_eq!(
        session::authenticate(&w.services, &counter)
            .await
            .unwrap_err(),
        StaffSessionError::Revoked
    );
    session::authenticate(&w.services, &desk).await.unwrap();

    let session = session::authenticate(&w.services, &laptop).await.unwrap();
    assert_eq!(
        session::logout_everywhere(&w.services, &session)
            .await
            .unwrap(),
        2
    );
    for token in [&desk, &laptop] {
        assert_eq!(
            session::authenticate(&w.services, token).await.unwrap_err(),
            StaffSessionError::Revoked
        );
    }
    let logged_out: Vec<_> = w
        .event_kinds()
        .await
        .into_iter()
        .filter_map(|e| match e {
            SecurityEventKind::StaffLoggedOut {
                staff,
                everywhere,
                ended,
            } => Some((staff, everywhere, ended)),
            _ => None,
        })
        .collect();
    assert_eq!(
        logged_out,
        vec![(enrolled.id, false, 1), (enrolled.id, true, 2)]
    );
}

async fn staff_sessions_end_when_idle_and_at_their_absolute_limit(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Role::Clerk).await;
    let idle = w.login(&enrolled).await.unwrap(); // the clock moved 30 s
    w.clock.advance(IDLE_TIMEOUT - Duration::seconds(31));
    session::authenticate(&w.services, &idle).await.unwrap();
    w.clock.advance(IDLE_TIMEOUT);
    assert_eq!(
        session::authenticate(&w.services, &idle).await.unwrap_err(),
        StaffSessionError::Expired
    );

    let started = w.clock.now();
    let busy = w.login(&enrolled).await.unwrap();
    // Active every 10 minutes: idle never ends it, the absolute limit does.
    while w.clock.now() < started.plus(ABSOLUTE_TIMEOUT - Duration::minutes(10)) {
        w.clock.advance(Duration::minutes(10));
        session::authenticate(&w.services, &busy).await.unwrap();
    }
    w.clock.set(started.plus(ABSOLUTE_TIMEOUT));
    assert_eq!(
        session::authenticate(&w.services, &busy).await.unwrap_err(),
        StaffSessionError::Expired
    );
}

async fn staff_activity_is_written_at_most_once_a_minute(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let enrolled = w.add("li.wei", Role::Clerk).await;
    let token = w.login(&enrolled).await.unwrap(); // 30 s later
    let hash = {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_str().as_bytes()).to_vec()
    };
    let last_seen = || async {
        w.services
            .store
            .staff_session(&hash)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at
    };
    let created = last_seen().await;
    session::authenticate(&w.services, &token).await.unwrap();
    assert_eq!(last_seen().await, created, "no write within a minute");
    w.clock.advance(Duration::seconds(31));
    session::authenticate(&w.services, &token).await.unwrap();
    assert_eq!(last_seen().await, w.clock.now());
}

async fn staff_sessions_are_not_exported(backend: Backend) {
    // An installation first, as the server makes one before anything else.
    let Some(test) = TestServices::new(backend).await else {
        return;
    };
    let s = &test.services;
    shengshi_app::installation::open_or_create(
        s.store.as_ref(),
        s.kek.as_ref(),
        s.clock.as_ref(),
        &s.security_log,
        s.envelope_algorithm,
        false,
    )
    .await
    .unwrap();
    let staff = StaffAccounts::new(s, Arc::new(test.secrets().await));
    let TestServices {
        db,
        services,
        clock,
    } = test;
    let w = World {
        db,
        services,
        clock,
        staff,
    };
    let s = &w.services;
    let enrolled = w.add("li.wei", Role::Clerk).await;
    let token = w.login(&enrolled).await.unwrap();
    let mut file = Vec::new();
    export(s.store.as_ref(), &mut file).await.unwrap();
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(text.contains(r#""record":"staff""#));
    assert!(!text.contains("session\""), "no session record: {text}");

    // On the target the staff member exists, the session does not.
    let target = TestDb::new(backend).await.unwrap();
    let store = target.store().await;
    import(store.as_ref(), &mut file.as_slice()).await.unwrap();
    let moved = Services {
        store: store.clone(),
        clock: s.clock.clone(),
        kek: s.kek.clone(),
        security_log: SecurityLog::start(store.clone(), s.clock.clone()),
        envelope_algorithm: s.envelope_algorithm,
        access_log: shengshi_test_support::start_access_log(
            store.clone(),
            s.kek.as_ref(),
            s.clock.clone(),
        )
        .await,
    };
    assert!(store.staff(enrolled.id).await.unwrap().is_some());
    assert_eq!(
        session::authenticate(&moved, &token).await.unwrap_err(),
        StaffSessionError::Unknown
    );
}

// ---------------------------------------------------------------------------
// The JSON API
// ---------------------------------------------------------------------------

/// Adds a traffic police staff member to a running app.
async fn add_to_app(app: &TestApp, username: &str, role: Role) -> Enrolled {
    app.add_staff(username, Department::TrafficPolice, role)
        .await
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("accept-language", "en");
    if let Some(sid) = cookie {
        request = request.header("cookie", format!("staff_sid={sid}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        headers,
    )
}

fn staff_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("staff_sid="))
        .map(str::to_owned)
}

async fn api_login_me_logout(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = spawn_app(db).await;
    let enrolled = add_to_app(&app, "chen.jing", Role::Supervisor).await;
    let login = json!({
        "username": "Chen.Jing",
        "password": PASSWORD,
        "code": code_at(&enrolled, &app.clock),
    });
    let (status, me, headers) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/staff/sessions",
        None,
        Some(login),
    )
    .await;
    assert_eq!(status, 201, "{me}");
    let set_cookie = staff_cookie(&headers).expect("a staff_sid cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(
        headers
            .get_all("set-cookie")
            .iter()
            .all(|v| !v.to_str().unwrap_or("").starts_with("sid=")),
        "no resident session"
    );
    let sid = set_cookie
        .trim_start_matches("staff_sid=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(me["username"], "chen.jing");
    assert_eq!(me["role"], "supervisor");
    assert_eq!(
        me["capabilities"],
        json!(["clerk", "reviewer", "supervisor", "break_glass"])
    );

    let (status, me, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/staff/me",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["staff_id"], enrolled.id.to_string());
    assert_eq!(me["department"], "traffic_police");
    assert_eq!(me["department_name"], "Traffic Police");
    assert_eq!(me["role_name"], "Supervisor");

    // The staff cookie is no resident session, and the other way round.
    let (status, _, _) = call(&app, reqwest::Method::GET, "/api/v1/me", Some(&sid), None).await;
    assert_eq!(status, 401);
    let resident = app
        .client
        .get(app.url("/api/v1/staff/me"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resident.status().as_u16(), 401);

    let (status, _, headers) = call(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/staff/sessions/current",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(staff_cookie(&headers).is_some_and(|c| c.contains("Max-Age=0")));
    let (status, problem, headers) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/staff/me",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(problem["type"], "urn:shengshi:problem:unauthenticated");
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/problem+json"
    );
    app.stop().await;
}

async fn api_refusals_say_nothing_about_which_field_was_wrong(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = spawn_app(db).await;
    let enrolled = add_to_app(&app, "chen.jing", Role::Clerk).await;
    let post = |body: Value| {
        let app = &app;
        async move {
            call(
                app,
                reqwest::Method::POST,
                "/api/v1/staff/sessions",
                None,
                Some(body),
            )
            .await
        }
    };
    let wrong = wrong_code(&enrolled, &app.clock);
    let attempts = [
        json!({"username": "chen.jing", "password": PASSWORD, "code": wrong}),
        json!({"username": "chen.jing", "password": "Wrong-password-1", "code": code_at(&enrolled, &app.clock)}),
        json!({"username": "nobody.here", "password": PASSWORD, "code": "123456"}),
    ];
    let mut details = Vec::new();
    for attempt in attempts {
        let (status, problem, headers) = post(attempt).await;
        assert_eq!(status, 401, "{problem}");
        assert_eq!(problem["type"], "urn:shengshi:problem:staff-login-refused");
        assert!(staff_cookie(&headers).is_none());
        details.push(problem["detail"].clone());
    }
    assert!(details.iter().all(|d| *d == details[0]), "{details:?}");

    let (status, problem, _) = post(json!({"username": "", "password": "", "code": "12"})).await;
    assert_eq!(status, 422, "{problem}");
    let pointers: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(pointers, ["/username", "/password", "/code"]);

    // Five failures in the window lock the account; the lockout has its own problem.
    for _ in 0..3 {
        let (status, _, _) = post(
            json!({"username": "chen.jing", "password": "Wrong-password-1", "code": "000000"}),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, problem, headers) = post(
        json!({"username": "chen.jing", "password": PASSWORD, "code": code_at(&enrolled, &app.clock)}),
    )
    .await;
    assert_eq!(status, 429, "{problem}");
    assert_eq!(problem["type"], "urn:shengshi:problem:staff-locked-out");
    let retry: i64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    assert!(problem["detail"].as_str().unwrap().contains("15 minutes"));

    // A cross-site login is refused before any handler runs.
    let cross = app
        .client
        .post(app.url("/api/v1/staff/sessions"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"username": "chen.jing", "password": PASSWORD, "code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status().as_u16(), 403);
    app.stop().await;
}

async fn staff_pages_redirect_log_in_and_out(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = spawn_app(db).await;
    let enrolled = add_to_app(&app, "chen.jing", Role::Auditor).await;
    let console = app.get("/staff").await;
    assert_eq!(console.status().as_u16(), 303);
    assert_eq!(console.headers()["location"], "/staff/login");

    let form = app.get("/staff/login?lang=en").await;
    assert_eq!(form.status().as_u16(), 200);
    let csrf_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("csrf="))
        .and_then(|v| v.trim_start_matches("csrf=").split(';').next())
        .expect("a csrf cookie")
        .to_owned();
    let html = form.text().await.unwrap();
    assert!(
        html.contains("<label for=\"code\">Authenticator code</label>"),
        "{html}"
    );
    // Strict CSP: no inline script or style; only the passkey script, by address.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/static/passkeys.js\" defer></script>")
            .count()
    );
    assert!(!html.contains("style="));

    let submit = |code: String| {
        let app = &app;
        let csrf_cookie = csrf_cookie.clone();
        async move {
            app.client
                .post(app.url("/staff/login"))
                .header("cookie", format!("csrf={csrf_cookie}; lang=en"))
                .form(&[
                    ("csrf", csrf_cookie.as_str()),
                    ("username", "chen.jing"),
                    ("password", PASSWORD),
                    ("code", code.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let refused = submit(wrong_code(&enrolled, &app.clock)).await;
    assert_eq!(refused.status().as_u16(), 200);
    let html = refused.text().await.unwrap();
    assert!(html.contains("error-summary"), "{html}");
    assert!(html.contains("The username, password or code is wrong."));

    let ok = submit(code_at(&enrolled, &app.clock)).await;
    assert_eq!(ok.status().as_u16(), 303);
    assert_eq!(ok.headers()["location"], "/staff");
    let sid = staff_cookie(ok.headers()).expect("staff_sid");
    let sid = sid
        .trim_start_matches("staff_sid=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let home = app
        .client
        .get(app.url("/staff"))
        .header(
            "cookie",
            format!("staff_sid={sid}; lang=zh-CN; csrf={csrf_cookie}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(home.status().as_u16(), 200);
    assert_eq!(home.headers()["cache-control"], "no-store");
    let html = home.text().await.unwrap();
    assert!(html.contains("交警") && html.contains("审计员"), "{html}");
    assert!(html.contains("data-capability=\"auditor\""), "{html}");

    // Logging out needs the form token.
    let forged = app
        .client
        .post(app.url("/staff/logout"))
        .header("cookie", format!("staff_sid={sid}; csrf={csrf_cookie}"))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let out = app
        .client
        .post(app.url("/staff/logout"))
        .header("cookie", format!("staff_sid={sid}; csrf={csrf_cookie}"))
        .form(&[("csrf", csrf_cookie.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(out.headers()["location"], "/staff/login");
    let after = app
        .client
        .get(app.url("/staff"))
        .header("cookie", format!("staff_sid={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 303);
    app.stop().await;
}

tests_on_both_backends!(
    login_opens_a_session_with_a_new_token_every_time,
    a_refused_login_opens_no_session,
    disabling_a_staff_member_ends_their_sessions,
    logout_and_logout_everywhere_end_sessions_and_are_logged,
    staff_sessions_end_when_idle_and_at_their_absolute_limit,
    staff_activity_is_written_at_most_once_a_minute,
    staff_sessions_are_not_exported,
    api_login_me_logout,
    api_refusals_say_nothing_about_which_field_was_wrong,
    staff_pages_redirect_log_in_and_out,
);
