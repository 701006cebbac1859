//! SMS-code login, the account page, and logging out (here or everywhere).

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{HeaderValue, SET_COOKIE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::login::{self, LoginError};
use shengshi_app::passkeys;
use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::{AssuranceLevel, PersonName, PhoneCode, PhoneNumber, ResidentIdNumber};
use shengshi_i18n::{t, Lang};
use shengshi_store::PasskeyOwner;
use std::net::SocketAddr;

use super::forms::{
    clear_pending_phone, code_error, code_step, page_helpers, pending_phone, phone_step, refused,
    respond, see_other, submit_phone_step, CodeForm, PageError, PhoneForm,
};
use super::other;
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::problem::Problem;
use crate::session::{current, session_cookie};
use crate::{no_store, AppState};

pub async fn phone_form(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    phone_step(&state, "login", lang, &headers)
}

pub async fn phone_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<PhoneForm>,
) -> Response {
    submit_phone_step(&state, "login", peer.ip(), lang, &headers, form).await
}

pub async fn code_form(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    let Some(phone) = pending_phone(&state, "login", &headers) else {
        return see_other("/login", &[]);
    };
    code_step(
        &state,
        "login",
        lang,
        csrf::form_token(&headers),
        &phone,
        None,
    )
}

pub async fn code_submit(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(phone) = pending_phone(&state, "login", &headers) else {
        return see_other("/login", &[]);
    };
    let l = lang.lang;
    let show = |message: String| {
        let csrf = (form.csrf.clone(), None);
        code_step(&state, "login", lang, csrf, &phone, Some(message))
    };
    let Some(code) = PhoneCode::parse(&form.code) else {
        return show(t(l, "field.code_format").to_owned());
    };
    let device = crate::api::session::device(&headers);
    let secrets = &state.identity.secrets;
    match login::login_with_code(&state.services, secrets, &phone, &code, device).await {
        Ok((token, _)) => {
            let max_age = login::ABSOLUTE_TIMEOUT.whole_seconds();
            see_other(
                "/account",
                &[
                    session_cookie(&state, token.as_str(), max_age),
                    clear_pending_phone("login"),
                ],
            )
        }
        Err(LoginError::NoAccount) => show(t(l, "login.no_account").to_owned()),
        Err(LoginError::Code(e)) => match code_error(l, &e) {
            Some(message) => show(message),
            None => Problem::internal(l, &e).into_response(),
        },
        Err(LoginError::Internal(e)) => Problem::internal(l, &e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    name: String,
    id_number: String,
    phone: String,
    level: String,
    level_text: &'static str,
    /// What the resident still needs for L3, if anything.
    level_hint: &'static str,
    passkeys: Vec<PasskeyRow>,
}
page_helpers!(AccountPage);

struct PasskeyRow {
    id: String,
    label: String,
    created: String,
    last_used: Option<String>,
}

pub async fn account(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let l = lang.lang;
    // Shown masked: enough for the resident to recognise, little for a shoulder-surfer.
    let profile = match shengshi_app::registration::open_profile(
        &state.services,
        &session.account,
        Accessor::Subject,
        Purpose::OwnAccount,
    )
    .await
    {
        Ok(profile) => profile,
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let today = state.services.clock.today();
    let masked =
        |text: &str, f: fn(&str) -> Option<String>| f(text).unwrap_or_else(|| "—".to_owned());
    let level = AssuranceLevel::from_number(session.account.assurance_level)
        .unwrap_or(AssuranceLevel::PhoneVerified);
    let owner = PasskeyOwner::Resident(session.account.id);
    let passkeys = match passkeys::list(&state.services, owner).await {
        Ok(list) => list,
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let level_hint = match (level, session.account.in_person_verified_at) {
        (AssuranceLevel::RealName, Some(_)) => t(l, "passkey.level_hint_counter"),
        (AssuranceLevel::RealName, None) => t(l, "passkey.level_hint_passkey"),
        _ => "",
    };
    let date = |at: shengshi_domain::Timestamp| at.civil_date().to_string();
    let (token, set) = csrf::form_token(&headers);
    let page = AccountPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        csrf: token,
        name: masked(&profile.name, |n| {
            PersonName::parse(n).ok().map(|n| n.masked())
        }),
        id_number: ResidentIdNumber::parse(&profile.id_number, today)
            .map(|i| i.masked())
            .unwrap_or_else(|_| "—".into()),
        phone: masked(&profile.phone, |p| {
            PhoneNumber::parse(p).ok().map(|p| p.masked())
        }),
        level: format!("L{}", level.number()),
        level_text: t(l, &format!("account.level_{}", level.number())),
        level_hint,
        passkeys: passkeys
            .into_iter()
            .map(|p| PasskeyRow {
                id: p.id,
                label: p.label,
                created: date(p.created_at),
                last_used: p.last_used_at.map(date),
            })
            .collect(),
    };
    no_store(respond(page, lang, set))
}

#[derive(Deserialize)]
pub struct RemovePasskeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

/// Removes one of the signed-in resident's passkeys (a plain form: no
/// JavaScript needed to remove one).
pub async fn remove_passkey(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<RemovePasskeyForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let owner = PasskeyOwner::Resident(session.account.id);
    match passkeys::remove(&state.services, owner, &form.id).await {
        // Already gone (a second click) ends on the same page.
        Ok(()) | Err(passkeys::PasskeyError::NotFound) => see_other("/account", &[]),
        Err(e) => Problem::internal(lang.lang, &e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

async fn end_sessions(
    state: AppState,
    lang: RequestLang,
    headers: HeaderMap,
    form: LogoutForm,
    everywhere: bool,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    if let Some(session) = current(&state, &headers).await {
        let result = if everywhere {
            login::logout_everywhere(&state.services, &session)
                .await
                .map(|_| ())
        } else {
            login::logout(&state.services, &session).await
        };
        if let Err(e) = result {
            return Problem::internal(lang.lang, &e).into_response();
        }
    }
    let mut response = see_other("/", &[]);
    if let Ok(value) = HeaderValue::from_str(&session_cookie(&state, "", 0)) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

pub async fn logout(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    end_sessions(state, lang, headers, form, false).await
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    end_sessions(state, lang, headers, form, true).await
}
