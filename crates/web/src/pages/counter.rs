//! The counter check pages (`/staff/counter-check`): a public security clerk
//! or supervisor checks a resident in person, in two server-rendered steps
//! that work without JavaScript (see `shengshi_app::proofing`).
//!
//! 1. The resident's mobile number: a code is sent to it.
//! 2. Name and ID number typed from the identity card, and the code the
//!    resident reads back. When another phone's account holds the identity,
//!    the page asks the clerk to confirm (with the resident) that it is not
//!    theirs; re-submitting with the box ticked evicts it.
//!
//! Between the steps the phone number travels as the resident flows carry it:
//! in the sealed, path-scoped `pending_phone` cookie (`forms::pending_phone`),
//! neither readable nor changeable by the browser. So the number the code went
//! to cannot be edited on the way (the clerk starts again for another number),
//! nothing is stored server-side, and no personal data sits in a hidden field.

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::header::HeaderValue;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::phone_codes::{CodeSender, SendCodeError};
use shengshi_app::proofing::{self, CounterCheck, CounterCheckError, CounterOutcome};
use shengshi_app::staff::capability::IdentityCheckCap;
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::{PersonName, PhoneCode, PhoneNumber, ResidentIdNumber};
use shengshi_i18n::{t, t_args, Lang};
use std::net::SocketAddr;

use super::forms::{
    clear_pending_phone, code_error, page_helpers, pending_phone, pending_phone_cookie, refused,
    respond, see_other, PageError,
};
use super::other;
use super::staff_gate;
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::problem::Problem;
use crate::{no_store, AppState};

/// The flow's path below `/`: the pending phone cookie is scoped to it.
const FLOW: &str = "staff/counter-check";

#[derive(Template)]
#[template(path = "staff_counter_phone.html")]
struct PhonePage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    phone: String,
}
page_helpers!(PhonePage);

#[derive(Template)]
#[template(path = "staff_counter_identity.html")]
struct IdentityPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    phone: String,
    name: String,
    id_number: String,
    code: String,
    /// Another phone's account holds the identity: ask to confirm eviction.
    ask_eviction: bool,
}
page_helpers!(IdentityPage);

#[derive(Template)]
#[template(path = "staff_counter_done.html")]
struct DonePage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    heading: &'static str,
    body: String,
    name: String,
    id_number: String,
    phone: String,
    level: String,
    level_3: bool,
}
page_helpers!(DonePage);

/// The identity-check capability of the signed-in member; otherwise the
/// answer: the login page when not signed in, a 403 page for other roles.
async fn gate(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
) -> Result<IdentityCheckCap, Response> {
    staff_gate::gate(
        state,
        lang,
        headers,
        |caps| caps.identity_check,
        "staff.forbidden.body",
    )
    .await
}

fn phone_page(
    state: &AppState,
    lang: RequestLang,
    csrf: (String, Option<HeaderValue>),
    errors: Vec<PageError>,
    phone: String,
) -> Response {
    let page = PhonePage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        csrf: csrf.0,
        errors,
        phone,
    };
    no_store(respond(page, lang, csrf.1))
}

/// Step 1: the resident's mobile number.
pub async fn phone_form(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = gate(&state, lang, &headers).await {
        return response;
    }
    phone_page(
        &state,
        lang,
        csrf::form_token(&headers),
        Vec::new(),
        String::new(),
    )
}

#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
}

/// Sends the resident a code and moves on to step 2. A code sent less than a
/// minute ago still works, so "too soon" moves on as well.
pub async fn phone_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<PhoneForm>,
) -> Response {
    let l = lang.lang;
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(l);
    }
    if let Err(response) = gate(&state, lang, &headers).await {
        return response;
    }
    let show = |message: String| {
        let errors = vec![PageError {
            field: "phone",
            message,
        }];
        let csrf = (form.csrf.clone(), None);
        phone_page(&state, lang, csrf, errors, form.phone.trim().to_owned())
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
        .send(&phone, CodePurpose::CounterCheck, peer.ip(), l)
        .await
    {
        Ok(_) | Err(SendCodeError::TooSoon) => see_other(
            "/staff/counter-check/identity",
            &[pending_phone_cookie(&state, FLOW, &phone)],
        ),
        Err(SendCodeError::CapReached(_)) => {
            show(t(l, "problem.code_cap_reached.detail").to_owned())
        }
        Err(SendCodeError::Gateway(e)) => {
            tracing::warn!(error = %e, "the SMS gateway failed");
            show(t_args(
                l,
                "problem.dependency_unavailable.detail",
                &[("system", t(l, "system.sms"))],
            ))
        }
        Err(SendCodeError::Store(e)) => Problem::internal(l, &e).into_response(),
    }
}

/// Step 2, empty: name, ID number and code.
pub async fn identity_form(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = gate(&state, lang, &headers).await {
        return response;
    }
    let Some(phone) = pending_phone(&state, FLOW, &headers) else {
        return see_other("/staff/counter-check", &[]);
    };
    let (token, set) = csrf::form_token(&headers);
    let page = IdentityPage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        csrf: token,
        errors: Vec::new(),
        phone: phone.as_str().to_owned(),
        name: String::new(),
        id_number: String::new(),
        code: String::new(),
        ask_eviction: false,
    };
    no_store(respond(page, lang, set))
}

