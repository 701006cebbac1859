//! The `sid` session cookie, shared by the pages and the JSON API.

use axum::http::HeaderMap;
use shengshi_app::login::{self, Authenticated, SessionToken};

use crate::lang::cookie;
use crate::AppState;

pub const SESSION_COOKIE: &str = "sid";

/// The `Set-Cookie` value carrying a session token (an empty value with
/// `max_age` 0 clears it).
pub fn session_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    // Secure whenever the public origin is https (never on http://localhost).
    let secure = if state.info.public_origin.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The signed-in resident, if the request carries a live session.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Option<Authenticated> {
    let token = SessionToken::from_client(&cookie(headers, SESSION_COOKIE)?);
    login::authenticate(&state.services, &token).await.ok()
}
