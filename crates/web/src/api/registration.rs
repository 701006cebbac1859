//! Registration over the JSON API: ask for a code, prove the phone, then name
//! and ID number. Each step answers with a problem document naming exactly
//! what is wrong; a registration for an ID number that already has an account
//! answers exactly like a successful one.

use axum::extract::{ConnectInfo, State};
use axum::http::header::RETRY_AFTER;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::phone_codes::{CodeSender, SendCodeError, VerifyCodeError};
use shengshi_app::registration::{
    self, Checks, ProofError, Registered, RegistrationError, VerifiedPhone,
};
use shengshi_domain::phone::{CodePurpose, RESEND_INTERVAL};
use shengshi_domain::{PersonName, PhoneCode, PhoneNumber, ResidentIdNumber};
use shengshi_i18n::{t, Lang};
use std::net::SocketAddr;
use utoipa::ToSchema;

use crate::lang::RequestLang;
use crate::problem::{ApiJson, FieldError, Problem, ProblemKind};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeRequest {
    /// A mainland China mobile number, e.g. `13800138000` or `+86 138 0013 8000`.
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// When the code stops working (RFC 3339, UTC).
    pub expires_at: String,
    /// When another code may be requested.
    pub resend_after: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProofRequest {
    pub phone: String,
    /// The six digits from the SMS.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneProof {
    /// An opaque token proving the phone was verified; send it with the registration.
    pub proof: String,
    pub expires_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegistrationRequest {
    /// The token from `POST /api/v1/registration/phone-proofs`.
    pub proof: String,
    /// The name as on the resident ID card.
    pub name: String,
    /// The 18-character resident ID number (a legacy 15-digit number is converted).
    pub id_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationAccepted {
    /// Always `check_your_phone`: the outcome arrives by SMS.
    #[schema(example = "check_your_phone")]
    pub status: &'static str,
}

pub(crate) fn field(lang: Lang, pointer: &str, code: &str) -> FieldError {
    FieldError {
        pointer: pointer.to_owned(),
        code: code.to_owned(),
        detail: t(lang, &format!("field.{code}")).to_owned(),
    }
}

pub(crate) fn parse_phone(
    lang: Lang,
    text: &str,
    errors: &mut Vec<FieldError>,
) -> Option<PhoneNumber> {
    PhoneNumber::parse(text)
        .map_err(|e| errors.push(field(lang, "/phone", e.code())))
        .ok()
}

pub(crate) fn unavailable(lang: Lang, system: &str) -> Problem {
    Problem::new(
        ProblemKind::DependencyUnavailable,
        lang,
        &[("system", t(lang, &format!("system.{system}")))],
    )
}

/// Ask for a registration code by SMS.
#[utoipa::path(
    post,
    path = "/api/v1/registration/codes",
    tag = "registration",
    request_body = CodeRequest,
    responses(
        (status = 202, body = CodeSent),
        (status = 422, description = "Invalid phone number", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too soon, or a daily cap is reached", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn request_code(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: RequestLang,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Response {
    send_code(&state, peer, lang.lang, &body, CodePurpose::Register).await
}

/// Sends a code for `purpose` to the number in `body`: the same caps and the
/// same answers for every purpose (registration, login).
pub(crate) async fn send_code(
    state: &AppState,
    peer: SocketAddr,
    lang: Lang,
    body: &CodeRequest,
    purpose: CodePurpose,
) -> Response {
    let mut errors = Vec::new();
    let Some(phone) = parse_phone(lang, &body.phone, &mut errors) else {
        return Problem::validation(lang, errors).into_response();
    };
    let identity = &state.identity;
    let sender = CodeSender {
        store: state.services.store.as_ref(),
        clock: state.services.clock.as_ref(),
        secrets: &identity.secrets,
        gateway: identity.sms.as_ref(),
        limits: identity.limits,
    };
    match sender.send(&phone, purpose, peer.ip(), lang).await {
        Ok(sent) => (
            StatusCode::ACCEPTED,
            Json(CodeSent {
                expires_at: sent.expires_at.to_rfc3339(),
                resend_after: sent.resend_after.to_rfc3339(),
            }),
        )
            .into_response(),
        Err(SendCodeError::TooSoon) => {
            let seconds = RESEND_INTERVAL.whole_seconds().to_string();
            let mut response =
                Problem::new(ProblemKind::CodeTooSoon, lang, &[("seconds", &seconds)])
                    .into_response();
            if let Ok(value) = seconds.parse() {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            response
        }
        Err(SendCodeError::CapReached(_)) => {
            Problem::new(ProblemKind::CodeCapReached, lang, &[]).into_response()
        }
        Err(SendCodeError::Gateway(e)) => {
            tracing::warn!(error = %e, "the SMS gateway failed");
            unavailable(lang, "sms").into_response()
        }
        Err(SendCodeError::Store(e)) => Problem::internal(lang, &e).into_response(),
    }
}

/// Prove control of the phone with the code from the SMS.
#[utoipa::path(
    post,
    path = "/api/v1/registration/phone-proofs",
    tag = "registration",
    request_body = ProofRequest,
    responses(
        (status = 201, body = PhoneProof),
        (status = 422, description = "Invalid input, wrong or dead code", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn prove_phone(
    State(state): State<AppState>,
    lang: RequestLang,
    ApiJson(body): ApiJson<ProofRequest>,
) -> Response {
    let lang = lang.lang;
    let mut errors = Vec::new();
    let phone = parse_phone(lang, &body.phone, &mut errors);
    let code = PhoneCode::parse(&body.code);
    if code.is_none() {
        errors.push(field(lang, "/code", "code_format"));
    }
    let (Some(phone), Some(code)) = (phone, code) else {
        return Problem::validation(lang, errors).into_response();
    };
    let secrets = &state.identity.secrets;
    match registration::verify_phone(&state.services, secrets, &phone, &code).await {
        Ok(proof) => {
            let expires_at = proof
                .verified_at()
                .plus(registration::PHONE_PROOF_TTL)
                .to_rfc3339();
            (
                StatusCode::CREATED,
                Json(PhoneProof {
                    proof: proof.to_token(secrets),
                    expires_at,
                }),
            )
                .into_response()
        }
        Err(e) => code_problem(lang, e).into_response(),
    }
}

/// The problem for a code that did not verify.
pub(crate) fn code_problem(lang: Lang, e: VerifyCodeError) -> Problem {
    match e {
        VerifyCodeError::NoCode => Problem::new(ProblemKind::NoCode, lang, &[]),
        VerifyCodeError::Wrong { remaining } => Problem::new(
            ProblemKind::CodeWrong,
            lang,
            &[("remaining", &remaining.to_string())],
        ),
        VerifyCodeError::Dead(_) => Problem::new(ProblemKind::CodeDead, lang, &[]),
        VerifyCodeError::Store(e) => Problem::internal(lang, &e),
    }
}

/// Register with name and ID number. The answer is the same whether or not the
/// ID number already has an account (the existing account's phone is told).
#[utoipa::path(
    post,
    path = "/api/v1/registrations",
    tag = "registration",
    request_body = RegistrationRequest,
    responses(
        (status = 202, body = RegistrationAccepted),
        (status = 401, description = "The phone proof is missing, forged or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input, or a registry or carrier check failed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The registry or the carrier check did not answer; nothing was created", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    lang: RequestLang,
    ApiJson(body): ApiJson<RegistrationRequest>,
) -> Response {
    let lang = lang.lang;
    let now = state.services.clock.now();
    let mut errors = Vec::new();
    let name = PersonName::parse(&body.name)
        .map_err(|e| errors.push(field(lang, "/name", e.code())))
        .ok();
    let id_number = ResidentIdNumber::parse(&body.id_number, now.civil_date())
        .map_err(|e| errors.push(field(lang, "/id_number", e.code())))
        .ok();
    let (Some(name), Some(id_number)) = (name, id_number) else {
        return Problem::validation(lang, errors).into_response();
    };
    let identity = &state.identity;
    let proof = match VerifiedPhone::from_token(&identity.secrets, &body.proof, now) {
        Ok(proof) => proof,
        Err(ProofError::Invalid | ProofError::Expired) => {
            return Problem::new(ProblemKind::ProofInvalid, lang, &[]).into_response()
        }
    };
    let checks = Checks {
        registry: identity.registry.as_ref(),
        carrier: identity.carrier.as_ref(),
        sms: identity.sms.as_ref(),
    };
    match registration::register(
        &state.services,
        &identity.secrets,
        checks,
        &proof,
        &name,
        &id_number,
        lang,
    )
    .await
    {
        Ok(Registered::CheckYourPhone) => (
            StatusCode::ACCEPTED,
            Json(RegistrationAccepted {
                status: "check_your_phone",
            }),
        )
            .into_response(),
        Err(e) => registration_problem(lang, e).into_response(),
    }
}

fn registration_problem(lang: Lang, e: RegistrationError) -> Problem {
    let kind = match e {
        RegistrationError::PhoneProofExpired => ProblemKind::ProofInvalid,
        RegistrationError::NameMismatch => ProblemKind::NameMismatch,
        RegistrationError::NotInRegistry => ProblemKind::NotInRegistry,
        RegistrationError::Deceased => ProblemKind::Deceased,
        RegistrationError::Emigrated => ProblemKind::Emigrated,
        RegistrationError::CarrierMismatch => ProblemKind::CarrierMismatch,
        RegistrationError::CarrierNoRecord => ProblemKind::CarrierNoRecord,
        RegistrationError::RegistryUnavailable(_) => return unavailable(lang, "registry"),
        RegistrationError::CarrierUnavailable(_) => return unavailable(lang, "carrier"),
        RegistrationError::Internal(e) => return Problem::internal(lang, &e),
    };
    Problem::new(kind, lang, &[])
}
