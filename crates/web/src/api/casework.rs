//! Purpose-bound staff access over the JSON API (see
//! `shengshi_app::casework` and `shengshi_app::break_glass`): the correction
//! queue (no personal data), taking and assigning a request, opening the
//! record of a request assigned to the caller, deciding it; break-glass
//! openings with a justification; the supervisors' alerts and their review.
//! The staff pages (`pages::casework`) do the same for a browser.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::break_glass::{self, BreakGlassError, ReviewError};
use shengshi_app::casework::{self, CaseError, Decision, ResidentRecord};
use shengshi_app::staff::capability::{authorize, CorrectionDeskCap};
use shengshi_domain::StaffId;
use shengshi_i18n::{t, Lang};
use shengshi_store::{BreakGlassOutcome, StoredBreakGlass};
use utoipa::{IntoParams, ToSchema};

use super::staff::StaffAuthenticated;
use crate::lang::RequestLang;
use crate::problem::{ApiJson, FieldError, Problem, ProblemKind};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItemDto {
    pub id: String,
    /// `name`, `phone`, `address` or `other`.
    pub field: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    /// The staff member working on it, if anyone.
    pub assigned_to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RecordDto {
    pub account_id: String,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub assurance_level: i64,
    /// `active`, `evicted` or `closed`.
    pub status: String,
    pub in_person_verified_at: Option<String>,
}

impl std::fmt::Debug for RecordDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordDto([personal data])")
    }
}

