//! No plaintext personal data at rest, in logs, or in SMS texts, on both
//! backends: after residents register, log in, look at their account, their
//! sessions and their access log, add a passkey, give a mandate, pass a
//! counter check, ask for a correction that staff decide, and have their
//! record opened by break-glass, every byte the platform keeps is searched for each
//! resident's name, ID number and phone number, in UTF-8, UTF-16, hex and
//! base64 forms. None may appear.
//!
//! Searched: every column of every table (read beneath the store), the
//! SQLite files themselves (database, -wal, -shm) and everything else in the
//! test's directories, every log line the server wrote (at trace level, more
//! than production writes), and the text of every SMS the demo outbox holds.

mod common;

use base64::Engine;
use common::{call, code_from_outbox, demo_app, log_in, register, CHROME_ON_ANDROID};
use reqwest::Method;
use serde_json::json;
use shengshi_domain::{Clock, Department, Role};
use shengshi_test_support::{tests_on_both_backends, Backend, TestAuthenticator};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything any server in this test binary logged.
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        let _ = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    })
    .clone()
}

/// The forms a value could take in stored bytes.
fn needles(value: &str) -> Vec<(String, Vec<u8>)> {
    let utf8 = value.as_bytes().to_vec();
    let utf16le: Vec<u8> = value.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let utf16be: Vec<u8> = value.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut forms = vec![
        ("utf-8".to_owned(), utf8.clone()),
        ("utf-16le".to_owned(), utf16le),
        ("utf-16be".to_owned(), utf16be),
        ("hex".to_owned(), hex::encode(&utf8).into_bytes()),
        ("HEX".to_owned(), hex::encode_upper(&utf8).into_bytes()),
    ];
    // A value inside a longer base64 text is encoded differently at each of
    // the three byte alignments. Keep, for each, only the characters whose six
    // bits all come from the value: those appear whatever surrounds it.
    for shift in 0..3usize {
        let mut shifted = vec![0u8; shift];
        shifted.extend_from_slice(&utf8);
        let (first_bit, end_bit) = (8 * shift, 8 * (shift + utf8.len()));
        let (from, to) = (first_bit.div_ceil(6), end_bit / 6);
        for (name, engine) in [
            ("base64", &base64::engine::general_purpose::STANDARD_NO_PAD),
            (
                "base64url",
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ),
        ] {
            let encoded = engine.encode(&shifted);
            if to >= from + 6 {
                let core = encoded.as_bytes()[from..to].to_vec();
                forms.push((format!("{name}+{shift}"), core));
            }
        }
    }
    forms
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return false;
    };
    // Compare only where the first byte matches: most places are large.
    haystack
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == first)
        .any(|(i, _)| haystack[i + 1..].starts_with(rest))
}

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

