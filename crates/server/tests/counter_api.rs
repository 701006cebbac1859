//! In-person checks at a counter through the JSON API: only public security
//! clerks may run them; a squatter who registered a resident's identity first
//! is evicted (sessions and passkeys revoked) only when the clerk confirms;
//! the resident reaches L3 with a passkey.

mod common;

use common::{
    call, code_from_outbox, demo_app, log_in, register, security_events, CHROME_ON_ANDROID,
};
use reqwest::Method;
use serde_json::{json, Value};
use shengshi_domain::{Department, Role, SecurityEventKind};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp, TestAuthenticator};
use time::Duration;

/// A staff API call with the `staff_sid` cookie.
async fn staff_call(app: &TestApp, path: &str, staff_sid: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(path))
        .header("cookie", format!("staff_sid={staff_sid}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn add_passkey(app: &TestApp, sid: &str, authenticator: &mut TestAuthenticator) {
    let (_, started, _) = call(
        app,
        Method::POST,
        "/api/v1/passkeys/registrations",
        Some(sid),
        None,
    )
    .await;
    let credential = authenticator.register(&started["options"], &app.browser_origin());
    let body = json!({"ceremony": started["ceremony"], "label": "phone", "credential": credential});
    let (status, added, _) =
        call(app, Method::POST, "/api/v1/passkeys", Some(sid), Some(body)).await;
    assert_eq!(status, 201, "{added}");
}

async fn level(app: &TestApp, sid: &str) -> i64 {
    let (status, me, _) = call(app, Method::GET, "/api/v1/me", Some(sid), None).await;
    assert_eq!(status, 200, "{me}");
    me["assurance_level"].as_i64().unwrap()
}

async fn a_counter_check_evicts_a_squatter_and_leads_to_l3(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (name, id_number) = app.demo.as_ref().unwrap().examples[0].clone();
    let (squatter_phone, resident_phone) = ("13700000001", "13912345678");

    // The squatter registers the resident's identity first, and adds a passkey.
    register(&app, 0, squatter_phone).await;
    let (squatter_sid, squatter_account) = log_in(&app, squatter_phone, CHROME_ON_ANDROID).await;
    let mut squatter_key = TestAuthenticator::new();
    add_passkey(&app, &squatter_sid, &mut squatter_key).await;
    assert_eq!(level(&app, &squatter_sid).await, 2, "no counter check yet");

    // A traffic police clerk may not check identities; a public security clerk may.
    let traffic = app
        .add_staff("traffic.clerk", Department::TrafficPolice, Role::Clerk)
        .await;
    let traffic_sid = app.staff_login(&traffic).await;
    let codes = "/api/v1/staff/counter-checks/codes";
    let (status, problem) =
        staff_call(&app, codes, &traffic_sid, json!({"phone": resident_phone})).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (403, Some("urn:shengshi:problem:staff-forbidden"))
    );
    let clerk = app
        .add_staff("hu.zheng", Department::PublicSecurity, Role::Clerk)
        .await;
    let clerk_sid = app.staff_login(&clerk).await;
    let (status, problem) =
        staff_call(&app, codes, "forged", json!({"phone": resident_phone})).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (401, Some("urn:shengshi:problem:unauthenticated"))
    );

    let (status, sent) =
        staff_call(&app, codes, &clerk_sid, json!({"phone": resident_phone})).await;
    assert_eq!(status, 202, "{sent}");
    let code = code_from_outbox(&app, resident_phone).await;
    let check = |evict: bool, name: &str| json!({"name": name, "id_number": id_number, "phone": resident_phone, "code": code, "evict_other_account": evict});
    let checks = "/api/v1/staff/counter-checks";

    // The wrong name from the card is refused by the registry.
    let (status, problem) = staff_call(&app, checks, &clerk_sid, check(false, "张冒名")).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:name-mismatch")),
        "{problem}"
    );

    // Without the clerk's confirmation nothing happens, and the code survives.
    let (status, problem) = staff_call(&app, checks, &clerk_sid, check(false, &name)).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (409, Some("urn:shengshi:problem:other-account-exists")),
        "{problem}"
    );
    assert_eq!(
        level(&app, &squatter_sid).await,
        2,
        "the squatter is untouched"
    );

    let (status, done) = staff_call(&app, checks, &clerk_sid, check(true, &name)).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["outcome"], "squatter_evicted");
    assert_eq!(done["evicted_account_id"], squatter_account.as_str());
    assert_eq!(done["assurance_level"], 2, "L3 needs a passkey too");
    let resident_account = done["account_id"].as_str().unwrap().to_owned();

    // The squatter's session and passkey are dead.
    let (status, _, _) = call(&app, Method::GET, "/api/v1/me", Some(&squatter_sid), None).await;
    assert_eq!(status, 401);
    let (_, started, _) = call(
        &app,
        Method::POST,
        "/api/v1/passkeys/login-challenges",
        None,
        None,
    )
    .await;
    let answer = squatter_key.authenticate(&started["options"], &app.browser_origin(), 0);
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/sessions/passkey",
        None,
        Some(json!({"ceremony": started["ceremony"], "credential": answer})),
    )
    .await;
    assert_eq!(status, 401);

    // The code was used: the same check cannot be replayed.
    let (status, problem) = staff_call(&app, checks, &clerk_sid, check(true, &name)).await;
    assert_eq!(status, 422, "{problem}");

    // The resident logs in with their phone and adds a passkey: L3.
    app.clock.advance(Duration::seconds(61));
    let (resident_sid, account) = log_in(&app, resident_phone, CHROME_ON_ANDROID).await;
    assert_eq!(account, resident_account);
    assert_eq!(level(&app, &resident_sid).await, 2);
    let mut resident_key = TestAuthenticator::new();
    add_passkey(&app, &resident_sid, &mut resident_key).await;
    assert_eq!(level(&app, &resident_sid).await, 3);

    // Removing the only passkey drops back to L2.
    let (_, list, _) = call(
        &app,
        Method::GET,
        "/api/v1/passkeys",
        Some(&resident_sid),
        None,
    )
    .await;
    let id = list["passkeys"][0]["id"].as_str().unwrap().to_owned();
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/passkeys/{id}"),
        Some(&resident_sid),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(level(&app, &resident_sid).await, 2);
    add_passkey(&app, &resident_sid, &mut resident_key).await;

    // A later check of the resident's own account verifies it in place.
    let (status, sent) =
        staff_call(&app, codes, &clerk_sid, json!({"phone": resident_phone})).await;
    assert_eq!(status, 202, "{sent}");
    let code = code_from_outbox(&app, resident_phone).await;
    let body = json!({"name": name, "id_number": id_number, "phone": resident_phone, "code": code});
    let (status, done) = staff_call(&app, checks, &clerk_sid, body).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["outcome"].as_str(), done["assurance_level"].as_i64()),
        (Some("verified"), Some(3))
    );
    assert_eq!(done["account_id"], resident_account.as_str());

    // Both the eviction and the checks are in the security log.
    // (The log is written in batches: stopping the app flushes it.)
    let db = app.stop().await;
    let store = db.store().await;
    let events = security_events(store.as_ref()).await;
    let evictions: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            SecurityEventKind::AccountEvicted {
                account,
                replacement,
                ..
            } => Some((account.to_string(), replacement.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        evictions,
        vec![(squatter_account.clone(), resident_account.clone())]
    );
    let checks_logged = events
        .iter()
        .filter(|e| matches!(e.event, SecurityEventKind::CounterVerified { .. }))
        .count();
    assert_eq!(checks_logged, 2);
}

tests_on_both_backends!(a_counter_check_evicts_a_squatter_and_leads_to_l3);
