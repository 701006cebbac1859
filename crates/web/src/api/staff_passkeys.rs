//! Staff passkeys over the JSON API: a signed-in staff member registers,
//! lists and removes passkeys, and logs in with one instead of a password and
//! an authenticator code. The ceremonies work as for residents (see
//! `api::passkeys`); the passkeys are kept apart, so a resident's passkey
//! never opens the console and a staff member's never opens a resident's pages.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use shengshi_app::passkeys::{self, CeremonyToken, LoginAudience, PasskeyLoginError};
use shengshi_app::staff::session;
use shengshi_store::PasskeyOwner;

use super::passkeys::{
    begin_login_for, finish_registration_for, list_for, parse_credential, passkey_problem,
    remove_for, started, NewPasskey, PasskeyDto, PasskeyList, PasskeyLogin,
};
use super::staff::{staff_session_opened, StaffAuthenticated};
use crate::lang::RequestLang;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::staff_session::{accounts, token};
use crate::AppState;

fn owner(staff: &StaffAuthenticated) -> PasskeyOwner {
    PasskeyOwner::Staff(staff.0.member.id())
}

/// Start registering a passkey for the signed-in staff member.
#[utoipa::path(
    post,
    path = "/api/v1/staff/passkeys/registrations",
    tag = "staff",
    responses(
        (status = 200, body = super::passkeys::CeremonyStarted),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn begin_registration(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
) -> Response {
    let member = &staff.0.member;
    match passkeys::begin_registration(
        &state.services,
        &state.identity.relying_party,
        owner(&staff),
        member.username(),
        member.display_name(),
    )
    .await
    {
        Ok((ceremony, options)) => started(ceremony, options),
        Err(e) => passkey_problem(lang.lang, &e).into_response(),
    }
}

/// Finish registering a staff passkey.
#[utoipa::path(
    post,
    path = "/api/v1/staff/passkeys",
    tag = "staff",
    request_body = NewPasskey,
    responses(
        (status = 201, body = PasskeyDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn finish_registration(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
    ApiJson(body): ApiJson<NewPasskey>,
) -> Response {
    finish_registration_for(&state, lang.lang, owner(&staff), body).await
}

/// The signed-in staff member's passkeys.
#[utoipa::path(
    get,
    path = "/api/v1/staff/passkeys",
    tag = "staff",
    responses(
        (status = 200, body = PasskeyList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    lang: RequestLang,
    staff: StaffAuthenticated,
) -> Response {
    list_for(&state, lang.lang, owner(&staff)).await
}

/// Remove one of your staff passkeys.
#[utoipa::path(
    delete,
    path = "/api/v1/staff/passkeys/{id}",
    tag = "staff",
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
    staff: StaffAuthenticated,
    Path(id): Path<String>,
) -> Response {
    remove_for(&state, lang.lang, owner(&staff), &id).await
}

/// Start a staff passkey login.
#[utoipa::path(
    post,
    path = "/api/v1/staff/passkeys/login-challenges",
    tag = "staff",
    responses((status = 200, body = super::passkeys::CeremonyStarted))
)]
pub async fn begin_login(State(state): State<AppState>, lang: RequestLang) -> Response {
    begin_login_for(&state, lang.lang, LoginAudience::Staff).await
}

/// Log in with a staff passkey; sets the `staff_sid` cookie like a password login.
#[utoipa::path(
    post,
    path = "/api/v1/staff/sessions/passkey",
    tag = "staff",
    request_body = PasskeyLogin,
    responses(
        (status = 201, body = super::staff::StaffMe, description = "Logged in; the `staff_sid` cookie carries the session"),
        (status = 401, description = "The passkey was not accepted", body = Problem, content_type = "application/problem+json"),
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
    let previous = token(&headers);
    let login = match session::login_with_passkey(
        &accounts(&state),
        &state.services,
        &state.identity.relying_party,
        &CeremonyToken::from_client(&body.ceremony),
        &credential,
        previous.as_ref(),
    )
    .await
    {
        Ok(login) => login,
        Err(PasskeyLoginError::Refused(_)) => return refused(),
        Err(PasskeyLoginError::Internal(e)) => return Problem::internal(lang, &e).into_response(),
    };
    staff_session_opened(&state, lang, &login)
}
