//! Error pages. Handlers and extractors answer failures with an RFC 9457
//! problem document (`crate::problem`); when a browser *navigates* (it asks
//! for HTML, outside `/api/`), this layer shows the same title and detail as a
//! page in the layout, in the reader's language and mode, with the same
//! status code. API clients, `fetch` and scripts still get the JSON.

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    HeaderValue, ACCEPT, CONTENT_LANGUAGE, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE,
};
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use shengshi_i18n::{t, Lang};

use super::forms::{page_helpers, PageError};
use super::other;
use crate::lang::{Mode, RequestLang};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    title: String,
    detail: String,
}
page_helpers!(ErrorPage);

#[derive(Deserialize)]
struct ProblemText {
    title: String,
    detail: String,
}

/// A problem document's size is bounded by its catalog texts; more is not one.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

fn wants_html(req: &Request) -> bool {
    !req.uri().path().starts_with("/api/")
        && req
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

/// Middleware: turns a problem answer to a browser navigation into a page.
pub async fn html_errors(req: Request, next: Next) -> Response {
    let html = wants_html(&req);
    let prefs = RequestLang::from_headers(req.headers(), req.uri().query());
    let response = next.run(req).await;
    if !html || !is_problem(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PROBLEM_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(problem) = serde_json::from_slice::<ProblemText>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    // The language the problem's text is in (a panic's answer is in the default one).
    let lang = parts
        .headers
        .get(CONTENT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_tag)
        .unwrap_or(prefs.lang);
    let page = ErrorPage {
        lang,
        other_lang: other(lang),
        mode: prefs.mode,
        // The layer has no state; the banner is for pages that show data.
        demo: false,
        errors: Vec::new(),
        title: problem.title,
        detail: problem.detail,
    };
    let Ok(html) = page.render() else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    for cookie in prefs.remember() {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            parts.headers.append(SET_COOKIE, value);
        }
    }
    Response::from_parts(parts, Body::from(html))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{Problem, ProblemKind};
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    async fn answer(path: &str, accept: &str) -> (u16, String, String) {
        let not_found = |uri: axum::http::Uri| async move {
            Problem::new(ProblemKind::NotFound, Lang::En, &[("path", uri.path())])
        };
        let app = Router::new()
            .route("/page", get(not_found))
            .route("/api/v1/thing", get(not_found))
            .layer(axum::middleware::from_fn(html_errors));
        let request = Request::get(path)
            .header(ACCEPT, accept)
            .header(axum::http::header::COOKIE, "mode=elderly")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_browser_navigation_gets_a_page_and_everything_else_the_problem() {
        let (status, content_type, body) = answer("/page", "text/html,*/*;q=0.8").await;
        assert_eq!(status, 404);
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(
            body.contains("<html lang=\"en\" class=\"mode-elderly\">"),
            "{body}"
        );
        assert!(body.contains("<h1>Not found</h1>") && body.contains("There is nothing at /page."));

        let (status, content_type, _) = answer("/page", "*/*").await;
        assert_eq!(
            (status, content_type.as_str()),
            (404, "application/problem+json")
        );
        let (status, content_type, _) = answer("/api/v1/thing", "text/html").await;
        assert_eq!(
            (status, content_type.as_str()),
            (404, "application/problem+json")
        );
    }
}
