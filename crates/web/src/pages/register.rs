//! Registration pages: phone → code → name and ID number → "check your phone".
//! Plain forms that work without JavaScript. Between steps the browser holds
//! sealed, short-lived cookies (the pending phone, then the phone proof); the
//! server stores nothing until an account is opened.

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{HeaderValue, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::phone_codes::{CodeSender, SendCodeError, VerifyCodeError};
use shengshi_app::registration::{self, Checks, RegistrationError, VerifiedPhone};
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::{PersonName, PhoneCode, PhoneNumber, ResidentIdNumber};
use shengshi_i18n::{t, t_args, Lang};
use std::net::SocketAddr;

use super::{other, render};
use crate::csrf;
use crate::lang::{cookie, RequestLang};
use crate::middleware::RequestId;
use crate::problem::{Problem, ProblemKind};
use crate::AppState;

const PENDING_COOKIE: &str = "reg_pending";
const PROOF_COOKIE: &str = "reg_proof";
const PENDING_PURPOSE: &[u8] = b"registration.pending-phone.v1";

/// One error shown in the summary and beside its field.
pub struct PageError {
    pub field: &'static str,
    pub message: String,
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
#[template(path = "register_phone.html")]
struct PhonePage {
    lang: Lang,
    other_lang: Lang,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    phone: String,
}
page_helpers!(PhonePage);

#[derive(Template)]
#[template(path = "register_code.html")]
struct CodePage {
    lang: Lang,
    other_lang: Lang,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    masked_phone: String,
}
page_helpers!(CodePage);

#[derive(Template)]
#[template(path = "register_identity.html")]
struct IdentityPage {
    lang: Lang,
    other_lang: Lang,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    name: String,
    id_number: String,
}
page_helpers!(IdentityPage);

#[derive(Template)]
#[template(path = "register_done.html")]
struct DonePage {
    lang: Lang,
    other_lang: Lang,
    demo: bool,
    errors: Vec<PageError>,
}
page_helpers!(DonePage);

fn see_other(location: &str, cookies: &[String]) -> Response {
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

fn flow_cookie(name: &str, value: &str, max_age_seconds: i64) -> String {
    format!("{name}={value}; Path=/register; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict")
}

/// Renders a step. A page that shows errors is still a 200: the form is the
/// answer, and browsers log any 4xx page as a console error.
fn respond(
    page: impl Template,
    lang: RequestLang,
    request_id: &RequestId,
    csrf_cookie: Option<HeaderValue>,
) -> Response {
    csrf::attach(render(page, lang, request_id), csrf_cookie)
}

fn refused(lang: Lang) -> Response {
    Problem::new(ProblemKind::CrossSite, lang, &[]).into_response()
}

pub async fn phone_form(
    State(state): State<AppState>,
    lang: RequestLang,
    request_id: RequestId,
    headers: HeaderMap,
) -> Response {
    let (token, set) = csrf::form_token(&headers);
    let page = PhonePage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        demo: state.info.demo,
        csrf: token,
        errors: Vec::new(),
        phone: String::new(),
    };
    respond(page, lang, &request_id, set)
}

#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
}

pub async fn phone_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: RequestLang,
    request_id: RequestId,
    headers: HeaderMap,
    Form(form): Form<PhoneForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let l = lang.lang;
    let show = |message: String| {
        let page = PhonePage {
            lang: l,
            other_lang: other(l),
            demo: state.info.demo,
            csrf: form.csrf.clone(),
            errors: vec![PageError {
                field: "phone",
                message,
            }],
            phone: form.phone.clone(),
        };
        respond(page, lang, &request_id, None)
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
    match sender
        .send(&phone, CodePurpose::Register, peer.ip(), l)
        .await
    {
        // A code sent less than a minute ago still works: carry on to the code page.
        Ok(_) | Err(SendCodeError::TooSoon) => {
            use base64::Engine;
            let sealed = identity
                .secrets
                .token_key()
                .seal(phone.as_str().as_bytes(), PENDING_PURPOSE);
            let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed);
            see_other(
                "/register/code",
                &[flow_cookie(PENDING_COOKIE, &value, 600)],
            )
        }
        Err(SendCodeError::CapReached(_)) => {
            show(t(l, "problem.code_cap_reached.detail").to_owned())
        }
        Err(SendCodeError::Gateway(_)) => show(t_args(
            l,
            "problem.dependency_unavailable.detail",
            &[("system", t(l, "system.sms"))],
        )),
        Err(SendCodeError::Store(e)) => Problem::internal(l, &request_id.0, &e).into_response(),
    }
}

fn pending_phone(state: &AppState, headers: &HeaderMap) -> Option<PhoneNumber> {
    use base64::Engine;
    let value = cookie(headers, PENDING_COOKIE)?;
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    let plain = state
        .identity
        .secrets
        .token_key()
        .open(&sealed, PENDING_PURPOSE)?;
    PhoneNumber::parse(std::str::from_utf8(&plain).ok()?).ok()
}

pub async fn code_form(
    State(state): State<AppState>,
    lang: RequestLang,
    request_id: RequestId,
    headers: HeaderMap,
) -> Response {
    let Some(phone) = pending_phone(&state, &headers) else {
        return see_other("/register", &[]);
    };
    let (token, set) = csrf::form_token(&headers);
    let page = CodePage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        demo: state.info.demo,
        csrf: token,
        errors: Vec::new(),
        masked_phone: phone.masked(),
    };
    respond(page, lang, &request_id, set)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

