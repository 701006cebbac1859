//! The staff console: login with username, password and authenticator code
//! (or a passkey), the console home with the member's passkeys, and logging
//! out. Server-rendered; only the passkey controls need `passkeys.js`.

use askama::Template;
use axum::extract::State;
use axum::http::header::HeaderValue;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use secrecy::SecretString;
use serde::Deserialize;
use shengshi_app::passkeys;
use shengshi_app::staff::capability::authorize;
use shengshi_app::staff::session;
use shengshi_app::staff::LoginError;
use shengshi_i18n::{t, t_args, Lang};
use shengshi_store::PasskeyOwner;

use super::forms::{page_helpers, refused, respond, see_other, PageError};
use super::other;
use crate::api::staff::{code_has_six_digits, wait_until};
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::problem::Problem;
use crate::staff_session::{accounts, capability_names, current, staff_session_cookie, token};
use crate::{no_store, AppState};

#[derive(Template)]
#[template(path = "staff_login.html")]
struct StaffLoginPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    username: String,
}
page_helpers!(StaffLoginPage);

fn login_page(
    state: &AppState,
    lang: RequestLang,
    csrf: (String, Option<HeaderValue>),
    errors: Vec<PageError>,
    username: String,
) -> Response {
    let page = StaffLoginPage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        csrf: csrf.0,
        errors,
        username,
    };
    no_store(respond(page, lang, csrf.1))
}

pub async fn login_form(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    if current(&state, &headers).await.is_some() {
        return see_other("/staff", &[]);
    }
    login_page(
        &state,
        lang,
        csrf::form_token(&headers),
        Vec::new(),
        String::new(),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let l = lang.lang;
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(l);
    }
    let error = |field: &'static str, key: &str| PageError {
        field,
        message: t(l, key).to_owned(),
    };
    let mut errors = Vec::new();
    if form.username.trim().is_empty() {
        errors.push(error("username", "staff.login.username_required"));
    }
    if form.password.is_empty() {
        errors.push(error("password", "staff.login.password_required"));
    }
    if !code_has_six_digits(form.code.trim()) {
        errors.push(error("code", "field.code_format"));
    }
    let show = |errors: Vec<PageError>| {
        let csrf = (form.csrf.clone(), None);
        login_page(&state, lang, csrf, errors, form.username.trim().to_owned())
    };
    if !errors.is_empty() {
        return show(errors);
    }
    let password = SecretString::from(form.password.clone());
    let previous = token(&headers);
    match session::login(
        &accounts(&state),
        &form.username,
        &password,
        form.code.trim(),
        previous.as_ref(),
    )
    .await
    {
        Ok(login) => {
            let max_age = session::ABSOLUTE_TIMEOUT.whole_seconds();
            see_other(
                "/staff",
                &[staff_session_cookie(&state, login.token.as_str(), max_age)],
            )
        }
        // One message for every refusal: it must not tell which field was wrong.
        Err(LoginError::Refused(_)) => show(vec![error("username", "staff.login.refused")]),
        Err(LoginError::LockedOut { until }) => {
            let (minutes, _) = wait_until(&state, until);
            let message = t_args(
                l,
                "staff.login.locked_out",
                &[("minutes", &minutes.to_string())],
            );
            show(vec![PageError {
                field: "username",
                message,
            }])
        }
        Err(e) => Problem::internal(l, &e).into_response(),
    }
}

struct CapabilityRow {
    name: &'static str,
    text: &'static str,
}

#[derive(Template)]
#[template(path = "staff_console.html")]
struct StaffConsolePage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    display_name: String,
    username: String,
    department: &'static str,
    role: &'static str,
    capabilities: Vec<CapabilityRow>,
    /// The member may run counter checks: link to them.
    identity_check: bool,
    /// Verifier applications and embargoes waiting for this member.
    console_queues: ConsoleQueues,
    /// Correction requests and break-glass alerts waiting for this member.
    case_queues: super::casework::CaseQueues,
    passkeys: Vec<PasskeyRow>,
}
page_helpers!(StaffConsolePage);

struct PasskeyRow {
    id: String,
    label: String,
    created: String,
    last_used: Option<String>,
}

/// The queues of verifier applications and embargoes this member's
/// capabilities open, with what waits in each.
struct ConsoleQueues {
    /// Applications waiting, for a verifier registrar.
    verifier_applications: Option<usize>,
    /// Embargoes waiting for a decision, for a supervisor.
    embargoes: Option<usize>,
    /// Clerks and supervisors may request an embargo.
    request_embargo: bool,
}

async fn console_queues(
    state: &AppState,
    caps: &shengshi_app::staff::capability::Capabilities,
) -> Result<ConsoleQueues, Response> {
    let internal = |e: &dyn std::fmt::Display| Problem::internal(Lang::En, e).into_response();
    let verifier_applications = match &caps.verifier_registrar {
        Some(cap) => Some(
            shengshi_app::verifier_applications::pending(&state.services, cap)
                .await
                .map_err(|e| internal(&e))?
                .len(),
        ),
        None => None,
    };
    let embargoes = match &caps.supervisor {
        Some(cap) => Some(
            shengshi_app::embargo::awaiting_decision(&state.services, cap)
                .await
                .map_err(|e| internal(&e))?
                .len(),
        ),
        None => None,
    };
    Ok(ConsoleQueues {
        verifier_applications,
        embargoes,
        request_embargo: caps.clerk.is_some(),
    })
}

pub async fn console(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    let Some(session) = current(&state, &headers).await else {
        return see_other("/staff/login", &[]);
    };
    let l = lang.lang;
    let member = &session.member;
    let caps = authorize(member);
    let identity_check = caps.identity_check.is_some();
    let console_queues = match console_queues(&state, &caps).await {
        Ok(queues) => queues,
        Err(response) => return response,
    };
    let case_queues = match super::casework::case_queues(&state, &caps).await {
        Ok(queues) => queues,
        Err(response) => return response,
    };
    let capabilities = capability_names(&caps)
        .into_iter()
        .map(|name| CapabilityRow {
            name,
            text: t(l, &format!("staff.cap.{name}")),
        })
        .collect();
    let passkeys = match passkeys::list(&state.services, PasskeyOwner::Staff(member.id())).await {
        Ok(list) => list,
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let date = |at: shengshi_domain::Timestamp| at.civil_date().to_string();
    let (token, set) = csrf::form_token(&headers);
    let page = StaffConsolePage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        csrf: token,
        display_name: member.display_name().to_owned(),
        username: member.username().to_owned(),
        department: t(l, &member.department().display_key()),
        role: t(l, &member.role().display_key()),
        capabilities,
        identity_check,
        console_queues,
        case_queues,
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

/// Removes one of the signed-in member's passkeys (a plain form: no
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
        return see_other("/staff/login", &[]);
    };
    let owner = PasskeyOwner::Staff(session.member.id());
    match passkeys::remove(&state.services, owner, &form.id).await {
        // Already gone (a second click) ends on the same page.
        Ok(()) | Err(passkeys::PasskeyError::NotFound) => see_other("/staff", &[]),
        Err(e) => Problem::internal(lang.lang, &e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    if let Some(session) = current(&state, &headers).await {
        if let Err(e) = session::logout(&state.services, &session).await {
            return Problem::internal(lang.lang, &e).into_response();
        }
    }
    see_other("/staff/login", &[staff_session_cookie(&state, "", 0)])
}
