//! Registration through the JSON API against a demo installation: the codes are
//! read from the demo SMS outbox page, as a newcomer would.

use serde_json::{json, Value};
use shengshi_test_support::{spawn_app_with, AppOptions, Backend, TestApp, TestDb};

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The newest code in the demo outbox for this number.
async fn code_from_outbox(app: &TestApp, phone: &str) -> String {
    let page = app.get("/demo/sms").await;
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    let row = html
        .split("<tr>")
        .find(|row| row.contains(phone) && row.contains("验证码"))
        .expect("a code message");
    let digits: String = row
        .split("验证码是")
        .nth(1)
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    assert_eq!(digits.len(), 6, "{row}");
    digits
}

async fn a_resident_registers_through_the_api(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = spawn_app_with(
        db,
        AppOptions {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    let examples = app
        .demo
        .as_ref()
        .expect("a demo installation")
        .examples
        .clone();
    let (name, id_number) = examples
        .first()
        .cloned()
        .expect("a fictional resident to try");
    let phone = "13912345678";

    let (status, problem) = post(
        &app,
        "/api/v1/registration/codes",
        json!({"phone": "12345"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["type"], "urn:shengshi:problem:validation");
    assert_eq!(problem["errors"][0]["pointer"], "/phone");
    assert_eq!(problem["errors"][0]["code"], "phone_length");

    let (status, sent) = post(&app, "/api/v1/registration/codes", json!({"phone": phone})).await;
    assert_eq!(status, 202, "{sent}");
    assert!(sent["expires_at"].is_string());
    let again = app
        .client
        .post(app.url("/api/v1/registration/codes"))
        .json(&json!({"phone": phone}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 429);
    assert_eq!(again.headers()["retry-after"], "60");

    let code = code_from_outbox(&app, phone).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, problem) = post(
        &app,
        "/api/v1/registration/phone-proofs",
        json!({"phone": phone, "code": wrong}),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:code-wrong"))
    );
    assert!(
        problem["detail"].as_str().unwrap().contains('4'),
        "{problem}"
    );
    let (status, proof) = post(
        &app,
        "/api/v1/registration/phone-proofs",
        json!({"phone": phone, "code": code}),
    )
    .await;
    assert_eq!(status, 201, "{proof}");
    let proof = proof["proof"].as_str().unwrap().to_owned();

    // Each kind of bad input gets its own answer, and creates nothing.
    let mut bad_id = id_number.clone();
    let last = bad_id.pop().unwrap();
    bad_id.push(if last == '0' { '1' } else { '0' });
    let (status, problem) = post(
        &app,
        "/api/v1/registrations",
        json!({"proof": proof, "name": name, "id_number": bad_id}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["pointer"], "/id_number");
    assert_eq!(problem["errors"][0]["code"], "wrong_check_character");
    let (status, problem) = post(
        &app,
        "/api/v1/registrations",
        json!({"proof": proof, "name": "查无此人", "id_number": id_number}),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:name-mismatch"))
    );
    let (status, problem) = post(
        &app,
        "/api/v1/registrations",
        json!({"proof": "forged", "name": name, "id_number": id_number}),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (401, Some("urn:shengshi:problem:proof-invalid"))
    );

    let (status, accepted) = post(
        &app,
        "/api/v1/registrations",
        json!({"proof": proof, "name": name, "id_number": id_number}),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["status"], "check_your_phone");
    let outbox = app.get("/demo/sms").await.text().await.unwrap();
    assert!(outbox.contains("账号已开通"), "the resident is told by SMS");
    app.stop().await;
}

async fn cross_site_and_tokenless_posts_are_refused(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = spawn_app_with(db, AppOptions::default()).await;
    let cross_site = app
        .client
        .post(app.url("/api/v1/registration/codes"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"phone": "13912345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let other_origin = app
        .client
        .post(app.url("/register"))
        .header("origin", "https://evil.example")
        .form(&[("phone", "13912345678"), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(other_origin.status(), 403);
    // Same origin but without the form token from the cookie: refused too.
    let no_token = app
        .client
        .post(app.url("/register"))
        .form(&[("phone", "13912345678")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let problem: Value = no_token.json().await.unwrap();
    assert_eq!(problem["type"], "urn:shengshi:problem:cross-site");
    app.stop().await;
}

shengshi_test_support::tests_on_both_backends!(
    a_resident_registers_through_the_api,
    cross_site_and_tokenless_posts_are_refused,
);
