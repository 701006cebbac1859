//! The printable identity document (MOSIP Claim 169) through the JSON API,
//! checked as a third-party verifier would: the document verifies offline
//! with the published trust list and status list and holds exactly the
//! details chosen; each issuance is in the access log with those details;
//! the resident revokes one document alone; a replaced card takes its
//! documents with it; bad requests change nothing.

mod common;

use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use serde_json::{json, Value};
use shengshi_eid::{
    open_signed_trust_list, open_status_list, verify_document, PublicKey, TrustList, VerifyPolicy,
};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};
use time::Duration;

tests_on_both_backends!(
    a_document_holds_the_chosen_details_and_is_revoked_alone,
    a_replaced_card_revokes_its_documents,
    bad_document_requests_are_refused_and_change_nothing,
);

async fn bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.bytes().await.unwrap().to_vec()
}

fn now(app: &TestApp) -> i64 {
    use shengshi_domain::Clock;
    app.clock.now().unix_millis() / 1000
}

async fn verifier(app: &TestApp) -> (TrustList, shengshi_eid::StatusListToken) {
    let root =
        String::from_utf8(bytes(app, "/.well-known/eid/development-trust-root").await).unwrap();
    let root = PublicKey::from_text(root.trim()).unwrap();
    let trust = open_signed_trust_list(
        &bytes(app, "/.well-known/eid/trust-list").await,
        &root,
        now(app),
    )
    .unwrap();
    let status = open_status_list(&bytes(app, "/eid/status/1").await, &trust, now(app)).unwrap();
    (trust, status)
}

async fn make(app: &TestApp, sid: &str, fields: Value, validity: &str) -> (u16, Value) {
    let (status, body, headers) = call(
        app,
        Method::POST,
        "/api/v1/eid/documents",
        Some(sid),
        Some(json!({ "fields": fields, "validity": validity })),
    )
    .await;
    if status == 201 {
        assert_eq!(headers["cache-control"], "no-store");
    }
    (status, body)
}

async fn documents(app: &TestApp, sid: &str) -> Vec<Value> {
    let (status, list, _) = call(app, Method::GET, "/api/v1/eid/documents", Some(sid), None).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

async fn a_document_holds_the_chosen_details_and_is_revoked_alone(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345101";
    register(&app, 0, phone).await;
    let (name, id_number) = app.demo.as_ref().unwrap().examples[0].clone();
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let (status, _) = make(&app, &sid, json!(["name"]), "1m").await;
    assert_eq!(status, 404, "no document without a card");
    let (status, _, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);

    let (status, first) = make(&app, &sid, json!(["name", "birth_date"]), "1y").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["disclosed"]["name"], name.as_str());
    assert!(first["disclosed"].get("id_number").is_none());
    assert!(first["disclosed"].get("address").is_none());
    let (status, second) = make(&app, &sid, json!(["id_number", "sex", "nationality"]), "1m").await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["disclosed"]["id_number"], id_number.as_str());
    assert_eq!(second["disclosed"]["nationality"], "CHN");

    // A verifier reads exactly the chosen details, nothing else.
    let (trust, status_list) = verifier(&app).await;
    let policy = VerifyPolicy::default();
    let code = first["code"].as_str().unwrap();
    assert!(
        !code.contains(':') || !code.starts_with("SS"),
        "no SS prefix"
    );
    let doc = verify_document(code, &trust, Some(&status_list), now(&app), &policy).unwrap();
    assert_eq!(doc.identity.full_name.as_deref(), Some(name.as_str()));
    assert_eq!(doc.identity.id, None);
    assert_eq!(doc.identity.address, None);
    assert_eq!(doc.identity.gender, None);
    let birth = doc.identity.date_of_birth.clone().unwrap();
    assert_eq!(birth, first["disclosed"]["birth_date"].as_str().unwrap());
    assert_eq!(birth.len(), 8, "YYYYMMDD");
    assert_eq!(
        doc.expires_at.unwrap() - doc.issued_at.unwrap(),
        365 * 86_400
    );
    let other = verify_document(
        second["code"].as_str().unwrap(),
        &trust,
        Some(&status_list),
        now(&app),
        &policy,
    )
    .unwrap();
    assert_eq!(other.identity.id.as_deref(), Some(id_number.as_str()));
    assert_eq!(other.identity.full_name, None);
    assert_ne!(
        doc.status.as_ref().unwrap().index,
        other.status.as_ref().unwrap().index
    );

    // The list shows both, newest first, with their details, never their content.
    let list = documents(&app, &sid).await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], second["id"]);
    assert_eq!(list[1]["fields"], json!(["name", "birth_date"]));
    assert_eq!(list[1]["state"], "valid");
    assert!(!list.iter().any(|d| d.to_string().contains(name.as_str())));

    // Each issuance is in the access log with exactly the chosen details.
    let (_, log, _) = call(&app, Method::GET, "/api/v1/me/access-log", Some(&sid), None).await;
    let made: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["purpose"] == "eid_document")
        .collect();
    assert_eq!(made.len(), 2, "{log}");
    assert!(made
        .iter()
        .any(|e| e["fields"] == json!(["name", "birth_date"])));
    assert!(made
        .iter()
        .any(|e| e["fields"] == json!(["sex", "id_number", "nationality"])));

    // Revoke the first: it alone is refused; revoking again is a 404.
    let path = format!(
        "/api/v1/eid/documents/{}/revoke",
        first["id"].as_str().unwrap()
    );
    let (status, _, _) = call(&app, Method::POST, &path, Some(&sid), None).await;
    assert_eq!(status, 204);
    let (status, problem, _) = call(&app, Method::POST, &path, Some(&sid), None).await;
    assert_eq!(status, 404, "{problem}");
    let (trust, status_list) = verifier(&app).await;
    let refused =
        verify_document(code, &trust, Some(&status_list), now(&app), &policy).unwrap_err();
    assert_eq!(refused.code(), "revoked");
    verify_document(
        second["code"].as_str().unwrap(),
        &trust,
        Some(&status_list),
        now(&app),
        &policy,
    )
    .unwrap();
    let list = documents(&app, &sid).await;
    assert_eq!(list[1]["state"], "revoked");
    assert_eq!(list[0]["state"], "valid");

    // Someone else cannot revoke the second one.
    let phone_b = "13912345102";
    register(&app, 1, phone_b).await;
    let (sid_b, _) = log_in(&app, phone_b, CHROME_ON_ANDROID).await;
    let path = format!(
        "/api/v1/eid/documents/{}/revoke",
        second["id"].as_str().unwrap()
    );
    let (status, _, _) = call(&app, Method::POST, &path, Some(&sid_b), None).await;
    assert_eq!(status, 404);
    assert!(documents(&app, &sid_b).await.is_empty());
    assert_eq!(documents(&app, &sid).await[0]["state"], "valid");
}

