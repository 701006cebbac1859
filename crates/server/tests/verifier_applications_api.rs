//! Verifier applications over HTTP: an organisation applies without an
//! account (refusals as problems, at most three a day from one address); only
//! an administrator of platform operations sees the queue and decides; an
//! approval answers the organisation's first API key once, and that key is
//! accepted by the online verification service; the organisations are
//! listed, suspended, resumed and given a new key, each step in the security
//! log under the administrator who took it.

mod common;

use common::{demo_app, security_events};
use serde_json::{json, Value};
use shengshi_domain::security::{Actor, SecurityEventKind};
use shengshi_domain::{Department, Role};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};
use time::Duration;

tests_on_both_backends!(an_application_is_decided_by_platform_operations_only);

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    staff_sid: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(sid) = staff_sid {
        request = request.header("cookie", format!("staff_sid={sid}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or("")
}

async fn an_application_is_decided_by_platform_operations_only(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    use reqwest::Method;
    let apply = |body: Value| {
        send(
            &app,
            Method::POST,
            "/api/v1/verifier-applications",
            None,
            Some(body),
        )
    };
    let hotel = |purposes: Value| json!({"name": "西湖大酒店", "category": "hotel", "purposes": purposes, "contact": "desk@xihu.example"});

    // Bad input: a problem naming the field, nothing stored.
    let (status, body) = apply(hotel(json!(["identity_full"]))).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/purposes");
    assert_eq!(
        body["errors"][0]["code"],
        "verifier_purpose_not_for_category"
    );
    let (status, body) =
        apply(json!({"name": "x", "category": "casino", "purposes": ["nonsense"], "contact": "y"}))
            .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);

    let (status, applied) = apply(hotel(json!(["hotel_checkin", "age_over_18"]))).await;
    assert_eq!(status, 201, "{applied}");
    assert_eq!(applied["status"], "pending");
    let id = applied["id"].as_str().unwrap().to_owned();
    // Three a day from one address.
    for _ in 0..2 {
        assert_eq!(apply(hotel(json!(["hotel_checkin"]))).await.0, 201);
    }
    let (status, body) = apply(hotel(json!(["hotel_checkin"]))).await;
    assert_eq!(
        (status, problem_type(&body)),
        (429, "urn:shengshi:problem:verifier-applications-too-many")
    );

    let clerk = app
        .add_staff("clerk", Department::PublicSecurity, Role::Supervisor)
        .await;
    let ops = app
        .add_staff("ops", Department::PlatformOperations, Role::Administrator)
        .await;
    let clerk_sid = app.staff_login(&clerk).await;
    app.clock.advance(Duration::seconds(31));
    let ops_sid = app.staff_login(&ops).await;

    let queue = "/api/v1/staff/verifier-applications";
    assert_eq!(send(&app, Method::GET, queue, None, None).await.0, 401);
    let (status, body) = send(&app, Method::GET, queue, Some(&clerk_sid), None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:shengshi:problem:staff-forbidden")
    );
    let approve = format!("{queue}/{id}/approve");
    assert_eq!(
        send(&app, Method::POST, &approve, Some(&clerk_sid), None)
            .await
            .0,
        403
    );
    let (status, list) = send(&app, Method::GET, queue, Some(&ops_sid), None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["applications"].as_array().unwrap().len(), 3);
    assert_eq!(list["applications"][0]["id"], id.as_str());

    let (status, approved) = send(&app, Method::POST, &approve, Some(&ops_sid), None).await;
    assert_eq!(status, 201, "{approved}");
    let key = approved["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("svk_"));
    let (status, body) = send(&app, Method::POST, &approve, Some(&ops_sid), None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (
            409,
            "urn:shengshi:problem:verifier-application-already-decided"
        )
    );

    // The key authenticates: a nonsense code gets past the key check and is
    // refused as a code, while a made-up key is refused as a key.
    let verify = |key: String| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url("/api/v1/verifier/verifications"))
                .bearer_auth(key)
                .json(&json!({"code": "SS1:NOPE"}))
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }
    };
    assert_ne!(verify(key.clone()).await, 401);
    // Change the last character to a different one (the key may end in 'A').
    let last = if key.ends_with('A') { 'B' } else { 'A' };
    let forged = format!("{}{last}", &key[..key.len() - 1]);
    assert_eq!(verify(forged).await, 401);

    // A refusal needs a reason.
    let other = list["applications"][1]["id"].as_str().unwrap();
    let refuse = format!("{queue}/{other}/refuse");
    let (status, body) = send(
        &app,
        Method::POST,
        &refuse,
        Some(&ops_sid),
        Some(json!({"reason": " "})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/reason");
    let (status, refused) = send(
        &app,
        Method::POST,
        &refuse,
        Some(&ops_sid),
        Some(json!({"reason": "重复申请"})),
    )
    .await;
    assert_eq!(status, 200, "{refused}");
    assert_eq!(refused["status"], "refused");
    assert_eq!(refused["reason"], "重复申请");
    let (_, list) = send(&app, Method::GET, queue, Some(&ops_sid), None).await;
    assert_eq!(list["applications"].as_array().unwrap().len(), 1);

    // The organisations: listed, suspended (its key refused), resumed, and
    // a new key that retires the old one.
    let verifier = approved["verifier_id"].as_str().unwrap();
    let (status, list) = send(
        &app,
        Method::GET,
        "/api/v1/staff/verifiers",
        Some(&ops_sid),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["verifiers"][0]["id"], verifier);
    assert_eq!(
        list["verifiers"][0]["purposes"],
        json!(["hotel_checkin", "age_over_18"])
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            "/api/v1/staff/verifiers",
            Some(&clerk_sid),
            None
        )
        .await
        .0,
        403
    );
    let suspend = format!("/api/v1/staff/verifiers/{verifier}/suspend");
    let (status, body) = send(&app, Method::POST, &suspend, Some(&ops_sid), None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("suspended")));
    assert_eq!(verify(key.clone()).await, 403);
    let resume = format!("/api/v1/staff/verifiers/{verifier}/resume");
    let (status, body) = send(&app, Method::POST, &resume, Some(&ops_sid), None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("active")));
    let rotate = format!("/api/v1/staff/verifiers/{verifier}/keys");
    let (status, rotated) = send(&app, Method::POST, &rotate, Some(&ops_sid), None).await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(rotated["revoked"], 1);
    assert_eq!(verify(key.clone()).await, 401);
    assert_ne!(
        verify(rotated["api_key"].as_str().unwrap().to_owned()).await,
        401
    );
    // Registration, suspension, resumption and both keys name the
    // administrator, not the platform's operator.
    let store = app.db.store().await;
    let events = security_events(store.as_ref()).await;
    let verifier_id: uuid::Uuid = verifier.parse().unwrap();
    let about_it: Vec<_> = events
        .iter()
        .filter(|e| match &e.event {
            SecurityEventKind::VerifierRegistered { verifier, .. }
            | SecurityEventKind::VerifierKeyIssued { verifier, .. }
            | SecurityEventKind::VerifierStatusChanged { verifier, .. } => *verifier == verifier_id,
            _ => false,
        })
        .map(|e| &e.actor)
        .collect();
    assert_eq!(about_it, vec![&Actor::Staff { id: ops.id }; 5]);

    let nobody = format!("/api/v1/staff/verifiers/{}/keys", uuid::Uuid::now_v7());
    assert_eq!(
        send(&app, Method::POST, &nobody, Some(&ops_sid), None)
            .await
            .0,
        404
    );

    let unknown = format!("{queue}/{}/approve", uuid::Uuid::now_v7());
    assert_eq!(
        send(&app, Method::POST, &unknown, Some(&ops_sid), None)
            .await
            .0,
        404
    );
}