pub async fn code_submit(
    State(state): State<AppState>,
    lang: RequestLang,
    request_id: RequestId,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(phone) = pending_phone(&state, &headers) else {
        return see_other("/register", &[]);
    };
    let l = lang.lang;
    let show = |message: String| {
        let page = CodePage {
            lang: l,
            other_lang: other(l),
            demo: state.info.demo,
            csrf: form.csrf.clone(),
            errors: vec![PageError {
                field: "code",
                message,
            }],
            masked_phone: phone.masked(),
        };
        respond(page, lang, &request_id, None)
    };
    let Some(code) = PhoneCode::parse(&form.code) else {
        return show(t(l, "field.code_format").to_owned());
    };
    match registration::verify_phone(&state.services, &state.identity.secrets, &phone, &code).await
    {
        Ok(proof) => {
            let token = proof.to_token(&state.identity.secrets);
            let ttl = registration::PHONE_PROOF_TTL.whole_seconds();
            see_other(
                "/register/identity",
                &[
                    flow_cookie(PROOF_COOKIE, &token, ttl),
                    flow_cookie(PENDING_COOKIE, "", 0),
                ],
            )
        }
        Err(VerifyCodeError::Wrong { remaining }) => show(t_args(
            l,
            "problem.code_wrong.detail",
            &[("remaining", &remaining.to_string())],
        )),
        Err(VerifyCodeError::NoCode) => show(t(l, "problem.no_code.detail").to_owned()),
        Err(VerifyCodeError::Dead(_)) => show(t(l, "problem.code_dead.detail").to_owned()),
        Err(VerifyCodeError::Store(e)) => Problem::internal(l, &request_id.0, &e).into_response(),
    }
}

fn proof(state: &AppState, headers: &HeaderMap) -> Option<VerifiedPhone> {
    let token = cookie(headers, PROOF_COOKIE)?;
    VerifiedPhone::from_token(&state.identity.secrets, &token, state.services.clock.now()).ok()
}

pub async fn identity_form(
    State(state): State<AppState>,
    lang: RequestLang,
    request_id: RequestId,
    headers: HeaderMap,
) -> Response {
    if proof(&state, &headers).is_none() {
        return see_other("/register", &[]);
    }
    let (token, set) = csrf::form_token(&headers);
    let page = IdentityPage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        demo: state.info.demo,
        csrf: token,
        errors: Vec::new(),
        name: String::new(),
        id_number: String::new(),
    };
    respond(page, lang, &request_id, set)
}

#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
}

pub async fn identity_submit(
    State(state): State<AppState>,
    lang: RequestLang,
    request_id: RequestId,
    headers: HeaderMap,
    Form(form): Form<IdentityForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(proof) = proof(&state, &headers) else {
        return see_other("/register", &[]);
    };
    let l = lang.lang;
    let show = |errors: Vec<PageError>| {
        let page = IdentityPage {
            lang: l,
            other_lang: other(l),
            demo: state.info.demo,
            csrf: form.csrf.clone(),
            errors,
            name: form.name.clone(),
            id_number: form.id_number.clone(),
        };
        respond(page, lang, &request_id, None)
    };
    let mut errors = Vec::new();
    let name = PersonName::parse(&form.name)
        .map_err(|e| {
            errors.push(PageError {
                field: "name",
                message: t(l, &format!("field.{}", e.code())).to_owned(),
            })
        })
        .ok();
    let id_number = ResidentIdNumber::parse(&form.id_number, state.services.clock.today())
        .map_err(|e| {
            errors.push(PageError {
                field: "id_number",
                message: t(l, &format!("field.{}", e.code())).to_owned(),
            })
        })
        .ok();
    let (Some(name), Some(id_number)) = (name, id_number) else {
        return show(errors);
    };
    let identity = &state.identity;
    let checks = Checks {
        registry: identity.registry.as_ref(),
        carrier: identity.carrier.as_ref(),
        sms: identity.sms.as_ref(),
    };
    match registration::register(
        &state.services,
        &identity.secrets,
        checks,
        &proof,
        &name,
        &id_number,
        l,
    )
    .await
    {
        Ok(_) => see_other("/register/done", &[flow_cookie(PROOF_COOKIE, "", 0)]),
        Err(RegistrationError::PhoneProofExpired) => {
            see_other("/register", &[flow_cookie(PROOF_COOKIE, "", 0)])
        }
        Err(RegistrationError::Internal(e)) => {
            Problem::internal(l, &request_id.0, &e).into_response()
        }
        Err(e) => {
            let unavailable = |system: &str| {
                t_args(
                    l,
                    "problem.dependency_unavailable.detail",
                    &[("system", t(l, &format!("system.{system}")))],
                )
            };
            let message = match &e {
                RegistrationError::RegistryUnavailable(_) => unavailable("registry"),
                RegistrationError::CarrierUnavailable(_) => unavailable("carrier"),
                other => t(l, &format!("problem.{}.detail", other.code())).to_owned(),
            };
            // The name is what the resident corrects for a mismatch; the rest concern the ID number.
            let field = if matches!(e, RegistrationError::NameMismatch) {
                "name"
            } else {
                "id_number"
            };
            show(vec![PageError { field, message }])
        }
    }
}

pub async fn done(
    State(state): State<AppState>,
    lang: RequestLang,
    request_id: RequestId,
) -> Response {
    let page = DonePage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        demo: state.info.demo,
        errors: Vec::new(),
    };
    respond(page, lang, &request_id, None)
}
