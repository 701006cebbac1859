//! The electronic ID card through the JSON API, checked the way a verifier
//! would: fetch the signed trust list, the trust root (development only) and
//! the status list over HTTP, then verify codes offline with `shengshi-eid`.
//! Activation, presentation per purpose (only the purpose's attributes),
//! every code in the resident's access log, suspension and resumption,
//! replacement and account closure revoking the card.

mod common;

use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use serde_json::{json, Value};
use shengshi_eid::{
    open_signed_trust_list, open_status_list, verify_presentation, PublicKey, TrustList,
    VerifyError, VerifyPolicy,
};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};
use time::Duration;

tests_on_both_backends!(
    a_code_verifies_offline_and_discloses_only_its_purpose,
    suspension_replacement_and_closure_reach_the_status_list,
    bad_requests_are_refused_and_change_nothing,
    a_phone_signs_offline_codes_and_reports_them_once,
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

/// What a verifier holds: the trust list checked against the root, and the
/// current status list checked against the trust list.
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

async fn present(app: &TestApp, sid: &str, purpose: &str, category: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "purpose": purpose });
    if let Some(category) = category {
        body["category"] = json!(category);
    }
    let (status, value, headers) = call(
        app,
        Method::POST,
        "/api/v1/eid/card/presentations",
        Some(sid),
        Some(body),
    )
    .await;
    if status == 201 {
        assert_eq!(headers["cache-control"], "no-store");
    }
    (status, value)
}

fn policy() -> VerifyPolicy {
    VerifyPolicy {
        expected_purpose: None,
        max_clock_skew_seconds: 30,
        max_status_age_seconds: 86_400,
    }
}

