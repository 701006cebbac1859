//! Passkeys over the JSON API: a signed-in resident registers, lists and
//! removes passkeys; anyone logs in with one (discoverable: no username or
//! phone number is sent first).
//!
//! Each ceremony is two calls. The first answers `{ceremony, options}`: pass
//! `options.publicKey` to `navigator.credentials.create()` or `.get()` (e.g.
//! through `PublicKeyCredential.parseCreationOptionsFromJSON`), and send the
//! credential's `toJSON()` back with the `ceremony` token, within 5 minutes.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::passkeys::{
    self, CeremonyToken, LoginAudience, PasskeyError, PasskeyLoginError, PasskeySummary,
};
use shengshi_i18n::Lang;
use shengshi_store::PasskeyOwner;
use utoipa::ToSchema;

use super::session::{device, session_opened, Authenticated, SessionCreated};
use crate::lang::RequestLang;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::AppState;

/// The first half of a ceremony.
#[derive(Debug, Serialize, ToSchema)]
pub struct CeremonyStarted {
    /// Send this back with the authenticator's answer; it expires in 5 minutes
    /// and works once.
    pub ceremony: String,
    /// WebAuthn options as JSON (`{"publicKey": {...}}`), binary fields base64url.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPasskey {
    pub ceremony: String,
    /// What to call the passkey, e.g. "my phone" (1 to 60 characters).
    pub label: String,
    /// The credential from `navigator.credentials.create()`, as `toJSON()` gives it.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyLogin {
    pub ceremony: String,
    /// The credential from `navigator.credentials.get()`, as `toJSON()` gives it.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// A registered passkey.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyDto {
    /// The credential id (base64url); names the passkey in `DELETE /api/v1/passkeys/{id}`.
    pub id: String,
    pub label: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<PasskeySummary> for PasskeyDto {
    fn from(p: PasskeySummary) -> Self {
        Self {
            id: p.id,
            label: p.label,
            created_at: p.created_at.to_rfc3339(),
            last_used_at: p.last_used_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    pub passkeys: Vec<PasskeyDto>,
}

pub(crate) fn passkey_problem(lang: Lang, e: &PasskeyError) -> Problem {
    let kind = match e {
        PasskeyError::UnknownCeremony => ProblemKind::CeremonyUnknown,
        PasskeyError::Rejected(reason) => {
            tracing::info!(%reason, "a passkey registration did not verify");
            ProblemKind::PasskeyRejected
        }
        PasskeyError::AlreadyRegistered => ProblemKind::PasskeyAlreadyRegistered,
        PasskeyError::TooMany => ProblemKind::PasskeyTooMany,
        PasskeyError::InvalidLabel => ProblemKind::PasskeyLabel,
        PasskeyError::NotFound => ProblemKind::PasskeyNotFound,
        PasskeyError::Internal(_) => return Problem::internal(lang, e),
    };
    Problem::new(kind, lang, &[])
}

pub(crate) fn started(token: CeremonyToken, options: impl Serialize) -> Response {
    match serde_json::to_value(options) {
        Ok(options) => (
            StatusCode::OK,
            Json(CeremonyStarted {
                ceremony: token.as_str().to_owned(),
                options,
            }),
        )
            .into_response(),
        Err(e) => Problem::internal(Lang::En, &e).into_response(),
    }
}

/// A credential JSON that does not even parse is a rejected answer.
pub(crate) fn parse_credential<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, PasskeyError> {
    serde_json::from_value(value).map_err(|e| PasskeyError::Rejected(e.to_string()))
}

/// Start registering a passkey for the signed-in resident.
#[utoipa::path(
    post,
    path = "/api/v1/passkeys/registrations",
    tag = "passkeys",
    responses(
        (status = 200, body = CeremonyStarted),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Already 10 passkeys", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn begin_registration(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    let account = &session.account;
    // The authenticator shows this when the resident picks a passkey: no name
    // or ID number, only the platform and the account's short id.
    let short = account.id.to_string();
    let user_name = format!("shengshi-{}", &short[..8]);
    match passkeys::begin_registration(
        &state.services,
        &state.identity.relying_party,
        PasskeyOwner::Resident(account.id),
        &user_name,
        &user_name,
    )
    .await
    {
        Ok((token, options)) => started(token, options),
        Err(e) => passkey_problem(lang.lang, &e).into_response(),
    }
}

/// Finish registering: store the passkey. A resident already checked in
/// person at a counter reaches L3.
#[utoipa::path(
    post,
    path = "/api/v1/passkeys",
    tag = "passkeys",
    request_body = NewPasskey,
    responses(
        (status = 201, body = PasskeyDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This passkey is already registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Expired ceremony, bad label, or an answer that did not verify", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn finish_registration(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    ApiJson(body): ApiJson<NewPasskey>,
) -> Response {
    let owner = PasskeyOwner::Resident(session.account.id);
    finish_registration_for(&state, lang.lang, owner, body).await
}

/// Finishes registering a passkey for `owner` (a resident or a staff member).
pub(crate) async fn finish_registration_for(
    state: &AppState,
    lang: Lang,
    owner: PasskeyOwner,
    body: NewPasskey,
) -> Response {
    let credential = match parse_credential(body.credential) {
        Ok(credential) => credential,
        Err(e) => return passkey_problem(lang, &e).into_response(),
    };
    match passkeys::finish_registration(
        &state.services,
        &state.identity.relying_party,
        owner,
        &CeremonyToken::from_client(&body.ceremony),
        &credential,
        &body.label,
    )
    .await
    {
        Ok(summary) => (StatusCode::CREATED, Json(PasskeyDto::from(summary))).into_response(),
        Err(e) => passkey_problem(lang, &e).into_response(),
    }
}

/// The signed-in resident's passkeys.
#[utoipa::path(
    get,
    path = "/api/v1/passkeys",
    tag = "passkeys",
    responses(
        (status = 200, body = PasskeyList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    list_for(
        &state,
        lang.lang,
        PasskeyOwner::Resident(session.account.id),
    )
    .await
}

/// The owner's passkeys as the API lists them.
pub(crate) async fn list_for(state: &AppState, lang: Lang, owner: PasskeyOwner) -> Response {
    match passkeys::list(&state.services, owner).await {
        Ok(list) => Json(PasskeyList {
            passkeys: list.into_iter().map(PasskeyDto::from).collect(),
        })
        .into_response(),
        Err(e) => passkey_problem(lang, &e).into_response(),
    }
}

/// Remove one of your passkeys (an L3 account whose last passkey goes drops to L2).
#[utoipa::path(
    delete,
    path = "/api/v1/passkeys/{id}",
    tag = "passkeys",
    params(("id" = String, Path, description = "The passkey id from the list")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Response {
    remove_for(
        &state,
        lang.lang,
        PasskeyOwner::Resident(session.account.id),
        &id,
    )
    .await
}

/// Removes one of the owner's passkeys: 204, or a problem.
pub(crate) async fn remove_for(
    state: &AppState,
    lang: Lang,
    owner: PasskeyOwner,
    id: &str,
) -> Response {
    match passkeys::remove(&state.services, owner, id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => passkey_problem(lang, &e).into_response(),
    }
}

/// Start a passkey login (residents). Nobody is named.
#[utoipa::path(
    post,
    path = "/api/v1/passkeys/login-challenges",
    tag = "passkeys",
    responses((status = 200, body = CeremonyStarted))
)]
pub async fn begin_login(State(state): State<AppState>, lang: RequestLang) -> Response {
    begin_login_for(&state, lang.lang, LoginAudience::Resident).await
}

/// Starts a passkey login for residents or for staff.
pub(crate) async fn begin_login_for(
    state: &AppState,
    lang: Lang,
    audience: LoginAudience,
) -> Response {
    match passkeys::begin_login(&state.services, &state.identity.relying_party, audience).await {
        Ok((token, options)) => started(token, options),
        Err(e) => passkey_problem(lang, &e).into_response(),
    }
}

/// Log in with a passkey; sets the `sid` session cookie like an SMS login.
#[utoipa::path(
    post,
    path = "/api/v1/sessions/passkey",
    tag = "passkeys",
    request_body = PasskeyLogin,
    responses(
        (status = 201, body = SessionCreated, description = "Logged in; the `sid` cookie (HttpOnly) carries the session"),
        (status = 401, description = "The passkey was not accepted, or the login request expired", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PasskeyLogin>,
) -> Response {
    let lang = lang.lang;
    let refused = || Problem::new(ProblemKind::PasskeyLoginRefused, lang, &[]).into_response();
    let Ok(credential) = parse_credential(body.credential) else {
        return refused();
    };
    let (token, account) = match passkeys::resident_login(
        &state.services,
        &state.identity.relying_party,
        &CeremonyToken::from_client(&body.ceremony),
        &credential,
        device(&headers),
    )
    .await
    {
        Ok(opened) => opened,
        Err(PasskeyLoginError::Refused(_)) => return refused(),
        Err(PasskeyLoginError::Internal(e)) => return Problem::internal(lang, &e).into_response(),
    };
    session_opened(&state, &token, account.id, account.assurance_level)
}
