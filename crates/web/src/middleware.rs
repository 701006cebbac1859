//! What wraps every request: a request ID, a tracing span carrying it, metrics,
//! security headers, a body limit, and a panic guard that answers a problem
//! document instead of dropping the connection.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
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
        // A browser navigation that fails gets an error page, not JSON.
        .layer(axum::middleware::from_fn(crate::pages::html_errors))
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
    let scoped = id.to_str().unwrap_or("-").to_owned();
    let mut response = CURRENT_REQUEST_ID.scope(scoped, next.run(req)).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

tokio::task_local! {
    /// The ID of the request this task is handling (set by [`request_id`]).
    static CURRENT_REQUEST_ID: String;
}

/// The ID of the request being handled, or `-` outside a request.
pub fn current_request_id() -> String {
    CURRENT_REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
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
    let request_id = current_request_id();
    Problem::new(
        ProblemKind::Internal,
        shengshi_i18n::Lang::default(),
        &[("request_id", &request_id)],
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn detail_and_id(router: Router, uri: &str) -> (String, String) {
        let app = apply(router, Arc::new(Metrics::new()));
        let response = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let id = response.headers()[&REQUEST_ID].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (problem["detail"].as_str().unwrap().to_owned(), id)
    }

    #[tokio::test]
    async fn internal_errors_and_panics_quote_the_request_id_the_response_carries() {
        let router = Router::new()
            .route(
                "/fails",
                get(|| async { Problem::internal(shengshi_i18n::Lang::En, &"disk on fire") }),
            )
            .route("/panics", get(|| async { panic!("boom") as &'static str }));
        for uri in ["/fails", "/panics"] {
            let (detail, id) = detail_and_id(router.clone(), uri).await;
            assert!(detail.contains(&id), "{uri}: {detail} should quote {id}");
            assert!(
                !detail.contains("disk on fire") && !detail.contains("boom"),
                "no internals: {detail}"
            );
        }
    }
}
