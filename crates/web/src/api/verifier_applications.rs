//! Verifier applications over the JSON API (see
//! `shengshi_app::verifier_applications`): an organisation applies (public,
//! limited per address); platform operations' administrators list the queue
//! and approve (the answer carries the organisation's first API key, once)
//! or refuse with a reason; they also list the organisations, issue a new
//! key, suspend and resume one.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use shengshi_app::staff::capability::{authorize, VerifierRegistrarCap};
use shengshi_app::verifier_applications::{
    self, Application, ApplyError, DecideError, NewApplication,
};
use shengshi_app::verifiers::{Verifier, VerifierAdminError};
use shengshi_eid::{Purpose, VerifierCategory};
use shengshi_i18n::Lang;
use utoipa::ToSchema;

use super::registration::field;
use super::staff::StaffAuthenticated;
use crate::lang::RequestLang;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::{no_store, AppState};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApplicationRequest {
    /// The organisation's name, as residents will see it: 1 to 200 characters.
    pub name: String,
    /// `hotel`, `railway`, `airport`, `bank`, `government` or `retail`.
    #[schema(example = "hotel")]
    pub category: String,
    /// The purposes asked for, each allowed for the category
    /// (`hotel_checkin`, `travel_security`, `age_over_18`, `identity_full`).
    pub purposes: Vec<String>,
    /// An office e-mail address or telephone number: 1 to 200 characters.
    pub contact: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationDto {
    pub id: String,
    pub name: String,
    pub category: &'static str,
    pub purposes: Vec<&'static str>,
    pub contact: String,
    /// `pending`, `approved` or `refused`.
    #[schema(example = "pending")]
    pub status: &'static str,
    /// RFC 3339, UTC.
    pub submitted_at: String,
    /// Why it was refused (refusals only).
    pub reason: Option<String>,
    /// The verifier organisation an approval registered.
    pub verifier_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationList {
    pub applications: Vec<ApplicationDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovedApplication {
    pub verifier_id: String,
    pub key_id: String,
    /// The organisation's API key, `svk_…`. Shown only in this answer: the
    /// platform keeps only a keyed MAC of it.
    pub api_key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefusalRequest {
    /// Why, as the organisation will be told: 1 to 500 characters.
    pub reason: String,
}

fn dto(a: Application) -> ApplicationDto {
    ApplicationDto {
        id: a.id.to_string(),
        name: a.name,
        category: a.category.name(),
        purposes: a.purposes.iter().map(|p| p.name()).collect(),
        contact: a.contact,
        status: a.status.name(),
        submitted_at: a.submitted_at.to_rfc3339(),
        reason: a.reason,
        verifier_id: a.verifier.map(|v| v.to_string()),
    }
}

fn apply_problem(lang: Lang, error: ApplyError) -> Problem {
    let pointer = match &error {
        ApplyError::BadName => "/name",
        ApplyError::NoPurposes | ApplyError::PurposeNotForCategory { .. } => "/purposes",
        ApplyError::BadContact => "/contact",
        ApplyError::TooMany => {
            return Problem::new(ProblemKind::VerifierApplicationsTooMany, lang, &[])
        }
        ApplyError::Internal(e) => return Problem::internal(lang, e),
    };
    Problem::validation(lang, vec![field(lang, pointer, error.code())])
}

pub(crate) fn decide_problem(lang: Lang, error: DecideError) -> Problem {
    match error {
        DecideError::NotFound => Problem::new(ProblemKind::VerifierApplicationNotFound, lang, &[]),
        DecideError::AlreadyDecided => {
            Problem::new(ProblemKind::VerifierApplicationAlreadyDecided, lang, &[])
        }
        DecideError::NoReason | DecideError::ReasonTooLong => {
            Problem::validation(lang, vec![field(lang, "/reason", "verifier_reason")])
        }
        e @ (DecideError::Register(_) | DecideError::Internal(_)) => Problem::internal(lang, &e),
    }
}

fn registrar(lang: Lang, staff: &StaffAuthenticated) -> Result<VerifierRegistrarCap, Problem> {
    authorize(&staff.0.member)
        .verifier_registrar
        .ok_or_else(|| Problem::new(ProblemKind::StaffForbidden, lang, &[]))
}

/// Apply to verify e-ID codes online (an organisation; at most 3 a day per address).
#[utoipa::path(
    post,
    path = "/api/v1/verifier-applications",
    tag = "verifier",
    request_body = ApplicationRequest,
    responses(
        (status = 201, body = ApplicationDto),
        (status = 422, description = "A bad name, category or contact, no purpose, or a purpose the category may not ask for", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many applications from this address today", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn apply(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: RequestLang,
    ApiJson(body): ApiJson<ApplicationRequest>,
) -> Response {
    let lang = lang.lang;
    let mut errors = Vec::new();
    let category = VerifierCategory::from_name(body.category.trim());
    if category.is_none() {
        errors.push(field(lang, "/category", "verifier_category"));
    }
    let purposes: Option<Vec<Purpose>> = body
        .purposes
        .iter()
        .map(|p| Purpose::from_name(p.trim()))
        .collect();
    if purposes.is_none() {
        errors.push(field(lang, "/purposes", "verifier_purposes"));
    }
    let (Some(category), Some(purposes)) = (category, purposes) else {
        return Problem::validation(lang, errors).into_response();
    };
    let new = NewApplication {
        name: body.name,
        category,
        purposes,
        contact: body.contact,
    };
    let secrets = &state.identity.secrets;
    match verifier_applications::apply(&state.services, secrets, new, peer.ip()).await {
        Ok(a) => (StatusCode::CREATED, Json(dto(a))).into_response(),
        Err(e) => apply_problem(lang, e).into_response(),
    }
}

/// The applications waiting for a decision, oldest first (platform operations' administrators).
#[utoipa::path(
    get,
    path = "/api/v1/staff/verifier-applications",
    tag = "staff",
    responses(
        (status = 200, body = ApplicationList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator of platform operations", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn pending(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
) -> Response {
    let lang = lang.lang;
    let cap = match registrar(lang, &staff) {
        Ok(cap) => cap,
        Err(problem) => return problem.into_response(),
    };
    match verifier_applications::pending(&state.services, &cap).await {
        Ok(list) => no_store(
            Json(ApplicationList {
                applications: list.into_iter().map(dto).collect(),
            })
            .into_response(),
        ),
        Err(e) => decide_problem(lang, e).into_response(),
    }
}

fn parse_id(lang: Lang, id: &str) -> Result<uuid::Uuid, Problem> {
    uuid::Uuid::try_parse(id.trim())
        .map_err(|_| Problem::new(ProblemKind::VerifierApplicationNotFound, lang, &[]))
}

/// Approve an application: registers the organisation and answers its first API key, once.
#[utoipa::path(
    post,
    path = "/api/v1/staff/verifier-applications/{id}/approve",
    tag = "staff",
    params(("id" = String, Path, description = "The application's id")),
    responses(
        (status = 201, body = ApprovedApplication),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator of platform operations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
) -> Response {
    let lang = lang.lang;
    let (cap, id) = match registrar(lang, &staff).and_then(|c| Ok((c, parse_id(lang, &id)?))) {
        Ok(pair) => pair,
        Err(problem) => return problem.into_response(),
    };
    let secrets = &state.identity.secrets;
    match verifier_applications::approve(&state.services, secrets, &cap, id).await {
        Ok(issued) => no_store(
            (
                StatusCode::CREATED,
                Json(ApprovedApplication {
                    verifier_id: issued.verifier.id.to_string(),
                    key_id: issued.key_id.to_string(),
                    api_key: issued.key.expose_secret().to_owned(),
                }),
            )
                .into_response(),
        ),
        Err(e) => decide_problem(lang, e).into_response(),
    }
}

/// Refuse an application, with a reason the organisation is told.
#[utoipa::path(
    post,
    path = "/api/v1/staff/verifier-applications/{id}/refuse",
    tag = "staff",
    params(("id" = String, Path, description = "The application's id")),
    request_body = RefusalRequest,
    responses(
        (status = 200, body = ApplicationDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator of platform operations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, or one longer than 500 characters", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refuse(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RefusalRequest>,
) -> Response {
    let lang = lang.lang;
    let (cap, id) = match registrar(lang, &staff).and_then(|c| Ok((c, parse_id(lang, &id)?))) {
        Ok(pair) => pair,
        Err(problem) => return problem.into_response(),
    };
    match verifier_applications::refuse(&state.services, &cap, id, &body.reason).await {
        Ok(a) => Json(dto(a)).into_response(),
        Err(e) => decide_problem(lang, e).into_response(),
    }
}

// ---------------------------------------------------------------------------
// Registered organisations

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifierDto {
    pub id: String,
    pub name: String,
    pub category: &'static str,
    pub purposes: Vec<&'static str>,
    /// `active` or `suspended`.
    #[schema(example = "active")]
    pub status: &'static str,
    /// RFC 3339, UTC.
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifierList {
    pub verifiers: Vec<VerifierDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedKeyDto {
    pub verifier_id: String,
    pub key_id: String,
    /// The new API key, `svk_…`, shown only in this answer.
    pub api_key: String,
    /// How many older keys stopped working.
    pub revoked: u64,
}

fn verifier_dto(v: Verifier) -> VerifierDto {
    VerifierDto {
        id: v.id.to_string(),
        name: v.name,
        category: v.category.name(),
        purposes: v.purposes.iter().map(|p| p.name()).collect(),
        status: if v.active { "active" } else { "suspended" },
        created_at: v.created_at.to_rfc3339(),
    }
}

fn admin_problem(lang: Lang, error: VerifierAdminError) -> Problem {
    match error {
        VerifierAdminError::NotFound(_) => Problem::new(ProblemKind::NotFound, lang, &[]),
        e => Problem::internal(lang, &e),
    }
}

fn verifier_id(lang: Lang, id: &str) -> Result<uuid::Uuid, Problem> {
    uuid::Uuid::try_parse(id.trim()).map_err(|_| Problem::new(ProblemKind::NotFound, lang, &[]))
}

/// Every registered verifier organisation, oldest first (platform operations' administrators).
#[utoipa::path(
    get,
    path = "/api/v1/staff/verifiers",
    tag = "staff",
    responses(
        (status = 200, body = VerifierList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator of platform operations", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verifiers(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
) -> Response {
    let lang = lang.lang;
    let cap = match registrar(lang, &staff) {
        Ok(cap) => cap,
        Err(problem) => return problem.into_response(),
    };
    match verifier_applications::organisations(&state.services, &cap).await {
        Ok(list) => no_store(
            Json(VerifierList {
                verifiers: list.into_iter().map(verifier_dto).collect(),
            })
            .into_response(),
        ),
        Err(e) => admin_problem(lang, e).into_response(),
    }
}

/// Issue a new API key for an organisation; its older keys stop working at once.
#[utoipa::path(
    post,
    path = "/api/v1/staff/verifiers/{id}/keys",
    tag = "staff",
    params(("id" = String, Path, description = "The organisation's id")),
    responses(
        (status = 201, body = IssuedKeyDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator of platform operations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rotate_key(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
) -> Response {
    let lang = lang.lang;
    let (cap, id) = match registrar(lang, &staff).and_then(|c| Ok((c, verifier_id(lang, &id)?))) {
        Ok(pair) => pair,
        Err(problem) => return problem.into_response(),
    };
    let secrets = &state.identity.secrets;
    match verifier_applications::rotate_key(&state.services, secrets, &cap, id).await {
        Ok(issued) => no_store(
            (
                StatusCode::CREATED,
                Json(IssuedKeyDto {
                    verifier_id: issued.verifier.id.to_string(),
                    key_id: issued.key_id.to_string(),
                    api_key: issued.key.expose_secret().to_owned(),
                    revoked: issued.revoked,
                }),
            )
                .into_response(),
        ),
        Err(e) => admin_problem(lang, e).into_response(),
    }
}

async fn set_active(
    state: &AppState,
    lang: Lang,
    staff: &StaffAuthenticated,
    id: &str,
    active: bool,
) -> Response {
    let (cap, id) = match registrar(lang, staff).and_then(|c| Ok((c, verifier_id(lang, id)?))) {
        Ok(pair) => pair,
        Err(problem) => return problem.into_response(),
    };
    match verifier_applications::set_active(&state.services, &cap, id, active).await {
        Ok(v) => Json(verifier_dto(v)).into_response(),
        Err(e) => admin_problem(lang, e).into_response(),
    }
}

/// Suspend an organisation: every key of it is refused at once.
#[utoipa::path(
    post,
    path = "/api/v1/staff/verifiers/{id}/suspend",
    tag = "staff",
    params(("id" = String, Path, description = "The organisation's id")),
    responses(
        (status = 200, body = VerifierDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator of platform operations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn suspend(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
) -> Response {
    set_active(&state, lang.lang, &staff, &id, false).await
}

/// Resume a suspended organisation.
#[utoipa::path(
    post,
    path = "/api/v1/staff/verifiers/{id}/resume",
    tag = "staff",
    params(("id" = String, Path, description = "The organisation's id")),
    responses(
        (status = 200, body = VerifierDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator of platform operations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
) -> Response {
    set_active(&state, lang.lang, &staff, &id, true).await
}
