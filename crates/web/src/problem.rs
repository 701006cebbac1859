//! RFC 9457 problem details: every API error has a stable `type`, a human
//! `detail` in the request's language, per-field errors where a field is at
//! fault, and never an internal detail (those go to the log, tagged with the
//! request ID that the response also carries).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::{CONTENT_LANGUAGE, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shengshi_i18n::{t, t_args, Lang};
use utoipa::ToSchema;

use crate::lang::RequestLang;

/// The stable identifiers of problem types. Clients match on these, never on text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    NotFound,
    MethodNotAllowed,
    Validation,
    BadRequest,
    UnsupportedMediaType,
    PayloadTooLarge,
    NotReady,
    Internal,
    /// A code was sent to this number less than a minute ago.
    CodeTooSoon,
    /// A daily sending cap is reached.
    CodeCapReached,
    /// No code was sent to this number for this purpose.
    NoCode,
    /// The code is wrong; some attempts remain.
    CodeWrong,
    /// The code expired, was used, or ran out of attempts.
    CodeDead,
    /// The phone proof is missing, forged or expired.
    ProofInvalid,
    NameMismatch,
    NotInRegistry,
    Deceased,
    Emigrated,
    CarrierMismatch,
    CarrierNoRecord,
    /// A system we depend on (registry, carrier, SMS gateway) did not answer.
    DependencyUnavailable,
    /// A state-changing request from another site, or a form without its token.
    CrossSite,
    /// The request needs a live session and has none.
    Unauthenticated,
    /// The login code was right but no account uses this phone number.
    NoAccount,
    // Mandates (亲友代办): one type per stable error code of `app::mandates`
    // (`not_found` is `mandate-not-found`, so it cannot be mistaken for a path).
    SelfMandate,
    GranteeLevelTooLow,
    NoServices,
    TooManyServices,
    BadCode,
    EndsBeforeStart,
    TooLong,
    UnknownRelationship,
    GrantorNotActive,
    NoSuchGrantee,
    AlreadyEnded,
    MandateNotFound,
    // Acting under a mandate: one type per `MandateRefusal`, and the grantee's
    // own "no such mandate" (the grantor's `mandate-not-found` says "you gave").
    MandateUnknown,
    NotGrantee,
    ServiceNotCovered,
    MandateNotYetValid,
    MandateExpired,
    MandateRevoked,
    /// The resident has no live session with this handle.
    SessionNotFound,
    /// A staff login was refused; never says which of username, password or code was wrong.
    StaffLoginRefused,
    /// Too many failed staff logins: refused until the lockout ends (`Retry-After`).
    StaffLockedOut,
    // Passkeys: one type per `PasskeyError`, and one refusal for every failed
    // passkey login (it never says why).
    CeremonyUnknown,
    PasskeyRejected,
    PasskeyAlreadyRegistered,
    PasskeyTooMany,
    PasskeyLabel,
    PasskeyNotFound,
    PasskeyLoginRefused,
    /// The staff member's role or department does not allow this operation.
    StaffForbidden,
    /// At a counter: an account on another phone holds the identity.
    OtherAccountExists,
    /// None of the resident's access log entries has this index.
    AccessEntryNotFound,
    /// An embargo request cites no legal basis.
    EmbargoNoBasis,
    /// An embargo request's cited basis is too long.
    EmbargoBasisTooLong,
    /// An embargo must end in the future.
    EmbargoEndsInThePast,
    /// An embargo may run for at most a year.
    EmbargoTooLong,
    /// No embargo with this id in the staff member's department.
    EmbargoNotFound,
    /// A supervisor may not decide an embargo they requested.
    EmbargoOwnRequest,
    /// The embargo was already approved or refused.
    EmbargoAlreadyDecided,
    /// No correction request with this id.
    CaseNotFound,
    /// The correction request is not assigned to the caller: nothing opens.
    CaseNotAssigned,
    /// Someone else took or was given the request first.
    CaseAlreadyAssigned,
    /// The correction request was already decided.
    CaseAlreadyDecided,
    /// No break-glass access with this id in the supervisor's department.
    BreakGlassNotFound,
    /// A supervisor may not review their own break-glass access.
    BreakGlassOwnAccess,
    /// The break-glass access was already reviewed.
    BreakGlassAlreadyReviewed,
    VerifierApplicationNotFound,
    VerifierApplicationAlreadyDecided,
    /// One address sent too many verifier applications today.
    VerifierApplicationsTooMany,
    // The electronic ID card: one type per `EidError` a resident can meet.
    EidNotReady,
    EidNotEligible,
    EidNoCard,
    EidCardSuspended,
    EidNotSuspended,
    EidPurposeNotAllowed,
    EidTooManyPresentations,
    // The online verification service (verifier organisations' API keys).
    /// No live API key: missing, malformed, unknown or rotated out (401).
    VerifierUnauthenticated,
    /// The key's request budget is spent (429, `Retry-After`).
    VerifierRateLimited,
    /// The organisation is suspended (403).
    VerifierSuspended,
    /// The code's purpose or category is not one the organisation may ask for (403).
    VerifierPurposeNotAllowed,
    /// Another verifier already accepted this code (409).
    VerificationAlreadyUsed,
    /// The code did not verify; `errors[0].code` is the e-ID error code (422).
    VerificationCodeInvalid,
    /// Not a portrait link (404).
    PortraitLinkInvalid,
    /// A portrait link made for another organisation (403).
    PortraitLinkNotYours,
    /// A portrait link past its two minutes (410).
    PortraitLinkExpired,
    /// The card was suspended or replaced, or the portrait changed (410).
    PortraitUnavailable,
}

