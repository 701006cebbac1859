//! Cross-site request forgery defence for every state-changing request:
//!
//! 1. Fetch metadata and Origin: a browser tells us where a request came from;
//!    anything not same-origin is refused (`Sec-Fetch-Site`, else `Origin`).
//! 2. For forms, a token: a random value in a SameSite=Strict, HttpOnly cookie
//!    that the form must echo in a hidden field (compared in constant time).

use axum::extract::Request;
use axum::http::header::{HeaderValue, ORIGIN, SET_COOKIE};
use axum::http::{HeaderName, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::lang::{cookie, RequestLang};
use crate::problem::{Problem, ProblemKind};

pub const CSRF_COOKIE: &str = "csrf";
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Refuses cross-site state-changing requests before any handler runs.
pub async fn same_origin_only(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && is_cross_site(&req) {
        let lang = RequestLang::from_headers(req.headers(), req.uri().query()).lang;
        tracing::warn!(method = %req.method(), path = %req.uri().path(), "cross-site request refused");
        return Problem::new(ProblemKind::CrossSite, lang, &[]).into_response();
    }
    next.run(req).await
}

fn is_cross_site(req: &Request) -> bool {
    if let Some(site) = req.headers().get(&SEC_FETCH_SITE) {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match (
        req.headers().get(ORIGIN),
        req.headers().get(axum::http::header::HOST),
    ) {
        (Some(origin), Some(host)) => {
            let origin = origin.to_str().unwrap_or("");
            let host = host.to_str().unwrap_or("");
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
            origin == "null" || origin_host != host
        }
        // No browser metadata at all: a non-browser client (curl, a department
        // system); cookies are what CSRF abuses, and the form token still applies.
        _ => false,
    }
}

/// The form token for this browser: the cookie's value, or a new one to set.
pub fn form_token(headers: &axum::http::HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(existing) = cookie(headers, CSRF_COOKIE).filter(|v| v.len() == 43) {
        return (existing, None);
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    use base64::Engine;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let cookie = format!("{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    (token, HeaderValue::from_str(&cookie).ok())
}

/// Adds the Set-Cookie header for a newly minted token.
pub fn attach(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// Whether a submitted form carries this browser's token.
pub fn form_token_matches(headers: &axum::http::HeaderMap, submitted: &str) -> bool {
    match cookie(headers, CSRF_COOKIE) {
        Some(expected) if !submitted.is_empty() => {
            expected.as_bytes().ct_eq(submitted.as_bytes()).into()
        }
        _ => false,
    }
}
