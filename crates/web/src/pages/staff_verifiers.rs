//! Verifier organisations in the staff console (`/staff/verifiers`), for
//! administrators of platform operations (`VerifierRegistrarCap`): the queue
//! of applications (review, approve, refuse with a reason), the registered
//! organisations (new API key, suspend, resume). A new key is shown once, on
//! the page that answers the approval or rotation, and never cached.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use secrecy::ExposeSecret;
use serde::Deserialize;
use shengshi_app::staff::capability::VerifierRegistrarCap;
use shengshi_app::verifier_applications::{self, Application, DecideError};
use shengshi_app::verifiers::{IssuedKey, Verifier, VerifierAdminError};
use shengshi_i18n::{t, t_args, Lang};

use super::forms::{page_helpers, refused, respond, see_other, PageError};
use super::other;
use super::staff_gate::gate;
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::problem::Problem;
use crate::{no_store, AppState};

async fn registrar(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
) -> Result<VerifierRegistrarCap, Response> {
    gate(
        state,
        lang,
        headers,
        |caps| caps.verifier_registrar,
        "staff_verifiers.forbidden",
    )
    .await
}

struct ApplicationRow {
    id: String,
    name: String,
    category: &'static str,
    purposes: String,
    contact: String,
    submitted: String,
}

struct OrganisationRow {
    id: String,
    name: String,
    category: &'static str,
    purposes: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "staff_verifiers.html")]
struct VerifiersPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    applications: Vec<ApplicationRow>,
    organisations: Vec<OrganisationRow>,
}
page_helpers!(VerifiersPage);

#[derive(Template)]
#[template(path = "staff_verifier_review.html")]
struct ReviewPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    heading: String,
    application: ApplicationRow,
    reason: String,
}
page_helpers!(ReviewPage);

#[derive(Template)]
#[template(path = "staff_verifier_key.html")]
struct KeyPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    heading: String,
    key: String,
    revoked: bool,
}
page_helpers!(KeyPage);

fn category_text(l: Lang, name: &str) -> &'static str {
    t(l, &format!("verifier_category.{name}"))
}

fn purposes_text(l: Lang, purposes: &[shengshi_eid::Purpose]) -> String {
    let separator = if l == Lang::ZhCn { "、" } else { ", " };
    purposes
        .iter()
        .map(|p| t(l, &format!("verifier_purpose.{}", p.name())))
        .collect::<Vec<_>>()
        .join(separator)
}

fn application_row(l: Lang, a: Application) -> ApplicationRow {
    ApplicationRow {
        id: a.id.to_string(),
        category: category_text(l, a.category.name()),
        purposes: purposes_text(l, &a.purposes),
        name: a.name,
        contact: a.contact,
        submitted: a.submitted_at.civil_date().to_string(),
    }
}

fn organisation_row(l: Lang, v: Verifier) -> OrganisationRow {
    OrganisationRow {
        id: v.id.to_string(),
        category: category_text(l, v.category.name()),
        purposes: purposes_text(l, &v.purposes),
        name: v.name,
        active: v.active,
    }
}

