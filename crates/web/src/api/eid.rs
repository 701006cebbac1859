//! The electronic resident ID card over the JSON API: activate a card, mint a
//! presentation code for a purpose, report the phone lost (suspend) and
//! resume; and the public, unauthenticated documents every verifier needs —
//! the signed trust list, its JWK Set, and the signed status list.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::eid::{self as app_eid, CardSummary, EidError, Presentation};
use shengshi_eid::{Purpose, VerifierCategory};
use shengshi_i18n::Lang;
use utoipa::ToSchema;

use super::registration::field;
use super::session::Authenticated;
use crate::lang::RequestLang;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::{no_store, AppState};

/// The resident's electronic ID card.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardDto {
    pub id: String,
    /// `active` or `suspended` (a revoked card is no longer the current card).
    #[schema(example = "active")]
    pub status: &'static str,
    /// Why it has that status: `activated`, `phone_lost`, `resumed`, …
    pub reason: &'static str,
    /// RFC 3339, UTC.
    pub activated_at: String,
}

pub(crate) fn card_dto(card: &CardSummary) -> CardDto {
    CardDto {
        id: card.id.to_string(),
        status: card.status.name(),
        reason: card.reason.name(),
        activated_at: card.activated_at.to_rfc3339(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PresentationRequest {
    /// `hotel_checkin`, `travel_security`, `age_over_18` or `identity_full`.
    #[schema(example = "hotel_checkin")]
    pub purpose: String,
    /// The kind of verifier: `hotel`, `railway`, `airport`, `bank`,
    /// `government` or `retail`. Defaults to the purpose's usual verifier.
    #[serde(default)]
    pub category: Option<String>,
}

/// A presentation code: show it as a QR code (alphanumeric mode, error
/// correction M). It is valid for 60 seconds; ask for a new one every 30.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresentationDto {
    /// The QR text: `SS1:` + base45 (docs/eid-format.md).
    pub code: String,
    pub purpose: &'static str,
    pub category: &'static str,
    /// RFC 3339, UTC.
    pub issued_at: String,
    /// RFC 3339, UTC: verifiers refuse the code after this.
    pub expires_at: String,
    /// The code's id (hex of its `cti`), as the access log names it.
    pub id: String,
    /// When to ask for the next code.
    pub refresh_after_seconds: u32,
}

/// How often the card page asks for a new code (half a code's life).
pub const REFRESH_SECONDS: u32 = 30;

pub(crate) fn presentation_dto(p: &Presentation) -> PresentationDto {
    PresentationDto {
        code: p.text.clone(),
        purpose: p.purpose.name(),
        category: p.category.name(),
        issued_at: p.issued_at.to_rfc3339(),
        expires_at: p.expires_at.to_rfc3339(),
        id: p.id.clone(),
        refresh_after_seconds: REFRESH_SECONDS,
    }
}

/// The verifier a purpose is usually shown to.
pub fn default_category(purpose: Purpose) -> VerifierCategory {
    match purpose {
        Purpose::HotelCheckin => VerifierCategory::Hotel,
        Purpose::TravelSecurity => VerifierCategory::Railway,
        Purpose::AgeOver18 => VerifierCategory::Retail,
        Purpose::IdentityFull => VerifierCategory::Government,
    }
}

pub(crate) fn eid_problem(lang: Lang, error: &EidError) -> Problem {
    let kind = match error {
        EidError::NotReady(_) => ProblemKind::EidNotReady,
        EidError::NotEligible => ProblemKind::EidNotEligible,
        EidError::RegistryRefused("name_mismatch") => ProblemKind::NameMismatch,
        EidError::RegistryRefused("deceased") => ProblemKind::Deceased,
        EidError::RegistryRefused("emigrated") => ProblemKind::Emigrated,
        EidError::RegistryRefused(_) => ProblemKind::NotInRegistry,
        EidError::RegistryUnavailable(_) => ProblemKind::DependencyUnavailable,
        EidError::NoCard => ProblemKind::EidNoCard,
        EidError::CardSuspended => ProblemKind::EidCardSuspended,
        EidError::NotSuspended => ProblemKind::EidNotSuspended,
        EidError::PurposeNotAllowed { .. } => ProblemKind::EidPurposeNotAllowed,
        EidError::TooManyPresentations => ProblemKind::EidTooManyPresentations,
        EidError::TrustList(_) | EidError::Internal(_) => return Problem::internal(lang, error),
    };
    if matches!(error, EidError::NotReady(_)) {
        tracing::warn!(%error, "e-ID not ready");
    }
    Problem::new(kind, lang, &[])
}

/// Your electronic ID card, if you have activated one.
#[utoipa::path(
    get,
    path = "/api/v1/eid/card",
    tag = "eid",
    responses(
        (status = 200, body = CardDto),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No card activated (`eid-no-card`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn card(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match app_eid::card(&state.services, session.account.id).await {
        Ok(Some(card)) => no_store(Json(card_dto(&card)).into_response()),
        Ok(None) => eid_problem(lang.lang, &EidError::NoCard).into_response(),
        Err(e) => eid_problem(lang.lang, &e).into_response(),
    }
}

/// Activate your electronic ID card (a real-name account is needed). The
/// card's details are read from the population registry now; activating again
/// replaces the card (the old one is revoked).
#[utoipa::path(
    post,
    path = "/api/v1/eid/card",
    tag = "eid",
    responses(
        (status = 201, body = CardDto),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is not real-name (`eid-not-eligible`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The registry does not confirm the person", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The registry cannot be asked, or e-ID is not set up", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn activate(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match app_eid::activate(
        &state.services,
        &state.identity.eid,
        state.identity.registry.as_ref(),
        &session.account,
    )
    .await
    {
        Ok(card) => no_store((StatusCode::CREATED, Json(card_dto(&card))).into_response()),
        Err(e) => eid_problem(lang.lang, &e).into_response(),
    }
}

/// Reads a presentation request's purpose and category, or says which field is wrong.
pub(crate) fn parse_request(
    lang: Lang,
    purpose: &str,
    category: Option<&str>,
) -> Result<(Purpose, VerifierCategory), Problem> {
    let Some(purpose) = Purpose::from_name(purpose) else {
        return Err(Problem::validation(
            lang,
            vec![field(lang, "/purpose", "eid_purpose")],
        ));
    };
    let category = match category {
        None | Some("") => default_category(purpose),
        Some(name) => VerifierCategory::from_name(name).ok_or_else(|| {
            Problem::validation(lang, vec![field(lang, "/category", "eid_category")])
        })?,
    };
    Ok((purpose, category))
}

/// A new presentation code for a purpose. Every code is recorded in your
/// access log (purpose, verifier category, the fields it discloses).
#[utoipa::path(
    post,
    path = "/api/v1/eid/card/presentations",
    tag = "eid",
    request_body = PresentationRequest,
    responses(
        (status = 201, body = PresentationDto),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No card activated", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The card is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown purpose or category, or a pair not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many codes in a minute", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn present(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    ApiJson(request): ApiJson<PresentationRequest>,
) -> Response {
    let (purpose, category) =
        match parse_request(lang.lang, &request.purpose, request.category.as_deref()) {
            Ok(pair) => pair,
            Err(problem) => return problem.into_response(),
        };
    match app_eid::present(
        &state.services,
        &state.identity.eid,
        &session.account,
        purpose,
        category,
    )
    .await
    {
        Ok(p) => no_store((StatusCode::CREATED, Json(presentation_dto(&p))).into_response()),
        Err(e) => eid_problem(lang.lang, &e).into_response(),
    }
}

/// Report your phone lost: the card is suspended at once and verifiers refuse
/// its codes as soon as they fetch the next status list.
#[utoipa::path(
    post,
    path = "/api/v1/eid/card/suspend",
    tag = "eid",
    responses(
        (status = 200, body = CardDto),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No card activated", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn suspend(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match app_eid::report_lost(&state.services, &state.identity.eid, &session.account).await {
        Ok(card) => no_store(Json(card_dto(&card)).into_response()),
        Err(e) => eid_problem(lang.lang, &e).into_response(),
    }
}

/// Lift a suspension (you found your phone).
#[utoipa::path(
    post,
    path = "/api/v1/eid/card/resume",
    tag = "eid",
    responses(
        (status = 200, body = CardDto),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No card activated", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The card is not suspended", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match app_eid::resume(&state.services, &state.identity.eid, &session.account).await {
        Ok(card) => no_store(Json(card_dto(&card)).into_response()),
        Err(e) => eid_problem(lang.lang, &e).into_response(),
    }
}

fn document(content_type: &'static str, max_age: u32, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(CACHE_CONTROL, value);
    }
    response
}

/// The trust list as the offline root signed it (COSE_Sign1; docs/eid-format.md).
#[utoipa::path(
    get,
    path = "/.well-known/eid/trust-list",
    tag = "eid",
    responses(
        (status = 200, description = "COSE_Sign1 over the JWK Set", content_type = "application/cose"),
        (status = 503, description = "No trust list has been published", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn trust_list(State(state): State<AppState>, lang: RequestLang) -> Response {
    match state.identity.eid.signed_trust_list() {
        Some(signed) => document("application/cose", 3600, signed),
        None => eid_problem(lang.lang, &EidError::NotReady("no trust list".into())).into_response(),
    }
}

/// The published trust list's keys as a JWK Set (RFC 7517). The same keys
/// as the signed list; verify that one, not this convenience copy.
#[utoipa::path(
    get,
    path = "/.well-known/eid/jwks.json",
    tag = "eid",
    responses(
        (status = 200, description = "JWK Set", content_type = "application/jwk-set+json"),
        (status = 503, description = "No trust list has been published", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn jwks(State(state): State<AppState>, lang: RequestLang) -> Response {
    match state.identity.eid.jwks() {
        Some(json) => document("application/jwk-set+json", 3600, json.into_bytes()),
        None => eid_problem(lang.lang, &EidError::NotReady("no trust list".into())).into_response(),
    }
}

/// The status list (IETF Token Status List, CWT form): 2 bits per card,
/// 0 valid, 1 revoked, 2 suspended.
#[utoipa::path(
    get,
    path = "/eid/status/1",
    tag = "eid",
    responses(
        (status = 200, description = "Status list token", content_type = "application/statuslist+cwt"),
        (status = 503, description = "e-ID is not set up", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn status_list(State(state): State<AppState>, lang: RequestLang) -> Response {
    match app_eid::status_list(&state.services, &state.identity.eid).await {
        Ok(token) => document(
            "application/statuslist+cwt",
            app_eid::STATUS_LIST_TTL_SECONDS.min(60),
            token.as_ref().clone(),
        ),
        Err(e) => eid_problem(lang.lang, &e).into_response(),
    }
}

/// Development and demo only: the public key of the stand-in trust root, so
/// that a verifier on the same machine can check codes
/// (`shengshi eid verify … --trust-root FILE`). Production's root is offline
/// and its key is distributed out of band; there this answers 404.
pub async fn development_trust_root(State(state): State<AppState>, lang: RequestLang) -> Response {
    let settings = state.identity.eid.settings();
    match (&settings.trust_root, settings.development_root) {
        (Some(root), true) => {
            let mut response = format!("{}\n", root.to_text()).into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
        _ => Problem::new(
            ProblemKind::NotFound,
            lang.lang,
            &[("path", "/.well-known/eid/development-trust-root")],
        )
        .into_response(),
    }
}