impl ProblemKind {
    pub fn slug(self) -> &'static str {
        match self {
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Validation => "validation",
            Self::BadRequest => "bad-request",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::PayloadTooLarge => "payload-too-large",
            Self::NotReady => "not-ready",
            Self::Internal => "internal",
            Self::CodeTooSoon => "code-too-soon",
            Self::CodeCapReached => "code-cap-reached",
            Self::NoCode => "no-code",
            Self::CodeWrong => "code-wrong",
            Self::CodeDead => "code-dead",
            Self::ProofInvalid => "proof-invalid",
            Self::NameMismatch => "name-mismatch",
            Self::NotInRegistry => "not-in-registry",
            Self::Deceased => "deceased",
            Self::Emigrated => "emigrated",
            Self::CarrierMismatch => "carrier-mismatch",
            Self::CarrierNoRecord => "carrier-no-record",
            Self::DependencyUnavailable => "dependency-unavailable",
            Self::CrossSite => "cross-site",
            Self::Unauthenticated => "unauthenticated",
            Self::NoAccount => "no-account",
            Self::SelfMandate => "self-mandate",
            Self::GranteeLevelTooLow => "grantee-level-too-low",
            Self::NoServices => "no-services",
            Self::TooManyServices => "too-many-services",
            Self::BadCode => "bad-code",
            Self::EndsBeforeStart => "ends-before-start",
            Self::TooLong => "too-long",
            Self::UnknownRelationship => "unknown-relationship",
            Self::GrantorNotActive => "grantor-not-active",
            Self::NoSuchGrantee => "no-such-grantee",
            Self::AlreadyEnded => "already-ended",
            Self::MandateNotFound => "mandate-not-found",
            Self::MandateUnknown => "mandate-unknown",
            Self::NotGrantee => "not-grantee",
            Self::ServiceNotCovered => "service-not-covered",
            Self::MandateNotYetValid => "mandate-not-yet-valid",
            Self::MandateExpired => "mandate-expired",
            Self::MandateRevoked => "mandate-revoked",
            Self::SessionNotFound => "session-not-found",
            Self::StaffLoginRefused => "staff-login-refused",
            Self::StaffLockedOut => "staff-locked-out",
            Self::CeremonyUnknown => "ceremony-unknown",
            Self::PasskeyRejected => "passkey-rejected",
            Self::PasskeyAlreadyRegistered => "passkey-already-registered",
            Self::PasskeyTooMany => "passkey-too-many",
            Self::PasskeyLabel => "passkey-label",
            Self::PasskeyNotFound => "passkey-not-found",
            Self::PasskeyLoginRefused => "passkey-login-refused",
            Self::StaffForbidden => "staff-forbidden",
            Self::OtherAccountExists => "other-account-exists",
            Self::AccessEntryNotFound => "access-entry-not-found",
            Self::EmbargoNoBasis => "embargo-no-basis",
            Self::EmbargoBasisTooLong => "embargo-basis-too-long",
            Self::EmbargoEndsInThePast => "embargo-ends-in-the-past",
            Self::EmbargoTooLong => "embargo-too-long",
            Self::EmbargoNotFound => "embargo-not-found",
            Self::EmbargoOwnRequest => "embargo-own-request",
            Self::EmbargoAlreadyDecided => "embargo-already-decided",
            Self::CaseNotFound => "case-not-found",
            Self::CaseNotAssigned => "case-not-assigned",
            Self::CaseAlreadyAssigned => "case-already-assigned",
            Self::CaseAlreadyDecided => "case-already-decided",
            Self::BreakGlassNotFound => "break-glass-not-found",
            Self::BreakGlassOwnAccess => "break-glass-own-access",
            Self::BreakGlassAlreadyReviewed => "break-glass-already-reviewed",
            Self::VerifierApplicationNotFound => "verifier-application-not-found",
            Self::VerifierApplicationAlreadyDecided => "verifier-application-already-decided",
            Self::VerifierApplicationsTooMany => "verifier-applications-too-many",
            Self::EidNotReady => "eid-not-ready",
            Self::EidNotEligible => "eid-not-eligible",
            Self::EidNoCard => "eid-no-card",
            Self::EidCardSuspended => "eid-card-suspended",
            Self::EidNotSuspended => "eid-not-suspended",
            Self::EidPurposeNotAllowed => "eid-purpose-not-allowed",
            Self::EidTooManyPresentations => "eid-too-many-presentations",
            Self::VerifierUnauthenticated => "verifier-unauthenticated",
            Self::VerifierRateLimited => "verifier-rate-limited",
            Self::VerifierSuspended => "verifier-suspended",
            Self::VerifierPurposeNotAllowed => "verifier-purpose-not-allowed",
            Self::VerificationAlreadyUsed => "verification-already-used",
            Self::VerificationCodeInvalid => "verification-code-invalid",
            Self::PortraitLinkInvalid => "portrait-link-invalid",
            Self::PortraitLinkNotYours => "portrait-link-not-yours",
            Self::PortraitLinkExpired => "portrait-link-expired",
            Self::PortraitUnavailable => "portrait-unavailable",
        }
    }

    /// The message catalog key: the slug with underscores.
    fn catalog_key(self) -> String {
        self.slug().replace('-', "_")
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotReady | Self::DependencyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::CodeTooSoon | Self::CodeCapReached => StatusCode::TOO_MANY_REQUESTS,
            Self::ProofInvalid | Self::Unauthenticated | Self::StaffLoginRefused => {
                StatusCode::UNAUTHORIZED
            }
            Self::StaffLockedOut => StatusCode::TOO_MANY_REQUESTS,
            Self::PasskeyLoginRefused => StatusCode::UNAUTHORIZED,
            Self::StaffForbidden | Self::EmbargoOwnRequest => StatusCode::FORBIDDEN,
            Self::EmbargoNotFound => StatusCode::NOT_FOUND,
            Self::EmbargoAlreadyDecided => StatusCode::CONFLICT,
            Self::CaseNotFound | Self::BreakGlassNotFound => StatusCode::NOT_FOUND,
            Self::CaseNotAssigned | Self::BreakGlassOwnAccess => StatusCode::FORBIDDEN,
            Self::CaseAlreadyAssigned
            | Self::CaseAlreadyDecided
            | Self::BreakGlassAlreadyReviewed => StatusCode::CONFLICT,
            Self::VerifierApplicationNotFound => StatusCode::NOT_FOUND,
            Self::VerifierApplicationAlreadyDecided => StatusCode::CONFLICT,
            Self::VerifierApplicationsTooMany => StatusCode::TOO_MANY_REQUESTS,
            Self::EidNotReady => StatusCode::SERVICE_UNAVAILABLE,
            Self::EidNotEligible => StatusCode::FORBIDDEN,
            Self::EidNoCard => StatusCode::NOT_FOUND,
            Self::EidCardSuspended | Self::EidNotSuspended => StatusCode::CONFLICT,
            Self::EidPurposeNotAllowed => StatusCode::UNPROCESSABLE_ENTITY,
            Self::EidTooManyPresentations => StatusCode::TOO_MANY_REQUESTS,
            Self::VerifierUnauthenticated => StatusCode::UNAUTHORIZED,
            Self::VerifierRateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::VerifierSuspended | Self::VerifierPurposeNotAllowed => StatusCode::FORBIDDEN,
            Self::VerificationAlreadyUsed => StatusCode::CONFLICT,
            Self::VerificationCodeInvalid => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PortraitLinkInvalid => StatusCode::NOT_FOUND,
            Self::PortraitLinkNotYours => StatusCode::FORBIDDEN,
            Self::PortraitLinkExpired | Self::PortraitUnavailable => StatusCode::GONE,
            Self::EmbargoNoBasis
            | Self::EmbargoBasisTooLong
            | Self::EmbargoEndsInThePast
            | Self::EmbargoTooLong => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PasskeyNotFound => StatusCode::NOT_FOUND,
            Self::PasskeyAlreadyRegistered | Self::OtherAccountExists => StatusCode::CONFLICT,
            Self::CeremonyUnknown
            | Self::PasskeyRejected
            | Self::PasskeyTooMany
            | Self::PasskeyLabel => StatusCode::UNPROCESSABLE_ENTITY,
            Self::CrossSite | Self::GrantorNotActive => StatusCode::FORBIDDEN,
            Self::MandateNotFound
            | Self::MandateUnknown
            | Self::SessionNotFound
            | Self::AccessEntryNotFound => StatusCode::NOT_FOUND,
            Self::NotGrantee
            | Self::ServiceNotCovered
            | Self::MandateNotYetValid
            | Self::MandateExpired
            | Self::MandateRevoked => StatusCode::FORBIDDEN,
            Self::Validation
            | Self::NoCode
            | Self::CodeWrong
            | Self::CodeDead
            | Self::NameMismatch
            | Self::NotInRegistry
            | Self::Deceased
            | Self::Emigrated
            | Self::CarrierMismatch
            | Self::CarrierNoRecord
            | Self::NoAccount
            | Self::SelfMandate
            | Self::GranteeLevelTooLow
            | Self::NoServices
            | Self::TooManyServices
            | Self::BadCode
            | Self::EndsBeforeStart
            | Self::TooLong
            | Self::UnknownRelationship
            | Self::NoSuchGrantee
            | Self::AlreadyEnded => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// The `type` URI: a URN, so it stays stable wherever the platform is hosted.
    pub fn type_uri(self) -> String {
        format!("urn:shengshi:problem:{}", self.slug())
    }
}

