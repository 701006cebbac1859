//! The holder-bound card page (/card/offline): static/holder.js signs codes
//! on the phone, with or without a network, and static/offline-sw.js (the service
//! worker, served at /card/sw.js so that its scope is the card pages) keeps
//! the page for offline use.

use askama::Template;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::response::Response;
use shengshi_i18n::{t, Lang};

use super::card::{choice_label, CHOICES};
use super::forms::{page_helpers, respond, PageError};
use super::{offline_service_worker, other, own_script};
use crate::lang::{Mode, RequestLang};
use crate::AppState;

struct HolderChoice {
    purpose: &'static str,
    category: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "card_offline.html")]
struct OfflinePage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    choices: Vec<HolderChoice>,
}
page_helpers!(OfflinePage);

/// The holder-bound card (static/holder.js): signs codes on the phone, with
/// or without a network. The page holds no personal data and needs no
/// session, so the service worker can keep it for offline use; the script
/// fetches the credential with the resident's session when online.
pub async fn offline(State(state): State<AppState>, lang: RequestLang) -> Response {
    let l = lang.lang;
    let page = OfflinePage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        choices: CHOICES
            .iter()
            .map(|(purpose, category)| HolderChoice {
                purpose: purpose.name(),
                category: category.name(),
                label: choice_label(l, *purpose, *category),
            })
            .collect(),
    };
    // Revalidated on every online visit (the service worker goes to the
    // network first); never kept by shared caches.
    let mut response = respond(page, lang, None);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    response
}

pub async fn service_worker() -> Response {
    offline_service_worker(
        "card",
        "/card/offline",
        &[
            "/static/app.css",
            "/static/holder.js",
            "/static/vendor/qrcode-generator-2.0.4.js",
            "/static/favicon.svg",
        ],
        None,
    )
}

pub async fn holder_script() -> Response {
    own_script(include_str!("../../static/holder.js"))
}
