//! The one way a staff page lets a member in: the capability it needs, taken
//! from the signed-in member's; otherwise the login page, or a 403 page that
//! says who may use the page.

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use shengshi_app::staff::capability::{authorize, Capabilities};
use shengshi_i18n::{t, Lang};

use super::forms::{page_helpers, respond, see_other, PageError};
use super::other;
use crate::lang::{Mode, RequestLang};
use crate::staff_session::current;
use crate::{no_store, AppState};

#[derive(Template)]
#[template(path = "staff_forbidden.html")]
struct ForbiddenPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    /// The message key saying who may use the page.
    body: &'static str,
}
page_helpers!(ForbiddenPage);

/// The 403 page for a signed-in member whose role does not open a page;
/// `body` is the message key saying who may.
pub(super) fn forbidden(state: &AppState, lang: RequestLang, body: &'static str) -> Response {
    let page = ForbiddenPage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        body,
    };
    let mut response = respond(page, lang, None);
    *response.status_mut() = StatusCode::FORBIDDEN;
    no_store(response)
}

/// The capability `pick` takes from the signed-in member's; otherwise the
/// login page, or the 403 page saying (`forbidden_key`) who may.
pub(super) async fn gate<C>(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
    pick: impl FnOnce(Capabilities) -> Option<C>,
    forbidden_key: &'static str,
) -> Result<C, Response> {
    let Some(session) = current(state, headers).await else {
        return Err(see_other("/staff/login", &[]));
    };
    pick(authorize(&session.member)).ok_or_else(|| forbidden(state, lang, forbidden_key))
}
