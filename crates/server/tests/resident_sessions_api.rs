//! "Your sessions" through the JSON API and the page: a resident lists their
//! live sessions (device, times, which one is this) and ends one, or all;
//! another resident's session is out of reach.

mod common;

use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID, FIREFOX_ON_WINDOWS};
use reqwest::Method;
use serde_json::Value;
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};
use time::Duration;

async fn sessions_of(app: &TestApp, sid: &str) -> Vec<Value> {
    let (status, list, _) = call(app, Method::GET, "/api/v1/sessions", Some(sid), None).await;
    assert_eq!(status, 200, "{list}");
    list["sessions"].as_array().unwrap().clone()
}

async fn a_resident_lists_and_ends_their_sessions_through_the_api(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (mine, theirs) = ("13912345678", "13787654321");
    register(&app, 0, mine).await;
    register(&app, 1, theirs).await;
    let (phone_sid, _) = log_in(&app, mine, CHROME_ON_ANDROID).await;
    app.clock.advance(Duration::seconds(61));
    let (laptop_sid, _) = log_in(&app, mine, FIREFOX_ON_WINDOWS).await;
    let (other_sid, _) = log_in(&app, theirs, CHROME_ON_ANDROID).await;

    let (status, problem, _) = call(&app, Method::GET, "/api/v1/sessions", None, None).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (401, Some("urn:shengshi:problem:unauthenticated"))
    );

    let sessions = sessions_of(&app, &laptop_sid).await;
    assert_eq!(sessions.len(), 2, "only my own sessions: {sessions:?}");
    assert_eq!(sessions[0]["device"], "Firefox on Windows", "newest first");
    assert_eq!(sessions[0]["is_current"], true);
    assert_eq!(sessions[1]["device"], "Chrome on Android");
    assert_eq!(sessions[1]["is_current"], false);
    for s in &sessions {
        let handle = s["handle"].as_str().unwrap();
        assert!(
            handle != phone_sid && handle != laptop_sid,
            "a handle is not a token"
        );
        assert!(s["created_at"].is_string() && s["last_seen_at"].is_string());
    }
    let phone_handle = sessions[1]["handle"].as_str().unwrap().to_owned();

    // Someone else's session, or a made-up handle: not found, and nothing ends.
    let other_handle = sessions_of(&app, &other_sid).await[0]["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    for handle in [other_handle.as_str(), "0123abcd", &phone_sid] {
        let path = format!("/api/v1/sessions/{handle}");
        let (status, problem, headers) =
            call(&app, Method::DELETE, &path, Some(&laptop_sid), None).await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (404, Some("urn:shengshi:problem:session-not-found")),
            "{problem}"
        );
        assert_eq!(headers["content-type"], "application/problem+json");
    }
    assert_eq!(sessions_of(&app, &other_sid).await.len(), 1);

    // Ending the phone's session from the laptop: the phone is logged out.
    let path = format!("/api/v1/sessions/{phone_handle}");
    let (status, _, headers) = call(&app, Method::DELETE, &path, Some(&laptop_sid), None).await;
    assert_eq!(status, 204);
    assert!(
        headers.get("set-cookie").is_none(),
        "this device stays logged in"
    );
    let (status, _, _) = call(&app, Method::GET, "/api/v1/me", Some(&phone_sid), None).await;
    assert_eq!(status, 401);
    let (status, problem, _) = call(&app, Method::DELETE, &path, Some(&laptop_sid), None).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (404, Some("urn:shengshi:problem:session-not-found"))
    );
    let sessions = sessions_of(&app, &laptop_sid).await;
    assert_eq!(sessions.len(), 1);

    // Ending this device's own session logs out here.
    let path = format!(
        "/api/v1/sessions/{}",
        sessions[0]["handle"].as_str().unwrap()
    );
    let (status, _, headers) = call(&app, Method::DELETE, &path, Some(&laptop_sid), None).await;
    assert_eq!(status, 204);
    assert!(headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let (status, _, _) = call(&app, Method::GET, "/api/v1/me", Some(&laptop_sid), None).await;
    assert_eq!(status, 401);
    let (status, _, _) = call(&app, Method::GET, "/api/v1/me", Some(&other_sid), None).await;
    assert_eq!(status, 200, "the other resident is untouched");
    app.stop().await;
}