async fn a_replaced_card_revokes_its_documents(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345103";
    register(&app, 1, phone).await;
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let (status, _, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);
    let (_, doc) = make(&app, &sid, json!(["name"]), "5y").await;
    let code = doc["code"].as_str().unwrap().to_owned();

    // Suspended card: the document is refused until the card resumes.
    call(
        &app,
        Method::POST,
        "/api/v1/eid/card/suspend",
        Some(&sid),
        None,
    )
    .await;
    let (trust, status_list) = verifier(&app).await;
    let policy = VerifyPolicy::default();
    let e = verify_document(&code, &trust, Some(&status_list), now(&app), &policy).unwrap_err();
    assert_eq!(e.code(), "suspended");
    assert_eq!(documents(&app, &sid).await[0]["state"], "card_suspended");
    call(
        &app,
        Method::POST,
        "/api/v1/eid/card/resume",
        Some(&sid),
        None,
    )
    .await;
    let (trust, status_list) = verifier(&app).await;
    verify_document(&code, &trust, Some(&status_list), now(&app), &policy).unwrap();

    // Replaced: the old card's document is revoked for good.
    let (status, _, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);
    app.clock.advance(Duration::seconds(61));
    let (trust, status_list) = verifier(&app).await;
    let e = verify_document(&code, &trust, Some(&status_list), now(&app), &policy).unwrap_err();
    assert_eq!(e.code(), "revoked");
    let list = documents(&app, &sid).await;
    assert_eq!(list[0]["state"], "card_revoked");
}

async fn bad_document_requests_are_refused_and_change_nothing(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345104";
    register(&app, 0, phone).await;
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    for (fields, validity, pointer) in [
        (json!([]), "1m", "/fields"),
        (json!(["name", "phone"]), "1m", "/fields"),
        (json!(["name"]), "10y", "/validity"),
        (json!(["name"]), "", "/validity"),
    ] {
        let (status, problem) = make(&app, &sid, fields.clone(), validity).await;
        assert_eq!(status, 422, "{fields} {validity}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
    }
    // The demo registry's portraits are PNG, which Claim 169 cannot carry.
    let (status, problem) = make(&app, &sid, json!(["name", "photo"]), "1m").await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "eid_document_photo_format");
    assert!(documents(&app, &sid).await.is_empty());
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/documents/not-a-uuid/revoke",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = call(&app, Method::GET, "/api/v1/eid/documents", None, None).await;
    assert_eq!(status, 401);
}
