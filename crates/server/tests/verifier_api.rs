//! The online verification service end to end, on both backends: verifier
//! organisations registered by the use case and by `shengshi verifier`, a
//! hotel verifying a resident's code (the resident's access log names the
//! hotel), a code accepted by one organisation only, the same answer to a
//! repeated scan, refusals for a purpose the organisation may not read, a
//! revoked card, unknown and rotated-out keys and a spent rate limit, and a
//! holder-bound SS2 code verified online, and hostile codes and bodies
//! refused with their reasons.

mod common;

use shengshi_domain::security::Actor;
use std::process::{Command, Output};
use std::sync::Arc;

use common::{
    call, demo_app, log_in, register, resident_with_card, security_events, CHROME_ON_ANDROID,
};
use reqwest::Method;
use serde_json::{json, Value};
use shengshi_app::verifiers::{self, NewVerifier};
use shengshi_domain::SecurityEventKind;
use shengshi_eid::{Purpose, VerifierCategory};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};
use time::Duration;

tests_on_both_backends!(
    a_hotel_verifies_a_code_once_and_the_resident_sees_it,
    keys_are_refused_when_unknown_rotated_out_or_over_their_limit,
    two_hotels_scanning_one_code_at_once_leave_exactly_one_winner,
    hostile_codes_are_refused_each_with_its_reason_and_disclose_nothing,
);

const VERIFY: &str = "/api/v1/verifier/verifications";

/// Registers an organisation as `shengshi verifier add` does, with the app's
/// clock; returns its id and API key.
async fn add_verifier(
    app: &TestApp,
    name: &str,
    category: VerifierCategory,
    purposes: Vec<Purpose>,
) -> (String, String) {
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
        issued.verifier.id.to_string(),
        secrecy::ExposeSecret::expose_secret(&issued.key).to_owned(),
    )
}

