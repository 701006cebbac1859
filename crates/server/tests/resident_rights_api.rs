//! The resident's rights under PIPL Arts. 44–47 through the JSON API: download
//! everything held about you (and the download is itself logged), ask for a
//! correction (stored sealed, read back opened), close the account (sessions,
//! passkeys and profile gone; the access log still verifies).

mod common;

use common::{call, demo_app, log_in, register, security_events, CHROME_ON_ANDROID};
use reqwest::Method;
use serde_json::{json, Value};
use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::AccountId;
use shengshi_test_support::{tests_on_both_backends, Backend, TestAuthenticator};
use std::sync::Arc;
use time::Duration;

async fn export(app: &shengshi_test_support::TestApp, sid: &str) -> Value {
    let response = app
        .client
        .get(app.url("/api/v1/me/export"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-type"], "application/json");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    response.json().await.unwrap()
}

fn purposes(export: &Value) -> Vec<String> {
    export["access_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["purpose"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_export_holds_the_profile_and_the_access_log_and_is_logged(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";
    register(&app, 0, phone).await;
    let (name, id_number) = app.demo.as_ref().unwrap().examples[0].clone();
    let (sid, account_id) = log_in(&app, phone, CHROME_ON_ANDROID).await;

    let (status, _, _) = call(&app, Method::GET, "/api/v1/me/export", None, None).await;
    assert_eq!(status, 401);

    // The resident's own account page: an access before the export.
    let page = app
        .client
        .get(app.url("/account"))
        .header("cookie", format!("sid={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);

    let first = export(&app, &sid).await;
    assert_eq!(first["format"], "shengshi-subject-export");
    assert_eq!(first["version"], 1);
    assert_eq!(first["profile"]["name"], name.as_str());
    assert_eq!(first["profile"]["id_number"], id_number.as_str());
    assert_eq!(first["profile"]["phone"], phone);
    assert_eq!(first["account"]["id"], account_id.as_str());
    assert_eq!(first["account"]["status"], "active");
    assert_eq!(first["account"]["assurance_level"], 2);
    assert_eq!(first["sessions"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(first["sessions"][0]["device"], "Chrome on Android");
    for list in [
        "passkeys",
        "mandates_given",
        "mandates_received",
        "corrections",
    ] {
        assert!(
            first[list].as_array().unwrap().is_empty(),
            "{list}: {first}"
        );
    }
    // The account page's access, then the export's own opening of the profile.
    assert_eq!(
        purposes(&first),
        ["subject_export", "own_account"],
        "{first}"
    );
    assert_eq!(first["access_log"][0]["accessor"], "subject");

    // A second export lists both exports.
    let second = export(&app, &sid).await;
    let exports = purposes(&second)
        .iter()
        .filter(|p| *p == "subject_export")
        .count();
    assert_eq!(exports, 2, "{second}");
}

async fn a_correction_is_stored_sealed_and_read_back(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";
    register(&app, 0, phone).await;
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let value = "浙江省杭州市西湖区文三路 478 号";
    let explanation = "Moved in March; the old address is still shown";

    let post = |body: Value| {
        call(
            &app,
            Method::POST,
            "/api/v1/me/corrections",
            Some(&sid),
            Some(body),
        )
    };
    let (status, problem, _) = post(json!({"field": "shoe_size", "proposed_value": "42"})).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/field");
    let (status, problem, _) = post(json!({"field": "name", "proposed_value": "  "})).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/proposed_value");
    let long = "x".repeat(1001);
    let (status, problem, _) =
        post(json!({"field": "other", "proposed_value": "a", "explanation": long})).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/explanation");

    let (status, created, headers) =
        post(json!({"field": "address", "proposed_value": value, "explanation": explanation}))
            .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(created["status"], "open");
    assert_eq!(created["proposed_value"], value);

    let (status, list, _) = call(
        &app,
        Method::GET,
        "/api/v1/me/corrections",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let corrections = list["corrections"].as_array().unwrap();
    assert_eq!(corrections.len(), 1, "{list}");
    assert_eq!(corrections[0]["field"], "address");
    assert_eq!(corrections[0]["proposed_value"], value);
    assert_eq!(corrections[0]["explanation"], explanation);
    assert_eq!(corrections[0]["id"], created["id"]);

    // Nothing of what the resident wrote is in the table as plaintext.
    let raw = app.db.raw_values("correction_requests").await.unwrap();
    assert!(!raw.is_empty());
    for needle in [value, explanation, "文三路", "Moved in March"] {
        let needle = needle.as_bytes();
        assert!(
            !raw.iter()
                .any(|v| v.windows(needle.len()).any(|w| w == needle)),
            "plaintext {:?} at rest",
            String::from_utf8_lossy(needle)
        );
    }
    // The export carries it, opened; reading it back was logged.
    let exported = export(&app, &sid).await;
    assert_eq!(exported["corrections"][0]["proposed_value"], value);
    assert!(purposes(&exported).contains(&"correction_review".to_owned()));
}

async fn closing_an_account_erases_it_and_the_log_still_verifies(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345678";
    register(&app, 0, phone).await;
    let (sid, account_id) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    app.clock.advance(Duration::seconds(61));
    let (other_sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let mut authenticator = TestAuthenticator::new();
    let (status, started, _) = call(
        &app,
        Method::POST,
        "/api/v1/passkeys/registrations",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let credential = authenticator.register(&started["options"], &app.browser_origin());
    let (status, added, _) = call(
        &app,
        Method::POST,
        "/api/v1/passkeys",
        Some(&sid),
        Some(
            json!({"ceremony": started["ceremony"], "label": "my phone", "credential": credential}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/me/corrections",
        Some(&sid),
        Some(json!({"field": "name", "proposed_value": "张三"})),
    )
    .await;
    assert_eq!(status, 201);

    // Refused without the confirmation word; nothing changes.
    for confirmation in ["", "yes", "CLOSED"] {
        let (status, problem, _) = call(
            &app,
            Method::POST,
            "/api/v1/me/close",
            Some(&sid),
            Some(json!({"confirmation": confirmation})),
        )
        .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["pointer"], "/confirmation");
    }
    let (status, _, _) = call(&app, Method::GET, "/api/v1/me", Some(&sid), None).await;
    assert_eq!(status, 200);

    let response = app
        .client
        .post(app.url("/api/v1/me/close"))
        .header("cookie", format!("sid={sid}"))
        .json(&json!({"confirmation": "CLOSE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("sid=;"), "{cookie}");

    // Every session is dead, not only this one.
    for sid in [&sid, &other_sid] {
        let (status, problem, _) = call(&app, Method::GET, "/api/v1/me", Some(sid), None).await;
        assert_eq!(
            (status, problem["type"].as_str()),
            (401, Some("urn:shengshi:problem:unauthenticated"))
        );
    }
    // The passkey logs in no one.
    let (status, started, _) = call(
        &app,
        Method::POST,
        "/api/v1/passkeys/login-challenges",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let answer = authenticator.authenticate(&started["options"], &app.browser_origin(), 0);
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/sessions/passkey",
        None,
        Some(json!({"ceremony": started["ceremony"], "credential": answer})),
    )
    .await;
    assert_eq!(status, 401, "{problem}");
    // The phone finds no account any more.
    app.clock.advance(Duration::seconds(61));
    let (status, sent, _) = call(
        &app,
        Method::POST,
        "/api/v1/login/codes",
        None,
        Some(json!({"phone": phone})),
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    let code = common::code_from_outbox(&app, phone).await;
    let (status, problem, _) = call(
        &app,
        Method::POST,
        "/api/v1/sessions",
        None,
        Some(json!({"phone": phone, "code": code})),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:no-account"))
    );

    // Beneath the API: the key is destroyed, the profile no longer opens, and
    // the access log (with the entries about the closed account) verifies.
    let config = shengshi::Config {
        data_dir: app.data_dir.clone(),
        database_url: Some(shengshi::config::DatabaseUrl::new(app.db.url().to_owned())),
        ..shengshi::Config::default()
    };
    let clock = Arc::new(app.clock.clone());
    let db = app.stop().await;
    let (services, _, _) = shengshi::startup::open_installation(&config, clock)
        .await
        .unwrap();
    let account_id = AccountId::from_uuid(uuid::Uuid::parse_str(&account_id).unwrap());
    let account = services.store.account(account_id).await.unwrap().unwrap();
    assert_eq!(account.status, "closed");
    let key = services
        .store
        .data_key(account.subject)
        .await
        .unwrap()
        .unwrap();
    assert!(key.wrapped_key.is_none() && key.destroyed_at.is_some());
    assert!(shengshi_app::registration::open_profile(
        &services,
        &account,
        Accessor::Operator,
        Purpose::DataMigration
    )
    .await
    .is_err());
    assert!(services
        .store
        .owner_passkeys(shengshi_store::PasskeyOwner::Resident(account_id))
        .await
        .unwrap()
        .is_empty());
    let report =
        shengshi_app::audit::verify(services.store.as_ref(), services.access_log.verifier())
            .await
            .unwrap();
    assert!(report.entries > 0, "{report:?}");
    let events = security_events(services.store.as_ref()).await;
    let names: Vec<_> = events.iter().map(|e| e.event.name()).collect();
    let erasers: Vec<_> = events
        .iter()
        .filter(|e| e.event.name() == "data_key_destroyed")
        .map(|e| e.actor.clone())
        .collect();
    assert!(
        matches!(erasers.as_slice(), [shengshi_domain::Actor::Subject { .. }]),
        "the resident erased their own data: {erasers:?}"
    );
    let closed = names.iter().position(|n| *n == "account_closed").unwrap();
    let destroyed = names
        .iter()
        .position(|n| *n == "data_key_destroyed")
        .unwrap();
    assert!(closed < destroyed, "{names:?}");
    services.store.close().await;
    drop(db);
}

tests_on_both_backends!(
    the_export_holds_the_profile_and_the_access_log_and_is_logged,
    a_correction_is_stored_sealed_and_read_back,
    closing_an_account_erases_it_and_the_log_still_verifies,
);