async fn no_personal_data_at_rest_in_logs_or_texts(backend: Backend) {
    let logs = capture_logs();
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let examples = app.demo.as_ref().unwrap().examples.clone();
    let phones = ["13912345678", "13787654321"];
    let mut secrets: Vec<(String, String)> = Vec::new();
    for (i, (name, id_number)) in examples.iter().take(2).enumerate() {
        secrets.push((format!("resident {i} name"), name.clone()));
        secrets.push((format!("resident {i} ID number"), id_number.clone()));
        secrets.push((format!("resident {i} phone"), phones[i].to_owned()));
    }

    // Every journey built so far.
    register(&app, 0, phones[0]).await;
    register(&app, 1, phones[1]).await;
    let (sid, _) = log_in(&app, phones[0], CHROME_ON_ANDROID).await;
    let (other_sid, other_account) = log_in(&app, phones[1], CHROME_ON_ANDROID).await;
    for page in ["/account", "/account/sessions", "/account/access-log"] {
        let response = app
            .client
            .get(app.url(page))
            .header("cookie", format!("sid={sid}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{page}");
    }
    for path in ["/api/v1/me", "/api/v1/sessions", "/api/v1/me/access-log"] {
        let (status, body, _) = call(&app, Method::GET, path, Some(&sid), None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let mut key = TestAuthenticator::new();
    let (_, started, _) = call(
        &app,
        Method::POST,
        "/api/v1/passkeys/registrations",
        Some(&sid),
        None,
    )
    .await;
    let credential = key.register(&started["options"], &app.browser_origin());
    let body = json!({"ceremony": started["ceremony"], "label": "phone", "credential": credential});
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/passkeys",
        Some(&sid),
        Some(body),
    )
    .await;
    assert_eq!(status, 201);
    let now = app.clock.now();
    let grant = json!({
        "grantee_account_id": other_account,
        "relationship": "child",
        "services": ["social_security.pension"],
        "valid_from": now.to_rfc3339(),
        "valid_until": now.plus(time::Duration::days(30)).to_rfc3339(),
    });
    let (status, mandate, _) = call(
        &app,
        Method::POST,
        "/api/v1/mandates",
        Some(&sid),
        Some(grant),
    )
    .await;
    assert_eq!(status, 201, "{mandate}");
    let _ = other_sid;
    // The electronic ID card: activation, a code for each purpose, the card
    // pages (the card face shows the holder), suspension and resumption.
    let (status, card, _) = call(&app, Method::POST, "/api/v1/eid/card", Some(&sid), None).await;
    assert_eq!(status, 201, "{card}");
    for purpose in [
        "hotel_checkin",
        "travel_security",
        "age_over_18",
        "identity_full",
    ] {
        let (status, code, _) = call(
            &app,
            Method::POST,
            "/api/v1/eid/card/presentations",
            Some(&sid),
            Some(json!({ "purpose": purpose })),
        )
        .await;
        assert_eq!(status, 201, "{code}");
    }
    for page in ["/card", "/card/show?purpose=hotel_checkin"] {
        let response = app
            .client
            .get(app.url(page))
            .header("cookie", format!("sid={sid}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{page}");
    }
    for action in ["suspend", "resume"] {
        let path = format!("/api/v1/eid/card/{action}");
        let (status, _, _) = call(&app, Method::POST, &path, Some(&sid), None).await;
        assert_eq!(status, 200, "{path}");
    }
    // A counter check: the registry record opened by a clerk.
    let clerk = app
        .add_staff("hu.zheng", Department::PublicSecurity, Role::Clerk)
        .await;
    let staff_sid = app.staff_login(&clerk).await;
    app.clock.advance(time::Duration::seconds(61));
    let post_staff = |path: &'static str, body: serde_json::Value| {
        app.client
            .post(app.url(path))
            .header("cookie", format!("staff_sid={staff_sid}"))
            .json(&body)
            .send()
    };
    let sent = post_staff(
        "/api/v1/staff/counter-checks/codes",
        json!({"phone": phones[0]}),
    )
    .await
    .unwrap();
    assert_eq!(sent.status().as_u16(), 202);
    let code = code_from_outbox(&app, phones[0]).await;
    let (name, id_number) = &examples[0];
    let done = post_staff(
        "/api/v1/staff/counter-checks",
        json!({"name": name, "id_number": id_number, "phone": phones[0], "code": code}),
    )
    .await
    .unwrap();
    assert_eq!(done.status().as_u16(), 200);
    // Casework: a correction request naming the resident, taken, opened and
    // decided with a note naming them too; then a break-glass opening of the
    // other resident's record by ID number.
    let (status, correction, _) = call(
        &app,
        Method::POST,
        "/api/v1/me/corrections",
        Some(&sid),
        Some(json!({"field": "name", "proposed_value": name, "explanation": id_number})),
    )
    .await;
    assert_eq!(status, 201, "{correction}");
    let case = format!(
        "/api/v1/staff/corrections/{}",
        correction["id"].as_str().unwrap()
    );
    let staff_request = |method: Method, path: String, body: Option<serde_json::Value>| {
        let mut request = app
            .client
            .request(method, app.url(&path))
            .header("cookie", format!("staff_sid={staff_sid}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let taken = staff_request(Method::POST, format!("{case}/take"), None)
        .await
        .unwrap();
    assert_eq!(taken.status().as_u16(), 204);
    let opened = staff_request(Method::GET, case.clone(), None)
        .await
        .unwrap();
    assert_eq!(opened.status().as_u16(), 200);
    let note = format!("{name} 的户籍信息已核对");
    let decided = staff_request(
        Method::POST,
        format!("{case}/decision"),
        Some(json!({"decision": "rejected", "note": note})),
    )
    .await
    .unwrap();
    assert_eq!(decided.status().as_u16(), 204);
    let broke = staff_request(
        Method::POST,
        "/api/v1/staff/break-glass".to_owned(),
        Some(json!({
            "id_number": examples[1].1,
            "justification": "Unconscious resident at the counter; ambulance crew asks",
        })),
    )
    .await
    .unwrap();
    assert_eq!(broke.status().as_u16(), 201);

    // The SMS texts (the recipient column is the number they went to).
    let outbox = app.get("/demo/sms").await.text().await.unwrap();
    let texts: Vec<String> = outbox
        .split("<tr>")
        .skip(1)
        .filter_map(|row| row.split("<td").nth(3).map(str::to_owned))
        .collect();
    assert!(
        texts.len() >= 6,
        "the outbox holds the texts sent: {outbox}"
    );

    let data_dir = app.data_dir.clone();
    let db = app.stop().await;

    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    for table in db.table_names().await.unwrap() {
        for (i, value) in db.raw_values(&table).await.unwrap().into_iter().enumerate() {
            places.push((format!("table {table}, value {i}"), value));
        }
    }
    for path in files(db.dir()).into_iter().chain(files(&data_dir)) {
        if let Ok(bytes) = std::fs::read(&path) {
            places.push((format!("file {}", path.display()), bytes));
        }
    }
    places.push(("the server's logs".into(), logs.lock().unwrap().clone()));
    for (i, text) in texts.iter().enumerate() {
        places.push((format!("SMS text {i}"), text.as_bytes().to_vec()));
    }
    assert!(places.len() > 50, "the scan covers the installation");

    let mut found = Vec::new();
    for (what, value) in &secrets {
        for (form, needle) in needles(value) {
            for (place, bytes) in &places {
                if find(bytes, &needle) {
                    found.push(format!("{what} ({form}) in {place}"));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "plaintext personal data found:\n{}",
        found.join("\n")
    );
}

tests_on_both_backends!(no_personal_data_at_rest_in_logs_or_texts);
