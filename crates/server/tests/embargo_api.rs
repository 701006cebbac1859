//! Deferred disclosure over HTTP: staff request and decide embargoes through
//! the API (refusals as problems), an access made under an approved embargo is
//! counted in the public statistics at once but is missing from the resident's
//! list, CSV export and proofs until the embargo ends; then it is shown,
//! marked, on the API and the page.

mod common;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use shengshi_app::door::{self, AccessRequest};
use shengshi_app::embargo;
use shengshi_app::staff::capability::authorize;
use shengshi_app::staff::{totp, Enrolled, StaffAccounts};
use shengshi_domain::access::{AccessEntry, Accessor, Purpose};
use shengshi_domain::{Clock, Department, EmbargoId, Role};
use shengshi_test_support::staff::{totp_secret, STAFF_PASSWORD};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};
use std::sync::Arc;
use time::Duration;

tests_on_both_backends!(an_embargoed_access_is_counted_at_once_and_shown_after_its_end);

async fn staff_post(app: &TestApp, path: &str, staff_sid: &str, body: Value) -> (u16, Value) {
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

async fn get_text(app: &TestApp, path: &str, sid: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or("")
}

/// Logs a staff member in and returns their session cookie; moves the clock
/// past the TOTP step, so the next login's code is not a replay.
async fn login(app: &TestApp, enrolled: &Enrolled) -> String {
    let sid = app.staff_login(enrolled).await;
    app.clock.advance(Duration::seconds(31));
    sid
}

async fn leaf_indexes(app: &TestApp, sid: &str) -> Vec<u64> {
    let (status, page, _) = call(app, Method::GET, "/api/v1/me/access-log", Some(sid), None).await;
    assert_eq!(status, 200, "{page}");
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["leaf_index"].as_u64().unwrap())
        .collect()
}

async fn statistics(app: &TestApp) -> Value {
    let (status, stats, _) = call(app, Method::GET, "/api/v1/access-statistics", None, None).await;
    assert_eq!(status, 200, "{stats}");
    stats
}