#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    code: String,
    /// The confirmation checkbox ("yes" when ticked).
    #[serde(default)]
    evict: Option<String>,
    /// The ID number the confirmation was asked for: a tick counts only for
    /// that number, so changing the number asks again.
    #[serde(default)]
    evict_for: String,
}

/// Runs the check and shows what happened, or the form with its errors.
pub async fn identity_submit(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<IdentityForm>,
) -> Response {
    let l = lang.lang;
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(l);
    }
    let cap = match gate(&state, lang, &headers).await {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let Some(phone) = pending_phone(&state, FLOW, &headers) else {
        return see_other("/staff/counter-check", &[]);
    };
    let show = |errors: Vec<PageError>, keep_code: bool, ask_eviction: bool| {
        let page = IdentityPage {
            lang: l,
            other_lang: other(l),
            mode: lang.mode,
            demo: state.info.demo,
            csrf: form.csrf.clone(),
            errors,
            phone: phone.as_str().to_owned(),
            name: form.name.trim().to_owned(),
            id_number: form.id_number.trim().to_owned(),
            // A refused code is typed again; otherwise it stays (it is not used up).
            code: if keep_code {
                form.code.trim().to_owned()
            } else {
                String::new()
            },
            ask_eviction,
        };
        no_store(respond(page, lang, None))
    };
    let error = |field: &'static str, message: String| PageError { field, message };
    let today = state.services.clock.today();
    let mut errors = Vec::new();
    let name = PersonName::parse(&form.name)
        .map_err(|e| errors.push(error("name", t(l, &format!("field.{}", e.code())).into())))
        .ok();
    let id_number = ResidentIdNumber::parse(&form.id_number, today)
        .map_err(|e| {
            errors.push(error(
                "id_number",
                t(l, &format!("field.{}", e.code())).into(),
            ))
        })
        .ok();
    let code = PhoneCode::parse(&form.code);
    if code.is_none() {
        errors.push(error("code", t(l, "field.code_format").into()));
    }
    let (Some(name), Some(id_number), Some(code)) = (name, id_number, code) else {
        return show(errors, true, false);
    };
    let evict = form.evict.is_some() && form.evict_for.trim() == form.id_number.trim();
    let check = CounterCheck {
        name: name.clone(),
        id_number,
        phone: phone.clone(),
        code,
        evict_other_account: evict,
    };
    let identity = &state.identity;
    let outcome = match proofing::complete(
        &cap,
        &state.services,
        &identity.secrets,
        identity.registry.as_ref(),
        &check,
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(CounterCheckError::OtherAccountExists) => {
            let message = t(l, "staff.counter.other_account").to_owned();
            return show(vec![error("evict", message)], true, true);
        }
        Err(CounterCheckError::Code(e)) => {
            return match code_error(l, &e) {
                Some(message) => show(vec![error("code", message)], false, false),
                None => Problem::internal(l, &e).into_response(),
            }
        }
        Err(CounterCheckError::Internal(e)) => return Problem::internal(l, &e).into_response(),
        Err(e) => {
            let message = match &e {
                CounterCheckError::RegistryUnavailable(_) => t_args(
                    l,
                    "problem.dependency_unavailable.detail",
                    &[("system", t(l, "system.registry"))],
                ),
                other => t(l, &format!("staff.counter.{}", other.code())).to_owned(),
            };
            // The name is what the clerk corrects for a mismatch; the rest concern the number.
            let field = if matches!(e, CounterCheckError::NameMismatch) {
                "name"
            } else {
                "id_number"
            };
            return show(vec![error(field, message)], true, false);
        }
    };
    let level = match state.services.store.account(outcome.account()).await {
        Ok(Some(account)) => account.assurance_level,
        Ok(None) => return Problem::internal(l, &"the account vanished").into_response(),
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let level_text = format!("L{level}");
    let (heading, body) = match outcome {
        CounterOutcome::Verified { .. } => (
            t(l, "staff.counter.done_verified_heading"),
            t_args(l, "staff.counter.done_verified", &[("level", &level_text)]),
        ),
        CounterOutcome::Opened { .. } => (
            t(l, "staff.counter.done_opened_heading"),
            t(l, "staff.counter.done_opened").to_owned(),
        ),
        CounterOutcome::SquatterEvicted { .. } => (
            t(l, "staff.counter.done_evicted_heading"),
            t(l, "staff.counter.done_evicted").to_owned(),
        ),
    };
    let page = DonePage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        heading,
        body,
        // Masked: the page may stay on a counter screen.
        name: name.masked(),
        id_number: check.id_number.masked(),
        phone: phone.masked(),
        level: level_text,
        level_3: level >= 3,
    };
    let mut response = no_store(respond(page, lang, None));
    if let Ok(value) = HeaderValue::from_str(&clear_pending_phone(FLOW)) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}
