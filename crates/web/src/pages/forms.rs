//! Building blocks shared by the form flows (registration, login): the phone
//! and code steps, error lists, redirects and flow cookies.

use askama::Template;
use axum::http::header::{HeaderValue, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shengshi_app::phone_codes::{CodeSender, SendCodeError, VerifyCodeError};
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::PhoneNumber;
use shengshi_i18n::{t, t_args, Lang};
use std::net::IpAddr;

use super::render;
use crate::csrf;
use crate::lang::{cookie, Mode, RequestLang};
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

            /// "Error: " before the title of a page showing form errors
            /// (GOV.UK), so a screen reader hears it first.
            fn title_prefix(&self) -> &'static str {
                if self.errors.is_empty() {
                    ""
                } else {
                    t(self.lang, "form.error_prefix")
                }
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
    pub mode: Mode,
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
    pub mode: Mode,
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
    csrf_cookie: Option<HeaderValue>,
) -> Response {
    csrf::attach(render(page, lang), csrf_cookie)
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

#[derive(serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub code: String,
}

#[derive(serde::Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub phone: String,
}

fn phone_page(
    state: &AppState,
    flow: &'static str,
    lang: RequestLang,
    csrf: String,
    errors: Vec<PageError>,
    phone: String,
) -> PhonePage {
    PhonePage {
        flow,
        lang: lang.lang,
        other_lang: super::other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        csrf,
        errors,
        phone,
    }
}

/// A flow's first step: the empty phone form.
pub fn phone_step(
    state: &AppState,
    flow: &'static str,
    lang: RequestLang,
    headers: &HeaderMap,
) -> Response {
    let (token, set) = csrf::form_token(headers);
    respond(
        phone_page(state, flow, lang, token, Vec::new(), String::new()),
        lang,
        set,
    )
}

/// Sends the flow's code and moves on to its code step. A code sent less than a
/// minute ago still works, so "too soon" moves on as well.
pub async fn submit_phone_step(
    state: &AppState,
    flow: &'static str,
    peer: IpAddr,
    lang: RequestLang,
    headers: &HeaderMap,
    form: PhoneForm,
) -> Response {
    if !csrf::form_token_matches(headers, &form.csrf) {
        return refused(lang.lang);
    }
    let l = lang.lang;
    let show = |message: String| {
        let errors = vec![PageError {
            field: "phone",
            message,
        }];
        respond(
            phone_page(
                state,
                flow,
                lang,
                form.csrf.clone(),
                errors,
                form.phone.clone(),
            ),
            lang,
            None,
        )
    };
    let phone = match PhoneNumber::parse(&form.phone) {
        Ok(phone) => phone,
        Err(e) => return show(t(l, &format!("field.{}", e.code())).to_owned()),
    };
    let identity = &state.identity;
    let sender = CodeSender {
        store: state.services.store.as_ref(),
        clock: state.services.clock.as_ref(),
        secrets: &identity.secrets,
        gateway: identity.sms.as_ref(),
        limits: identity.limits,
    };
    match sender.send(&phone, purpose_of(flow), peer, l).await {
        Ok(_) | Err(SendCodeError::TooSoon) => see_other(
            &format!("/{flow}/code"),
            &[pending_phone_cookie(state, flow, &phone)],
        ),
        Err(SendCodeError::CapReached(_)) => {
            show(t(l, "problem.code_cap_reached.detail").to_owned())
        }
        Err(SendCodeError::Gateway(_)) => show(t_args(
            l,
            "problem.dependency_unavailable.detail",
            &[("system", t(l, "system.sms"))],
        )),
        Err(SendCodeError::Store(e)) => Problem::internal(l, &e).into_response(),
    }
}

/// Each flow's codes work for that flow only.
fn purpose_of(flow: &str) -> CodePurpose {
    match flow {
        "login" => CodePurpose::Login,
        _ => CodePurpose::Register,
    }
}

/// A flow's code step, with an error when there is one.
pub fn code_step(
    state: &AppState,
    flow: &'static str,
    lang: RequestLang,
    csrf: (String, Option<HeaderValue>),
    phone: &PhoneNumber,
    error: Option<String>,
) -> Response {
    let errors = error
        .map(|message| PageError {
            field: "code",
            message,
        })
        .into_iter()
        .collect();
    let page = CodePage {
        flow,
        lang: lang.lang,
        other_lang: super::other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        csrf: csrf.0,
        errors,
        masked_phone: phone.masked(),
    };
    respond(page, lang, csrf.1)
}

/// The message for a code that did not verify.
pub fn code_error(l: Lang, e: &VerifyCodeError) -> Option<String> {
    match e {
        VerifyCodeError::Wrong { remaining } => Some(t_args(
            l,
            "problem.code_wrong.detail",
            &[("remaining", &remaining.to_string())],
        )),
        VerifyCodeError::NoCode => Some(t(l, "problem.no_code.detail").to_owned()),
        VerifyCodeError::Dead(_) => Some(t(l, "problem.code_dead.detail").to_owned()),
        VerifyCodeError::Store(_) => None,
    }
}

pub(crate) use page_helpers;
