//! The `staff_sid` cookie, shared by the staff pages and the staff API. It is
//! not the residents' `sid`: a staff session never opens a resident's pages or
//! the other way round. SameSite=Strict, since nothing outside the platform
//! has reason to link into a signed-in console.

use axum::http::HeaderMap;
use shengshi_app::staff::capability::Capabilities;
use shengshi_app::staff::session::{self, StaffSession, StaffSessionToken};
use shengshi_app::staff::StaffAccounts;

use crate::lang::cookie;
use crate::AppState;

pub const STAFF_SESSION_COOKIE: &str = "staff_sid";

/// The `Set-Cookie` value carrying a staff session token (an empty value with
/// `max_age` 0 clears it).
pub fn staff_session_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    // Secure whenever the public origin is https (never on http://localhost).
    let secure = if state.info.public_origin.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{STAFF_SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    )
}

/// The staff session token the request carries, live or not.
pub fn token(headers: &HeaderMap) -> Option<StaffSessionToken> {
    cookie(headers, STAFF_SESSION_COOKIE)
        .filter(|v| !v.is_empty())
        .map(|v| StaffSessionToken::from_client(&v))
}

/// The signed-in staff member, if the request carries a live staff session.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Option<StaffSession> {
    session::authenticate(&state.services, &token(headers)?)
        .await
        .ok()
}

/// Staff login for this request. Cheap to build: the bound on concurrent
/// Argon2 computations is process-wide, not per instance.
pub fn accounts(state: &AppState) -> StaffAccounts {
    StaffAccounts::new(&state.services, state.identity.secrets.clone())
}

/// The capabilities granted, by stable name, in a fixed order. Destructured
/// whole, so a capability added to `Capabilities` cannot be left off the list.
pub fn capability_names(caps: &Capabilities) -> Vec<&'static str> {
    let Capabilities {
        clerk,
        reviewer,
        supervisor,
        auditor,
        admin,
        identity_check,
        verifier_registrar,
        correction_desk,
        break_glass,
    } = caps;
    [
        (clerk.is_some(), "clerk"),
        (reviewer.is_some(), "reviewer"),
        (supervisor.is_some(), "supervisor"),
        (auditor.is_some(), "auditor"),
        (admin.is_some(), "admin"),
        (identity_check.is_some(), "identity_check"),
        (verifier_registrar.is_some(), "verifier_registrar"),
        (correction_desk.is_some(), "correction_desk"),
        (break_glass.is_some(), "break_glass"),
    ]
    .into_iter()
    .filter_map(|(granted, name)| granted.then_some(name))
    .collect()
}
