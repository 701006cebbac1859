//! The portrait link of online verifications (issue 8), on both backends:
//! a hotel check-in verification answers with a two-minute link to the
//! resident's registry portrait that only the same organisation's key opens;
//! the fetch is in the resident's access log; a link used by another
//! organisation, after its expiry, by a suspended organisation, tampered
//! with, or for a card suspended since is refused, logged, and discloses
//! nothing.

mod common;

use shengshi_domain::security::Actor;
use std::process::{Command, Output};
use std::sync::Arc;

use common::{call, demo_app, resident_with_card, security_events};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Digest;
use shengshi_app::verifiers::{self, NewVerifier};
use shengshi_domain::SecurityEventKind;
use shengshi_eid::{Purpose, VerifierCategory};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};
use time::Duration;

tests_on_both_backends!(
    a_hotel_sees_the_portrait_through_its_link_and_the_resident_sees_that,
    portrait_links_are_refused_elsewhere_later_or_once_the_card_is_suspended,
);

const VERIFY: &str = "/api/v1/verifier/verifications";

async fn add_verifier(
    app: &TestApp,
    name: &str,
    category: VerifierCategory,
    purposes: Vec<Purpose>,
) -> (uuid::Uuid, String) {
    let config = shengshi::Config {
        data_dir: app.data_dir.clone(),
        database_url: Some(shengshi::config::DatabaseUrl::new(app.db.url().to_owned())),
        ..shengshi::Config::default()
    };
    let (services, _, secrets) =
        shengshi::startup::open_installation(&config, Arc::new(app.clock.clone()))
            .await
            .expect("the installation opens");
    let issued = verifiers::register(
        &services,
        &secrets,
        Actor::Operator,
        NewVerifier {
            name: name.to_owned(),
            category,
            purposes,
        },
    )
    .await
    .expect("registered");
    services.store.close().await;
    (
        issued.verifier.id,
        secrecy::ExposeSecret::expose_secret(&issued.key).to_owned(),
    )
}

/// `shengshi verifier --data-dir D --database-url U <args…>`.
fn cli(app: &TestApp, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shengshi"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SHENGSHI_") {
            cmd.env_remove(key);
        }
    }
    let output = cmd
        .arg("verifier")
        .arg("--data-dir")
        .arg(&app.data_dir)
        .args(["--database-url", app.db.url()])
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

async fn verify(app: &TestApp, key: &str, code: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(VERIFY))
        .header("authorization", format!("Bearer {key}"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// GETs a portrait URL; returns status, content type, cache-control and body.
async fn fetch(app: &TestApp, key: Option<&str>, url: &str) -> (u16, String, String, Vec<u8>) {
    let mut request = app.client.get(app.url(url));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, content_type, cache) = (
        response.status().as_u16(),
        header("content-type"),
        header("cache-control"),
    );
    (
        status,
        content_type,
        cache,
        response.bytes().await.unwrap().to_vec(),
    )
}

fn problem_type(body: &[u8]) -> String {
    let problem: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    problem["type"].as_str().unwrap_or_default().to_owned()
}

async fn mint(app: &TestApp, sid: &str, purpose: &str, category: &str) -> String {
    let (status, code, _) = call(
        app,
        Method::POST,
        "/api/v1/eid/card/presentations",
        Some(sid),
        Some(json!({ "purpose": purpose, "category": category })),
    )
    .await;
    assert_eq!(status, 201, "{code}");
    code["code"].as_str().unwrap().to_owned()
}

async fn refusals(app: &TestApp) -> Vec<(Option<uuid::Uuid>, String)> {
    security_events(app.db.store().await.as_ref())
        .await
        .into_iter()
        .filter_map(|e| match e.event {
            SecurityEventKind::VerificationRefused { verifier, reason } => Some((verifier, reason)),
            _ => None,
        })
        .collect()
}

async fn a_hotel_sees_the_portrait_through_its_link_and_the_resident_sees_that(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (sid, _) = resident_with_card(&app, "13912345911").await;
    let (_, hotel) = add_verifier(
        &app,
        "西湖大酒店",
        VerifierCategory::Hotel,
        vec![Purpose::HotelCheckin, Purpose::AgeOver18],
    )
    .await;

    let code = mint(&app, &sid, "hotel_checkin", "hotel").await;
    let (status, verified) = verify(&app, &hotel, &code).await;
    assert_eq!(status, 200, "{verified}");
    let url = verified["portrait"]["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/api/v1/verifier/portraits/"), "{url}");
    let expires = time::OffsetDateTime::parse(
        verified["portrait"]["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let verified_at = time::OffsetDateTime::parse(
        verified["verified_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(expires - verified_at, Duration::seconds(120));

    // The image is the one the code's digest names, never cached.
    let (status, content_type, cache, body) = fetch(&app, Some(&hotel), &url).await;
    assert_eq!(status, 200);
    assert!(
        content_type == "image/jpeg" || content_type == "image/png",
        "{content_type}"
    );
    assert_eq!(cache, "no-store");
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&body)),
        verified["attributes"]["portrait_digest"].as_str().unwrap()
    );

    // A repeated scan answers the same, link included.
    let (status, again) = verify(&app, &hotel, &code).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["portrait"], verified["portrait"]);

    // A code of a purpose that shows no face gets no link.
    let age = mint(&app, &sid, "age_over_18", "hotel").await;
    let (status, adult) = verify(&app, &hotel, &age).await;
    assert_eq!(status, 200, "{adult}");
    assert!(adult.get("portrait").is_none(), "{adult}");

    // The resident reads who fetched the portrait, and for which code.
    let (status, log, _) = call(
        &app,
        Method::GET,
        "/api/v1/me/access-log?purpose=eid_portrait",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 200, "{log}");
    let entries: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["purpose"] == "eid_portrait")
        .collect();
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["organisation"], "西湖大酒店");
    assert_eq!(entries[0]["fields"], json!(["portrait"]));
    assert_eq!(
        entries[0]["reference"],
        format!("eid-portrait:{}", verified["id"].as_str().unwrap())
    );
}