/// `shengshi verifier --data-dir D --database-url U <args…>`, the operator's way.
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
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The API key a CLI command printed (its only line on standard output).
fn printed_key(output: &Output) -> String {
    let key = String::from_utf8(output.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert!(key.starts_with("svk_") && !key.contains('\n'), "{key}");
    key
}

async fn verify(app: &TestApp, key: Option<&str>, code: &str) -> (u16, Value, Value) {
    let mut request = app
        .client
        .post(app.url(VERIFY))
        .json(&json!({ "code": code }));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let meta = json!({
        "retry_after": headers.get("retry-after").and_then(|v| v.to_str().ok()),
        "cache_control": headers.get("cache-control").and_then(|v| v.to_str().ok()),
        "www_authenticate": headers.get("www-authenticate").and_then(|v| v.to_str().ok()),
    });
    (status, body, meta)
}

async fn mint(app: &TestApp, sid: &str, purpose: &str, category: Option<&str>) -> Value {
    let mut body = json!({ "purpose": purpose });
    if let Some(category) = category {
        body["category"] = json!(category);
    }
    let (status, code, _) = call(
        app,
        Method::POST,
        "/api/v1/eid/card/presentations",
        Some(sid),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{code}");
    code
}

fn now(app: &TestApp) -> i64 {
    use shengshi_domain::Clock;
    app.clock.now().unix_millis() / 1000
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

/// A holder-bound code signed by a phone's key, as the offline card page
/// makes one (see eid_api.rs).
async fn holder_code(app: &TestApp, sid: &str) -> String {
    let device =
        shengshi_eid::SoftwareKey::from_seed(shengshi_eid::Algorithm::EcdsaP256, &[7; 32]).unwrap();
    let point = device.public_key().as_bytes().to_vec();
    let (status, issued, _) = call(
        app,
        Method::POST,
        "/api/v1/eid/card/holder-credentials",
        Some(sid),
        Some(json!({
            "device_key": {"x": b64url(&point[1..33]), "y": b64url(&point[33..65])},
            "device_time_ms": 0,
        })),
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
    shengshi_eid::mint_holder_presentation(
        &shengshi_eid::HolderPresentationRequest {
            credential: &credential,
            items: &items,
            purpose: Purpose::HotelCheckin,
            category: VerifierCategory::Hotel,
            issued_at: now(app),
            lifetime_seconds: 60,
            counter: 1,
            cti: [9u8; 16],
        },
        &device,
    )
    .unwrap()
}

async fn security_refusals(app: &TestApp) -> Vec<(Option<uuid::Uuid>, String)> {
    security_events(app.db.store().await.as_ref())
        .await
        .into_iter()
        .filter_map(|e| match e.event {
            SecurityEventKind::VerificationRefused { verifier, reason } => Some((verifier, reason)),
            _ => None,
        })
        .collect()
}

async fn a_hotel_verifies_a_code_once_and_the_resident_sees_it(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (sid, name) = resident_with_card(&app, "13912345901").await;
    let (_, id_number) = app.demo.as_ref().unwrap().examples[0].clone();

    let (hotel_id, hotel) = add_verifier(
        &app,
        "西湖大酒店",
        VerifierCategory::Hotel,
        vec![Purpose::HotelCheckin, Purpose::AgeOver18],
    )
    .await;
    // The station is registered the operator's way.
    let added = cli(
        &app,
        &[
            "add",
            "--name",
            "杭州东站",
            "--category",
            "railway",
            "--purposes",
            "travel_security,age_over_18",
        ],
    );
    let station = printed_key(&added);
    let listed = String::from_utf8(cli(&app, &["list"]).stdout).unwrap();
    assert!(
        listed.contains("杭州东站") && listed.contains("西湖大酒店"),
        "{listed}"
    );
    assert!(!listed.contains("svk_"), "keys are never listed: {listed}");
    let station_id = listed
        .lines()
        .find(|l| l.contains("杭州东站"))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_owned();

    // The hotel verifies a hotel check-in code: name and ID number, nothing more.
    let code = mint(&app, &sid, "hotel_checkin", None).await;
    let text = code["code"].as_str().unwrap();
    let (status, first, meta) = verify(&app, Some(hotel.as_str()), text).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(meta["cache_control"], "no-store");
    assert_eq!(first["verdict"], "valid");
    assert_eq!(first["purpose"], "hotel_checkin");
    assert_eq!(first["category"], "hotel");
    assert_eq!(first["mode"], "issuer");
    assert_eq!(first["id"], code["id"]);
    assert_eq!(first["attributes"]["name"], name.as_str());
    assert_eq!(first["attributes"]["id_number"], id_number.as_str());
    assert!(first["attributes"]["portrait_digest"].is_string());
    for absent in ["birth_date", "address", "sex", "age_over_18"] {
        assert!(first["attributes"].get(absent).is_none(), "{first}");
    }

    // The station replaying it is refused: the code is spent, and nothing
    // of it is disclosed.
    let (status, problem, _) = verify(&app, Some(station.as_str()), text).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["type"],
        "urn:shengshi:problem:verification-already-used"
    );
    assert!(!problem.to_string().contains(&name), "{problem}");

    // The hotel scanning again within the minute gets the same answer.
    app.clock.advance(Duration::seconds(20));
    let (status, again, _) = verify(&app, Some(hotel.as_str()), text).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, first);

    // The resident's access log names the hotel and the purpose, in both languages.
    let (status, log, _) = call(&app, Method::GET, "/api/v1/me/access-log", Some(&sid), None).await;
    assert_eq!(status, 200);
    let checks: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["purpose"] == "eid_verification")
        .collect();
    assert_eq!(
        checks.len(),
        2,
        "both scans by the hotel, none by the station: {log}"
    );
    for entry in &checks {
        assert_eq!(entry["accessor"], "verifier");
        assert_eq!(entry["organisation"], "西湖大酒店");
        assert!(
            entry["accessor_text"]
                .as_str()
                .unwrap()
                .contains("西湖大酒店"),
            "{entry}"
        );
        assert_eq!(
            entry["reference"],
            format!("eid-verification:{}", code["id"].as_str().unwrap())
        );
        assert_eq!(
            entry["fields"],
            json!(["name", "id_number", "portrait_digest"])
        );
    }
    let response = app
        .client
        .get(app.url("/api/v1/me/access-log?lang=en&purpose=eid_verification"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    let english: Value = response.json().await.unwrap();
    let entry = &english["entries"][0];
    assert_eq!(
        entry["purpose_text"],
        "An organisation checked your electronic ID code online"
    );
    assert!(entry["accessor_text"]
        .as_str()
        .unwrap()
        .starts_with("西湖大酒店 ("));
    let page = app
        .client
        .get(app.url("/account/access-log"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("西湖大酒店"), "the page names the hotel");
    assert!(page.contains("有机构在线核验了您的电子身份码"));

    // A hotel may not read a full identity, whoever it was minted for.
    let full = mint(&app, &sid, "identity_full", Some("government")).await;
    let (status, problem, _) =
        verify(&app, Some(hotel.as_str()), full["code"].as_str().unwrap()).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(
        problem["type"],
        "urn:shengshi:problem:verifier-purpose-not-allowed"
    );
    assert!(!problem.to_string().contains(&name), "{problem}");

    // A holder-bound code the phone signed also verifies online.
    let ss2 = holder_code(&app, &sid).await;
    assert!(ss2.starts_with("SS2:"));
    let (status, holder, _) = verify(&app, Some(hotel.as_str()), &ss2).await;
    assert_eq!(status, 200, "{holder}");
    assert_eq!(holder["mode"], "holder");
    assert_eq!(holder["attributes"]["name"], name.as_str());
    assert_eq!(holder["id"], hex::encode([9u8; 16]));

    // A code of a card since replaced (revoked) is refused with `revoked`.
    let old = mint(&app, &sid, "hotel_checkin", None).await;
    let (status, _, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);
    let (status, problem, _) =
        verify(&app, Some(hotel.as_str()), old["code"].as_str().unwrap()).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["type"],
        "urn:shengshi:problem:verification-code-invalid"
    );
    assert_eq!(problem["errors"][0]["code"], "revoked");
    assert_eq!(problem["errors"][0]["pointer"], "/code");

    // Garbage is refused with the e-ID error code.
    let (status, problem, _) = verify(&app, Some(hotel.as_str()), "SS1:NOT*A*CODE").await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["errors"][0]["code"].is_string());

    // Each refusal is a security event with the organisation and a reason only.
    let hotel_uuid: uuid::Uuid = hotel_id.parse().unwrap();
    let station_uuid: uuid::Uuid = station_id.parse().unwrap();
    let refusals = security_refusals(&app).await;
    assert!(refusals.contains(&(Some(station_uuid), "already_used".to_owned())));
    assert!(refusals.contains(&(Some(hotel_uuid), "purpose_not_allowed".to_owned())));
    assert!(refusals.contains(&(Some(hotel_uuid), "revoked".to_owned())));
    let dump = format!("{:?}", security_events(app.db.store().await.as_ref()).await);
    assert!(!dump.contains(&name) && !dump.contains(&id_number));
}

async fn keys_are_refused_when_unknown_rotated_out_or_over_their_limit(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (hotel_id, old_key) = add_verifier(
        &app,
        "西湖大酒店",
        VerifierCategory::Hotel,
        vec![Purpose::HotelCheckin],
    )
    .await;
    let garbage = "SS1:NOT*A*CODE";
    // A resident with a card, for codes that verify.
    let phone = "13912345902";
    register(&app, 1, phone).await;
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let (status, _, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);
    let code = mint(&app, &sid, "hotel_checkin", None).await;
    let code = code["code"].as_str().unwrap().to_owned();

    // Authenticated, the garbage is looked at (422); otherwise 401.
    let (status, _, _) = verify(&app, Some(old_key.as_str()), garbage).await;
    assert_eq!(status, 422);
    for key in [
        None,
        Some("svk_0190f1c27a1b7c3d8e4f0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        Some("not-a-key"),
    ] {
        let (status, problem, meta) = verify(&app, key, garbage).await;
        assert_eq!(status, 401, "{key:?}: {problem}");
        assert_eq!(
            problem["type"],
            "urn:shengshi:problem:verifier-unauthenticated"
        );
        assert_eq!(meta["www_authenticate"], "Bearer");
    }

    // Rotated by the operator (another process: the server learns it from
    // the database): the old key stops working at once, with a code that
    // verifies too, and that code is not spent by the refusal.
    let rotated = cli(&app, &["rotate-key", "--id", &hotel_id]);
    let new_key = printed_key(&rotated);
    assert_ne!(new_key, old_key);
    let (status, problem, _) = verify(&app, Some(old_key.as_str()), &code).await;
    assert_eq!(status, 401, "{problem}");
    let (status, _, _) = verify(&app, Some(old_key.as_str()), garbage).await;
    assert_eq!(status, 401);
    let (status, _, _) = verify(&app, Some(new_key.as_str()), garbage).await;
    assert_eq!(status, 422);

    // Suspended by the operator: refused whatever the key and the code.
    cli(&app, &["suspend", "--id", &hotel_id]);
    let (status, problem, _) = verify(&app, Some(new_key.as_str()), &code).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["type"], "urn:shengshi:problem:verifier-suspended");
    let (status, problem, _) = verify(&app, Some(new_key.as_str()), garbage).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["type"], "urn:shengshi:problem:verifier-suspended");
    cli(&app, &["resume", "--id", &hotel_id]);
    let (status, answer, _) = verify(&app, Some(new_key.as_str()), &code).await;
    assert_eq!(status, 200, "the refusals spent nothing: {answer}");

    // The key's bucket empties (the clock stands still here), then 429
    // with Retry-After; another organisation's key is not affected; time
    // refills it.
    let (_, other_key) = add_verifier(
        &app,
        "便利店",
        VerifierCategory::Retail,
        vec![Purpose::AgeOver18],
    )
    .await;
    let mut limited = None;
    for n in 0..40 {
        let (status, problem, meta) = verify(&app, Some(new_key.as_str()), garbage).await;
        if status == 429 {
            limited = Some((n, problem, meta));
            break;
        }
        assert_eq!(status, 422, "{problem}");
    }
    let (n, problem, meta) = limited.expect("a 429 within 40 requests");
    assert!(n <= 20, "after {n} requests");
    assert_eq!(
        problem["type"],
        "urn:shengshi:problem:verifier-rate-limited"
    );
    assert!(
        meta["retry_after"]
            .as_str()
            .unwrap()
            .parse::<u32>()
            .unwrap()
            >= 1
    );
    let (status, _, _) = verify(&app, Some(other_key.as_str()), garbage).await;
    assert_eq!(status, 422, "another key has its own bucket");
    app.clock.advance(Duration::seconds(5));
    let (status, _, _) = verify(&app, Some(new_key.as_str()), garbage).await;
    assert_eq!(status, 422, "refilled");

    let hotel_uuid: uuid::Uuid = hotel_id.parse().unwrap();
    let refusals = security_refusals(&app).await;
    assert!(refusals.contains(&(None, "unknown_key".to_owned())));
    assert!(refusals.contains(&(Some(hotel_uuid), "revoked_key".to_owned())));
    assert!(refusals.contains(&(Some(hotel_uuid), "verifier_suspended".to_owned())));
}

/// Claims are settled in the access log's batches: two organisations sending
/// the same code at the same moment may share one transaction. Exactly one is answered with
/// the code, the other is refused; the winner's repeated scan answers the same.
async fn two_hotels_scanning_one_code_at_once_leave_exactly_one_winner(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (sid, _) = resident_with_card(&app, "13912345911").await;
    let (_, west) = add_verifier(
        &app,
        "西湖大酒店",
        VerifierCategory::Hotel,
        vec![Purpose::HotelCheckin],
    )
    .await;
    let (_, east) = add_verifier(
        &app,
        "东湖宾馆",
        VerifierCategory::Hotel,
        vec![Purpose::HotelCheckin],
    )
    .await;
    let mut wins = [0, 0];
    // 8 codes: each key stays within its burst of 20 on the test's fixed clock.
    for round in 0..8 {
        let code = mint(&app, &sid, "hotel_checkin", None).await;
        let code = code["code"].as_str().unwrap().to_owned();
        let ((sw, bw, _), (se, be, _)) = tokio::join!(
            verify(&app, Some(&west), &code),
            verify(&app, Some(&east), &code)
        );
        let (winner, won, lost, lost_status) = match (sw, se) {
            (200, _) => (&west, bw, be, se),
            (_, 200) => (&east, be, bw, sw),
            _ => panic!("round {round}: nobody won: {sw} {bw} / {se} {be}"),
        };
        assert_eq!(lost_status, 409, "round {round}: {lost}");
        assert_eq!(
            lost["type"], "urn:shengshi:problem:verification-already-used",
            "round {round}"
        );
        assert!(lost.get("attributes").is_none());
        wins[usize::from(winner == &east)] += 1;
        let (again, body, _) = verify(&app, Some(winner), &code).await;
        assert_eq!(again, 200, "round {round}: {body}");
        assert_eq!(body["verified_at"], won["verified_at"], "round {round}");
        assert_eq!(body["id"], won["id"], "round {round}");
    }
    assert_eq!(wins[0] + wins[1], 8);
}

/// A valid code with one byte of its signature's R changed, compressed (or
/// not) as it was.
fn with_forged_signature(code: &str) -> String {
    use std::io::{Read, Write};
    let packed = shengshi_eid::base45::decode(code.strip_prefix("SS1:").unwrap()).unwrap();
    let compressed = packed.first() == Some(&0x78);
    let mut cose = Vec::new();
    if compressed {
        flate2::read::ZlibDecoder::new(packed.as_slice())
            .read_to_end(&mut cose)
            .unwrap();
    } else {
        cose = packed;
    }
    let at = cose.len() - 60; // inside R, the signature's first half
    cose[at] ^= 0x01;
    let packed = if compressed {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&cose).unwrap();
        encoder.finish().unwrap()
    } else {
        cose
    };
    format!("SS1:{}", shengshi_eid::base45::encode(&packed))
}

