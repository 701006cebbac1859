//! Mandates (亲友代办) over the JSON API: the mandates a resident gave and
//! was given, granting one, revoking one (its grantor only), and every action
//! taken under the mandates a resident gave; the grantee acts under a mandate.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::mandates::{self, ActError, GrantError, GrantRequest, MandateView, RevokeError};
use shengshi_domain::mandate::{
    ActionCode, MandateAction, MandateError, MandateRefusal, Relationship, ServiceCode, ServiceSet,
    MAX_SERVICES,
};
use shengshi_domain::{AccountId, MandateId, Timestamp};
use shengshi_i18n::Lang;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::registration::field;
use super::session::Authenticated;
use crate::lang::RequestLang;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct GrantMandateRequest {
    /// The account that may act for you; it must be a real-name (L2) account.
    pub grantee_account_id: String,
    /// `spouse`, `parent`, `child`, `sibling`, `guardian` or `other_relative`.
    #[schema(example = "child")]
    pub relationship: String,
    /// The services the grantee may use for you (1 to 20 codes, e.g. `social_security.pension`).
    pub services: Vec<String>,
    /// When the mandate starts (RFC 3339); now when omitted.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// When the mandate ends (RFC 3339); at most a year after it starts (five for a guardian).
    pub valid_until: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MandateDto {
    pub id: String,
    pub grantor_account_id: String,
    pub grantee_account_id: String,
    #[schema(example = "child")]
    pub relationship: &'static str,
    pub services: Vec<String>,
    pub valid_from: String,
    pub valid_until: String,
    /// When the grantor revoked it, if they did.
    pub revoked_at: Option<String>,
    pub created_at: String,
    /// `not_yet_valid`, `active`, `expired` or `revoked`, as of now.
    #[schema(example = "active")]
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MandateList {
    /// The mandates you gave, newest first.
    pub granted: Vec<MandateDto>,
    /// The mandates given to you, newest first.
    pub received: Vec<MandateDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MandateActionDto {
    pub id: String,
    pub mandate_id: String,
    /// The account that acted for you (the mandate's grantee).
    pub actor_account_id: String,
    pub service: String,
    pub action: String,
    pub at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActRequest {
    /// The service you act in, one the mandate names (e.g. `social_security.pension`).
    #[schema(example = "social_security.pension")]
    pub service: String,
    /// What you did (e.g. `social_security.pension.certified_alive`).
    #[schema(example = "social_security.pension.certified_alive")]
    pub action: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceivedMandateList {
    /// The mandates given to you, newest first.
    pub received: Vec<MandateDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MandateActionList {
    /// Every action taken for you under the mandates you gave, oldest first.
    pub actions: Vec<MandateActionDto>,
}

fn dto(view: MandateView) -> MandateDto {
    let m = &view.mandate;
    MandateDto {
        id: m.id().to_string(),
        grantor_account_id: m.grantor().to_string(),
        grantee_account_id: m.grantee().to_string(),
        relationship: m.relationship().name(),
        services: m.services().iter().map(|s| s.as_str().to_owned()).collect(),
        valid_from: m.valid_from().to_rfc3339(),
        valid_until: m.valid_until().to_rfc3339(),
        revoked_at: m.revoked_at().map(|t| t.to_rfc3339()),
        created_at: m.created_at().to_rfc3339(),
        status: view.status.name(),
    }
}

fn action_dto(action: MandateAction) -> MandateActionDto {
    MandateActionDto {
        id: action.id.to_string(),
        mandate_id: action.mandate.to_string(),
        actor_account_id: action.actor.to_string(),
        service: action.service.as_str().to_owned(),
        action: action.action.as_str().to_owned(),
        at: action.at.to_rfc3339(),
    }
}

fn parse_time(text: &str) -> Option<Timestamp> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .ok()
        .map(Timestamp::from_offset_date_time)
}

/// The problem for a mandate that cannot be made, with its stable code.
pub(crate) fn mandate_problem(lang: Lang, e: &MandateError) -> Problem {
    match e {
        MandateError::SelfMandate => Problem::new(ProblemKind::SelfMandate, lang, &[]),
        MandateError::GranteeLevelTooLow(level) => Problem::new(
            ProblemKind::GranteeLevelTooLow,
            lang,
            &[("level", &level.to_string())],
        ),
        MandateError::NoServices => Problem::new(ProblemKind::NoServices, lang, &[]),
        MandateError::TooManyServices(count) => Problem::new(
            ProblemKind::TooManyServices,
            lang,
            &[
                ("count", &count.to_string()),
                ("max", &MAX_SERVICES.to_string()),
            ],
        ),
        MandateError::BadCode(code) => Problem::new(ProblemKind::BadCode, lang, &[("code", code)]),
        MandateError::EndsBeforeStart => Problem::new(ProblemKind::EndsBeforeStart, lang, &[]),
        MandateError::TooLong { max_days, .. } => Problem::new(
            ProblemKind::TooLong,
            lang,
            &[("max_days", &max_days.to_string())],
        ),
        MandateError::UnknownRelationship(name) => Problem::new(
            ProblemKind::UnknownRelationship,
            lang,
            &[("relationship", name)],
        ),
    }
}

fn grant_problem(lang: Lang, e: GrantError) -> Problem {
    match e {
        GrantError::GrantorNotActive => Problem::new(ProblemKind::GrantorNotActive, lang, &[]),
        GrantError::NoSuchGrantee => Problem::new(ProblemKind::NoSuchGrantee, lang, &[]),
        GrantError::Invalid(e) => mandate_problem(lang, &e),
        GrantError::AlreadyEnded => Problem::new(ProblemKind::AlreadyEnded, lang, &[]),
        GrantError::Internal(e) => Problem::internal(lang, &e),
    }
}

/// The mandates you gave and the mandates given to you.
#[utoipa::path(
    get,
    path = "/api/v1/mandates",
    tag = "mandates",
    responses(
        (status = 200, body = MandateList),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    let me = session.account.id;
    let granted = mandates::list_for_grantor(&state.services, me).await;
    let received = mandates::list_for_grantee(&state.services, me).await;
    match (granted, received) {
        (Ok(granted), Ok(received)) => Json(MandateList {
            granted: granted.into_iter().map(dto).collect(),
            received: received.into_iter().map(dto).collect(),
        })
        .into_response(),
        (Err(e), _) | (_, Err(e)) => Problem::internal(lang.lang, &e).into_response(),
    }
}

/// Give a mandate: let a family member or guardian act for you in the named
/// services until `valid_until`.
#[utoipa::path(
    post,
    path = "/api/v1/mandates",
    tag = "mandates",
    request_body = GrantMandateRequest,
    responses(
        (status = 201, body = MandateDto),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your account cannot give mandates", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input, or the mandate breaks a rule (self, grantee level, services, validity)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn grant(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    ApiJson(body): ApiJson<GrantMandateRequest>,
) -> Response {
    let lang = lang.lang;
    let mut errors = Vec::new();
    let grantee = body
        .grantee_account_id
        .trim()
        .parse::<AccountId>()
        .map_err(|_| errors.push(field(lang, "/grantee_account_id", "account_id_format")))
        .ok();
    let valid_from = match body.valid_from.as_deref() {
        None => Some(state.services.clock.now()),
        Some(text) => {
            let parsed = parse_time(text);
            if parsed.is_none() {
                errors.push(field(lang, "/valid_from", "timestamp_format"));
            }
            parsed
        }
    };
    let valid_until = parse_time(&body.valid_until);
    if valid_until.is_none() {
        errors.push(field(lang, "/valid_until", "timestamp_format"));
    }
    let (Some(grantee), Some(valid_from), Some(valid_until)) = (grantee, valid_from, valid_until)
    else {
        return Problem::validation(lang, errors).into_response();
    };
    let Some(relationship) = Relationship::from_name(body.relationship.trim()) else {
        let e = MandateError::UnknownRelationship(body.relationship.clone());
        return mandate_problem(lang, &e).into_response();
    };
    let services = match ServiceSet::parse(&body.services) {
        Ok(services) => services,
        Err(e) => return mandate_problem(lang, &e).into_response(),
    };
    let request = GrantRequest {
        grantor: session.account.id,
        grantee,
        relationship,
        services,
        valid_from,
        valid_until,
    };
    match mandates::grant(&state.services, request).await {
        Ok(mandate) => {
            let status = mandate.status(state.services.clock.now());
            let view = MandateView { mandate, status };
            (StatusCode::CREATED, Json(dto(view))).into_response()
        }
        Err(e) => grant_problem(lang, e).into_response(),
    }
}

/// Revoke a mandate you gave. Revoking it again answers the same.
#[utoipa::path(
    delete,
    path = "/api/v1/mandates/{id}",
    tag = "mandates",
    params(("id" = String, Path, description = "The mandate")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You gave no such mandate", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Response {
    let lang = lang.lang;
    let Ok(id) = id.parse::<MandateId>() else {
        return Problem::new(ProblemKind::MandateNotFound, lang, &[]).into_response();
    };
    match mandates::revoke(&state.services, id, session.account.id).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(RevokeError::NotFound) => {
            Problem::new(ProblemKind::MandateNotFound, lang, &[]).into_response()
        }
        Err(RevokeError::Internal(e)) => Problem::internal(lang, &e).into_response(),
    }
}

/// Every action taken for you under the mandates you gave, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/mandates/actions",
    tag = "mandates",
    responses(
        (status = 200, body = MandateActionList),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn actions(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match mandates::actions_for_grantor(&state.services, session.account.id).await {
        Ok(actions) => Json(MandateActionList {
            actions: actions.into_iter().map(action_dto).collect(),
        })
        .into_response(),
        Err(e) => Problem::internal(lang.lang, &e).into_response(),
    }
}

/// The mandates given to you, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/mandates/received",
    tag = "mandates",
    responses(
        (status = 200, body = ReceivedMandateList),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn received(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match mandates::list_for_grantee(&state.services, session.account.id).await {
        Ok(received) => Json(ReceivedMandateList {
            received: received.into_iter().map(dto).collect(),
        })
        .into_response(),
        Err(e) => Problem::internal(lang.lang, &e).into_response(),
    }
}

fn act_problem(lang: Lang, e: ActError, service: &ServiceCode) -> Problem {
    match e {
        ActError::NoSuchMandate => Problem::new(ProblemKind::MandateUnknown, lang, &[]),
        ActError::Refused(refusal) => {
            let kind = match refusal {
                MandateRefusal::NotGrantee => ProblemKind::NotGrantee,
                MandateRefusal::ServiceNotCovered => ProblemKind::ServiceNotCovered,
                MandateRefusal::NotYetValid => ProblemKind::MandateNotYetValid,
                MandateRefusal::Expired => ProblemKind::MandateExpired,
                MandateRefusal::Revoked => ProblemKind::MandateRevoked,
            };
            Problem::new(kind, lang, &[("service", service.as_str())])
        }
        ActError::Internal(e) => Problem::internal(lang, &e),
    }
}

/// Act for the grantor under a mandate given to you: the action is recorded
/// (and shown to the grantor) only if the mandate allows it at that moment.
#[utoipa::path(
    post,
    path = "/api/v1/mandates/{id}/actions",
    tag = "mandates",
    params(("id" = String, Path, description = "A mandate given to you")),
    request_body = ActRequest,
    responses(
        (status = 201, body = MandateActionDto, description = "Recorded"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The mandate was not given to you, does not cover the service, has not started, has expired or was revoked; nothing was recorded", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such mandate", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid service or action code", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn act(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ActRequest>,
) -> Response {
    let lang = lang.lang;
    let Ok(id) = id.parse::<MandateId>() else {
        return Problem::new(ProblemKind::MandateUnknown, lang, &[]).into_response();
    };
    let service = ServiceCode::parse(body.service.trim());
    let action = ActionCode::parse(body.action.trim());
    let (service, action) = match (service, action) {
        (Ok(service), Ok(action)) => (service, action),
        (Err(e), _) | (_, Err(e)) => return mandate_problem(lang, &e).into_response(),
    };
    let result = mandates::act_under_mandate(
        &state.services,
        id,
        session.account.id,
        service.clone(),
        action,
    )
    .await;
    match result {
        Ok(recorded) => (StatusCode::CREATED, Json(action_dto(recorded))).into_response(),
        Err(e) => act_problem(lang, e, &service).into_response(),
    }
}