async fn portrait_links_are_refused_elsewhere_later_or_once_the_card_is_suspended(
    backend: Backend,
) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (sid, name) = resident_with_card(&app, "13912345912").await;
    let (hotel_id, hotel) = add_verifier(
        &app,
        "西湖大酒店",
        VerifierCategory::Hotel,
        vec![Purpose::HotelCheckin],
    )
    .await;
    let (station_id, station) = add_verifier(
        &app,
        "杭州东站",
        VerifierCategory::Railway,
        vec![Purpose::TravelSecurity],
    )
    .await;
    let link = |verified: &Value| verified["portrait"]["url"].as_str().unwrap().to_owned();

    let (status, verified) = verify(
        &app,
        &hotel,
        &mint(&app, &sid, "hotel_checkin", "hotel").await,
    )
    .await;
    assert_eq!(status, 200, "{verified}");
    let url = link(&verified);

    // No key, another organisation's key, a tampered link: refused, and no
    // problem names the resident.
    let (status, _, _, body) = fetch(&app, None, &url).await;
    assert_eq!(status, 401);
    assert_eq!(
        problem_type(&body),
        "urn:shengshi:problem:verifier-unauthenticated"
    );
    let (status, _, cache, body) = fetch(&app, Some(&station), &url).await;
    assert_eq!(status, 403);
    assert_eq!(cache, "no-store");
    assert_eq!(
        problem_type(&body),
        "urn:shengshi:problem:portrait-link-not-yours"
    );
    assert!(!String::from_utf8_lossy(&body).contains(&name));
    let mut tampered = url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (status, _, _, body) = fetch(&app, Some(&hotel), &tampered).await;
    assert_eq!(status, 404);
    assert_eq!(
        problem_type(&body),
        "urn:shengshi:problem:portrait-link-invalid"
    );

    // Suspended organisation: refused whatever link it holds.
    cli(&app, &["suspend", "--id", &hotel_id.to_string()]);
    let (status, _, _, body) = fetch(&app, Some(&hotel), &url).await;
    assert_eq!(status, 403);
    assert_eq!(
        problem_type(&body),
        "urn:shengshi:problem:verifier-suspended"
    );
    cli(&app, &["resume", "--id", &hotel_id.to_string()]);

    // The resident reports the phone lost: the card shows no face any more.
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/suspend",
        Some(&sid),
        None,
    )
    .await;
    assert!(status < 300, "{status}");
    let (status, _, _, body) = fetch(&app, Some(&hotel), &url).await;
    assert_eq!(status, 410);
    assert_eq!(
        problem_type(&body),
        "urn:shengshi:problem:portrait-unavailable"
    );
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/eid/card/resume",
        Some(&sid),
        None,
    )
    .await;
    assert!(status < 300, "{status}");

    // Two minutes later the link is dead, for its own organisation too.
    let (status, _, _, _) = fetch(&app, Some(&hotel), &url).await;
    assert_eq!(status, 200, "the resumed card shows its portrait again");
    app.clock.advance(Duration::seconds(120));
    let (status, _, _, body) = fetch(&app, Some(&hotel), &url).await;
    assert_eq!(status, 410);
    assert_eq!(
        problem_type(&body),
        "urn:shengshi:problem:portrait-link-expired"
    );

    // A travel security check at the station gets its own link.
    let (status, checked) = verify(
        &app,
        &station,
        &mint(&app, &sid, "travel_security", "railway").await,
    )
    .await;
    assert_eq!(status, 200, "{checked}");
    let (status, _, _, _) = fetch(&app, Some(&station), &link(&checked)).await;
    assert_eq!(status, 200);

    // Each refusal is a security event naming the organisation and a reason.
    let logged = refusals(&app).await;
    for (org, reason) in [
        (station_id, "portrait_link_other_verifier"),
        (hotel_id, "portrait_link_invalid"),
        (hotel_id, "verifier_suspended"),
        (hotel_id, "portrait_unavailable"),
        (hotel_id, "portrait_link_expired"),
    ] {
        assert!(
            logged.contains(&(Some(org), reason.to_owned())),
            "{reason}: {logged:?}"
        );
    }
    // Only the successful fetches are in the resident's access log.
    let (_, log, _) = call(
        &app,
        Method::GET,
        "/api/v1/me/access-log?purpose=eid_portrait",
        Some(&sid),
        None,
    )
    .await;
    let fetched = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["purpose"] == "eid_portrait")
        .count();
    assert_eq!(fetched, 2, "{log}");
}
