//! The staff counter check pages over HTTP: only identity-check holders get
//! the form; a full check through the plain forms, including the clerk's
//! confirmation that evicts a squatter; forms without the CSRF token refused.

mod common;

use common::{demo_app, register};
use reqwest::header::HeaderMap;
use shengshi_domain::{Department, Role};
use shengshi_test_support::{tests_on_both_backends, Backend, TestApp};

/// The newest code in the demo outbox for this number, in either language
/// (the code goes out in the clerk's page language, as over the API).
async fn code_from_outbox(app: &TestApp, phone: &str) -> String {
    let html = app.get("/demo/sms").await.text().await.unwrap();
    let row = html
        .split("<tr>")
        .find(|row| row.contains(phone) && (row.contains("验证码是") || row.contains("code is")))
        .expect("a code message");
    let (_, after) = row
        .split_once("验证码是")
        .or_else(|| row.split_once("code is"))
        .expect("a code");
    let digits: String = after
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert_eq!(digits.len(), 6, "{row}");
    digits
}

/// The value a response sets for cookie `name`, if any.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .map(str::to_owned)
}

/// A browser's cookie jar, by hand: the staff session, the form token and
/// whatever the flow sets.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp, staff_sid: &str) -> Self {
        Self {
            app,
            cookies: vec![
                ("staff_sid".into(), staff_sid.into()),
                ("lang".into(), "en".into()),
            ],
        }
    }

    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for name in ["csrf", "pending_phone"] {
            if let Some(value) = set_cookie(headers, name) {
                self.cookies.retain(|(k, _)| k != name);
                if !value.is_empty() {
                    self.cookies.push((name.into(), value));
                }
            }
        }
    }

    fn csrf(&self) -> String {
        self.cookies
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    async fn get(&mut self, path: &str) -> (u16, String, HeaderMap) {
        let response = self
            .app
            .client
            .get(self.app.url(path))
            .header("cookie", self.header())
            .send()
            .await
            .unwrap();
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        self.keep(&headers);
        (status, response.text().await.unwrap(), headers)
    }

    async fn post_owned(
        &mut self,
        path: &str,
        form: &[(&str, String)],
    ) -> (u16, String, HeaderMap) {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(path, &form).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String, HeaderMap) {
        let response = self
            .app
            .client
            .post(self.app.url(path))
            .header("cookie", self.header())
            .form(form)
            .send()
            .await
            .unwrap();
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        self.keep(&headers);
        (status, response.text().await.unwrap(), headers)
    }
}

