//! Deferred disclosure over the JSON API (see `shengshi_app::embargo`): a
//! clerk requests an embargo on telling a resident about accesses, citing the
//! law; a supervisor of the same department, not the requester, approves or
//! refuses it. No staff pages yet: this API is the only way in.
//!
//! Also the public, aggregate access statistics, which count embargoed
//! accesses like any other (no subject, no staff member, only numbers).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::access_view;
use shengshi_app::embargo::{self, DecideError, EmbargoRequest, RequestError};
use shengshi_app::staff::capability::{authorize, SupervisorCap};
use shengshi_domain::{EmbargoId, SubjectId, Timestamp};
use shengshi_i18n::Lang;
use shengshi_store::StoredEmbargo;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};
use utoipa::ToSchema;

use super::registration::field;
use super::staff::StaffAuthenticated;
use crate::lang::{query_param, RequestLang};
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmbargoRequestBody {
    /// The resident (data subject) whose accesses are to be withheld.
    pub subject_id: String,
    /// The cited law and article, e.g. `刑事诉讼法第152条` or `PIPL Art. 18(1)`; 1 to 200 characters.
    pub legal_basis: String,
    /// When the embargo ends (RFC 3339): in the future, at most a year away.
    pub until: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmbargoDto {
    pub id: String,
    pub subject_id: String,
    pub legal_basis: String,
    /// RFC 3339, UTC.
    pub until: String,
    /// `requested`, `approved` or `refused`.
    #[schema(example = "requested")]
    pub status: &'static str,
    /// The requesting clerk's department, e.g. `public_security`.
    pub department: &'static str,
    pub requested_by: String,
    /// The supervisor who decided, once decided.
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

fn dto(e: StoredEmbargo) -> EmbargoDto {
    EmbargoDto {
        id: e.id.to_string(),
        subject_id: e.subject.to_string(),
        legal_basis: e.legal_basis,
        until: e.until.to_rfc3339(),
        status: e.status.name(),
        department: e.department.name(),
        requested_by: e.requested_by.to_string(),
        decided_by: e.approved_by.map(|s| s.to_string()),
        decided_at: e.decided_at.map(|t| t.to_rfc3339()),
    }
}

fn forbidden(lang: Lang) -> Problem {
    Problem::new(ProblemKind::StaffForbidden, lang, &[])
}

fn request_problem(lang: Lang, error: RequestError) -> Problem {
    let kind = match error {
        RequestError::NoBasis => ProblemKind::EmbargoNoBasis,
        RequestError::BasisTooLong => ProblemKind::EmbargoBasisTooLong,
        RequestError::EndsInThePast => ProblemKind::EmbargoEndsInThePast,
        RequestError::TooLong => ProblemKind::EmbargoTooLong,
        RequestError::Internal(e) => return Problem::internal(lang, &e),
    };
    Problem::new(kind, lang, &[])
}

fn decide_problem(lang: Lang, error: DecideError) -> Problem {
    let kind = match error {
        DecideError::NotFound => ProblemKind::EmbargoNotFound,
        DecideError::OwnRequest => ProblemKind::EmbargoOwnRequest,
        DecideError::AlreadyDecided => ProblemKind::EmbargoAlreadyDecided,
        DecideError::Internal(e) => return Problem::internal(lang, &e),
    };
    Problem::new(kind, lang, &[])
}

/// Request an embargo (clerks and supervisors).
#[utoipa::path(
    post,
    path = "/api/v1/staff/embargoes",
    tag = "staff",
    request_body = EmbargoRequestBody,
    responses(
        (status = 201, body = EmbargoDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a clerk or supervisor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No basis, a basis too long, an end in the past or more than a year away", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn request(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    ApiJson(body): ApiJson<EmbargoRequestBody>,
) -> Response {
    let lang = lang.lang;
    let Some(cap) = authorize(&staff.0.member).clerk else {
        return forbidden(lang).into_response();
    };
    let mut errors = Vec::new();
    let subject = body.subject_id.trim().parse::<SubjectId>().ok();
    if subject.is_none() {
        errors.push(field(lang, "/subject_id", "embargo_subject"));
    }
    let until = OffsetDateTime::parse(body.until.trim(), &Rfc3339)
        .ok()
        .map(Timestamp::from_offset_date_time);
    if until.is_none() {
        errors.push(field(lang, "/until", "timestamp_format"));
    }
    let (Some(subject), Some(until)) = (subject, until) else {
        return Problem::validation(lang, errors).into_response();
    };
    let asked = EmbargoRequest {
        subject,
        basis: body.legal_basis,
        until,
    };
    match embargo::request(&state.services, &cap, asked).await {
        Ok(e) => (StatusCode::CREATED, Json(dto(e))).into_response(),
        Err(e) => request_problem(lang, e).into_response(),
    }
}

async fn decide(
    state: &AppState,
    lang: Lang,
    staff: &StaffAuthenticated,
    id: &str,
    approve: bool,
) -> Result<EmbargoDto, Problem> {
    let cap: SupervisorCap = authorize(&staff.0.member)
        .supervisor
        .ok_or_else(|| forbidden(lang))?;
    let id = id
        .parse::<EmbargoId>()
        .map_err(|_| Problem::new(ProblemKind::EmbargoNotFound, lang, &[]))?;
    let decided = if approve {
        embargo::approve(&state.services, &cap, id).await
    } else {
        embargo::refuse(&state.services, &cap, id).await
    };
    decided.map(dto).map_err(|e| decide_problem(lang, e))
}

/// Approve an embargo (a supervisor of the requester's department, not the requester).
#[utoipa::path(
    post,
    path = "/api/v1/staff/embargoes/{id}/approve",
    tag = "staff",
    params(("id" = String, Path, description = "The embargo's id")),
    responses(
        (status = 200, body = EmbargoDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor, or their own request", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such embargo in the supervisor's department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
) -> Response {
    match decide(&state, lang.lang, &staff, &id, true).await {
        Ok(e) => Json(e).into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// Refuse an embargo (a supervisor of the requester's department, not the requester).
#[utoipa::path(
    post,
    path = "/api/v1/staff/embargoes/{id}/refuse",
    tag = "staff",
    params(("id" = String, Path, description = "The embargo's id")),
    responses(
        (status = 200, body = EmbargoDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor, or their own request", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such embargo in the supervisor's department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refuse(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    Path(id): Path<String>,
) -> Response {
    match decide(&state, lang.lang, &staff, &id, false).await {
        Ok(e) => Json(e).into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// One count.
#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    /// A purpose (`counter_check`), department (`public_security`) or kind of accessor (`staff`).
    pub name: &'static str,
    pub count: u64,
}

/// Published numbers about accesses to residents' data in a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessStatisticsDto {
    /// First day counted (Beijing time).
    pub from: String,
    /// Last day counted (Beijing time).
    pub to: String,
    pub total: u64,
    /// Of `total`, accesses made under an embargo (the residents concerned are told when it ends).
    pub embargoed: u64,
    pub by_purpose: Vec<Count>,
    /// Staff accesses per department.
    pub by_department: Vec<Count>,
    pub by_accessor: Vec<Count>,
}

/// The longest period one request may count.
const MAX_PERIOD_DAYS: i64 = 366;
/// Beijing time, the calendar the period's days belong to.
const SHANGHAI: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

fn start_of(day: Date) -> Timestamp {
    Timestamp::from_offset_date_time(day.midnight().assume_offset(SHANGHAI))
}

/// Counts of accesses to residents' personal data, per purpose, department
/// and kind of accessor, over whole days (Beijing time). Public: no subject,
/// no staff member, no reference. Accesses under an embargo are counted too.
#[utoipa::path(
    get,
    path = "/api/v1/access-statistics",
    tag = "access-log",
    params(
        ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD; 30 days before `to` when absent"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD; today when absent"),
    ),
    responses(
        (status = 200, body = AccessStatisticsDto),
        (status = 422, description = "A bad date, or a period that is reversed or longer than 366 days", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn statistics(
    State(state): State<AppState>,
    lang: RequestLang,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = lang.lang;
    let query = query.unwrap_or_default();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let mut errors = Vec::new();
    let mut day = |name: &str| {
        let value = query_param(&query, name).filter(|v| !v.is_empty())?;
        let parsed = Date::parse(value.trim(), &format).ok();
        if parsed.is_none() {
            errors.push(field(lang, &format!("/{name}"), "statistics_date"));
        }
        parsed
    };
    let (from, to) = (day("from"), day("to"));
    if !errors.is_empty() {
        return Problem::validation(lang, errors).into_response();
    }
    let to = to.unwrap_or_else(|| state.services.clock.now().civil_date().date());
    let from = from.unwrap_or(to - time::Duration::days(30));
    let span = (to - from).whole_days();
    let end = to.next_day();
    let (Some(end), true) = (end, (0..MAX_PERIOD_DAYS).contains(&span)) else {
        let errors = vec![field(lang, "/from", "statistics_period")];
        return Problem::validation(lang, errors).into_response();
    };
    let stats = match access_view::statistics(&state.services, start_of(from), start_of(end)).await
    {
        Ok(stats) => stats,
        Err(e) => return Problem::internal(lang, &e).into_response(),
    };
    let counts = |pairs: Vec<(&'static str, u64)>| {
        pairs
            .into_iter()
            .map(|(name, count)| Count { name, count })
            .collect()
    };
    Json(AccessStatisticsDto {
        from: from.to_string(),
        to: to.to_string(),
        total: stats.total,
        embargoed: stats.embargoed,
        by_purpose: counts(
            stats
                .by_purpose
                .iter()
                .map(|(p, n)| (p.name(), *n))
                .collect(),
        ),
        by_department: counts(
            stats
                .by_department
                .iter()
                .map(|(d, n)| (d.name(), *n))
                .collect(),
        ),
        by_accessor: counts(
            stats
                .by_accessor
                .iter()
                .map(|(a, n)| (a.name(), *n))
                .collect(),
        ),
    })
    .into_response()
}
