//! Server-rendered pages. Templates are compiled in (askama); every page works
//! without JavaScript and carries no inline script or style.

mod access_log;
mod counter;
mod forms;
mod login;
mod privacy;
mod register;
mod sessions;
mod staff;

use askama::Template;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::HeaderValue;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use shengshi_i18n::Lang;

use crate::lang::{RequestLang, LANG_COOKIE};
use crate::problem::Problem;
use crate::AppState;

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
        .route("/account/access-log", get(access_log::list))
        .route("/account/sessions/end", post(sessions::end))
        .route("/account/privacy", get(privacy::page))
        .route("/account/privacy/corrections", post(privacy::correction))
        .route("/account/privacy/close", post(privacy::close))
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
        .route("/staff/counter-check/code", post(counter::phone_submit))
        .route(
            "/staff/counter-check/identity",
            get(counter::identity_form).post(counter::identity_submit),
        )
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    lang: Lang,
    other_lang: Lang,
    demo: bool,
    version: &'static str,
}

impl HomePage {
    fn t(&self, key: &str) -> &'static str {
        shengshi_i18n::t(self.lang, key)
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
        demo: state.info.demo,
        version: state.info.version,
    };
    render(page, lang)
}

fn render(page: impl Template, lang: RequestLang) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = Html(html).into_response();
            if lang.chosen_now {
                // Remember an explicit choice for a year.
                let cookie = format!(
                    "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                    lang.lang.tag()
                );
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().insert(SET_COOKIE, value);
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
    demo: bool,
    entries: Vec<OutboxRow>,
}

impl DemoSmsPage {
    fn t(&self, key: &str) -> &'static str {
        shengshi_i18n::t(self.lang, key)
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
        demo: state.info.demo,
        entries,
    };
    let mut response = render(page, lang);
    // Codes are secrets even in a demo: never cache this page.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/passkeys.js"),
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
