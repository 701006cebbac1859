//! Staff login over the JSON API: open a staff session (the `staff_sid`
//! cookie, exactly as the staff login page sets it), see who is signed in and
//! what they may do, and end the session. A refusal never says which of
//! username, password or code was wrong.

use axum::extract::{FromRequestParts, State};
use axum::http::header::{HeaderValue, RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use shengshi_app::staff::capability::authorize;
use shengshi_app::staff::session::{self, StaffSession};
use shengshi_app::staff::{LoginError, StaffMember};
use shengshi_domain::Timestamp;
use shengshi_i18n::{t, Lang};
use utoipa::ToSchema;

use crate::lang::RequestLang;
use crate::problem::{ApiJson, FieldError, Problem, ProblemKind};
use crate::staff_session::{accounts, capability_names, current, staff_session_cookie, token};
use crate::AppState;

/// The signed-in staff member of an API request; without a live staff session
/// the request is answered 401 with an `unauthenticated` problem.
#[derive(Clone, Debug)]
pub struct StaffAuthenticated(pub StaffSession);

impl FromRequestParts<AppState> for StaffAuthenticated {
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

#[derive(Deserialize, ToSchema)]
pub struct StaffLoginRequest {
    pub username: String,
    pub password: String,
    /// The six digits from the staff member's authenticator app (TOTP).
    pub code: String,
}

impl std::fmt::Debug for StaffLoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffLoginRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Who is signed in and what they may do.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffMe {
    pub staff_id: String,
    pub username: String,
    pub display_name: String,
    /// Stable department code, e.g. `civil_affairs`.
    #[schema(example = "civil_affairs")]
    pub department: String,
    /// The department's name in the request's language.
    pub department_name: String,
    /// `clerk`, `reviewer`, `supervisor`, `auditor` or `administrator`.
    #[schema(example = "clerk")]
    pub role: String,
    /// The role's name in the request's language.
    pub role_name: String,
    /// What the role grants: any of `clerk`, `reviewer`, `supervisor`, `auditor`, `admin`,
    /// `identity_check` (checking a resident's identity card at a counter).
    #[schema(example = json!(["clerk"]))]
    pub capabilities: Vec<String>,
    /// When the session ends at the latest (RFC 3339, UTC); it ends sooner after 15 minutes idle.
    pub expires_at: String,
}

fn me_of(lang: Lang, member: &StaffMember, expires_at: Timestamp) -> StaffMe {
    StaffMe {
        staff_id: member.id().to_string(),
        username: member.username().to_owned(),
        display_name: member.display_name().to_owned(),
        department: member.department().name().to_owned(),
        department_name: t(lang, &member.department().display_key()).to_owned(),
        role: member.role().name().to_owned(),
        role_name: t(lang, &member.role().display_key()).to_owned(),
        capabilities: capability_names(&authorize(member))
            .into_iter()
            .map(str::to_owned)
            .collect(),
        expires_at: expires_at.to_rfc3339(),
    }
}

fn required(lang: Lang, pointer: &str, key: &str) -> FieldError {
    FieldError {
        pointer: pointer.to_owned(),
        code: "required".to_owned(),
        detail: t(lang, key).to_owned(),
    }
}

/// Whether a TOTP code has the form of one: six ASCII digits.
pub(crate) fn code_has_six_digits(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Minutes until `until`, rounded up (at least 1), and seconds for `Retry-After`.
pub(crate) fn wait_until(state: &AppState, until: Timestamp) -> (i64, i64) {
    let millis = until.unix_millis() - state.services.clock.now().unix_millis();
    let seconds = (millis + 999).div_euclid(1000).max(1);
    ((seconds + 59).div_euclid(60), seconds)
}

/// The lockout problem, with `Retry-After`.
fn locked_out(state: &AppState, lang: Lang, until: Timestamp) -> Response {
    let (minutes, seconds) = wait_until(state, until);
    let minutes = minutes.to_string();
    let mut response =
        Problem::new(ProblemKind::StaffLockedOut, lang, &[("minutes", &minutes)]).into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

/// Staff log in with username, password and authenticator code; sets the
/// `staff_sid` cookie (HttpOnly, SameSite=Strict). A session the browser held
/// before is ended: every login gets a new token.
#[utoipa::path(
    post,
    path = "/api/v1/staff/sessions",
    tag = "staff",
    request_body = StaffLoginRequest,
    responses(
        (status = 201, body = StaffMe, description = "Logged in; the `staff_sid` cookie (HttpOnly, SameSite=Strict) carries the session"),
        (status = 401, description = "Wrong username, password or code (never saying which)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or the code is not six digits", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Locked out after too many failures; `Retry-After` gives the seconds left", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    ApiJson(body): ApiJson<StaffLoginRequest>,
) -> Response {
    let lang = lang.lang;
    let mut errors = Vec::new();
    if body.username.trim().is_empty() {
        errors.push(required(lang, "/username", "staff.login.username_required"));
    }
    if body.password.is_empty() {
        errors.push(required(lang, "/password", "staff.login.password_required"));
    }
    if !code_has_six_digits(body.code.trim()) {
        errors.push(crate::api::registration::field(
            lang,
            "/code",
            "code_format",
        ));
    }
    if !errors.is_empty() {
        return Problem::validation(lang, errors).into_response();
    }
    let password = SecretString::from(body.password);
    let previous = token(&headers);
    let login = match session::login(
        &accounts(&state),
        &body.username,
        &password,
        body.code.trim(),
        previous.as_ref(),
    )
    .await
    {
        Ok(login) => login,
        // The security log holds the reason; the caller learns only "refused".
        Err(LoginError::Refused(_)) => {
            return Problem::new(ProblemKind::StaffLoginRefused, lang, &[]).into_response()
        }
        Err(LoginError::LockedOut { until }) => return locked_out(&state, lang, until),
        Err(e) => return Problem::internal(lang, &e).into_response(),
    };
    staff_session_opened(&state, lang, &login)
}

/// The answer to any staff login (password and code, or passkey): 201 with
/// who signed in and the `staff_sid` cookie.
pub(crate) fn staff_session_opened(
    state: &AppState,
    lang: Lang,
    login: &session::StaffLogin,
) -> Response {
    let max_age = session::ABSOLUTE_TIMEOUT.whole_seconds();
    let mut response = (
        StatusCode::CREATED,
        Json(me_of(lang, &login.member, login.expires_at)),
    )
        .into_response();
    let cookie = staff_session_cookie(state, login.token.as_str(), max_age);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// The signed-in staff member: department, role and capabilities.
#[utoipa::path(
    get,
    path = "/api/v1/staff/me",
    tag = "staff",
    responses(
        (status = 200, body = StaffMe),
        (status = 401, description = "No live staff session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(
    lang: RequestLang,
    StaffAuthenticated(session): StaffAuthenticated,
) -> Json<StaffMe> {
    Json(me_of(lang.lang, &session.member, session.expires_at))
}

/// Log out: ends this staff session and clears the cookie.
#[utoipa::path(
    delete,
    path = "/api/v1/staff/sessions/current",
    tag = "staff",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No live staff session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_current(
    State(state): State<AppState>,
    lang: RequestLang,
    StaffAuthenticated(session): StaffAuthenticated,
) -> Response {
    if let Err(e) = session::logout(&state.services, &session).await {
        return Problem::internal(lang.lang, &e).into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&staff_session_cookie(&state, "", 0)) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