/// One invalid field.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) to the field, e.g. `/name`.
    pub pointer: String,
    /// Stable code, e.g. `required`.
    pub code: String,
    /// Human text in the request's language.
    pub detail: String,
}

/// An RFC 9457 problem document.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "urn:shengshi:problem:validation")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    lang: Lang,
}

impl Problem {
    pub fn new(kind: ProblemKind, lang: Lang, args: &[(&str, &str)]) -> Self {
        let key = kind.catalog_key();
        Self {
            type_uri: kind.type_uri(),
            title: t(lang, &format!("problem.{key}.title")).to_owned(),
            status: kind.status().as_u16(),
            detail: t_args(lang, &format!("problem.{key}.detail"), args),
            errors: Vec::new(),
            lang,
        }
    }

    /// A validation problem listing each invalid field.
    pub fn validation(lang: Lang, errors: Vec<FieldError>) -> Self {
        let count = errors.len().to_string();
        let mut problem = Self::new(ProblemKind::Validation, lang, &[("count", &count)]);
        problem.errors = errors;
        problem
    }

    /// An unexpected failure: logged in full, answered with nothing but the
    /// request ID (taken from the request being handled, so callers need not pass it).
    pub fn internal(lang: Lang, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        let request_id = crate::middleware::current_request_id();
        Self::new(ProblemKind::Internal, lang, &[("request_id", &request_id)])
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let lang = HeaderValue::from_static(self.lang.tag());
        let mut response = (status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(CONTENT_LANGUAGE, lang);
        response
    }
}

pub async fn not_found(lang: RequestLang, uri: Uri) -> Problem {
    Problem::new(ProblemKind::NotFound, lang.lang, &[("path", uri.path())])
}

pub async fn method_not_allowed(lang: RequestLang) -> Problem {
    Problem::new(ProblemKind::MethodNotAllowed, lang.lang, &[])
}

/// A JSON body whose rejections are problem documents in the request's language.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let lang = RequestLang::from_parts(&parts).lang;
        let req = Request::from_parts(parts, body);
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_problem(lang, rejection)),
        }
    }
}

fn json_problem(lang: Lang, rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            Problem::new(ProblemKind::UnsupportedMediaType, lang, &[])
        }
        JsonRejection::JsonDataError(e) => {
            // serde's message names the field and the expectation, never server internals.
            Problem::new(ProblemKind::BadRequest, lang, &[("reason", &e.body_text())])
        }
        JsonRejection::JsonSyntaxError(e) => {
            Problem::new(ProblemKind::BadRequest, lang, &[("reason", &e.body_text())])
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(ProblemKind::PayloadTooLarge, lang, &[])
        }
        other => Problem::new(
            ProblemKind::BadRequest,
            lang,
            &[("reason", &other.body_text())],
        ),
    }
}
