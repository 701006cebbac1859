//! Server-rendered pages. Templates are compiled in (askama); every page works
//! without JavaScript and carries no inline script or style.
//!
//! A new page opts into the layout, the language and the mode like this:
//!
//! ```text
//! #[derive(Template)]
//! #[template(path = "card.html")]          // {% extends "base.html" %}
//! struct CardPage {
//!     lang: Lang, other_lang: Lang, mode: Mode, demo: bool,   // what base.html reads
//!     errors: Vec<PageError>,               // empty unless the page has a form
//!     /* the page's own fields */
//! }
//! page_helpers!(CardPage);                  // t("key") and error_for("field")
//!
//! async fn card(State(state): State<AppState>, lang: RequestLang, …) -> Response {
//!     let page = CardPage { lang: lang.lang, other_lang: other(lang.lang), mode: lang.mode,
//!                           demo: state.info.demo, errors: Vec::new(), … };
//!     render(page, lang)                    // or forms::respond(page, lang, csrf_cookie)
//! }
//! ```
//!
//! `render` remembers a `?lang=`/`?mode=` choice in its cookie, so the header's
//! switch links work on every page. A page shown as the answer to a POST (a
//! form with errors) must also answer GET at that address: the switch links
//! are relative (`?lang=en`); `back_to_form` does that for POST-only addresses.
//! Forms include `error_summary.html` first in the content block.

mod access_log;
mod card;
mod card_document;
mod card_offline;
mod casework;
mod counter;
mod desk;
mod error;
mod forms;
mod login;
mod mandates;
mod privacy;
mod register;
mod sessions;
mod staff;
mod staff_embargoes;
mod staff_gate;
mod staff_verifiers;
mod verifier_apply;

use askama::Template;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::HeaderValue;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use shengshi_i18n::Lang;

use crate::lang::{Mode, RequestLang};
use crate::problem::Problem;
use crate::{no_store, AppState};