impl From<ResidentRecord> for RecordDto {
    fn from(r: ResidentRecord) -> Self {
        Self {
            account_id: r.account.to_string(),
            name: r.name,
            id_number: r.id_number,
            phone: r.phone,
            assurance_level: r.assurance_level,
            status: r.status,
            in_person_verified_at: r.in_person_verified_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CaseDto {
    pub id: String,
    pub field: String,
    pub proposed_value: String,
    pub explanation: String,
    /// `open`, `done` or `rejected`.
    pub status: String,
    pub received_at: String,
    pub decided_at: Option<String>,
    pub record: RecordDto,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignBody {
    /// The member of the department to assign the request to.
    pub staff_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionBody {
    /// `done` (corrected in the registry) or `rejected`.
    pub decision: String,
    /// To the resident; required for a rejection, at most 1000 characters.
    #[serde(default)]
    pub note: String,
}

impl std::fmt::Debug for CaseDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseDto")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize, ToSchema)]
pub struct BreakGlassBody {
    /// The resident's 18-character ID number.
    pub id_number: String,
    /// Why this cannot wait: 20 to 1000 characters, no personal data.
    pub justification: String,
}

impl std::fmt::Debug for BreakGlassBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BreakGlassBody([personal data])")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BreakGlassOpenedDto {
    /// The break-glass access, as the supervisors' alert names it.
    pub access_id: String,
    pub record: RecordDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDto {
    pub id: String,
    pub at: String,
    pub staff_id: String,
    pub staff_username: String,
    pub department: &'static str,
    pub account_id: String,
    pub justification: String,
    /// `justified` or `referred`, once reviewed.
    pub outcome: Option<&'static str>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<String>,
    pub review_note: Option<String>,
}

fn alert_dto(access: StoredBreakGlass, staff_username: String) -> AlertDto {
    let review = access.review.as_ref();
    AlertDto {
        id: access.id.to_string(),
        at: access.created_at.to_rfc3339(),
        staff_id: access.staff.to_string(),
        staff_username,
        department: access.department.name(),
        account_id: access.account.to_string(),
        outcome: review.map(|r| r.outcome.name()),
        reviewed_by: review.map(|r| r.by.to_string()),
        reviewed_at: review.map(|r| r.at.to_rfc3339()),
        review_note: review.and_then(|r| r.note.clone()),
        justification: access.justification,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AlertsQuery {
    /// Only the accesses no supervisor has reviewed yet.
    #[serde(default)]
    pub unreviewed: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewBody {
    /// `justified` or `referred` (to the auditors).
    pub outcome: String,
    /// Required for a referral, at most 1000 characters.
    #[serde(default)]
    pub note: String,
}

fn forbidden(lang: Lang) -> Problem {
    Problem::new(ProblemKind::StaffForbidden, lang, &[])
}

/// One field's error, worded as the staff pages word it.
fn invalid(lang: Lang, pointer: &str, code: &str) -> Problem {
    Problem::validation(
        lang,
        vec![FieldError {
            pointer: pointer.to_owned(),
            code: code.to_owned(),
            detail: t(lang, &format!("staff_cases.error.{code}")).to_owned(),
        }],
    )
}

fn case_problem(lang: Lang, error: CaseError) -> Problem {
    let kind = match error {
        CaseError::NotFound => ProblemKind::CaseNotFound,
        CaseError::NotAssigned => ProblemKind::CaseNotAssigned,
        CaseError::AlreadyAssigned => ProblemKind::CaseAlreadyAssigned,
        CaseError::AlreadyDecided => ProblemKind::CaseAlreadyDecided,
        CaseError::OtherDepartment => ProblemKind::StaffForbidden,
        CaseError::NotACaseworker => return invalid(lang, "/staff_id", error.code()),
        CaseError::NoteRequired | CaseError::NoteTooLong => {
            return invalid(lang, "/note", error.code())
        }
        CaseError::Internal(e) => return Problem::internal(lang, &e),
    };
    Problem::new(kind, lang, &[])
}

fn parse_id(lang: Lang, id: &str) -> Result<uuid::Uuid, Problem> {
    id.parse()
        .map_err(|_| Problem::new(ProblemKind::CaseNotFound, lang, &[]))
}

/// The caller's correction-desk capability and the request id in the path.
fn desk_and_case(
    lang: Lang,
    staff: &StaffAuthenticated,
    id: &str,
) -> Result<(CorrectionDeskCap, uuid::Uuid), Problem> {
    let desk = authorize(&staff.0.member)
        .correction_desk
        .ok_or_else(|| forbidden(lang))?;
    Ok((desk, parse_id(lang, id)?))
}

/// The open correction requests, oldest first (the correction desk).
#[utoipa::path(
    get,
    path = "/api/v1/staff/corrections",
    tag = "staff",
    responses(
        (status = 200, body = [QueueItemDto]),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not on the correction desk", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn queue(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
) -> Response {
    let lang = lang.lang;
    let Some(desk) = authorize(&staff.0.member).correction_desk else {
        return forbidden(lang).into_response();
    };
    match casework::queue(&state.services, &desk).await {
        Ok(items) => Json(
            items
                .into_iter()
                .map(|i| QueueItemDto {
                    id: i.id.to_string(),
                    field: i.field,
                    received_at: i.created_at.to_rfc3339(),
                    assigned_to: i.assigned_to.map(|s| s.to_string()),
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => case_problem(lang, e).into_response(),
    }
}

/// Take an unassigned request for yourself.
#[utoipa::path(
    post,
    path = "/api/v1/staff/corrections/{id}/take",
    tag = "staff",
    params(("id" = String, Path, description = "The correction request's id")),
    responses(
        (status = 204, description = "Assigned to you"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already assigned or decided", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn take(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
) -> Response {
    let lang = lang.lang;
    let (desk, id) = match desk_and_case(lang, &staff, &id) {
        Ok(found) => found,
        Err(problem) => return problem.into_response(),
    };
    match casework::take(&state.services, &desk, id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => case_problem(lang, e).into_response(),
    }
}

/// Assign (or reassign) a request to a member of the department (supervisors).
#[utoipa::path(
    post,
    path = "/api/v1/staff/corrections/{id}/assignment",
    tag = "staff",
    params(("id" = String, Path, description = "The correction request's id")),
    request_body = AssignBody,
    responses(
        (status = 204, description = "Assigned"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor of the correction desk", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Decided, or reassigned by someone else meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an active caseworker of the department", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Response {
    let lang = lang.lang;
    let caps = authorize(&staff.0.member);
    let (Some(desk), Some(boss)) = (caps.correction_desk, caps.supervisor) else {
        return forbidden(lang).into_response();
    };
    let id = match parse_id(lang, &id) {
        Ok(id) => id,
        Err(problem) => return problem.into_response(),
    };
    let Ok(to) = body.staff_id.trim().parse::<uuid::Uuid>() else {
        return invalid(lang, "/staff_id", CaseError::NotACaseworker.code()).into_response();
    };
    match casework::assign(&state.services, &desk, &boss, id, StaffId::from_uuid(to)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => case_problem(lang, e).into_response(),
    }
}

/// Open a request assigned to you, with the resident's record. The opening is
/// logged; the resident sees it (department and role, not your name).
#[utoipa::path(
    get,
    path = "/api/v1/staff/corrections/{id}",
    tag = "staff",
    params(("id" = String, Path, description = "The correction request's id")),
    responses(
        (status = 200, body = CaseDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not on the correction desk, or not assigned to you (nothing opens)", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn open(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
) -> Response {
    let lang = lang.lang;
    let (desk, id) = match desk_and_case(lang, &staff, &id) {
        Ok(found) => found,
        Err(problem) => return problem.into_response(),
    };
    match casework::open(&state.services, &desk, id).await {
        Ok(c) => crate::no_store(
            Json(CaseDto {
                id: c.id.to_string(),
                field: c.field,
                proposed_value: c.proposed_value,
                explanation: c.explanation,
                status: c.status,
                received_at: c.created_at.to_rfc3339(),
                decided_at: c.decided_at.map(|t| t.to_rfc3339()),
                record: c.record.into(),
            })
            .into_response(),
        ),
        Err(e) => case_problem(lang, e).into_response(),
    }
}

/// Decide a request assigned to you; the resident reads the note.
#[utoipa::path(
    post,
    path = "/api/v1/staff/corrections/{id}/decision",
    tag = "staff",
    params(("id" = String, Path, description = "The correction request's id")),
    request_body = DecisionBody,
    responses(
        (status = 204, description = "Decided"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not assigned to you", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No decision, a rejection without a note, or a note too long", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn decide(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Response {
    let lang = lang.lang;
    let (desk, id) = match desk_and_case(lang, &staff, &id) {
        Ok(found) => found,
        Err(problem) => return problem.into_response(),
    };
    let Some(decision) = Decision::from_name(body.decision.trim()) else {
        return invalid(lang, "/decision", "decision_missing").into_response();
    };
    match casework::decide(&state.services, &desk, id, decision, &body.note).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => case_problem(lang, e).into_response(),
    }
}

/// Open a resident's record without assigned work. The justification is
/// stored and your department's supervisors are alerted before the record
/// opens; the resident's access log flags the access.
#[utoipa::path(
    post,
    path = "/api/v1/staff/break-glass",
    tag = "staff",
    request_body = BreakGlassBody,
    responses(
        (status = 201, body = BreakGlassOpenedDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Auditors, administrators and platform operations may not", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A justification too short or too long, an invalid ID number, or no active account with it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn break_glass(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    ApiJson(body): ApiJson<BreakGlassBody>,
) -> Response {
    let lang = lang.lang;
    let Some(cap) = authorize(&staff.0.member).break_glass else {
        return forbidden(lang).into_response();
    };
    let opened = break_glass::open_record(
        &state.services,
        &state.identity.secrets,
        &cap,
        &body.id_number,
        &body.justification,
    )
    .await;
    match opened {
        Ok((access, record)) => crate::no_store(
            (
                StatusCode::CREATED,
                Json(BreakGlassOpenedDto {
                    access_id: access.id.to_string(),
                    record: record.into(),
                }),
            )
                .into_response(),
        ),
        Err(BreakGlassError::Internal(e)) => Problem::internal(lang, &e).into_response(),
        Err(
            e @ (BreakGlassError::JustificationTooShort | BreakGlassError::JustificationTooLong),
        ) => invalid(lang, "/justification", e.code()).into_response(),
        Err(e) => invalid(lang, "/id_number", e.code()).into_response(),
    }
}

/// Your department's break-glass accesses, newest first (supervisors).
#[utoipa::path(
    get,
    path = "/api/v1/staff/break-glass/alerts",
    tag = "staff",
    params(AlertsQuery),
    responses(
        (status = 200, body = [AlertDto]),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn alerts(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Query(query): Query<AlertsQuery>,
) -> Response {
    let lang = lang.lang;
    let Some(boss) = authorize(&staff.0.member).supervisor else {
        return forbidden(lang).into_response();
    };
    match break_glass::alerts(&state.services, &boss, query.unreviewed).await {
        Ok(list) => Json(
            list.into_iter()
                .map(|a| alert_dto(a.access, a.staff_username))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => Problem::internal(lang, &e).into_response(),
    }
}

/// Review a break-glass access of your department (not your own), once.
#[utoipa::path(
    post,
    path = "/api/v1/staff/break-glass/alerts/{id}/review",
    tag = "staff",
    params(("id" = String, Path, description = "The break-glass access's id")),
    request_body = ReviewBody,
    responses(
        (status = 200, body = AlertDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor, or your own access", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such access in your department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already reviewed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No outcome, a referral without a note, or a note too long", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn review(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> Response {
    let lang = lang.lang;
    let Some(boss) = authorize(&staff.0.member).supervisor else {
        return forbidden(lang).into_response();
    };
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return Problem::new(ProblemKind::BreakGlassNotFound, lang, &[]).into_response();
    };
    let Some(outcome) = BreakGlassOutcome::from_name(body.outcome.trim()) else {
        return invalid(lang, "/outcome", "outcome_missing").into_response();
    };
    match break_glass::review(&state.services, &boss, id, outcome, &body.note).await {
        Ok(access) => {
            let username = match state.services.store.staff(access.staff).await {
                Ok(member) => member.map(|m| m.username).unwrap_or_default(),
                Err(e) => return Problem::internal(lang, &e).into_response(),
            };
            Json(alert_dto(access, username)).into_response()
        }
        Err(e) => {
            let kind = match e {
                ReviewError::NotFound => ProblemKind::BreakGlassNotFound,
                ReviewError::OwnAccess => ProblemKind::BreakGlassOwnAccess,
                ReviewError::AlreadyReviewed => ProblemKind::BreakGlassAlreadyReviewed,
                ReviewError::NoteTooLong | ReviewError::NoteRequired => {
                    return invalid(lang, "/note", e.code()).into_response()
                }
                ReviewError::Internal(e) => return Problem::internal(lang, &e).into_response(),
            };
            Problem::new(kind, lang, &[]).into_response()
        }
    }
}
