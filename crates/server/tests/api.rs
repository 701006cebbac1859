//! The HTTP surface, served by the real server on port 0 against a fresh
//! database of each backend.

use shengshi_test_support::{spawn_app, spawn_app_with, AppOptions, Backend, TestDb};

async fn app(backend: Backend) -> Option<shengshi_test_support::TestApp> {
    Some(spawn_app(TestDb::new(backend).await?).await)
}

async fn health_readiness_and_status_answer(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let status: serde_json::Value = app.get("/api/v1/status").await.json().await.unwrap();
    assert_eq!(status["database"], backend.name());
    assert_eq!(status["mode"], "development");
    assert_eq!(status["demo"], false);
    app.stop().await;
}

async fn readiness_fails_when_the_database_goes_away(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    app.db.exec("DROP TABLE _sqlx_migrations").await.unwrap();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(problem["type"], "urn:shengshi:problem:not-ready");
    app.stop().await;
}

async fn metrics_count_requests_by_route_and_show_the_pool(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    for _ in 0..3 {
        app.get("/healthz").await;
    }
    app.get("/no/such/page").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(
            r#"shengshi_http_requests_total{method="GET",route="/healthz",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="unmatched",status="404"} 1"#),
        "raw paths never become labels: {text}"
    );
    assert!(text.contains("shengshi_http_request_duration_seconds_bucket"));
    assert!(text.contains("shengshi_db_pool_max_connections"));
    app.stop().await;
}

async fn the_openapi_document_is_served_and_matches_the_committed_copy(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let served = app.get("/api/openapi.json").await.text().await.unwrap();
    let committed = include_str!("../../../docs/openapi.json");
    let served: serde_json::Value = serde_json::from_str(&served).unwrap();
    let committed: serde_json::Value = serde_json::from_str(committed).unwrap();
    assert_eq!(served, committed);
    // The interactive reference is served by the binary itself, assets included.
    let page = app.get("/api/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    assert_eq!(
        app.get("/api/docs/swagger-ui-bundle.js").await.status(),
        200
    );
    app.stop().await;
}

async fn errors_are_problem_documents_in_the_requests_language(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    for (accept, detail) in [
        ("en-GB,en;q=0.9", "There is nothing at /api/v1/nothing."),
        ("zh-CN", "您请求的地址不存在：/api/v1/nothing"),
    ] {
        let response = app
            .client
            .get(app.url("/api/v1/nothing"))
            .header("accept-language", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["type"], "urn:shengshi:problem:not-found");
        assert_eq!(problem["status"], 404);
        assert_eq!(problem["detail"], detail);
    }
    let wrong_method = app
        .client
        .delete(app.url("/api/v1/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    let problem: serde_json::Value = wrong_method.json().await.unwrap();
    assert_eq!(problem["type"], "urn:shengshi:problem:method-not-allowed");
    app.stop().await;
}

async fn every_response_carries_a_request_id_and_security_headers(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let response = app.get("/").await;
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    // A caller's plain request ID is kept; a hostile one is replaced.
    let kept = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-42");
    let replaced = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "a b\"c")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "a b\"c");
    app.stop().await;
}

async fn the_home_page_speaks_both_languages_and_remembers_the_choice(backend: Backend) {
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
    let zh = app.get("/").await.text().await.unwrap();
    assert!(
        zh.contains(r#"<html lang="zh-CN" class="mode-standard">"#) && zh.contains("欢迎使用省事")
    );
    assert!(zh.contains("演示环境"), "the demo banner shows");
    let en = app.get("/?lang=en").await;
    let cookie = en.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("lang=en;") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let en = en.text().await.unwrap();
    assert!(
        en.contains(r#"<html lang="en" class="mode-standard">"#)
            && en.contains("Welcome to Shengshi")
    );
    let remembered = app
        .client
        .get(app.url("/"))
        .header("cookie", "lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(remembered.contains(r#"<html lang="en" class="mode-standard">"#));
    // Elderly mode (长辈模式) is chosen and remembered the same way.
    let elderly = app.get("/?mode=elderly").await;
    let cookie = elderly.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("mode=elderly;") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(elderly
        .text()
        .await
        .unwrap()
        .contains(r#"<html lang="zh-CN" class="mode-elderly">"#));
    for page in [&zh, &en] {
        assert!(
            !page.contains(shengshi_i18n::MISSING),
            "a template names a missing message"
        );
        assert!(
            !page.contains("<script>") && !page.contains("style="),
            "no inline script or style"
        );
    }
    app.stop().await;
}

shengshi_test_support::tests_on_both_backends!(
    health_readiness_and_status_answer,
    readiness_fails_when_the_database_goes_away,
    metrics_count_requests_by_route_and_show_the_pool,
    the_openapi_document_is_served_and_matches_the_committed_copy,
    errors_are_problem_documents_in_the_requests_language,
    every_response_carries_a_request_id_and_security_headers,
    the_home_page_speaks_both_languages_and_remembers_the_choice,
);