async fn an_embargoed_access_is_counted_at_once_and_shown_after_its_end(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";
    register(&app, 0, phone).await;
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    // The account page opens (and logs) the resident's profile.
    let (status, _) = get_text(&app, "/account", &sid).await;
    assert_eq!(status, 200);
    // The resident's subject id, as a clerk's case file would hold it.
    let newest = leaf_indexes(&app, &sid).await[0];
    let path = format!("/api/v1/me/access-log/{newest}/proof");
    let (status, proof, _) = call(&app, Method::GET, &path, Some(&sid), None).await;
    assert_eq!(status, 200, "{proof}");
    let bytes = BASE64.decode(proof["entry"].as_str().unwrap()).unwrap();
    let subject = AccessEntry::from_bytes(&bytes).unwrap().subject;

    let clerk = app
        .add_staff("clerk", Department::PublicSecurity, Role::Clerk)
        .await;
    let boss = app
        .add_staff("boss", Department::PublicSecurity, Role::Supervisor)
        .await;
    let tax_boss = app
        .add_staff("tax.boss", Department::Tax, Role::Supervisor)
        .await;
    let clerk_sid = login(&app, &clerk).await;
    let boss_sid = login(&app, &boss).await;
    let tax_sid = login(&app, &tax_boss).await;

    let until = app.clock.now().plus(Duration::days(30)).to_rfc3339();
    let ask = |basis: &str| json!({"subject_id": subject.to_string(), "legal_basis": basis, "until": until});
    let (status, body) = staff_post(&app, "/api/v1/staff/embargoes", &clerk_sid, ask(" ")).await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:shengshi:problem:embargo-no-basis")
    );
    let (status, asked) = staff_post(
        &app,
        "/api/v1/staff/embargoes",
        &clerk_sid,
        ask("刑事诉讼法第152条"),
    )
    .await;
    assert_eq!(status, 201, "{asked}");
    assert_eq!(asked["status"], "requested");
    let id = asked["id"].as_str().unwrap().to_owned();
    let approve = format!("/api/v1/staff/embargoes/{id}/approve");

    // A clerk cannot approve; another department's supervisor finds nothing.
    let (status, body) = staff_post(&app, &approve, &clerk_sid, json!({})).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:shengshi:problem:staff-forbidden")
    );
    let (status, body) = staff_post(&app, &approve, &tax_sid, json!({})).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:shengshi:problem:embargo-not-found")
    );
    // The supervisor cannot approve their own request.
    let (status, own) = staff_post(
        &app,
        "/api/v1/staff/embargoes",
        &boss_sid,
        ask("PIPL Art. 18(1)"),
    )
    .await;
    assert_eq!(status, 201, "{own}");
    let own_approve = format!(
        "/api/v1/staff/embargoes/{}/approve",
        own["id"].as_str().unwrap()
    );
    let (status, body) = staff_post(&app, &own_approve, &boss_sid, json!({})).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:shengshi:problem:embargo-own-request")
    );

    let (status, approved) = staff_post(&app, &approve, &boss_sid, json!({})).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    let (status, body) = staff_post(&app, &approve, &boss_sid, json!({})).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:shengshi:problem:embargo-already-decided")
    );

    // The clerk opens the resident's data under the embargo (no casework API
    // takes an embargo yet, so straight through the app, as a handler would).
    let before = statistics(&app).await;
    let listed_before = leaf_indexes(&app, &sid).await;
    let config = shengshi::Config {
        data_dir: app.data_dir.clone(),
        database_url: Some(shengshi::config::DatabaseUrl::new(app.db.url().to_owned())),
        ..shengshi::Config::default()
    };
    let (services, _, secrets) =
        shengshi::startup::open_installation(&config, Arc::new(app.clock.clone()))
            .await
            .unwrap();
    let accounts = StaffAccounts::new(&services, Arc::new(secrets));
    let seconds = app.clock.now().unix_millis() / 1000;
    let code = totp::code_for_step(&totp_secret(&clerk), totp::step_at(seconds), totp::DIGITS);
    let member = accounts
        .verify_password_and_totp(
            "clerk",
            &SecretString::from(STAFF_PASSWORD.to_owned()),
            &code,
        )
        .await
        .unwrap();
    let cap = authorize(&member).clerk.unwrap();
    let grant = embargo::grant(&services, &cap, id.parse::<EmbargoId>().unwrap(), subject)
        .await
        .unwrap();
    let request = AccessRequest {
        subject,
        accessor: Accessor::Staff {
            staff: cap.staff(),
            department: cap.department(),
            role: cap.role(),
        },
        purpose: Purpose::CounterCheck,
        reference: Some("case-2026-17".into()),
        fields: vec!["name"],
    };
    let hidden = door::open_embargoed(&services, request, &grant)
        .await
        .unwrap()
        .leaf_index();
    services.store.close().await;

    // Counted at once, without a subject anywhere in the numbers.
    let after = statistics(&app).await;
    assert_eq!(after["total"], before["total"].as_u64().unwrap() + 1);
    assert_eq!(after["embargoed"], 1);
    assert!(!after.to_string().contains(&subject.to_string()));

    // Invisible to the resident: list, CSV, proof.
    assert_eq!(leaf_indexes(&app, &sid).await, listed_before);
    let (status, csv) = get_text(&app, "/api/v1/me/access-log/export.csv", &sid).await;
    assert_eq!(status, 200);
    assert!(!csv.contains("case-2026-17"), "{csv}");
    let proof_path = format!("/api/v1/me/access-log/{hidden}/proof");
    let (status, body, _) = call(&app, Method::GET, &proof_path, Some(&sid), None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:shengshi:problem:access-entry-not-found")
    );

    // Once the embargo ends: shown first, marked, provable, on the page too.
    app.clock.advance(Duration::days(31));
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let (status, page, _) =
        call(&app, Method::GET, "/api/v1/me/access-log", Some(&sid), None).await;
    assert_eq!(status, 200, "{page}");
    let first = &page["entries"][0];
    assert_eq!(first["leaf_index"], hidden);
    assert_eq!(first["disclosed_after_embargo"], "刑事诉讼法第152条");
    let (status, csv) = get_text(&app, "/api/v1/me/access-log/export.csv", &sid).await;
    assert_eq!(status, 200);
    assert!(csv.contains("刑事诉讼法第152条"), "{csv}");
    let (status, body, _) = call(&app, Method::GET, &proof_path, Some(&sid), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, html) = get_text(&app, "/account/access-log?lang=en", &sid).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Disclosed after an embargo (legal basis: 刑事诉讼法第152条)"),
        "{html}"
    );
    let (status, html) = get_text(&app, "/account/access-log?lang=zh-CN", &sid).await;
    assert_eq!(status, 200);
    assert!(html.contains("暂缓告知期满后公开"), "{html}");
}
