//! "Your sessions": the resident sees where their account is logged in and
//! ends any one session, or all of them (the `/logout/everywhere` form).

use askama::Template;
use axum::extract::State;
use axum::http::header::{HeaderValue, SET_COOKIE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::login::{self, EndSessionError};
use shengshi_domain::clock::SHANGHAI_OFFSET;
use shengshi_domain::Timestamp;
use shengshi_i18n::{t, t_args, Lang};

use super::forms::{page_helpers, refused, respond, see_other, PageError};
use super::other;
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::problem::Problem;
use crate::session::{current, session_cookie};
use crate::{no_store, AppState};

struct SessionRow {
    handle: String,
    device: String,
    created: String,
    created_iso: String,
    last_seen: String,
    last_seen_iso: String,
    /// Tells apart, for a screen reader, the buttons of sessions on like devices.
    end_context: String,
    is_current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    sessions: Vec<SessionRow>,
}
page_helpers!(SessionsPage);

/// Wall-clock time in Asia/Shanghai, to the minute: what a resident reads.
pub(super) fn local(at: Timestamp) -> String {
    let t = at.as_offset_date_time().to_offset(SHANGHAI_OFFSET);
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

pub async fn list(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let l = lang.lang;
    let sessions = match login::live_sessions(&state.services, &session).await {
        Ok(sessions) => sessions,
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let rows = sessions
        .into_iter()
        .map(|s| {
            let created = local(s.created_at);
            SessionRow {
                handle: s.handle.as_str().to_owned(),
                device: s
                    .device
                    .unwrap_or_else(|| t(l, "sessions.unknown_device").to_owned()),
                end_context: t_args(l, "sessions.end_context", &[("created", &created)]),
                created,
                created_iso: s.created_at.to_rfc3339(),
                last_seen: local(s.last_seen_at),
                last_seen_iso: s.last_seen_at.to_rfc3339(),
                is_current: s.is_current,
            }
        })
        .collect();
    let (token, set) = csrf::form_token(&headers);
    let page = SessionsPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        csrf: token,
        sessions: rows,
    };
    no_store(respond(page, lang, set))
}

#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    handle: String,
}

/// Ends one session and comes back to the list; ending this device's own
/// session logs out here and goes home.
pub async fn end(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<EndForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    match login::end_session(&state.services, &session, &form.handle).await {
        Ok(true) => {
            let mut response = see_other("/", &[]);
            if let Ok(value) = HeaderValue::from_str(&session_cookie(&state, "", 0)) {
                response.headers_mut().append(SET_COOKIE, value);
            }
            response
        }
        Ok(false) => see_other("/account/sessions", &[]),
        // Already gone (another tab ended it): the list shows where things stand.
        Err(EndSessionError::NotFound) => see_other("/account/sessions", &[]),
        Err(EndSessionError::Store(e)) => Problem::internal(lang.lang, &e).into_response(),
    }
}
