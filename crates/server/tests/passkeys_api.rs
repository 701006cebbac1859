//! Passkeys through the JSON API, with a software authenticator answering the
//! challenges as a browser would: register one on a signed-in account, log in
//! with it without naming the account, and the ways a login must fail (a
//! replayed answer, another site's origin, a cloned authenticator whose
//! counter went backwards, a removed passkey).

mod common;

use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use serde_json::{json, Value};
use shengshi_domain::{Department, Role};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp, TestAuthenticator};

/// Registers a passkey on the account of `sid`; returns its id.
async fn add_passkey(app: &TestApp, sid: &str, authenticator: &mut TestAuthenticator) -> String {
    let (status, started, _) = call(
        app,
        Method::POST,
        "/api/v1/passkeys/registrations",
        Some(sid),
        None,
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let selection = &started["options"]["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{started}");
    assert_eq!(selection["userVerification"], "required", "{started}");
    let credential = authenticator.register(&started["options"], &app.browser_origin());
    let body =
        json!({"ceremony": started["ceremony"], "label": "my phone", "credential": credential});
    let (status, added, _) = call(
        app,
        Method::POST,
        "/api/v1/passkeys",
        Some(sid),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["label"], "my phone");

    // The same ceremony cannot be used twice.
    let (status, problem, _) =
        call(app, Method::POST, "/api/v1/passkeys", Some(sid), Some(body)).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:ceremony-unknown"))
    );
    added["id"].as_str().unwrap().to_owned()
}

async fn login_challenge(app: &TestApp) -> Value {
    let (status, started, _) = call(
        app,
        Method::POST,
        "/api/v1/passkeys/login-challenges",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{started}");
    assert!(
        started["options"]["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "a discoverable login names no credentials: {started}"
    );
    started
}

/// Answers a fresh login challenge; returns the status, body and sid cookie.
async fn passkey_login(
    app: &TestApp,
    authenticator: &mut TestAuthenticator,
    origin: &str,
) -> (u16, Value, Option<String>, Value) {
    let started = login_challenge(app).await;
    let credential = authenticator.authenticate(&started["options"], origin, 0);
    let body = json!({"ceremony": started["ceremony"], "credential": credential});
    let (status, answer, headers) = call(
        app,
        Method::POST,
        "/api/v1/sessions/passkey",
        None,
        Some(body.clone()),
    )
    .await;
    let sid = headers.get("set-cookie").and_then(|c| {
        c.to_str()
            .ok()?
            .strip_prefix("sid=")?
            .split(';')
            .next()
            .map(str::to_owned)
    });
    (status, answer, sid, body)
}

fn assert_refused(status: u16, problem: &Value) {
    assert_eq!(
        (status, problem["type"].as_str()),
        (401, Some("urn:shengshi:problem:passkey-login-refused")),
        "{problem}"
    );
}

async fn a_resident_logs_in_with_a_passkey(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";
    register(&app, 0, phone).await;
    let (sid, account_id) = log_in(&app, phone, CHROME_ON_ANDROID).await;

    // Registering needs a session.
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/passkeys/registrations",
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);

    let mut authenticator = TestAuthenticator::new();
    let passkey_id = add_passkey(&app, &sid, &mut authenticator).await;
    let (_, list, _) = call(&app, Method::GET, "/api/v1/passkeys", Some(&sid), None).await;
    assert_eq!(list["passkeys"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["passkeys"][0]["id"], passkey_id.as_str());

    let (status, session, new_sid, replay) =
        passkey_login(&app, &mut authenticator, &app.browser_origin()).await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["account_id"], account_id.as_str());
    let new_sid = new_sid.expect("a sid cookie");
    assert_ne!(new_sid, sid, "a new session, never the old one");
    let (status, me, _) = call(&app, Method::GET, "/api/v1/me", Some(&new_sid), None).await;
    assert_eq!(
        (status, me["account_id"].as_str()),
        (200, Some(account_id.as_str()))
    );
    let (_, list, _) = call(&app, Method::GET, "/api/v1/passkeys", Some(&sid), None).await;
    assert!(list["passkeys"][0]["last_used_at"].is_string(), "{list}");

    // The same signed answer again: its ceremony is used up.
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/sessions/passkey",
        None,
        Some(replay),
    )
    .await;
    assert_refused(status, &problem);

    // A phishing site's origin does not verify.
    let (status, problem, sid_cookie, _) =
        passkey_login(&app, &mut authenticator, "http://localhost.evil.example").await;
    assert_refused(status, &problem);
    assert!(sid_cookie.is_none());

    // A cloned authenticator: its counter is behind the one we stored.
    let stored_counter = authenticator.credentials[0].counter;
    authenticator.credentials[0].counter = 0;
    let (status, problem, _, _) =
        passkey_login(&app, &mut authenticator, &app.browser_origin()).await;
    assert_refused(status, &problem);
    authenticator.credentials[0].counter = stored_counter + 10;

    // Removed: it logs in no more, and another resident cannot remove mine.
    let other_phone = "13787654321";
    register(&app, 1, other_phone).await;
    let (other_sid, _) = log_in(&app, other_phone, CHROME_ON_ANDROID).await;
    let path = format!("/api/v1/passkeys/{passkey_id}");
    let (status, _, _) = call(&app, Method::DELETE, &path, Some(&other_sid), None).await;
    assert_eq!(status, 404);
    let (status, _, _, _) = passkey_login(&app, &mut authenticator, &app.browser_origin()).await;
    assert_eq!(status, 201, "still mine after the other's attempt");
    let (status, _, _) = call(&app, Method::DELETE, &path, Some(&sid), None).await;
    assert_eq!(status, 204);
    let (status, problem, _, _) =
        passkey_login(&app, &mut authenticator, &app.browser_origin()).await;
    assert_refused(status, &problem);
    let (_, list, _) = call(&app, Method::GET, "/api/v1/passkeys", Some(&sid), None).await;
    assert_eq!(list["passkeys"].as_array().unwrap().len(), 0, "{list}");
}

