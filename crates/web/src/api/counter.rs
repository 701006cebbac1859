//! In-person checks at a public security counter over the JSON API (see
//! `shengshi_app::proofing`): the clerk sends a code to the resident's phone,
//! then submits the name and number from the card with the code the resident
//! reads back. Only staff holding the identity-check capability get past the
//! first line of each handler.

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::proofing::{self, CounterCheck, CounterCheckError, CounterOutcome};
use shengshi_app::staff::capability::{authorize, IdentityCheckCap};
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::{PersonName, PhoneCode, ResidentIdNumber};
use shengshi_i18n::Lang;
use std::net::SocketAddr;
use utoipa::ToSchema;

use super::registration::{code_problem, field, parse_phone, send_code, unavailable, CodeRequest};
use super::staff::StaffAuthenticated;
use crate::lang::RequestLang;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CounterCheckRequest {
    /// The name as printed on the identity card.
    pub name: String,
    /// The number as printed on the identity card.
    pub id_number: String,
    /// The resident's mobile number (the code went there).
    pub phone: String,
    /// The six digits the resident reads from their phone.
    pub code: String,
    /// Set after the resident confirms they did not open the account that
    /// holds their identity on another phone: it is then evicted.
    #[serde(default)]
    pub evict_other_account: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CounterCheckDone {
    /// `verified` (their own account), `opened` (a new account) or
    /// `squatter_evicted` (someone else's account evicted, a new one opened).
    pub outcome: &'static str,
    /// The resident's account.
    pub account_id: String,
    /// The evicted account, for `squatter_evicted`.
    pub evicted_account_id: Option<String>,
    /// The resident's level now: 3 once they also hold a passkey.
    pub assurance_level: i64,
}

fn identity_check(lang: Lang, session: &StaffAuthenticated) -> Result<IdentityCheckCap, Problem> {
    authorize(&session.0.member)
        .identity_check
        .ok_or_else(|| Problem::new(ProblemKind::StaffForbidden, lang, &[]))
}

/// Send the resident a code to read back (public security clerks only).
#[utoipa::path(
    post,
    path = "/api/v1/staff/counter-checks/codes",
    tag = "staff",
    request_body = CodeRequest,
    responses(
        (status = 202, body = super::registration::CodeSent),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a public security clerk or supervisor", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Response {
    if let Err(problem) = identity_check(lang.lang, &staff) {
        return problem.into_response();
    }
    send_code(&state, peer, lang.lang, &body, CodePurpose::CounterCheck).await
}

/// Complete the check: marks the resident checked in person, opens their
/// account, or (confirmed) evicts a squatter's.
#[utoipa::path(
    post,
    path = "/api/v1/staff/counter-checks",
    tag = "staff",
    request_body = CounterCheckRequest,
    responses(
        (status = 200, body = CounterCheckDone),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another account holds the identity; confirm eviction", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input, a wrong code, or a registry refusal", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    ApiJson(body): ApiJson<CounterCheckRequest>,
) -> Response {
    let lang = lang.lang;
    let cap = match identity_check(lang, &staff) {
        Ok(cap) => cap,
        Err(problem) => return problem.into_response(),
    };
    let now = state.services.clock.now();
    let mut errors = Vec::new();
    let name = PersonName::parse(&body.name)
        .map_err(|e| errors.push(field(lang, "/name", e.code())))
        .ok();
    let id_number = ResidentIdNumber::parse(&body.id_number, now.civil_date())
        .map_err(|e| errors.push(field(lang, "/id_number", e.code())))
        .ok();
    let phone = parse_phone(lang, &body.phone, &mut errors);
    let code = PhoneCode::parse(&body.code);
    if code.is_none() {
        errors.push(field(lang, "/code", "code_format"));
    }
    let (Some(name), Some(id_number), Some(phone), Some(code)) = (name, id_number, phone, code)
    else {
        return Problem::validation(lang, errors).into_response();
    };
    let check = CounterCheck {
        name,
        id_number,
        phone,
        code,
        evict_other_account: body.evict_other_account,
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
        Err(e) => return counter_problem(lang, e).into_response(),
    };
    let level = match state.services.store.account(outcome.account()).await {
        Ok(Some(account)) => account.assurance_level,
        Ok(None) => return Problem::internal(lang, &"the account vanished").into_response(),
        Err(e) => return Problem::internal(lang, &e).into_response(),
    };
    let (name, evicted) = match outcome {
        CounterOutcome::Verified { .. } => ("verified", None),
        CounterOutcome::Opened { .. } => ("opened", None),
        CounterOutcome::SquatterEvicted { evicted, .. } => {
            ("squatter_evicted", Some(evicted.to_string()))
        }
    };
    Json(CounterCheckDone {
        outcome: name,
        account_id: outcome.account().to_string(),
        evicted_account_id: evicted,
        assurance_level: level,
    })
    .into_response()
}

fn counter_problem(lang: Lang, e: CounterCheckError) -> Problem {
    let kind = match e {
        CounterCheckError::Code(e) => return code_problem(lang, e),
        CounterCheckError::NotInRegistry => ProblemKind::NotInRegistry,
        CounterCheckError::NameMismatch => ProblemKind::NameMismatch,
        CounterCheckError::Deceased => ProblemKind::Deceased,
        CounterCheckError::Emigrated => ProblemKind::Emigrated,
        CounterCheckError::OtherAccountExists => ProblemKind::OtherAccountExists,
        CounterCheckError::RegistryUnavailable(_) => return unavailable(lang, "registry"),
        CounterCheckError::Internal(e) => return Problem::internal(lang, &e),
    };
    Problem::new(kind, lang, &[])
}
