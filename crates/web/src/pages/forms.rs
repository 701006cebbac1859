//! Building blocks shared by the form flows (registration, login): the phone
//! and code steps, error lists, redirects and flow cookies.

use askama::Template;
use axum::http::header::{HeaderValue, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shengshi_domain::PhoneNumber;
use shengshi_i18n::{t, Lang};

use super::render;
use crate::csrf;
use crate::lang::{cookie, RequestLang};
use crate::middleware::RequestId;
use crate::problem::{Problem, ProblemKind};
use crate::AppState;

/// One error shown in the summary and beside its field.
pub struct PageError {
    pub field: &'static str,
    pub message: String,
}

/// `tf("key")`: the message `<flow>.key`, so one template serves several flows.
macro_rules! flow_text {
    ($ty:ty) => {
        impl $ty {
            fn tf(&self, key: &str) -> &'static str {
                t(self.lang, &format!("{}.{key}", self.flow))
            }
        }
    };
}

macro_rules! page_helpers {
    ($ty:ty) => {
        impl $ty {
            fn t(&self, key: &str) -> &'static str {
                t(self.lang, key)
            }

            #[allow(dead_code)] // used by the templates that have fields
            fn error_for(&self, field: &str) -> Option<&str> {
                self.errors
                    .iter()
                    .find(|e| e.field == field)
                    .map(|e| e.message.as_str())
            }
        }
    };
}

#[derive(Template)]
#[template(path = "phone_step.html")]
pub struct PhonePage {
    pub flow: &'static str,
    pub lang: Lang,
    pub other_lang: Lang,
    pub demo: bool,
    pub csrf: String,
    pub errors: Vec<PageError>,
    pub phone: String,
}
page_helpers!(PhonePage);
flow_text!(PhonePage);

#[derive(Template)]
#[template(path = "code_step.html")]
pub struct CodePage {
    pub flow: &'static str,
    pub lang: Lang,
    pub other_lang: Lang,
    pub demo: bool,
    pub csrf: String,
    pub errors: Vec<PageError>,
    pub masked_phone: String,
}
page_helpers!(CodePage);
flow_text!(CodePage);

pub fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    for c in cookies {
        if let Ok(value) = HeaderValue::from_str(c) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// A short-lived cookie that only the flow's own pages receive.
pub fn flow_cookie(flow: &str, name: &str, value: &str, max_age_seconds: i64) -> String {
    format!("{name}={value}; Path=/{flow}; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict")
}

/// Renders a step. A page that shows errors is still a 200: the form is the
/// answer, and browsers log any 4xx page as a console error.
pub fn respond(
    page: impl Template,
    lang: RequestLang,
    request_id: &RequestId,
    csrf_cookie: Option<HeaderValue>,
) -> Response {
    csrf::attach(render(page, lang, request_id), csrf_cookie)
}

pub fn refused(lang: Lang) -> Response {
    Problem::new(ProblemKind::CrossSite, lang, &[]).into_response()
}

/// The phone number a flow is waiting to verify, carried between its pages in
/// a cookie sealed with the platform's token key (so it is neither readable
/// nor forgeable by the browser, and nothing is stored server-side).
pub fn pending_phone_cookie(state: &AppState, flow: &'static str, phone: &PhoneNumber) -> String {
    use base64::Engine;
    let sealed = state
        .identity
        .secrets
        .token_key()
        .seal(phone.as_str().as_bytes(), &pending_purpose(flow));
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed);
    flow_cookie(flow, PENDING_COOKIE, &value, 600)
}

/// Clears the pending phone once the flow has moved on.
pub fn clear_pending_phone(flow: &'static str) -> String {
    flow_cookie(flow, PENDING_COOKIE, "", 0)
}

pub fn pending_phone(
    state: &AppState,
    flow: &'static str,
    headers: &HeaderMap,
) -> Option<PhoneNumber> {
    use base64::Engine;
    let value = cookie(headers, PENDING_COOKIE)?;
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    let plain = state
        .identity
        .secrets
        .token_key()
        .open(&sealed, &pending_purpose(flow))?;
    PhoneNumber::parse(std::str::from_utf8(&plain).ok()?).ok()
}

/// The cookie is path-scoped to its flow; the purpose binds it to the flow too.
const PENDING_COOKIE: &str = "pending_phone";

fn pending_purpose(flow: &str) -> Vec<u8> {
    format!("{flow}.pending-phone.v1").into_bytes()
}

pub(crate) use page_helpers;