/// A zlib stream that inflates to far more than any code (a "zip bomb").
fn decompression_bomb() -> String {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
    format!(
        "SS1:{}",
        shengshi_eid::base45::encode(&encoder.finish().unwrap())
    )
}

async fn hostile_codes_are_refused_each_with_its_reason_and_disclose_nothing(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (hotel_id, hotel) = add_verifier(
        &app,
        "西湖大酒店",
        VerifierCategory::Hotel,
        vec![Purpose::HotelCheckin],
    )
    .await;
    let (sid, _) = resident_with_card(&app, "13912345903").await;
    let code = mint(&app, &sid, "hotel_checkin", None).await;
    let code = code["code"].as_str().unwrap().to_owned();

    let hostile = [
        (String::new(), "bad_prefix"),
        ("SS9:ABC".to_owned(), "bad_prefix"),
        (format!("SS1:{}", "0".repeat(5000)), "too_large"),
        ("SS1:abc~".to_owned(), "bad_base45"),
        ("SS1:\u{0}".to_owned(), "bad_base45"),
        (decompression_bomb(), "decompression_bomb"),
        (
            format!("SS1:{}", shengshi_eid::base45::encode(&[0xd2, 0x84, 0x43])),
            "cbor_malformed",
        ),
        (with_forged_signature(&code), "bad_signature"),
    ];
    let refusals_before = security_refusals(&app).await.len();
    for (text, reason) in &hostile {
        let (status, problem, meta) = verify(&app, Some(hotel.as_str()), text).await;
        let shown: String = text.chars().take(40).collect();
        assert_eq!(status, 422, "{shown}: {problem}");
        assert_eq!(
            problem["type"], "urn:shengshi:problem:verification-code-invalid",
            "{shown}"
        );
        assert_eq!(problem["errors"][0]["code"], *reason, "{shown}: {problem}");
        assert_eq!(meta["cache_control"], "no-store");
        for disclosed in ["attributes", "verdict", "portrait"] {
            assert!(problem.get(disclosed).is_none(), "{shown}: {problem}");
        }
    }
    // Each refusal is a security event naming the organisation and the reason.
    let refusals = security_refusals(&app).await;
    let hotel_uuid: uuid::Uuid = hotel_id.parse().unwrap();
    let new: Vec<_> = refusals[refusals_before..].to_vec();
    let expected: Vec<_> = hostile
        .iter()
        .map(|(_, reason)| (Some(hotel_uuid), (*reason).to_owned()))
        .collect();
    assert_eq!(new, expected);

    // Bodies that are not a code at all: a client error, never a server one.
    for body in [json!({ "code": 42 }), json!({}), json!(["SS1:"])] {
        let response = app
            .client
            .post(app.url(VERIFY))
            .header("authorization", format!("Bearer {hotel}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{body}: {response:?}");
    }
    let response = app
        .client
        .post(app.url(VERIFY))
        .header("authorization", format!("Bearer {hotel}"))
        .header("content-type", "application/json")
        .body(vec![0xff, 0xfe, b'{'])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{response:?}");

    // None of it spent or disturbed the resident's real code.
    let (status, verified, _) = verify(&app, Some(hotel.as_str()), &code).await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["verdict"], "valid");
}