pub use card::QrImages;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/app.css", get(stylesheet))
        .route("/static/favicon.svg", get(favicon))
        .route("/static/passkeys.js", get(passkeys_script))
        .route("/favicon.ico", get(favicon))
        .route("/demo/sms", get(demo_sms))
        .route(
            "/register",
            get(register::phone_form).post(register::phone_submit),
        )
        .route(
            "/register/code",
            get(register::code_form).post(register::code_submit),
        )
        .route(
            "/register/identity",
            get(register::identity_form).post(register::identity_submit),
        )
        .route("/register/done", get(register::done))
        .route("/login", get(login::phone_form).post(login::phone_submit))
        .route(
            "/login/code",
            get(login::code_form).post(login::code_submit),
        )
        .route("/account", get(login::account))
        .route("/account/passkeys/remove", post(login::remove_passkey))
        .route("/account/sessions", get(sessions::list))
        .route(
            "/account/mandates",
            get(mandates::page).post(mandates::grant),
        )
        .route(
            "/account/mandates/revoke",
            back_to_form("/account/mandates").post(mandates::revoke),
        )
        .route(
            "/account/mandates/act",
            back_to_form("/account/mandates").post(mandates::act),
        )
        .route("/account/access-log", get(access_log::list))
        .route("/card", get(card::page))
        .route("/card/activate", back_to_form("/card").post(card::activate))
        .route("/card/suspend", back_to_form("/card").post(card::suspend))
        .route("/card/resume", back_to_form("/card").post(card::resume))
        .route("/card/show", get(card::show))
        .route(
            "/card/document",
            get(card_document::page).post(card_document::issue),
        )
        .route(
            "/card/document/revoke",
            back_to_form("/card/document").post(card_document::revoke),
        )
        .route("/card/offline", get(card_offline::offline))
        .route("/card/sw.js", get(card_offline::service_worker))
        .route("/static/holder.js", get(card_offline::holder_script))
        .route("/desk", get(desk::desk).post(desk::verify))
        .route("/desk/sw.js", get(desk::service_worker))
        .route("/static/desk.js", get(desk::script))
        .route("/static/eid-verify.js", get(desk::verifier_script))
        .route("/card/qr/{id}", get(card::qr_image))
        .route("/static/card.js", get(card::script))
        .route(
            "/static/vendor/qrcode-generator-2.0.4.js",
            get(card::qr_encoder),
        )
        .route("/account/sessions/end", post(sessions::end))
        .route("/account/privacy", get(privacy::page))
        .route(
            "/account/privacy/corrections",
            back_to_form("/account/privacy").post(privacy::correction),
        )
        .route(
            "/account/privacy/close",
            back_to_form("/account/privacy").post(privacy::close),
        )
        .route("/logout", post(login::logout))
        .route("/logout/everywhere", post(login::logout_everywhere))
        .route("/staff", get(staff::console))
        .route(
            "/staff/login",
            get(staff::login_form).post(staff::login_submit),
        )
        .route("/staff/logout", post(staff::logout))
        .route("/staff/passkeys/remove", post(staff::remove_passkey))
        .route("/staff/counter-check", get(counter::phone_form))
        .route("/staff/corrections", get(casework::corrections))
        .route(
            "/staff/corrections/take",
            back_to_form("/staff/corrections").post(casework::take),
        )
        .route(
            "/staff/corrections/assign",
            back_to_form("/staff/corrections").post(casework::assign),
        )
        .route("/staff/corrections/{id}", get(casework::case))
        .route(
            "/staff/corrections/{id}/decision",
            back_to_form("/staff/corrections").post(casework::decide),
        )
        .route(
            "/staff/break-glass",
            get(casework::break_glass_form).post(casework::break_glass_submit),
        )
        .route("/staff/break-glass/alerts", get(casework::alerts))
        .route(
            "/staff/break-glass/alerts/review",
            back_to_form("/staff/break-glass/alerts").post(casework::review),
        )
        .route(
            "/staff/counter-check/code",
            back_to_form("/staff/counter-check").post(counter::phone_submit),
        )
        .route(
            "/staff/counter-check/identity",
            get(counter::identity_form).post(counter::identity_submit),
        )
        .merge(staff_console_routes())
        .layer(axum::middleware::from_fn(crate::lang::keep_page_query))
}

/// Verifier organisations (the public application, the staff pages) and
/// the staff's embargo pages.
fn staff_console_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/verifiers/apply",
            get(verifier_apply::form).post(verifier_apply::submit),
        )
        .route("/staff/verifiers", get(staff_verifiers::page))
        .route(
            "/staff/verifiers/applications/{id}",
            get(staff_verifiers::review),
        )
        .route(
            "/staff/verifiers/applications/{id}/approve",
            back_to_form("/staff/verifiers").post(staff_verifiers::approve),
        )
        .route(
            "/staff/verifiers/applications/{id}/refuse",
            back_to_form("/staff/verifiers").post(staff_verifiers::refuse),
        )
        .route(
            "/staff/verifiers/{id}/rotate",
            back_to_form("/staff/verifiers").post(staff_verifiers::rotate),
        )
        .route(
            "/staff/verifiers/{id}/status",
            back_to_form("/staff/verifiers").post(staff_verifiers::set_status),
        )
        .route(
            "/staff/embargoes",
            get(staff_embargoes::page).post(staff_embargoes::request),
        )
        .route(
            "/staff/embargoes/{id}/decide",
            back_to_form("/staff/embargoes").post(staff_embargoes::decide),
        )
}

pub(crate) use error::html_errors;

/// GET on an address that only takes a form: the page the form is on,
/// remembering a `?lang=`/`?mode=` choice (the header's switch links on a page
/// shown as the answer to that form lead here).
fn back_to_form(path: &'static str) -> axum::routing::MethodRouter<AppState> {
    get(move |lang: RequestLang| async move { forms::see_other(path, &lang.remember()) })
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    version: &'static str,
}

