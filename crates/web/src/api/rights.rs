//! The resident's rights under PIPL Arts. 44–47 over the JSON API: download
//! everything held about you, ask for a correction, close your account.

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::rights::{self, CloseError, CorrectionError, CorrectionView};
use shengshi_i18n::Lang;
use utoipa::ToSchema;

use super::registration::field;
use super::session::{clear_cookie, Authenticated};
use crate::lang::RequestLang;
use crate::problem::{ApiJson, Problem};
use crate::{no_store, AppState};

/// Everything held about you, as one JSON file (fields: docs/export-format.md,
/// "Resident data export"). Opening your profile for it is itself logged
/// (purpose `subject_export`) and appears in the file's `access_log`.
#[utoipa::path(
    get,
    path = "/api/v1/me/export",
    tag = "rights",
    responses(
        (status = 200, description = "A download (`Content-Disposition: attachment`): `format` \"shengshi-subject-export\", `version`, `exported_at`, `profile`, `account`, `sessions`, `passkeys`, `mandates_given`, `mandates_received`, `mandate_actions`, `corrections`, `access_log`", body = Object, content_type = "application/json"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    let export = match rights::export(&state.services, &session).await {
        Ok(export) => export,
        Err(e) => return Problem::internal(lang.lang, &e).into_response(),
    };
    let body = match serde_json::to_vec_pretty(&export) {
        Ok(body) => body,
        Err(e) => return Problem::internal(lang.lang, &e).into_response(),
    };
    let today = state.services.clock.now().civil_date();
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"my-data-{today}.json\""))
    {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    no_store(response)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CorrectionRequest {
    /// `name`, `phone`, `address` or `other`.
    #[schema(example = "address")]
    pub field: String,
    /// What it should say, 1 to 200 characters.
    pub proposed_value: String,
    /// Why, up to 1000 characters; may be empty.
    #[serde(default)]
    pub explanation: String,
}

/// One of your correction requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionDto {
    pub id: String,
    /// `name`, `phone`, `address` or `other`.
    pub field: String,
    pub proposed_value: String,
    pub explanation: String,
    /// `open`, `done` or `rejected`.
    pub status: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub decided_at: Option<String>,
    /// The deciding staff member's reply, once decided.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionList {
    /// Newest first.
    pub corrections: Vec<CorrectionDto>,
}

fn dto(c: CorrectionView) -> CorrectionDto {
    CorrectionDto {
        id: c.id.to_string(),
        field: c.field,
        proposed_value: c.proposed_value,
        explanation: c.explanation,
        status: c.status,
        created_at: c.created_at.to_rfc3339(),
        decided_at: c.decided_at.map(|t| t.to_rfc3339()),
        note: c.note,
    }
}

pub(crate) fn correction_problem(lang: Lang, error: CorrectionError) -> Problem {
    let pointer = match error {
        CorrectionError::UnknownField => "/field",
        CorrectionError::ValueLength => "/proposed_value",
        CorrectionError::ExplanationLength => "/explanation",
        CorrectionError::Internal(_) => return Problem::internal(lang, &error),
    };
    Problem::validation(lang, vec![field(lang, pointer, error.code())])
}

/// Ask for your record to be corrected. The proposed value and the
/// explanation are stored sealed with your data key.
#[utoipa::path(
    post,
    path = "/api/v1/me/corrections",
    tag = "rights",
    request_body = CorrectionRequest,
    responses(
        (status = 201, body = CorrectionDto),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown field, or a value or explanation too long", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn request_correction(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    ApiJson(body): ApiJson<CorrectionRequest>,
) -> Response {
    match rights::request_correction(
        &state.services,
        session.account.id,
        &body.field,
        &body.proposed_value,
        &body.explanation,
    )
    .await
    {
        Ok(view) => no_store((StatusCode::CREATED, Json(dto(view))).into_response()),
        Err(e) => correction_problem(lang.lang, e).into_response(),
    }
}

/// Your correction requests, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/me/corrections",
    tag = "rights",
    responses(
        (status = 200, body = CorrectionList),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_corrections(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match rights::corrections(&state.services, &session.account).await {
        Ok(list) => no_store(
            Json(CorrectionList {
                corrections: list.into_iter().map(dto).collect(),
            })
            .into_response(),
        ),
        Err(e) => correction_problem(lang.lang, e).into_response(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseRequest {
    /// Must be `CLOSE`: closing cannot be undone.
    #[schema(example = "CLOSE")]
    pub confirmation: String,
}

pub(crate) fn close_problem(lang: Lang, error: CloseError) -> Problem {
    match error {
        CloseError::NotConfirmed => {
            Problem::validation(lang, vec![field(lang, "/confirmation", error.code())])
        }
        other => Problem::internal(lang, &other),
    }
}

/// Close your account: every session, passkey and mandate you gave is
/// revoked, then your data key is destroyed, erasing your profile and
/// correction requests. What stays is in docs/threat-model.md.
#[utoipa::path(
    post,
    path = "/api/v1/me/close",
    tag = "rights",
    request_body = CloseRequest,
    responses(
        (status = 204, description = "Closed; the `sid` cookie is cleared"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The confirmation word is missing or wrong", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn close(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    ApiJson(body): ApiJson<CloseRequest>,
) -> Response {
    match rights::close(&state.services, &session.account, &body.confirmation).await {
        Ok(()) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            clear_cookie(&state, &mut response);
            response
        }
        Err(e) => close_problem(lang.lang, e).into_response(),
    }
}
