//! Logging in over the JSON API: ask for a login code, open a session (the
//! `sid` cookie, exactly as the login page sets it), see who is signed in, list
//! the account's live sessions, and end one of them, this one, or all of them.

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::header::{HeaderValue, SET_COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::login::{self, Device, EndSessionError, LoginError, SessionSummary};
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::PhoneCode;
use std::net::SocketAddr;
use utoipa::ToSchema;

use super::registration::{code_problem, field, parse_phone, send_code, CodeRequest};
use crate::lang::RequestLang;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::session::{current, session_cookie};
use crate::AppState;

/// The signed-in resident of an API request; without a live session the
/// request is answered 401 with an `unauthenticated` problem.
#[derive(Clone, Debug)]
pub struct Authenticated(pub login::Authenticated);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match current(state, &parts.headers).await {
            Some(session) => Ok(Self(session)),
            None => {
                let lang = RequestLang::from_parts(parts).lang;
                Err(Problem::new(ProblemKind::Unauthenticated, lang, &[]))
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The mobile number of the account.
    pub phone: String,
    /// The six digits from the SMS.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCreated {
    /// The signed-in account.
    pub account_id: String,
    /// 1, 2 or 3 (L1 phone verified, L2 real name, L3 in person).
    pub assurance_level: i64,
    /// When the session ends at the latest (RFC 3339, UTC); it ends sooner after 30 minutes idle.
    pub expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub account_id: String,
    pub assurance_level: i64,
    /// `active`, `evicted` or `closed`.
    #[schema(example = "active")]
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsRevoked {
    /// How many sessions were ended, this one included.
    pub revoked: u64,
}

/// One of your live sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    /// Names the session in `DELETE /api/v1/sessions/{handle}`; not a credential.
    pub handle: String,
    /// Browser and system, e.g. `Chrome on Android`, when they were recognised at login.
    #[schema(example = "Chrome on Android")]
    pub device: Option<String>,
    /// When you logged in (RFC 3339, UTC).
    pub created_at: String,
    /// Activity is recorded at most once a minute.
    pub last_seen_at: String,
    /// True for the session this request came with.
    pub is_current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// Your live sessions (not ended, not expired), newest first.
    pub sessions: Vec<SessionDto>,
}

/// The device a login comes from, as a short description; never the raw header.
pub(crate) fn device(headers: &HeaderMap) -> Option<Device> {
    let user_agent = headers.get(USER_AGENT)?.to_str().ok()?;
    Device::from_user_agent(user_agent)
}

/// Ask for a login code by SMS. The answer is the same whether or not an
/// account uses the number.
#[utoipa::path(
    post,
    path = "/api/v1/login/codes",
    tag = "sessions",
    request_body = CodeRequest,
    responses(
        (status = 202, body = super::registration::CodeSent),
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
    send_code(&state, peer, lang.lang, &body, CodePurpose::Login).await
}

/// Log in with the code from the SMS; sets the `sid` session cookie.
#[utoipa::path(
    post,
    path = "/api/v1/sessions",
    tag = "sessions",
    request_body = LoginRequest,
    responses(
        (status = 201, body = SessionCreated, description = "Logged in; the `sid` cookie (HttpOnly) carries the session"),
        (status = 422, description = "Invalid input, wrong or dead code, or no account uses this number", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
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
    let (token, account_id) =
        match login::login_with_code(&state.services, secrets, &phone, &code, device(&headers))
            .await
        {
            Ok(opened) => opened,
            Err(LoginError::NoAccount) => {
                return Problem::new(ProblemKind::NoAccount, lang, &[]).into_response()
            }
            Err(LoginError::Code(e)) => return code_problem(lang, e).into_response(),
            Err(LoginError::Internal(e)) => return Problem::internal(lang, &e).into_response(),
        };
    let session = match login::authenticate(&state.services, &token).await {
        Ok(session) => session,
        Err(e) => return Problem::internal(lang, &e).into_response(),
    };
    session_opened(&state, &token, account_id, session.account.assurance_level)
}

/// The answer to any resident login (SMS code or passkey): 201 with the
/// account and the `sid` cookie.
pub(crate) fn session_opened(
    state: &AppState,
    token: &login::SessionToken,
    account_id: shengshi_domain::AccountId,
    assurance_level: i64,
) -> Response {
    let max_age = login::ABSOLUTE_TIMEOUT.whole_seconds();
    let expires_at = state
        .services
        .clock
        .now()
        .plus(login::ABSOLUTE_TIMEOUT)
        .to_rfc3339();
    let mut response = (
        StatusCode::CREATED,
        Json(SessionCreated {
            account_id: account_id.to_string(),
            assurance_level,
            expires_at,
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&session_cookie(state, token.as_str(), max_age)) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// The signed-in account.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "sessions",
    responses(
        (status = 200, body = Me),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(Authenticated(session): Authenticated) -> Json<Me> {
    Json(Me {
        account_id: session.account.id.to_string(),
        assurance_level: session.account.assurance_level,
        status: session.account.status.clone(),
    })
}

pub(crate) fn clear_cookie(state: &AppState, response: &mut Response) {
    if let Ok(value) = HeaderValue::from_str(&session_cookie(state, "", 0)) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// Log out: ends this session and clears the cookie.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/current",
    tag = "sessions",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_current(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    if let Err(e) = login::logout(&state.services, &session).await {
        return Problem::internal(lang.lang, &e).into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_cookie(&state, &mut response);
    response
}

/// Log out everywhere: ends every session of the account, this one included.
#[utoipa::path(
    post,
    path = "/api/v1/sessions/revoke-all",
    tag = "sessions",
    responses(
        (status = 200, body = SessionsRevoked),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_all(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match login::logout_everywhere(&state.services, &session).await {
        Ok(revoked) => {
            let mut response = Json(SessionsRevoked { revoked }).into_response();
            clear_cookie(&state, &mut response);
            response
        }
        Err(e) => Problem::internal(lang.lang, &e).into_response(),
    }
}

fn session_dto(s: SessionSummary) -> SessionDto {
    SessionDto {
        handle: s.handle.as_str().to_owned(),
        device: s.device,
        created_at: s.created_at.to_rfc3339(),
        last_seen_at: s.last_seen_at.to_rfc3339(),
        is_current: s.is_current,
    }
}

/// Your live sessions, so you can spot one you do not recognise and end it.
#[utoipa::path(
    get,
    path = "/api/v1/sessions",
    tag = "sessions",
    responses(
        (status = 200, body = SessionList),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match login::live_sessions(&state.services, &session).await {
        Ok(sessions) => Json(SessionList {
            sessions: sessions.into_iter().map(session_dto).collect(),
        })
        .into_response(),
        Err(e) => Problem::internal(lang.lang, &e).into_response(),
    }
}

/// End one of your sessions (on another device, or this one: then the cookie is cleared).
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{handle}",
    tag = "sessions",
    params(("handle" = String, Path, description = "The session's handle from `GET /api/v1/sessions`")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no live session with this handle", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    Path(handle): Path<String>,
) -> Response {
    match login::end_session(&state.services, &session, &handle).await {
        Ok(was_current) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            if was_current {
                clear_cookie(&state, &mut response);
            }
            response
        }
        Err(EndSessionError::NotFound) => {
            Problem::new(ProblemKind::SessionNotFound, lang.lang, &[]).into_response()
        }
        Err(EndSessionError::Store(e)) => Problem::internal(lang.lang, &e).into_response(),
    }
}