async fn a_code_verifies_offline_and_discloses_only_its_purpose(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345001";
    register(&app, 0, phone).await;
    let (name, id_number) = app.demo.as_ref().unwrap().examples[0].clone();
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;

    let (status, problem, _) = call(&app, Method::GET, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 404);
    assert_eq!(problem["type"], "urn:shengshi:problem:eid-no-card");
    let (status, _) = present(&app, &sid, "hotel_checkin", None).await;
    assert_eq!(status, 404, "no code before activation");

    let (status, card, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201, "{card}");
    assert_eq!(card["status"], "active");
    let (status, again, _) = call(&app, Method::GET, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!((status, &again["id"]), (200, &card["id"]));

    let (trust, status_list) = verifier(&app).await;
    let (status, hotel) = present(&app, &sid, "hotel_checkin", None).await;
    assert_eq!(status, 201, "{hotel}");
    assert_eq!(hotel["category"], "hotel");
    assert_eq!(hotel["refresh_after_seconds"], 30);
    let code = hotel["code"].as_str().unwrap();
    assert!(code.starts_with("SS1:"), "{code}");
    let verified =
        verify_presentation(code, &trust, Some(&status_list), now(&app), &policy()).unwrap();
    assert_eq!(verified.disclosed.name.as_deref(), Some(name.as_str()));
    assert_eq!(
        verified.disclosed.id_number.as_deref(),
        Some(id_number.as_str())
    );
    assert!(
        verified.disclosed.portrait_digest.is_some(),
        "the demo resident has a portrait"
    );
    assert_eq!(verified.disclosed.birth_date, None);
    assert_eq!(verified.disclosed.address, None);
    assert_eq!(verified.expires_at - verified.issued_at, 60);
    assert_eq!(hex::encode(verified.cti), hotel["id"].as_str().unwrap());

    // Age only: no name, no number.
    let (status, age) = present(&app, &sid, "age_over_18", None).await;
    assert_eq!(status, 201);
    let verified = verify_presentation(
        age["code"].as_str().unwrap(),
        &trust,
        Some(&status_list),
        now(&app),
        &policy(),
    )
    .unwrap();
    assert_eq!(verified.disclosed.age_over_18, Some(true));
    assert_eq!(verified.disclosed.name, None);
    assert_eq!(verified.disclosed.id_number, None);
    assert_eq!(verified.disclosed.portrait_digest, None);

    // Full identity for a government counter.
    let (status, full) = present(&app, &sid, "identity_full", Some("government")).await;
    assert_eq!(status, 201);
    let verified = verify_presentation(
        full["code"].as_str().unwrap(),
        &trust,
        Some(&status_list),
        now(&app),
        &policy(),
    )
    .unwrap();
    assert!(verified.disclosed.birth_date.is_some() && verified.disclosed.address.is_some());

    // A minute and a bit later the hotel code is dead, screenshot or not.
    app.clock.advance(Duration::seconds(61 + 30));
    let (trust, status_list) = verifier(&app).await;
    let dead =
        verify_presentation(code, &trust, Some(&status_list), now(&app), &policy()).unwrap_err();
    assert_eq!(dead.code(), "expired");

    // Every code is in the resident's access log with the fields it disclosed.
    let (status, log, _) = call(&app, Method::GET, "/api/v1/me/access-log", Some(&sid), None).await;
    assert_eq!(status, 200);
    let entries = log["entries"].as_array().unwrap();
    let presentations: Vec<&Value> = entries
        .iter()
        .filter(|e| e["purpose"] == "eid_presentation")
        .collect();
    assert_eq!(presentations.len(), 3, "{log}");
    let hotel_entry = presentations
        .iter()
        .find(|e| {
            e["reference"]
                .as_str()
                .unwrap()
                .ends_with(hotel["id"].as_str().unwrap())
        })
        .expect("the hotel code is listed");
    assert_eq!(
        hotel_entry["reference"],
        format!(
            "eid-presentation:hotel_checkin:hotel:{}",
            hotel["id"].as_str().unwrap()
        )
    );
    assert_eq!(
        hotel_entry["fields"],
        json!(["name", "id_number", "portrait_digest"])
    );
    let age_entry = presentations
        .iter()
        .find(|e| e["reference"].as_str().unwrap().contains(":age_over_18:"))
        .unwrap();
    assert_eq!(age_entry["fields"], json!(["age_over_18"]));
    assert!(entries.iter().any(|e| e["purpose"] == "eid_activation"));
}

async fn suspension_replacement_and_closure_reach_the_status_list(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345002";
    register(&app, 1, phone).await;
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let (status, _, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);
    let (_, first) = present(&app, &sid, "travel_security", Some("airport")).await;
    let first = first["code"].as_str().unwrap().to_owned();

    // Phone lost: suspended at once, no new codes, the old one refused.
    let (status, card, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/suspend",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!((status, card["status"].as_str()), (200, Some("suspended")));
    let (status, problem) = present(&app, &sid, "hotel_checkin", None).await;
    assert_eq!(status, 409);
    assert_eq!(problem["type"], "urn:shengshi:problem:eid-card-suspended");
    let (trust, status_list) = verifier(&app).await;
    let refused =
        verify_presentation(&first, &trust, Some(&status_list), now(&app), &policy()).unwrap_err();
    assert_eq!(refused.code(), "suspended");
    // Without any status list the answer is "unknown", never "valid".
    let unknown = verify_presentation(&first, &trust, None, now(&app), &policy()).unwrap_err();
    assert!(
        matches!(unknown, VerifyError::StatusUnknown { .. }),
        "{unknown:?}"
    );

    // Found it: resumed, and the same code verifies again while it lives.
    let (status, card, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/resume",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!((status, card["status"].as_str()), (200, Some("active")));
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/resume",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    let (trust, status_list) = verifier(&app).await;
    verify_presentation(&first, &trust, Some(&status_list), now(&app), &policy()).unwrap();

    // Replaced: the old card is revoked; the new card's codes verify.
    let (status, _, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);
    let (_, second) = present(&app, &sid, "hotel_checkin", None).await;
    let second = second["code"].as_str().unwrap().to_owned();
    let (trust, status_list) = verifier(&app).await;
    let revoked =
        verify_presentation(&first, &trust, Some(&status_list), now(&app), &policy()).unwrap_err();
    assert_eq!(revoked.code(), "revoked");
    verify_presentation(&second, &trust, Some(&status_list), now(&app), &policy()).unwrap();

    // Closing the account revokes the card.
    let (status, closed, _) = call(
        &app,
        Method::POST,
        "/api/v1/me/close",
        Some(&sid),
        Some(json!({"confirmation": "CLOSE"})),
    )
    .await;
    assert_eq!(status, 204, "{closed}");
    // Closure revokes in the store's own transaction; the status list shows
    // it at its next rebuild, within a minute.
    app.clock.advance(Duration::seconds(61));
    let (trust, status_list) = verifier(&app).await;
    let policy = VerifyPolicy {
        max_clock_skew_seconds: 120,
        ..policy()
    };
    let revoked =
        verify_presentation(&second, &trust, Some(&status_list), now(&app), &policy).unwrap_err();
    assert_eq!(revoked.code(), "revoked");
}

async fn bad_requests_are_refused_and_change_nothing(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (status, problem, _) = call(&app, Method::POST, "/api/v1/eid/card", None, None).await;
    assert_eq!(status, 401, "{problem}");
    let phone = "13912345003";
    register(&app, 0, phone).await;
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let (status, _, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);

    let (status, problem) = present(&app, &sid, "passport", None).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["pointer"], "/purpose");
    let (status, problem) = present(&app, &sid, "hotel_checkin", Some("casino")).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["pointer"], "/category");
    // A hotel may not ask for a full identity; an airport is not a hotel.
    let (status, problem) = present(&app, &sid, "identity_full", Some("hotel")).await;
    assert_eq!(status, 422);
    assert_eq!(
        problem["type"],
        "urn:shengshi:problem:eid-purpose-not-allowed"
    );
    let (status, _) = present(&app, &sid, "hotel_checkin", Some("airport")).await;
    assert_eq!(status, 422);

    // None of those refusals minted a code, so none is in the access log.
    let (_, log, _) = call(&app, Method::GET, "/api/v1/me/access-log", Some(&sid), None).await;
    assert!(!log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["purpose"] == "eid_presentation"));

    // At most 12 codes a minute per resident.
    for _ in 0..12 {
        let (status, _) = present(&app, &sid, "age_over_18", None).await;
        assert_eq!(status, 201);
    }
    let (status, problem) = present(&app, &sid, "age_over_18", None).await;
    assert_eq!(status, 429, "{problem}");
    app.clock.advance(Duration::seconds(61));
    let (status, _) = present(&app, &sid, "age_over_18", None).await;
    assert_eq!(status, 201);
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn from_b64url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

async fn a_phone_signs_offline_codes_and_reports_them_once(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345004";
    register(&app, 0, phone).await;
    let (name, _) = app.demo.as_ref().unwrap().examples[0].clone();
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let device =
        shengshi_eid::SoftwareKey::from_seed(shengshi_eid::Algorithm::EcdsaP256, &[7; 32]).unwrap();
    let point = device.public_key().as_bytes().to_vec();
    let request = json!({
        "device_key": {"x": b64url(&point[1..33]), "y": b64url(&point[33..65])},
        "device_time_ms": 0,
    });
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/holder-credentials",
        Some(&sid),
        Some(request.clone()),
    )
    .await;
    assert_eq!(status, 404, "no credential before activation: {problem}");
    let (status, _, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);

    // Not a point on the curve: refused.
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/holder-credentials",
        Some(&sid),
        Some(json!({"device_key": {"x": b64url(&[1; 32]), "y": b64url(&[2; 32])}})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/device_key");

    let (status, issued, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/holder-credentials",
        Some(&sid),
        Some(request),
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    let credential = from_b64url(issued["credential"].as_str().unwrap());
    let items: Vec<(shengshi_eid::AttributeKey, Vec<u8>)> = issued["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let key = shengshi_eid::AttributeKey::ALL
                .into_iter()
                .find(|k| u64::from(k.code()) == i["key"].as_u64().unwrap())
                .unwrap();
            (key, from_b64url(i["item"].as_str().unwrap()))
        })
        .collect();

    // The phone signs a code with no network; a verifier checks it offline.
    let (trust, status_list) = verifier(&app).await;
    let cti = [9u8; 16];
    let code = shengshi_eid::mint_holder_presentation(
        &shengshi_eid::HolderPresentationRequest {
            credential: &credential,
            items: &items,
            purpose: shengshi_eid::Purpose::HotelCheckin,
            category: shengshi_eid::VerifierCategory::Hotel,
            issued_at: now(&app),
            lifetime_seconds: 60,
            counter: 1,
            cti,
        },
        &device,
    )
    .unwrap();
    assert!(code.starts_with("SS2:"), "{code}");
    let verified =
        verify_presentation(&code, &trust, Some(&status_list), now(&app), &policy()).unwrap();
    assert_eq!(verified.disclosed.name.as_deref(), Some(name.as_str()));
    assert!(verified.holder.is_some());

    // The phone reports it, twice (the first answer was lost): logged once.
    let report = json!({"presentations": [{
        "id": hex::encode(cti), "purpose": "hotel_checkin", "category": "hotel",
        "issued_at": now(&app), "counter": 1,
    }]});
    for expected in [1, 0] {
        let (status, recorded, _) = call(
            &app,
            Method::POST,
            "/api/v1/eid/card/offline-presentations",
            Some(&sid),
            Some(report.clone()),
        )
        .await;
        assert_eq!(
            (status, recorded["recorded"].as_u64()),
            (200, Some(expected))
        );
    }
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/offline-presentations",
        Some(&sid),
        Some(json!({"presentations": [{"id": "zz", "purpose": "hotel_checkin", "category": "hotel", "issued_at": 0}]})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");

    let (_, log, _) = call(&app, Method::GET, "/api/v1/me/access-log", Some(&sid), None).await;
    let entries = log["entries"].as_array().unwrap();
    let offline: Vec<&Value> = entries
        .iter()
        .filter(|e| e["purpose"] == "eid_offline_presentation")
        .collect();
    assert_eq!(offline.len(), 1, "{log}");
    assert_eq!(
        offline[0]["reference"],
        format!("eid-offline:hotel_checkin:hotel:{}", hex::encode(cti))
    );
    assert!(entries
        .iter()
        .any(|e| e["purpose"] == "eid_holder_credential"));

    // Suspended: no new credential.
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/suspend",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/holder-credentials",
        Some(&sid),
        Some(json!({"device_key": {"x": b64url(&point[1..33]), "y": b64url(&point[33..65])}})),
    )
    .await;
    assert_eq!(status, 409);
}
