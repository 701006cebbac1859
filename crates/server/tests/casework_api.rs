//! Purpose-bound staff access over HTTP: the correction queue shows no
//! personal data; a record opens only for the member a request is assigned to;
//! break-glass needs a justification, alerts the supervisor and is flagged in
//! the resident's access log; every refusal is a problem and opens nothing.

mod common;

use common::{call, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use serde_json::{json, Value};
use shengshi_app::staff::Enrolled;
use shengshi_domain::{Department, Role};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};
use time::Duration;

tests_on_both_backends!(
    a_record_opens_only_for_assigned_work,
    break_glass_is_justified_alerted_and_flagged,
);

async fn staff_call(
    app: &TestApp,
    method: Method,
    path: &str,
    staff_sid: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("cookie", format!("staff_sid={staff_sid}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or("")
}

/// Logs a staff member in; moves the clock past the TOTP step.
async fn login(app: &TestApp, enrolled: &Enrolled) -> String {
    let sid = app.staff_login(enrolled).await;
    app.clock.advance(Duration::seconds(31));
    sid
}

/// How many entries the resident's access log lists for this purpose.
async fn accesses(app: &TestApp, sid: &str, purpose: &str) -> Vec<Value> {
    let path = format!("/api/v1/me/access-log?purpose={purpose}");
    let (status, page, _) = call(app, Method::GET, &path, Some(sid), None).await;
    assert_eq!(status, 200, "{page}");
    page["entries"].as_array().unwrap().clone()
}

async fn a_record_opens_only_for_assigned_work(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345601";
    register(&app, 0, phone).await;
    let (name, id_number) = app.demo.as_ref().unwrap().examples[0].clone();
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;
    let (status, created, _) = call(
        &app,
        Method::POST,
        "/api/v1/me/corrections",
        Some(&sid),
        Some(json!({"field": "name", "proposed_value": "新名字"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    let ana = app
        .add_staff("ana.li", Department::PublicSecurity, Role::Clerk)
        .await;
    let bo = app
        .add_staff("bo.wang", Department::PublicSecurity, Role::Clerk)
        .await;
    let tax = app
        .add_staff("tax.clerk", Department::Tax, Role::Clerk)
        .await;
    let ana = login(&app, &ana).await;
    let bo = login(&app, &bo).await;
    let tax = login(&app, &tax).await;

    // The queue: work, not people.
    let (status, queue) =
        staff_call(&app, Method::GET, "/api/v1/staff/corrections", &bo, None).await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue.as_array().unwrap().len(), 1);
    assert_eq!(queue[0]["id"], id.as_str());
    let text = queue.to_string();
    assert!(!text.contains(&name) && !text.contains(&id_number) && !text.contains(phone));
    let (status, body) =
        staff_call(&app, Method::GET, "/api/v1/staff/corrections", &tax, None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:shengshi:problem:staff-forbidden")
    );

    // Not assigned: refused, nothing opened.
    let case = format!("/api/v1/staff/corrections/{id}");
    let (status, body) = staff_call(&app, Method::GET, &case, &bo, None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:shengshi:problem:case-not-assigned")
    );
    assert!(accesses(&app, &sid, "case_work").await.is_empty());

    let take = format!("{case}/take");
    let (status, body) = staff_call(&app, Method::POST, &take, &ana, None).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = staff_call(&app, Method::POST, &take, &bo, None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:shengshi:problem:case-already-assigned")
    );
    let (status, opened) = staff_call(&app, Method::GET, &case, &ana, None).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened["record"]["name"], name.as_str());
    assert_eq!(opened["proposed_value"], "新名字");
    let seen = accesses(&app, &sid, "case_work").await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["reference"], format!("correction:{id}"));
    assert_eq!(seen[0]["department"], "public_security");

    // Deciding: a rejection needs a note; a decision is final.
    let decision = format!("{case}/decision");
    let (status, body) = staff_call(
        &app,
        Method::POST,
        &decision,
        &ana,
        Some(json!({"decision": "rejected"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/note");
    let (status, body) = staff_call(
        &app,
        Method::POST,
        &decision,
        &bo,
        Some(json!({"decision": "done", "note": "x"})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:shengshi:problem:case-not-assigned")
    );
    let (status, body) = staff_call(
        &app,
        Method::POST,
        &decision,
        &ana,
        Some(json!({"decision": "rejected", "note": "户籍登记无误。"})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = staff_call(
        &app,
        Method::POST,
        &decision,
        &ana,
        Some(json!({"decision": "done", "note": ""})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:shengshi:problem:case-already-decided")
    );
    let (status, list, _) = call(
        &app,
        Method::GET,
        "/api/v1/me/corrections",
        Some(&sid),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["corrections"][0]["status"], "rejected");
    assert_eq!(list["corrections"][0]["note"], "户籍登记无误。");
}

async fn break_glass_is_justified_alerted_and_flagged(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let phone = "13912345602";
    register(&app, 1, phone).await;
    let (name, id_number) = app.demo.as_ref().unwrap().examples[1].clone();
    let (sid, _) = log_in(&app, phone, CHROME_ON_ANDROID).await;

    let clerk = app
        .add_staff("hu.clerk", Department::TrafficPolice, Role::Clerk)
        .await;
    let boss = app
        .add_staff("hu.boss", Department::TrafficPolice, Role::Supervisor)
        .await;
    let auditor = app
        .add_staff("audit.one", Department::TrafficPolice, Role::Auditor)
        .await;
    let clerk = login(&app, &clerk).await;
    let boss = login(&app, &boss).await;
    let auditor = login(&app, &auditor).await;
    let why = "Driver unconscious after a crash; hospital needs the identity now";
    let open = |who: String, justification: &'static str, id: String| {
        let app = &app;
        async move {
            staff_call(
                app,
                Method::POST,
                "/api/v1/staff/break-glass",
                &who,
                Some(json!({"id_number": id, "justification": justification})),
            )
            .await
        }
    };

    let (status, body) = open(auditor.clone(), why, id_number.clone()).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:shengshi:problem:staff-forbidden")
    );
    let (status, body) = open(clerk.clone(), "urgent", id_number.clone()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/justification");
    let (status, body) = open(clerk.clone(), why, "12345".into()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/id_number");
    assert!(accesses(&app, &sid, "break_glass").await.is_empty());
    let (status, alerts) = staff_call(
        &app,
        Method::GET,
        "/api/v1/staff/break-glass/alerts?unreviewed=true",
        &boss,
        None,
    )
    .await;
    assert_eq!((status, alerts.as_array().unwrap().len()), (200, 0));

    let (status, opened) = open(clerk.clone(), why, id_number.clone()).await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["record"]["name"], name.as_str());
    let access = opened["access_id"].as_str().unwrap().to_owned();
    let flagged = accesses(&app, &sid, "break_glass").await;
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["reference"], format!("break-glass:{access}"));
    assert_eq!(flagged[0]["department"], "traffic_police");

    let (status, alerts) = staff_call(
        &app,
        Method::GET,
        "/api/v1/staff/break-glass/alerts?unreviewed=true",
        &boss,
        None,
    )
    .await;
    assert_eq!(status, 200, "{alerts}");
    assert_eq!(alerts[0]["id"], access.as_str());
    assert_eq!(alerts[0]["justification"], why);
    assert_eq!(alerts[0]["staff_username"], "hu.clerk");

    let review = format!("/api/v1/staff/break-glass/alerts/{access}/review");
    let (status, body) = staff_call(
        &app,
        Method::POST,
        &review,
        &clerk,
        Some(json!({"outcome": "justified"})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:shengshi:problem:staff-forbidden")
    );
    let (status, body) = staff_call(
        &app,
        Method::POST,
        &review,
        &boss,
        Some(json!({"outcome": "referred"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/note");
    let (status, reviewed) = staff_call(
        &app,
        Method::POST,
        &review,
        &boss,
        Some(json!({"outcome": "referred", "note": "No crash was reported that day."})),
    )
    .await;
    assert_eq!(status, 200, "{reviewed}");
    assert_eq!(reviewed["outcome"], "referred");
    let (status, body) = staff_call(
        &app,
        Method::POST,
        &review,
        &boss,
        Some(json!({"outcome": "justified"})),
    )
    .await;
    assert_eq!(
        (status, problem_type(&body)),
        (409, "urn:shengshi:problem:break-glass-already-reviewed")
    );
}