pub async fn page(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    let cap = match registrar(&state, lang, &headers).await {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let l = lang.lang;
    let applications = match verifier_applications::pending(&state.services, &cap).await {
        Ok(list) => list,
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let organisations = match verifier_applications::organisations(&state.services, &cap).await {
        Ok(list) => list,
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let (token, set) = csrf::form_token(&headers);
    let page = VerifiersPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        csrf: token,
        applications: applications
            .into_iter()
            .map(|a| application_row(l, a))
            .collect(),
        organisations: organisations
            .into_iter()
            .map(|v| organisation_row(l, v))
            .collect(),
    };
    no_store(respond(page, lang, set))
}

fn review_page(
    state: &AppState,
    lang: RequestLang,
    csrf: (String, Option<axum::http::HeaderValue>),
    application: Application,
    errors: Vec<PageError>,
    reason: String,
) -> Response {
    let l = lang.lang;
    let page = ReviewPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors,
        csrf: csrf.0,
        heading: t_args(
            l,
            "staff_verifiers.review_heading",
            &[("name", &application.name)],
        ),
        application: application_row(l, application),
        reason,
    };
    no_store(respond(page, lang, csrf.1))
}

/// An application that is not there (or not pending) sends the member back
/// to the queue, which shows what is left to decide.
fn decided_elsewhere(l: Lang, e: DecideError) -> Response {
    match e {
        DecideError::NotFound | DecideError::AlreadyDecided => see_other("/staff/verifiers", &[]),
        e => Problem::internal(l, &e).into_response(),
    }
}

fn parse_id(id: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::try_parse(id).ok()
}

pub async fn review(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let cap = match registrar(&state, lang, &headers).await {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let Some(id) = parse_id(&id) else {
        return see_other("/staff/verifiers", &[]);
    };
    match verifier_applications::application(&state.services, &cap, id).await {
        Ok(a) if a.status == shengshi_store::ApplicationStatus::Pending => review_page(
            &state,
            lang,
            csrf::form_token(&headers),
            a,
            Vec::new(),
            String::new(),
        ),
        Ok(_) => see_other("/staff/verifiers", &[]),
        Err(e) => decided_elsewhere(lang.lang, e),
    }
}

fn key_page(state: &AppState, lang: RequestLang, issued: IssuedKey) -> Response {
    let l = lang.lang;
    let page = KeyPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        heading: t_args(
            l,
            "staff_verifiers.key_heading",
            &[("name", &issued.verifier.name)],
        ),
        key: issued.key.expose_secret().to_owned(),
        revoked: issued.revoked > 0,
    };
    // The key exists nowhere else: never cached, never shown again.
    no_store(respond(page, lang, None))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn approve(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let cap = match registrar(&state, lang, &headers).await {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let Some(id) = parse_id(&id) else {
        return see_other("/staff/verifiers", &[]);
    };
    let secrets = &state.identity.secrets;
    match verifier_applications::approve(&state.services, secrets, &cap, id).await {
        Ok(issued) => key_page(&state, lang, issued),
        Err(e) => decided_elsewhere(lang.lang, e),
    }
}

#[derive(Deserialize)]
pub struct RefuseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

pub async fn refuse(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<RefuseForm>,
) -> Response {
    let l = lang.lang;
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(l);
    }
    let cap = match registrar(&state, lang, &headers).await {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let Some(id) = parse_id(&id) else {
        return see_other("/staff/verifiers", &[]);
    };
    let services = &state.services;
    let key = match verifier_applications::refuse(services, &cap, id, &form.reason).await {
        Ok(_) => return see_other("/staff/verifiers", &[]),
        Err(DecideError::NoReason) => "staff_verifiers.err_reason",
        Err(DecideError::ReasonTooLong) => "staff_verifiers.err_reason_too_long",
        Err(e) => return decided_elsewhere(l, e),
    };
    match verifier_applications::application(services, &cap, id).await {
        Ok(a) => review_page(
            &state,
            lang,
            (form.csrf.clone(), None),
            a,
            vec![PageError {
                field: "reason",
                message: t(l, key).to_owned(),
            }],
            form.reason,
        ),
        Err(e) => decided_elsewhere(l, e),
    }
}

fn admin_error(l: Lang, e: VerifierAdminError) -> Response {
    match e {
        VerifierAdminError::NotFound(_) => see_other("/staff/verifiers", &[]),
        e => Problem::internal(l, &e).into_response(),
    }
}

pub async fn rotate(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let cap = match registrar(&state, lang, &headers).await {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let Some(id) = parse_id(&id) else {
        return see_other("/staff/verifiers", &[]);
    };
    let secrets = &state.identity.secrets;
    match verifier_applications::rotate_key(&state.services, secrets, &cap, id).await {
        Ok(issued) => key_page(&state, lang, issued),
        Err(e) => admin_error(lang.lang, e),
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    /// `active` or `suspended`.
    #[serde(default)]
    status: String,
}

pub async fn set_status(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let cap = match registrar(&state, lang, &headers).await {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let (Some(id), Some(active)) = (
        parse_id(&id),
        match form.status.as_str() {
            "active" => Some(true),
            "suspended" => Some(false),
            _ => None,
        },
    ) else {
        return see_other("/staff/verifiers", &[]);
    };
    match verifier_applications::set_active(&state.services, &cap, id, active).await {
        Ok(_) => see_other("/staff/verifiers", &[]),
        Err(e) => admin_error(lang.lang, e),
    }
}
