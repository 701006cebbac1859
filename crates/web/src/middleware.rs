//! What wraps every request: a request ID, a tracing span carrying it, metrics,
//! security headers, a body limit, and a panic guard that answers a problem
//! document instead of dropping the connection.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Request};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::metrics::Metrics;
use crate::problem::{Problem, ProblemKind};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Pages: scripts and styles only from our own files; nothing framed; no plugins.
const STRICT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The vendored Swagger UI sets inline style attributes; it gets this policy
/// and nothing else does. Scripts stay restricted to our own files.
const API_REFERENCE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn apply(router: Router, metrics: Arc<Metrics>) -> Router {
    // The last layer added runs first.
    router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Innermost, so that a panic's answer still gets security headers and is counted.
        .layer(CatchPanicLayer::custom(panic_to_problem))
        .layer(axum::middleware::from_fn(crate::csrf::same_origin_only))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn(move |req, next| record_metrics(metrics.clone(), req, next)))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                // One line per answered request; the span adds its request ID.
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(axum::middleware::from_fn(request_id))
}

/// The request's ID: the caller's `X-Request-Id` if it is short and plain,
/// otherwise a new UUIDv7. It is echoed in the response and on every log line.
async fn request_id(mut req: Request, next: Next) -> Response {
    let acceptable = |v: &HeaderValue| {
        v.len() <= 64
            && v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    };
    let id = match req.headers().get(&REQUEST_ID) {
        Some(v) if !v.is_empty() && acceptable(v) => v.clone(),
        _ => HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .unwrap_or(HeaderValue::from_static("-")),
    };
    req.headers_mut().insert(REQUEST_ID, id.clone());
    let mut response = next.run(req).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// The request ID, for handlers that mention it (internal errors do).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let id = parts
            .headers
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        Ok(Self(id.to_owned()))
    }
}

async fn record_metrics(metrics: Arc<Metrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let response = next.run(req).await;
    let route = route.as_deref().unwrap_or("unmatched");
    metrics.observe(
        &method,
        route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

async fn security_headers(req: Request, next: Next) -> Response {
    let is_api_reference = req.uri().path().starts_with("/api/docs");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let csp = if is_api_reference {
        API_REFERENCE_CSP
    } else {
        STRICT_CSP
    };
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("geolocation=(), microphone=(), payment=(), usb=()"),
    );
    response
}

fn panic_to_problem(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // The panic message may hold internals: it goes to the log (via the panic
    // hook), never to the client.
    tracing::error!("a handler panicked");
    Problem::new(
        ProblemKind::Internal,
        shengshi_i18n::Lang::default(),
        &[("request_id", "-")],
    )
    .into_response()
}
