//! "Your data and your rights" (PIPL Arts. 44–47): download everything held
//! about you, ask for a correction, close your account. Plain forms; the
//! download is the JSON API's attachment, which the `sid` cookie authorises.

use askama::Template;
use axum::extract::State;
use axum::http::header::{HeaderValue, SET_COOKIE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::login::Authenticated;
use shengshi_app::rights::{self, CloseError, CorrectionError, CorrectionField};
use shengshi_i18n::{t, Lang};

use super::forms::{page_helpers, refused, respond, see_other, PageError};
use super::other;
use super::sessions::local;
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::problem::Problem;
use crate::session::{current, session_cookie};
use crate::{no_store, AppState};

struct CorrectionRow {
    field: &'static str,
    proposed_value: String,
    status: &'static str,
    /// The deciding staff member's note, once decided.
    note: Option<String>,
    created: String,
    created_iso: String,
}

struct FieldOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    corrections: Vec<CorrectionRow>,
    fields: Vec<FieldOption>,
    proposed_value: String,
    explanation: String,
    confirmation_word: &'static str,
}
page_helpers!(PrivacyPage);

/// What the forms sent back, shown again beside their errors.
#[derive(Default)]
struct Entered {
    field: String,
    proposed_value: String,
    explanation: String,
}

async fn render(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
    session: &Authenticated,
    errors: Vec<PageError>,
    entered: Entered,
) -> Response {
    let l = lang.lang;
    let corrections = match rights::corrections(&state.services, &session.account).await {
        Ok(list) => list,
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let corrections = corrections
        .into_iter()
        .map(|c| CorrectionRow {
            field: t(l, &format!("privacy.field_{}", c.field)),
            proposed_value: c.proposed_value,
            status: t(l, &format!("privacy.status_{}", c.status)),
            note: c.note,
            created: local(c.created_at),
            created_iso: c.created_at.to_rfc3339(),
        })
        .collect();
    let fields = CorrectionField::ALL
        .into_iter()
        .map(|f| FieldOption {
            value: f.name(),
            label: t(l, &format!("privacy.field_{}", f.name())),
            selected: f.name() == entered.field,
        })
        .collect();
    let (token, set) = csrf::form_token(headers);
    let page = PrivacyPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors,
        csrf: token,
        corrections,
        fields,
        proposed_value: entered.proposed_value,
        explanation: entered.explanation,
        confirmation_word: rights::CLOSE_CONFIRMATION,
    };
    no_store(respond(page, lang, set))
}

pub async fn page(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    render(
        &state,
        lang,
        &headers,
        &session,
        Vec::new(),
        Entered::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct CorrectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    proposed_value: String,
    #[serde(default)]
    explanation: String,
}

pub async fn correction(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<CorrectionForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let l = lang.lang;
    let result = rights::request_correction(
        &state.services,
        session.account.id,
        &form.field,
        &form.proposed_value,
        &form.explanation,
    )
    .await;
    let field = match &result {
        Ok(_) => return see_other("/account/privacy#corrections", &[]),
        Err(CorrectionError::UnknownField) => "field",
        Err(CorrectionError::ValueLength) => "proposed_value",
        Err(CorrectionError::ExplanationLength) => "explanation",
        Err(e @ CorrectionError::Internal(_)) => return Problem::internal(l, e).into_response(),
    };
    let code = result.err().map(|e| e.code()).unwrap_or_default();
    let errors = vec![PageError {
        field,
        message: t(l, &format!("field.{code}")).to_owned(),
    }];
    let entered = Entered {
        field: form.field,
        proposed_value: form.proposed_value,
        explanation: form.explanation,
    };
    render(&state, lang, &headers, &session, errors, entered).await
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirmation: String,
}

/// Closes the account and goes home, logged out.
pub async fn close(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<CloseForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let l = lang.lang;
    match rights::close(&state.services, &session.account, &form.confirmation).await {
        Ok(()) => {
            let mut response = see_other("/", &[]);
            if let Ok(value) = HeaderValue::from_str(&session_cookie(&state, "", 0)) {
                response.headers_mut().append(SET_COOKIE, value);
            }
            response
        }
        Err(CloseError::NotConfirmed) => {
            let errors = vec![PageError {
                field: "confirmation",
                message: t(l, "field.close_confirmation").to_owned(),
            }];
            render(&state, lang, &headers, &session, errors, Entered::default()).await
        }
        Err(e) => Problem::internal(l, &e).into_response(),
    }
}