/// The page: GET with the session cookie (and the CSRF cookie it sets).
async fn sessions_page(
    app: &TestApp,
    sid: &str,
    csrf: Option<&str>,
    lang: &str,
) -> (u16, String, Option<String>) {
    let cookie = match csrf {
        Some(csrf) => format!("sid={sid}; csrf={csrf}"),
        None => format!("sid={sid}"),
    };
    let response = app
        .client
        .get(app.url(&format!("/account/sessions?lang={lang}")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let csrf = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.strip_prefix("csrf="))
        .filter_map(|rest| rest.split(';').next())
        .map(str::to_owned)
        .next();
    (status, response.text().await.unwrap(), csrf)
}

async fn post_form(
    app: &TestApp,
    path: &str,
    sid: &str,
    csrf: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("cookie", format!("sid={sid}; csrf={csrf}"))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn the_sessions_page_ends_one_session_or_all_without_javascript(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";
    register(&app, 0, phone).await;
    let (tablet_sid, _) = log_in(&app, phone, FIREFOX_ON_WINDOWS).await;
    app.clock.advance(Duration::seconds(61));
    let (here_sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;

    let response = app.get("/account/sessions").await;
    assert_eq!(
        response.status().as_u16(),
        303,
        "logged out: to the login page"
    );
    let account = app
        .client
        .get(app.url("/account?lang=en"))
        .header("cookie", format!("sid={here_sid}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        account.contains("href=\"/account/sessions\""),
        "linked from the account page"
    );

    let (status, html, csrf) = sessions_page(&app, &here_sid, None, "en").await;
    assert_eq!(status, 200);
    let csrf = csrf.expect("a CSRF cookie");
    assert!(html.contains("Chrome on Android") && html.contains("Firefox on Windows"));
    assert!(html.contains("This device"));
    assert!(html.contains("<th scope=\"col\">Device</th>"));
    assert!(html.contains(&format!("name=\"csrf\" value=\"{csrf}\"")));
    assert!(html.contains("action=\"/logout/everywhere\""));
    assert!(
        !html.contains("<script") && !html.contains("style="),
        "strict CSP: nothing inline"
    );
    let (_, zh, _) = sessions_page(&app, &here_sid, Some(&csrf), "zh-CN").await;
    assert!(zh.contains("本设备") && zh.contains("已登录您账号的设备"));

    // The tablet's row: its handle from the API, ended through the form.
    let sessions = sessions_of(&app, &here_sid).await;
    let tablet = sessions.iter().find(|s| s["is_current"] == false).unwrap()["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(html.contains(&tablet));
    let refused = post_form(
        &app,
        "/account/sessions/end",
        &here_sid,
        &csrf,
        &[("csrf", "forged"), ("handle", &tablet)],
    )
    .await;
    assert_eq!(
        refused.status().as_u16(),
        403,
        "a form without its token is refused"
    );
    assert_eq!(sessions_of(&app, &here_sid).await.len(), 2);
    let ended = post_form(
        &app,
        "/account/sessions/end",
        &here_sid,
        &csrf,
        &[("csrf", &csrf), ("handle", &tablet)],
    )
    .await;
    assert_eq!(ended.status().as_u16(), 303);
    assert_eq!(ended.headers()["location"], "/account/sessions");
    let (status, _, _) = call(&app, Method::GET, "/api/v1/me", Some(&tablet_sid), None).await;
    assert_eq!(status, 401);
    let (_, html, _) = sessions_page(&app, &here_sid, Some(&csrf), "en").await;
    assert!(!html.contains("Firefox on Windows"));

    // Log out everywhere from the page.
    app.clock.advance(Duration::seconds(61));
    let (again_sid, _) = log_in(&app, phone, FIREFOX_ON_WINDOWS).await;
    let everywhere = post_form(
        &app,
        "/logout/everywhere",
        &here_sid,
        &csrf,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(everywhere.status().as_u16(), 303);
    for sid in [&here_sid, &again_sid] {
        let (status, _, _) = call(&app, Method::GET, "/api/v1/me", Some(sid), None).await;
        assert_eq!(status, 401);
    }
    app.stop().await;
}

tests_on_both_backends!(
    a_resident_lists_and_ends_their_sessions_through_the_api,
    the_sessions_page_ends_one_session_or_all_without_javascript,
);
