//! The JSON API under /api/v1, and its OpenAPI 3.1 description.

pub mod access_log;
pub mod casework;
pub mod counter;
pub mod eid;
pub mod eid_document;
pub mod eid_holder;
pub mod embargoes;
pub mod mandates;
pub mod passkeys;
pub mod registration;
pub mod rights;
pub mod session;
pub mod staff;
pub mod staff_passkeys;
pub mod verifier;
pub mod verifier_applications;

use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::problem::{FieldError, Problem};
use crate::AppState;

#[derive(OpenApi, Debug)]
#[openapi(
    info(
        title = "Shengshi API",
        description = "The JSON API of Shengshi (省事), the open-source provincial citizen-services platform. \
                       Errors are RFC 9457 problem documents (`application/problem+json`) whose `type` is stable; \
                       `detail` follows the request's Accept-Language (zh-CN or en).",
        license(name = "Apache-2.0")
    ),
    paths(
        status,
        crate::ops::healthz,
        crate::ops::readyz,
        registration::request_code,
        registration::prove_phone,
        registration::register,
        session::request_code,
        session::create,
        session::me,
        session::delete_current,
        session::revoke_all,
        session::list,
        session::delete,
        access_log::list,
        access_log::export_csv,
        access_log::export_json,
        access_log::proof,
        rights::export,
        rights::request_correction,
        rights::list_corrections,
        rights::close,
        eid::card,
        eid::activate,
        eid::present,
        eid::suspend,
        eid::resume,
        eid_document::issue,
        eid_document::list,
        eid_document::revoke,
        eid_holder::holder_credential,
        eid_holder::offline_presentations,
        eid::trust_list,
        eid::jwks,
        eid::status_list,
        verifier::verify,
        verifier::portrait,
        mandates::list,
        mandates::grant,
        mandates::revoke,
        mandates::actions,
        mandates::received,
        mandates::act,
        staff::create,
        staff::me,
        staff::delete_current,
        passkeys::begin_registration,
        passkeys::finish_registration,
        passkeys::list,
        passkeys::remove,
        passkeys::begin_login,
        passkeys::login,
        counter::send,
        counter::complete,
        embargoes::request,
        embargoes::approve,
        embargoes::refuse,
        embargoes::statistics,
        casework::queue,
        casework::take,
        casework::assign,
        casework::open,
        casework::decide,
        casework::break_glass,
        casework::alerts,
        casework::review,
        verifier_applications::apply,
        verifier_applications::pending,
        verifier_applications::approve,
        verifier_applications::refuse,
        verifier_applications::verifiers,
        verifier_applications::rotate_key,
        verifier_applications::suspend,
        verifier_applications::resume,
        staff_passkeys::begin_registration,
        staff_passkeys::finish_registration,
        staff_passkeys::list,
        staff_passkeys::remove,
        staff_passkeys::begin_login,
        staff_passkeys::login,
    ),
    components(schemas(
        Problem,
        FieldError,
        Status,
        registration::CodeRequest,
        registration::CodeSent,
        registration::ProofRequest,
        registration::PhoneProof,
        registration::RegistrationRequest,
        registration::RegistrationAccepted,
        session::LoginRequest,
        session::SessionCreated,
        session::Me,
        session::SessionsRevoked,
        session::SessionDto,
        session::SessionList,
        access_log::AccessEntryDto,
        access_log::AccessLogPage,
        access_log::AccessLogExport,
        access_log::InclusionProofDto,
        rights::CorrectionRequest,
        rights::CorrectionDto,
        rights::CorrectionList,
        rights::CloseRequest,
        eid::CardDto,
        eid::PresentationRequest,
        eid::PresentationDto,
        eid_document::DocumentRequestDto,
        eid_document::DisclosedDto,
        eid_document::IssuedDocumentDto,
        eid_document::DocumentDto,
        eid_holder::DeviceKey,
        eid_holder::HolderCredentialRequest,
        eid_holder::DisclosureItemDto,
        eid_holder::HolderCredentialDto,
        eid_holder::OfflinePresentationDto,
        eid_holder::OfflinePresentationReport,
        eid_holder::OfflinePresentationsRecorded,
        verifier::VerificationRequest,
        verifier::DisclosedAttributes,
        verifier::VerificationDto,
        verifier::PortraitLinkDto,
        mandates::GrantMandateRequest,
        mandates::MandateDto,
        mandates::MandateList,
        mandates::MandateActionDto,
        mandates::MandateActionList,
        mandates::ActRequest,
        mandates::ReceivedMandateList,
        staff::StaffLoginRequest,
        staff::StaffMe,
        passkeys::CeremonyStarted,
        passkeys::NewPasskey,
        passkeys::PasskeyLogin,
        passkeys::PasskeyDto,
        passkeys::PasskeyList,
        counter::CounterCheckRequest,
        counter::CounterCheckDone,
        embargoes::EmbargoRequestBody,
        embargoes::EmbargoDto,
        embargoes::Count,
        embargoes::AccessStatisticsDto,
        casework::QueueItemDto,
        casework::RecordDto,
        casework::CaseDto,
        casework::AssignBody,
        casework::DecisionBody,
        casework::BreakGlassBody,
        casework::BreakGlassOpenedDto,
        casework::AlertDto,
        casework::ReviewBody,
        verifier_applications::ApplicationRequest,
        verifier_applications::ApplicationDto,
        verifier_applications::ApplicationList,
        verifier_applications::ApprovedApplication,
        verifier_applications::RefusalRequest,
        verifier_applications::VerifierDto,
        verifier_applications::VerifierList,
        verifier_applications::IssuedKeyDto,
    )),
    tags(
        (name = "platform", description = "Facts about this installation"),
        (name = "operations", description = "Health checks for orchestrators"),
        (name = "registration", description = "Opening a real-name account: phone code, phone proof, registry and carrier checks"),
        (name = "mandates", description = "亲友代办: letting a family member or guardian act for you, revocably, with every action recorded"),
        (name = "sessions", description = "SMS-code login and the `sid` session cookie: who is signed in, logging out here or everywhere"),
        (name = "access-log", description = "Who accessed my data: every opening of your personal data, by whom (department and role, never a name) and why; exports; inclusion proofs against the signed access log"),
        (name = "eid", description = "The electronic resident ID card: activation, presentation codes that live 60 seconds and disclose only what the purpose needs, suspension; the signed trust list and status list every verifier needs (docs/eid-format.md)"),
        (name = "verifier", description = "The online verification service for registered verifier organisations (hotels, stations, airports, banks): verify a resident's e-ID code with your API key; each code is accepted by one organisation only, and the resident's access log names yours"),
        (name = "rights", description = "Your rights under PIPL Arts. 44–47: download everything held about you, ask for a correction, close your account"),
        (name = "passkeys", description = "Passkeys (WebAuthn): registering them on a signed-in account, and logging in with one without naming the account first"),
        (name = "staff", description = "Staff login (username, password and authenticator code) and the `staff_sid` session cookie: who is signed in, their department, role and capabilities"),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document as served and committed (docs/openapi.json).
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default() + "\n"
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/status", get(status))
        .route(
            "/api/v1/registration/codes",
            post(registration::request_code),
        )
        .route(
            "/api/v1/registration/phone-proofs",
            post(registration::prove_phone),
        )
        .route("/api/v1/registrations", post(registration::register))
        .route("/api/v1/login/codes", post(session::request_code))
        .route("/api/v1/sessions", get(session::list).post(session::create))
        .route("/api/v1/sessions/{handle}", delete(session::delete))
        .route("/api/v1/sessions/current", delete(session::delete_current))
        .route("/api/v1/sessions/revoke-all", post(session::revoke_all))
        .route("/api/v1/me", get(session::me))
        .route("/api/v1/me/access-log", get(access_log::list))
        .route("/api/v1/me/export", get(rights::export))
        .route(
            "/api/v1/me/corrections",
            get(rights::list_corrections).post(rights::request_correction),
        )
        .route("/api/v1/me/close", post(rights::close))
        .route("/api/v1/eid/card", get(eid::card).post(eid::activate))
        .route("/api/v1/eid/card/presentations", post(eid::present))
        .route("/api/v1/eid/card/suspend", post(eid::suspend))
        .route("/api/v1/eid/card/resume", post(eid::resume))
        .route(
            "/api/v1/eid/documents",
            get(eid_document::list).post(eid_document::issue),
        )
        .route(
            "/api/v1/eid/documents/{id}/revoke",
            post(eid_document::revoke),
        )
        .route(
            "/api/v1/eid/card/holder-credentials",
            post(eid_holder::holder_credential),
        )
        .route(
            "/api/v1/eid/card/offline-presentations",
            post(eid_holder::offline_presentations),
        )
        .route("/.well-known/eid/trust-list", get(eid::trust_list))
        .route("/.well-known/eid/jwks.json", get(eid::jwks))
        .route("/eid/status/1", get(eid::status_list))
        .route("/api/v1/verifier/verifications", post(verifier::verify))
        .route(
            "/api/v1/verifier/portraits/{token}",
            get(verifier::portrait),
        )
        .route(
            "/.well-known/eid/development-trust-root",
            get(eid::development_trust_root),
        )
        .route(
            "/api/v1/me/access-log/export.csv",
            get(access_log::export_csv),
        )
        .route(
            "/api/v1/me/access-log/export.json",
            get(access_log::export_json),
        )
        .route(
            "/api/v1/me/access-log/{index}/proof",
            get(access_log::proof),
        )
        .route(
            "/api/v1/passkeys",
            get(passkeys::list).post(passkeys::finish_registration),
        )
        .route(
            "/api/v1/passkeys/registrations",
            post(passkeys::begin_registration),
        )
        .route("/api/v1/passkeys/{id}", delete(passkeys::remove))
        .route(
            "/api/v1/passkeys/login-challenges",
            post(passkeys::begin_login),
        )
        .route("/api/v1/sessions/passkey", post(passkeys::login))
        .route("/api/v1/staff/counter-checks", post(counter::complete))
        .route(
            "/api/v1/staff/passkeys",
            get(staff_passkeys::list).post(staff_passkeys::finish_registration),
        )
        .route(
            "/api/v1/staff/passkeys/registrations",
            post(staff_passkeys::begin_registration),
        )
        .route(
            "/api/v1/staff/passkeys/login-challenges",
            post(staff_passkeys::begin_login),
        )
        .route(
            "/api/v1/staff/passkeys/{id}",
            delete(staff_passkeys::remove),
        )
        .route(
            "/api/v1/staff/sessions/passkey",
            post(staff_passkeys::login),
        )
        .route("/api/v1/staff/counter-checks/codes", post(counter::send))
        .route("/api/v1/staff/corrections", get(casework::queue))
        .route("/api/v1/staff/corrections/{id}", get(casework::open))
        .route("/api/v1/staff/corrections/{id}/take", post(casework::take))
        .route(
            "/api/v1/staff/corrections/{id}/assignment",
            post(casework::assign),
        )
        .route(
            "/api/v1/staff/corrections/{id}/decision",
            post(casework::decide),
        )
        .route("/api/v1/staff/break-glass", post(casework::break_glass))
        .route("/api/v1/staff/break-glass/alerts", get(casework::alerts))
        .route(
            "/api/v1/staff/break-glass/alerts/{id}/review",
            post(casework::review),
        )
        .route("/api/v1/staff/embargoes", post(embargoes::request))
        .route(
            "/api/v1/staff/embargoes/{id}/approve",
            post(embargoes::approve),
        )
        .route(
            "/api/v1/staff/embargoes/{id}/refuse",
            post(embargoes::refuse),
        )
        .route("/api/v1/access-statistics", get(embargoes::statistics))
        .route(
            "/api/v1/verifier-applications",
            post(verifier_applications::apply),
        )
        .route(
            "/api/v1/staff/verifier-applications",
            get(verifier_applications::pending),
        )
        .route(
            "/api/v1/staff/verifier-applications/{id}/approve",
            post(verifier_applications::approve),
        )
        .route(
            "/api/v1/staff/verifier-applications/{id}/refuse",
            post(verifier_applications::refuse),
        )
        .route(
            "/api/v1/staff/verifiers",
            get(verifier_applications::verifiers),
        )
        .route(
            "/api/v1/staff/verifiers/{id}/keys",
            post(verifier_applications::rotate_key),
        )
        .route(
            "/api/v1/staff/verifiers/{id}/suspend",
            post(verifier_applications::suspend),
        )
        .route(
            "/api/v1/staff/verifiers/{id}/resume",
            post(verifier_applications::resume),
        )
        .route("/api/v1/staff/sessions", post(staff::create))
        .route(
            "/api/v1/staff/sessions/current",
            delete(staff::delete_current),
        )
        .route("/api/v1/staff/me", get(staff::me))
        .route(
            "/api/v1/mandates",
            get(mandates::list).post(mandates::grant),
        )
        .route("/api/v1/mandates/actions", get(mandates::actions))
        .route("/api/v1/mandates/received", get(mandates::received))
        .route("/api/v1/mandates/{id}/actions", post(mandates::act))
        .route("/api/v1/mandates/{id}", delete(mandates::revoke))
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// The release of Shengshi serving this request.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    /// `development` or `production`.
    #[schema(example = "production")]
    pub mode: &'static str,
    /// True when this installation holds only fictional demonstration data.
    pub demo: bool,
    /// The database backend: `sqlite` or `postgres`.
    #[schema(example = "postgres")]
    pub database: &'static str,
    /// The server's clock, RFC 3339 in UTC.
    #[schema(example = "2026-11-25T08:00:00Z")]
    pub time: String,
    /// Today's date in Asia/Shanghai, the calendar of civil dates and deadlines.
    #[schema(example = "2026-11-25")]
    pub civil_date: String,
}

/// Facts about this installation.
#[utoipa::path(get, path = "/api/v1/status", tag = "platform", responses((status = 200, body = Status)))]
pub async fn status(State(state): State<AppState>) -> Json<Status> {
    let now = state.services.clock.now();
    Json(Status {
        version: state.info.version,
        mode: state.info.mode,
        demo: state.info.demo,
        database: state.services.store.backend().name(),
        time: now.to_rfc3339(),
        civil_date: now.civil_date().to_string(),
    })
}

#[cfg(test)]
mod tests {
    /// The committed OpenAPI document must match the code. To refresh it:
    /// `UPDATE_OPENAPI=1 cargo test -p shengshi-web openapi`.
    #[test]
    fn committed_openapi_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let current = super::openapi_json();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == current,
            "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p shengshi-web openapi` and commit it"
        );
        let doc: serde_json::Value = serde_json::from_str(&current).unwrap();
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    }
}
