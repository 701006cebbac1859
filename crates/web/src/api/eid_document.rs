//! The printable identity document (MOSIP Claim 169) over the JSON API: make
//! one with the details and validity you choose, list yours, revoke one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::eid_document::{
    self as app_doc, DocumentError, DocumentRequest, DocumentSummary, IssuedDocument,
};
use shengshi_i18n::Lang;
use utoipa::ToSchema;

use super::eid::eid_problem;
use super::registration::field;
use super::session::Authenticated;
use crate::lang::RequestLang;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::{no_store, AppState};

#[derive(Debug, Deserialize, ToSchema)]
pub struct DocumentRequestDto {
    /// The details to put in the document, each at most once: `name`,
    /// `birth_date`, `sex`, `id_number`, `address`, `nationality`, `photo`.
    #[schema(example = json!(["name", "birth_date"]))]
    pub fields: Vec<String>,
    /// How long it is valid: `1m`, `6m`, `1y`, `2y` or `5y`.
    #[schema(example = "1m")]
    pub validity: String,
}

/// What the document says, field by field (it discloses all of it to anyone
/// who scans it). Absent fields are not in the document.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosedDto {
    /// Claim 169 key 1: the ID number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// Key 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Key 8, `YYYYMMDD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// Key 9: `male` or `female`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<&'static str>,
    /// Key 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Key 13 (ISO 3166-1 alpha-3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// Key 17 (with the image in key 16): `jpeg`, `jpeg2000`, `avif` or `webp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_format: Option<&'static str>,
}

/// A document just made. Print `code` as a QR code (alphanumeric mode).
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedDocumentDto {
    pub id: String,
    /// The QR text: base45(zlib(COSE_Sign1(CWT with claim 169))), no prefix
    /// (docs/eid-format.md).
    pub code: String,
    pub disclosed: DisclosedDto,
    /// RFC 3339, UTC.
    pub issued_at: String,
    /// RFC 3339, UTC: verifiers refuse it after this.
    pub expires_at: String,
}

/// One of your documents (never its content: we keep only what listing and
/// revoking need).
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentDto {
    pub id: String,
    /// The details it holds.
    pub fields: Vec<String>,
    pub issued_at: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// `valid`, `expired`, `revoked`, `card_revoked` or `card_suspended`.
    #[schema(example = "valid")]
    pub state: &'static str,
}

pub(crate) fn disclosed_dto(doc: &IssuedDocument) -> DisclosedDto {
    let i = &doc.identity;
    DisclosedDto {
        id_number: i.id.clone(),
        name: i.full_name.clone(),
        birth_date: i.date_of_birth.clone(),
        sex: i.gender.map(|g| g.name()),
        address: i.address.clone(),
        nationality: i.nationality.clone(),
        photo_format: i.photo_format.map(|f| f.name()),
    }
}

fn issued_dto(doc: &IssuedDocument) -> IssuedDocumentDto {
    IssuedDocumentDto {
        id: doc.id.to_string(),
        code: doc.text.clone(),
        disclosed: disclosed_dto(doc),
        issued_at: doc.issued_at.to_rfc3339(),
        expires_at: doc.expires_at.to_rfc3339(),
    }
}

fn document_dto(d: &DocumentSummary) -> DocumentDto {
    DocumentDto {
        id: d.id.to_string(),
        fields: d.fields.clone(),
        issued_at: d.issued_at.to_rfc3339(),
        expires_at: d.expires_at.to_rfc3339(),
        revoked_at: d.revoked_at.map(|t| t.to_rfc3339()),
        state: d.state.name(),
    }
}

pub(crate) fn document_problem(lang: Lang, error: &DocumentError) -> Problem {
    let invalid =
        |pointer: &str, code: &str| Problem::validation(lang, vec![field(lang, pointer, code)]);
    match error {
        DocumentError::NoFields => invalid("/fields", "eid_document_fields"),
        DocumentError::UnknownField(_) => invalid("/fields", "eid_document_fields"),
        DocumentError::UnknownValidity => invalid("/validity", "eid_document_validity"),
        DocumentError::NoPortrait => invalid("/fields", "eid_document_no_photo"),
        DocumentError::PortraitFormat => invalid("/fields", "eid_document_photo_format"),
        DocumentError::TooLarge => invalid("/fields", "eid_document_too_large"),
        DocumentError::NationalityUnknown => invalid("/fields", "eid_document_nationality"),
        DocumentError::NotFound => Problem::new(ProblemKind::NotFound, lang, &[]),
        DocumentError::Eid(e) => eid_problem(lang, e),
    }
}

/// Make a printable identity document (MOSIP Claim 169) holding the details
/// you choose, valid for the period you choose. Anyone who scans it reads
/// everything in it, until it expires or you revoke it. It is recorded in
/// your access log with the details it holds.
#[utoipa::path(
    post,
    path = "/api/v1/eid/documents",
    tag = "eid",
    request_body = DocumentRequestDto,
    responses(
        (status = 201, body = IssuedDocumentDto),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No card activated", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The card is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No or unknown details, unknown validity, no usable photo", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many codes in a minute", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn issue(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    ApiJson(request): ApiJson<DocumentRequestDto>,
) -> Response {
    let request = match DocumentRequest::parse(&request.fields, &request.validity) {
        Ok(r) => r,
        Err(e) => return document_problem(lang.lang, &e).into_response(),
    };
    match app_doc::issue(
        &state.services,
        &state.identity.eid,
        Some(state.identity.registry.as_ref()),
        &session.account,
        &request,
    )
    .await
    {
        Ok(doc) => no_store((StatusCode::CREATED, Json(issued_dto(&doc))).into_response()),
        Err(e) => document_problem(lang.lang, &e).into_response(),
    }
}

/// Your printable identity documents, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/eid/documents",
    tag = "eid",
    responses(
        (status = 200, body = Vec<DocumentDto>),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match app_doc::list(&state.services, &session.account).await {
        Ok(docs) => {
            no_store(Json(docs.iter().map(document_dto).collect::<Vec<_>>()).into_response())
        }
        Err(e) => document_problem(lang.lang, &e).into_response(),
    }
}

/// Revoke one of your documents: verifiers refuse it as soon as they fetch
/// the next status list.
#[utoipa::path(
    post,
    path = "/api/v1/eid/documents/{id}/revoke",
    tag = "eid",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document of yours, or revoked already", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return document_problem(lang.lang, &DocumentError::NotFound).into_response();
    };
    match app_doc::revoke(&state.services, &state.identity.eid, &session.account, id).await {
        Ok(()) => no_store(StatusCode::NO_CONTENT.into_response()),
        Err(e) => document_problem(lang.lang, &e).into_response(),
    }
}
