//! Helpers for the resident API tests against a demo installation: register
//! demo residents with codes from the demo SMS outbox, log in, call the API
//! with the `sid` cookie passed by hand.

#![allow(dead_code)] // each test file uses some of these

use reqwest::Method;
use serde_json::{json, Value};
use shengshi_test_support::{spawn_app_with, AppOptions, Backend, TestApp, TestDb};

pub const CHROME_ON_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";
pub const FIREFOX_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0";

/// Every security event in `store`, oldest first. A demo installation starts
/// with thousands (one per fictional resident), so they are read page by page.
pub async fn security_events(
    store: &dyn shengshi_store::Store,
) -> Vec<shengshi_domain::SecurityEvent> {
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = store.security_events(after, 1000).await.unwrap();
        let Some(last) = page.last() else {
            return events;
        };
        after = last.seq;
        events.extend(page.into_iter().map(|e| e.event));
    }
}

/// A resident (demo example 0, who has a registry portrait) registered on
/// `phone`, logged in, with an activated e-ID card: their `sid` and name.
pub async fn resident_with_card(app: &TestApp, phone: &str) -> (String, String) {
    register(app, 0, phone).await;
    let (name, _) = app.demo.as_ref().unwrap().examples[0].clone();
    let (sid, _) = log_in(app, phone, CHROME_ON_ANDROID).await;
    let (status, _, _) = call(app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201);
    (sid, name)
}

pub async fn demo_app(backend: Backend) -> Option<TestApp> {
    let db = TestDb::new(backend).await?;
    Some(
        spawn_app_with(
            db,
            AppOptions {
                demo: true,
                ..Default::default()
            },
        )
        .await,
    )
}

/// A JSON API call; returns status, body (Null when not JSON) and headers.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    sid: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(sid) = sid {
        request = request.header("cookie", format!("sid={sid}"));
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

/// The newest code in the demo outbox for this number.
pub async fn code_from_outbox(app: &TestApp, phone: &str) -> String {
    let html = app.get("/demo/sms").await.text().await.unwrap();
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

/// Registers the `index`th demo resident with `phone` through the API.
pub async fn register(app: &TestApp, index: usize, phone: &str) {
    let (name, id_number) = app.demo.as_ref().expect("a demo installation").examples[index].clone();
    let post = |path: &'static str, body: Value| call(app, Method::POST, path, None, Some(body));
    let (status, sent, _) = post("/api/v1/registration/codes", json!({"phone": phone})).await;
    assert_eq!(status, 202, "{sent}");
    let code = code_from_outbox(app, phone).await;
    let (status, proof, _) = post(
        "/api/v1/registration/phone-proofs",
        json!({"phone": phone, "code": code}),
    )
    .await;
    assert_eq!(status, 201, "{proof}");
    let (status, accepted, _) = post(
        "/api/v1/registrations",
        json!({"proof": proof["proof"], "name": name, "id_number": id_number}),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
}

/// Logs in through the API from a browser with this User-Agent; returns the
/// session token and the account ID.
pub async fn log_in(app: &TestApp, phone: &str, user_agent: &str) -> (String, String) {
    let (status, sent, _) = call(
        app,
        Method::POST,
        "/api/v1/login/codes",
        None,
        Some(json!({"phone": phone})),
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    let code = code_from_outbox(app, phone).await;
    let response = app
        .client
        .post(app.url("/api/v1/sessions"))
        .header("user-agent", user_agent)
        .json(&json!({"phone": phone, "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let token = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .strip_prefix("sid=")
        .and_then(|rest| rest.split(';').next())
        .expect("a sid cookie")
        .to_owned();
    let session: Value = response.json().await.unwrap();
    (token, session["account_id"].as_str().unwrap().to_owned())
}