async fn only_identity_check_holders_get_the_counter_check(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    // Not signed in: to the login page.
    let response = app.get("/staff/counter-check").await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/staff/login");

    let traffic = app
        .add_staff("traffic.clerk", Department::TrafficPolice, Role::Clerk)
        .await;
    let sid = app.staff_login(&traffic).await;
    let mut browser = Browser::new(&app, &sid);
    let (status, console, _) = browser.get("/staff").await;
    assert_eq!(status, 200);
    assert!(!console.contains("/staff/counter-check"), "{console}");

    let (status, page, headers) = browser.get("/staff/counter-check").await;
    assert_eq!(status, 403, "{page}");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(
        page.contains("Only public security clerks and supervisors"),
        "{page}"
    );
    let csrf = browser.csrf();
    let (status, _, _) = browser
        .post(
            "/staff/counter-check/code",
            &[("csrf", csrf.as_str()), ("phone", "13912345678")],
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = browser.get("/staff/counter-check/identity").await;
    assert_eq!(status, 403);
    let outbox = app.get("/demo/sms").await.text().await.unwrap();
    assert!(!outbox.contains("13912345678"), "no code was sent");
}

async fn a_counter_check_through_the_pages_evicts_a_squatter(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let (name, id_number) = app.demo.as_ref().unwrap().examples[0].clone();
    let (squatter_phone, resident_phone) = ("13700000001", "13912345678");
    register(&app, 0, squatter_phone).await;

    let clerk = app
        .add_staff("hu.zheng", Department::PublicSecurity, Role::Clerk)
        .await;
    let sid = app.staff_login(&clerk).await;
    let mut browser = Browser::new(&app, &sid);
    let (status, console, _) = browser.get("/staff").await;
    assert_eq!(status, 200);
    assert!(
        console.contains("href=\"/staff/counter-check\""),
        "{console}"
    );

    // Step 1: the phone number. A malformed one is explained beside the field.
    let (status, page, headers) = browser.get("/staff/counter-check").await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        page.contains("<label for=\"phone\">Resident") && page.contains("mobile number</label>"),
        "{page}"
    );
    let csrf = browser.csrf();
    let (status, page, _) = browser
        .post(
            "/staff/counter-check/code",
            &[("csrf", csrf.as_str()), ("phone", "1391234")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("error-summary") && page.contains("href=\"#phone\""),
        "{page}"
    );
    let (status, _, headers) = browser
        .post(
            "/staff/counter-check/code",
            &[("csrf", csrf.as_str()), ("phone", resident_phone)],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/staff/counter-check/identity");
    let pending = set_cookie(&headers, "pending_phone").expect("the pending phone");
    assert!(!pending.contains(resident_phone), "sealed, not readable");

    // Step 2: the card, and the code the resident reads back.
    let (status, page, _) = browser.get("/staff/counter-check/identity").await;
    assert_eq!(status, 200);
    assert!(page.contains(resident_phone), "{page}");
    assert!(!page.contains("name=\"evict\""), "no eviction offered yet");
    let code = code_from_outbox(&app, resident_phone).await;
    let submit = |name: &str, evict_for: Option<&str>| {
        let mut form = vec![
            ("csrf", csrf.clone()),
            ("name", name.to_owned()),
            ("id_number", id_number.clone()),
            ("code", code.clone()),
        ];
        if let Some(number) = evict_for {
            form.push(("evict", "yes".into()));
            form.push(("evict_for", number.to_owned()));
        }
        form
    };
    let identity = "/staff/counter-check/identity";

    // The wrong name is refused by the registry, beside the name field.
    let (status, page, _) = browser.post_owned(identity, &submit("张冒名", None)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("error-summary") && page.contains("href=\"#name\""),
        "{page}"
    );
    assert!(page.contains("name-error"), "{page}");

    // Another phone's account holds the identity: the clerk is asked to confirm.
    let (status, page, _) = browser.post_owned(identity, &submit(&name, None)).await;
    assert_eq!(status, 200);
    assert!(page.contains("href=\"#evict\""), "{page}");
    assert!(
        page.contains(
            "The resident confirms they did not open the account on another phone: evict it"
        ),
        "{page}"
    );
    assert!(
        page.contains(&format!("value=\"{code}\"")),
        "the code is kept: {page}"
    );

    // A tick given for a different ID number does not count: asked again.
    let other = submit(&name, Some("110101199003074514"));
    let (status, page, _) = browser.post_owned(identity, &other).await;
    assert_eq!(status, 200);
    assert!(page.contains("href=\"#evict\""), "{page}");

    // Confirmed: evicted, a new account opened; shown masked.
    let confirmed = submit(&name, Some(&id_number));
    let (status, page, headers) = browser.post_owned(identity, &confirmed).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        page.contains("Other account evicted, new account opened"),
        "{page}"
    );
    assert!(
        page.contains("L2") && page.contains("add a passkey"),
        "{page}"
    );
    assert!(
        !page.contains(&id_number),
        "the ID number is masked: {page}"
    );
    assert!(!page.contains(&name), "the name is masked: {page}");
    assert_eq!(
        set_cookie(&headers, "pending_phone").as_deref(),
        Some(""),
        "the pending phone is cleared"
    );

    // The pending phone is gone: step 2 sends the clerk back to step 1.
    let (status, _, headers) = browser.get(identity).await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/staff/counter-check");
}

async fn counter_check_forms_need_the_form_token(backend: Backend) {
    let Some(app) = demo_app(backend).await else {
        return;
    };
    let clerk = app
        .add_staff("hu.zheng", Department::PublicSecurity, Role::Supervisor)
        .await;
    let sid = app.staff_login(&clerk).await;
    let mut browser = Browser::new(&app, &sid);
    let (status, _, _) = browser.get("/staff/counter-check").await;
    assert_eq!(status, 200);
    let csrf = browser.csrf();
    assert_eq!(csrf.len(), 43);
    for token in ["", "forged-token-forged-token-forged-token-1234"] {
        let (status, body, _) = browser
            .post(
                "/staff/counter-check/code",
                &[("csrf", token), ("phone", "13912345678")],
            )
            .await;
        assert_eq!(status, 403, "{body}");
        let (status, body, _) = browser
            .post(
                "/staff/counter-check/identity",
                &[("csrf", token), ("name", "张三"), ("code", "123456")],
            )
            .await;
        assert_eq!(status, 403, "{body}");
        let (status, body, _) = browser
            .post("/staff/passkeys/remove", &[("csrf", token), ("id", "x")])
            .await;
        assert_eq!(status, 403, "{body}");
    }
    // Nothing was sent.
    let outbox = app.get("/demo/sms").await.text().await.unwrap();
    assert!(!outbox.contains("13912345678"));
    // A cross-site post is refused even with the token.
    let response = app
        .client
        .post(app.url("/staff/counter-check/code"))
        .header("cookie", browser.header())
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str()), ("phone", "13912345678")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
}

tests_on_both_backends!(
    only_identity_check_holders_get_the_counter_check,
    a_counter_check_through_the_pages_evicts_a_squatter,
    counter_check_forms_need_the_form_token,
);