async fn a_bad_registration_stores_nothing(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";
    register(&app, 0, phone).await;
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let mut authenticator = TestAuthenticator::new();

    let start = || {
        call(
            &app,
            Method::POST,
            "/api/v1/passkeys/registrations",
            Some(&sid),
            None,
        )
    };
    // Signed for another site.
    let (_, started, _) = start().await;
    let credential = authenticator.register(&started["options"], "http://evil.example");
    let body = json!({"ceremony": started["ceremony"], "label": "phone", "credential": credential});
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/passkeys",
        Some(&sid),
        Some(body),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:passkey-rejected")),
        "{problem}"
    );
    // No label.
    let (_, started, _) = start().await;
    let credential = authenticator.register(&started["options"], &app.browser_origin());
    let body = json!({"ceremony": started["ceremony"], "label": "  ", "credential": credential});
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/passkeys",
        Some(&sid),
        Some(body),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:passkey-label")),
        "{problem}"
    );
    // Garbage instead of a credential.
    let (_, started, _) = start().await;
    let body = json!({"ceremony": started["ceremony"], "label": "phone", "credential": {"id": 1}});
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/passkeys",
        Some(&sid),
        Some(body),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:passkey-rejected")),
        "{problem}"
    );
    let (_, list, _) = call(&app, Method::GET, "/api/v1/passkeys", Some(&sid), None).await;
    assert_eq!(list["passkeys"].as_array().unwrap().len(), 0, "{list}");
}

/// A staff API call with the `staff_sid` cookie.
async fn staff_post(
    app: &TestApp,
    path: &str,
    staff_sid: Option<&str>,
    body: Value,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = app.client.post(app.url(path)).json(&body);
    if let Some(sid) = staff_sid {
        request = request.header("cookie", format!("staff_sid={sid}"));
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

async fn staff_log_in_with_a_passkey_and_passkeys_stay_on_their_side(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let origin = app.browser_origin();
    let enrolled = app
        .add_staff("li.na", Department::CivilAffairs, Role::Clerk)
        .await;
    let staff_sid = app.staff_login(&enrolled).await;
    let mut key = TestAuthenticator::new();
    let (status, started, _) = staff_post(
        &app,
        "/api/v1/staff/passkeys/registrations",
        Some(&staff_sid),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["options"]["publicKey"]["user"]["name"], "li.na");
    let credential = key.register(&started["options"], &origin);
    let body =
        json!({"ceremony": started["ceremony"], "label": "desk key", "credential": credential});
    let (status, added, _) =
        staff_post(&app, "/api/v1/staff/passkeys", Some(&staff_sid), body).await;
    assert_eq!(status, 201, "{added}");

    // A staff passkey does not open a resident session…
    let started = login_challenge(&app).await;
    let answer = key.authenticate(&started["options"], &origin, 0);
    let body = json!({"ceremony": started["ceremony"], "credential": answer});
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/sessions/passkey",
        None,
        Some(body),
    )
    .await;
    assert_refused(status, &problem);

    // …but opens the console, without password or code.
    let (status, started, _) = staff_post(
        &app,
        "/api/v1/staff/passkeys/login-challenges",
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let answer = key.authenticate(&started["options"], &origin, 0);
    let body = json!({"ceremony": started["ceremony"], "credential": answer});
    let (status, me, headers) =
        staff_post(&app, "/api/v1/staff/sessions/passkey", None, body).await;
    assert_eq!(status, 201, "{me}");
    assert_eq!(me["username"], "li.na");
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("staff_sid=") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    // And a resident's passkey does not open the console.
    register(&app, 0, "13912345678").await;
    let (sid, _) = log_in(&app, "13912345678", CHROME_ON_ANDROID).await;
    let mut resident_key = TestAuthenticator::new();
    add_passkey(&app, &sid, &mut resident_key).await;
    let (_, started, _) = staff_post(
        &app,
        "/api/v1/staff/passkeys/login-challenges",
        None,
        json!({}),
    )
    .await;
    let answer = resident_key.authenticate(&started["options"], &origin, 0);
    let body = json!({"ceremony": started["ceremony"], "credential": answer});
    let (status, problem, _) = staff_post(&app, "/api/v1/staff/sessions/passkey", None, body).await;
    assert_refused(status, &problem);
}

tests_on_both_backends!(
    a_resident_logs_in_with_a_passkey,
    a_bad_registration_stores_nothing,
    staff_log_in_with_a_passkey_and_passkeys_stay_on_their_side,
);
