//! Acting under a mandate through the JSON API: the grantee records an
//! action, the grantor sees it; every refusal (someone else's, wrong service,
//! not yet valid, revoked, expired) has its own problem type and records nothing.

mod common;

use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use serde_json::{json, Value};
use shengshi_domain::Clock;
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};
use time::Duration;

const PENSION: &str = "social_security.pension";
const CERTIFIED: &str = "social_security.pension.certified_alive";

async fn grant(
    app: &TestApp,
    grantor: &str,
    grantee: &str,
    from_in: Duration,
    days: i64,
) -> String {
    let now = app.clock.now();
    let (status, mandate, _) = call(
        app,
        Method::POST,
        "/api/v1/mandates",
        Some(grantor),
        Some(json!({
            "grantee_account_id": grantee,
            "relationship": "child",
            "services": [PENSION],
            "valid_from": now.plus(from_in).to_rfc3339(),
            "valid_until": now.plus(Duration::days(days)).to_rfc3339(),
        })),
    )
    .await;
    assert_eq!(status, 201, "{mandate}");
    mandate["id"].as_str().unwrap().to_owned()
}

async fn act(app: &TestApp, sid: &str, mandate: &str, service: &str) -> (u16, Value) {
    let (status, body, _) = call(
        app,
        Method::POST,
        &format!("/api/v1/mandates/{mandate}/actions"),
        Some(sid),
        Some(json!({"service": service, "action": CERTIFIED})),
    )
    .await;
    (status, body)
}

async fn actions_seen_by(app: &TestApp, grantor: &str) -> Vec<Value> {
    let (status, list, _) = call(
        app,
        Method::GET,
        "/api/v1/mandates/actions",
        Some(grantor),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    list["actions"].as_array().unwrap().clone()
}

fn assert_problem(answer: (u16, Value), status: u16, slug: &str) {
    let (got, problem) = answer;
    assert_eq!(got, status, "{problem}");
    assert_eq!(
        problem["type"],
        format!("urn:shengshi:problem:{slug}"),
        "{problem}"
    );
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

async fn a_grantee_acts_under_a_mandate_and_refusals_record_nothing(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (parent_phone, child_phone) = ("13912345678", "13787654321");
    register(&app, 0, parent_phone).await;
    register(&app, 1, child_phone).await;
    let (parent, parent_id) = log_in(&app, parent_phone, CHROME_ON_ANDROID).await;
    let (child, child_id) = log_in(&app, child_phone, CHROME_ON_ANDROID).await;
    let mandate = grant(&app, &parent, &child_id, Duration::ZERO, 30).await;

    let (status, received, _) = call(
        &app,
        Method::GET,
        "/api/v1/mandates/received",
        Some(&child),
        None,
    )
    .await;
    assert_eq!(status, 200, "{received}");
    assert_eq!(received["received"][0]["id"], mandate.as_str());
    assert_eq!(
        received["received"][0]["grantor_account_id"],
        parent_id.as_str()
    );
    let (_, received, _) = call(
        &app,
        Method::GET,
        "/api/v1/mandates/received",
        Some(&parent),
        None,
    )
    .await;
    assert_eq!(received["received"], json!([]));
    let (status, _, _) = call(&app, Method::GET, "/api/v1/mandates/received", None, None).await;
    assert_eq!(status, 401);

    let (status, recorded) = act(&app, &child, &mandate, PENSION).await;
    assert_eq!(status, 201, "{recorded}");
    assert_eq!(recorded["mandate_id"], mandate.as_str());
    assert_eq!(recorded["actor_account_id"], child_id.as_str());
    let seen = actions_seen_by(&app, &parent).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["id"], recorded["id"]);
    assert_eq!(seen[0]["service"], PENSION);
    assert_eq!(seen[0]["action"], CERTIFIED);

    // Someone else's mandate (here: the grantor's own), a service it does not
    // name, a mandate that does not exist, a malformed code.
    assert_problem(
        act(&app, &parent, &mandate, PENSION).await,
        403,
        "not-grantee",
    );
    assert_problem(
        act(&app, &child, &mandate, "health.records").await,
        403,
        "service-not-covered",
    );
    assert_problem(
        act(
            &app,
            &child,
            "0190a0e0-0000-7000-8000-000000000000",
            PENSION,
        )
        .await,
        404,
        "mandate-unknown",
    );
    assert_problem(
        act(&app, &child, "not-an-id", PENSION).await,
        404,
        "mandate-unknown",
    );
    assert_problem(
        act(&app, &child, &mandate, "Not A Code").await,
        422,
        "bad-code",
    );
    let (status, _) = act(&app, "forged", &mandate, PENSION).await;
    assert_eq!(status, 401);

    // Not yet valid.
    let tomorrow = grant(&app, &parent, &child_id, Duration::days(1), 30).await;
    assert_problem(
        act(&app, &child, &tomorrow, PENSION).await,
        403,
        "mandate-not-yet-valid",
    );

    // Revoked.
    let revoked = grant(&app, &parent, &child_id, Duration::ZERO, 30).await;
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/mandates/{revoked}"),
        Some(&parent),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_problem(
        act(&app, &child, &revoked, PENSION).await,
        403,
        "mandate-revoked",
    );

    // Expired: past its end by the clock alone (sessions too, so log in again).
    app.clock.advance(Duration::days(31));
    let (parent, _) = log_in(&app, parent_phone, CHROME_ON_ANDROID).await;
    let (child, _) = log_in(&app, child_phone, CHROME_ON_ANDROID).await;
    assert_problem(
        act(&app, &child, &mandate, PENSION).await,
        403,
        "mandate-expired",
    );
    let (status, problem, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/mandates/{mandate}/actions?lang=en"),
        Some(&child),
        Some(json!({"service": PENSION, "action": CERTIFIED})),
    )
    .await;
    assert_eq!(
        (status, problem["title"].as_str()),
        (403, Some("The mandate has expired"))
    );

    let seen = actions_seen_by(&app, &parent).await;
    assert_eq!(seen.len(), 1, "no refusal recorded anything: {seen:?}");
    app.stop().await;
}

tests_on_both_backends!(a_grantee_acts_under_a_mandate_and_refusals_record_nothing);