impl HomePage {
    fn t(&self, key: &str) -> &'static str {
        shengshi_i18n::t(self.lang, key)
    }

    /// No form, so never "Error: " (see `forms::page_helpers!`).
    fn title_prefix(&self) -> &'static str {
        ""
    }
}

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::ZhCn => Lang::En,
        Lang::En => Lang::ZhCn,
    }
}

async fn home(State(state): State<AppState>, lang: RequestLang) -> Response {
    let page = HomePage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        version: state.info.version,
    };
    render(page, lang)
}

fn render(page: impl Template, lang: RequestLang) -> Response {
    // The page's own query (filters, a confirmation) rides along on the
    // header's switch links; see `lang::keep_page_query`.
    let rendered = match crate::lang::page_query() {
        Some(query) => {
            let query: Box<dyn std::any::Any> = Box::new(query);
            page.render_with_values(&(crate::lang::PAGE_QUERY_VALUE, query))
        }
        None => page.render(),
    };
    match rendered {
        Ok(html) => {
            let mut response = Html(html).into_response();
            // Remember an explicit choice of language or mode for a year.
            for cookie in lang.remember() {
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().append(SET_COOKIE, value);
                }
            }
            response
        }
        Err(e) => Problem::internal(lang.lang, &e).into_response(),
    }
}

struct OutboxRow {
    to: String,
    at: String,
    text: String,
}

#[derive(Template)]
#[template(path = "demo_sms.html")]
struct DemoSmsPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    entries: Vec<OutboxRow>,
}

impl DemoSmsPage {
    fn t(&self, key: &str) -> &'static str {
        shengshi_i18n::t(self.lang, key)
    }

    fn title_prefix(&self) -> &'static str {
        ""
    }
}

/// The demo SMS outbox: where a newcomer reads the codes the demo "sends".
/// It exists only in development; production has no outbox and answers 404.
async fn demo_sms(State(state): State<AppState>, lang: RequestLang) -> Response {
    let Some(outbox) = &state.outbox else {
        return crate::problem::Problem::new(
            crate::problem::ProblemKind::NotFound,
            lang.lang,
            &[("path", "/demo/sms")],
        )
        .into_response();
    };
    let entries = outbox
        .entries()
        .into_iter()
        .map(|e| OutboxRow {
            to: e.to.as_str().to_owned(),
            at: e.at.to_rfc3339(),
            text: e.text,
        })
        .collect();
    let page = DemoSmsPage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        entries,
    };
    // Codes are secrets even in a demo: never cache this page.
    no_store(render(page, lang))
}

async fn favicon() -> Response {
    (
        [
            (CONTENT_TYPE, "image/svg+xml"),
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../static/favicon.svg"),
    )
        .into_response()
}

async fn passkeys_script() -> Response {
    own_script(include_str!("../../static/passkeys.js"))
}

/// The service worker that keeps `page` and its `files` for offline use
/// (static/offline-sw.js), its cache named after `name`; `scope` when the
/// page is not below the worker's own folder (sent as
/// `Service-Worker-Allowed`). Revalidated at every registration (`no-cache`).
fn offline_service_worker(
    name: &str,
    page: &str,
    files: &[&str],
    scope: Option<&'static str>,
) -> Response {
    let files = files
        .iter()
        .map(|f| format!("'{f}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let body = include_str!("../../static/offline-sw.js")
        .replace("__NAME__", name)
        .replace("__PAGE__", page)
        .replace("__FILES__", &format!("[{files}]"));
    let mut response = (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response();
    if let Some(scope) = scope {
        response.headers_mut().insert(
            axum::http::HeaderName::from_static("service-worker-allowed"),
            HeaderValue::from_static(scope),
        );
    }
    response
}

/// One of the binary's own scripts (no CDN): cached for an hour.
fn own_script(body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
        .into_response()
}
