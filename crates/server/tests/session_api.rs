//! Logging in, sessions and mandates through the JSON API against a demo
//! installation: residents register with codes from the demo SMS outbox, log
//! in, and give one another mandates. The `sid` cookie is passed by hand.

use reqwest::Method;
use serde_json::{json, Value};
use shengshi_domain::Clock;
use shengshi_test_support::{spawn_app_with, AppOptions, Backend, TestApp, TestDb};
use time::Duration;

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(sid) = cookie {
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

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let (status, body, _) = call(app, Method::POST, path, None, Some(body)).await;
    (status, body)
}

/// The newest code in the demo outbox for this number.
async fn code_from_outbox(app: &TestApp, phone: &str) -> String {
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

async fn demo_app(backend: Backend) -> Option<TestApp> {
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

/// Registers the `index`th demo resident with `phone` through the API.
async fn register(app: &TestApp, index: usize, phone: &str) {
    let (name, id_number) = app.demo.as_ref().expect("a demo installation").examples[index].clone();
    let (status, sent) = post(app, "/api/v1/registration/codes", json!({"phone": phone})).await;
    assert_eq!(status, 202, "{sent}");
    let code = code_from_outbox(app, phone).await;
    let (status, proof) = post(
        app,
        "/api/v1/registration/phone-proofs",
        json!({"phone": phone, "code": code}),
    )
    .await;
    assert_eq!(status, 201, "{proof}");
    let (status, accepted) = post(
        app,
        "/api/v1/registrations",
        json!({"proof": proof["proof"], "name": name, "id_number": id_number}),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
}

/// Logs in through the API; returns the session token and the answer.
async fn log_in(app: &TestApp, phone: &str) -> (String, Value) {
    let (status, sent) = post(app, "/api/v1/login/codes", json!({"phone": phone})).await;
    assert_eq!(status, 202, "{sent}");
    let code = code_from_outbox(app, phone).await;
    let (status, session, headers) = call(
        app,
        Method::POST,
        "/api/v1/sessions",
        None,
        Some(json!({"phone": phone, "code": code})),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let set_cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let token = set_cookie
        .strip_prefix("sid=")
        .and_then(|rest| rest.split(';').next())
        .expect("a sid cookie")
        .to_owned();
    (token, session)
}

async fn a_resident_logs_in_and_out_through_the_api(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";

    // No account yet: the code is sent all the same, and only then is the caller told.
    let (status, problem) = post(&app, "/api/v1/login/codes", json!({"phone": "12345"})).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["pointer"], "/phone");
    let (status, _) = post(&app, "/api/v1/login/codes", json!({"phone": phone})).await;
    assert_eq!(status, 202);
    let (status, problem) = post(&app, "/api/v1/login/codes", json!({"phone": phone})).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (429, Some("urn:shengshi:problem:code-too-soon"))
    );
    let code = code_from_outbox(&app, phone).await;
    let (status, problem) = post(
        &app,
        "/api/v1/sessions",
        json!({"phone": phone, "code": "12"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["type"], "urn:shengshi:problem:validation");
    assert_eq!(problem["errors"][0]["pointer"], "/code");
    let (status, problem) = post(
        &app,
        "/api/v1/sessions",
        json!({"phone": phone, "code": code}),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:no-account"))
    );
    let (status, problem) = post(
        &app,
        "/api/v1/sessions",
        json!({"phone": "13900000000", "code": "123456"}),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:no-code"))
    );

    register(&app, 0, phone).await;
    app.clock.advance(Duration::seconds(61));
    let (status, _) = post(&app, "/api/v1/login/codes", json!({"phone": phone})).await;
    assert_eq!(status, 202);
    let code = code_from_outbox(&app, phone).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, problem) = post(
        &app,
        "/api/v1/sessions",
        json!({"phone": phone, "code": wrong}),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:code-wrong"))
    );
    let (status, session, headers) = call(
        &app,
        Method::POST,
        "/api/v1/sessions",
        None,
        Some(json!({"phone": phone, "code": code})),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["assurance_level"], 2);
    assert!(session["expires_at"].is_string());
    let set_cookie = headers["set-cookie"].to_str().unwrap();
    let token = set_cookie
        .strip_prefix("sid=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    // The code is used up.
    let (status, problem) = post(
        &app,
        "/api/v1/sessions",
        json!({"phone": phone, "code": code}),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:code-dead"))
    );

    let (status, me, _) = call(&app, Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["account_id"], session["account_id"]);
    assert_eq!(me["assurance_level"], 2);
    assert_eq!(me["status"], "active");
    let (status, problem, headers) = call(&app, Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(problem["type"], "urn:shengshi:problem:unauthenticated");
    let (status, problem, _) = call(
        &app,
        Method::GET,
        "/api/v1/me?lang=en",
        Some("forged"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(problem["title"], "Please log in");

    // Logging out ends this session and clears the cookie.
    let (status, _, headers) = call(
        &app,
        Method::DELETE,
        "/api/v1/sessions/current",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let (status, _, _) = call(&app, Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, 401);
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        "/api/v1/sessions/current",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 401);

    // Two sessions, then log out everywhere: both end.
    app.clock.advance(Duration::seconds(61));
    let (first, _) = log_in(&app, phone).await;
    app.clock.advance(Duration::seconds(61));
    let (second, _) = log_in(&app, phone).await;
    let (status, revoked, _) = call(
        &app,
        Method::POST,
        "/api/v1/sessions/revoke-all",
        Some(&second),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["revoked"], 2);
    for token in [&first, &second] {
        let (status, _, _) = call(&app, Method::GET, "/api/v1/me", Some(token), None).await;
        assert_eq!(status, 401);
    }
    app.stop().await;
}

async fn a_mandate_is_granted_listed_and_revoked_through_the_api(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (parent_phone, child_phone) = ("13912345678", "13787654321");
    register(&app, 0, parent_phone).await;
    register(&app, 1, child_phone).await;
    let (parent, parent_session) = log_in(&app, parent_phone).await;
    let (child, child_session) = log_in(&app, child_phone).await;

    let (status, problem, _) = call(&app, Method::GET, "/api/v1/mandates", None, None).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (401, Some("urn:shengshi:problem:unauthenticated"))
    );

    let now = app.clock.now();
    let until = now.plus(Duration::days(30)).to_rfc3339();
    let grant = |grantee: &Value, relationship: &str, services: Value, until: &str| {
        json!({
            "grantee_account_id": grantee,
            "relationship": relationship,
            "services": services,
            "valid_until": until,
        })
    };
    // Each broken rule has its own problem type.
    let cases = [
        (
            grant(
                &parent_session["account_id"],
                "child",
                json!(["social_security.pension"]),
                &until,
            ),
            422,
            "self-mandate",
        ),
        (
            grant(
                &child_session["account_id"],
                "cousin",
                json!(["social_security.pension"]),
                &until,
            ),
            422,
            "unknown-relationship",
        ),
        (
            grant(&child_session["account_id"], "child", json!([]), &until),
            422,
            "no-services",
        ),
        (
            grant(
                &child_session["account_id"],
                "child",
                json!(["Not A Code"]),
                &until,
            ),
            422,
            "bad-code",
        ),
        (
            grant(
                &child_session["account_id"],
                "child",
                json!(["social_security.pension"]),
                &now.plus(Duration::days(3660)).to_rfc3339(),
            ),
            422,
            "too-long",
        ),
        (
            grant(
                &json!("0190a0e0-0000-7000-8000-000000000000"),
                "child",
                json!(["social_security.pension"]),
                &until,
            ),
            422,
            "no-such-grantee",
        ),
        (
            grant(
                &json!("nobody"),
                "child",
                json!(["social_security.pension"]),
                "tomorrow",
            ),
            422,
            "validation",
        ),
    ];
    for (body, expected_status, expected_type) in cases {
        let (status, problem, _) = call(
            &app,
            Method::POST,
            "/api/v1/mandates",
            Some(&parent),
            Some(body),
        )
        .await;
        assert_eq!(status, expected_status, "{problem}");
        assert_eq!(
            problem["type"],
            format!("urn:shengshi:problem:{expected_type}"),
            "{problem}"
        );
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }

    let (status, mandate, _) = call(
        &app,
        Method::POST,
        "/api/v1/mandates",
        Some(&parent),
        Some(grant(
            &child_session["account_id"],
            "child",
            json!(["social_security.pension", "health.records"]),
            &until,
        )),
    )
    .await;
    assert_eq!(status, 201, "{mandate}");
    assert_eq!(mandate["status"], "active");
    assert_eq!(mandate["grantor_account_id"], parent_session["account_id"]);
    assert_eq!(mandate["grantee_account_id"], child_session["account_id"]);
    let id = mandate["id"].as_str().unwrap().to_owned();

    let (status, mine, _) = call(&app, Method::GET, "/api/v1/mandates", Some(&parent), None).await;
    assert_eq!(status, 200);
    assert_eq!(mine["granted"][0]["id"], id.as_str());
    assert_eq!(mine["received"], json!([]));
    let (status, theirs, _) = call(&app, Method::GET, "/api/v1/mandates", Some(&child), None).await;
    assert_eq!(status, 200);
    assert_eq!(theirs["received"][0]["id"], id.as_str());
    assert_eq!(theirs["granted"], json!([]));
    let (status, actions, _) = call(
        &app,
        Method::GET,
        "/api/v1/mandates/actions",
        Some(&parent),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(actions["actions"], json!([]));

    // Only the grantor may revoke; to anyone else the mandate does not exist.
    let path = format!("/api/v1/mandates/{id}");
    let (status, problem, _) = call(&app, Method::DELETE, &path, Some(&child), None).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (404, Some("urn:shengshi:problem:mandate-not-found"))
    );
    let (status, theirs, _) = call(&app, Method::GET, "/api/v1/mandates", Some(&child), None).await;
    assert_eq!(status, 200);
    assert_eq!(theirs["received"][0]["status"], "active");

    let (status, _, _) = call(&app, Method::DELETE, &path, Some(&parent), None).await;
    assert_eq!(status, 204);
    let (status, _, _) = call(&app, Method::DELETE, &path, Some(&parent), None).await;
    assert_eq!(status, 204, "revoking again answers the same");
    for token in [&parent, &child] {
        let (status, list, _) =
            call(&app, Method::GET, "/api/v1/mandates", Some(token), None).await;
        assert_eq!(status, 200);
        let mandate = if token == &parent {
            &list["granted"][0]
        } else {
            &list["received"][0]
        };
        assert_eq!(mandate["status"], "revoked", "{list}");
        assert!(mandate["revoked_at"].is_string());
    }
    app.stop().await;
}

shengshi_test_support::tests_on_both_backends!(
    a_resident_logs_in_and_out_through_the_api,
    a_mandate_is_granted_listed_and_revoked_through_the_api,
);
