//! The public page where an organisation applies to verify e-ID codes
//! online (`/verifiers/apply`, see `shengshi_app::verifier_applications`).
//! A plain form: the purposes are checkboxes, each saying which kinds of
//! organisation may ask for it; the server checks the combination.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::header::HeaderValue;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use shengshi_app::verifier_applications::{self, ApplyError, NewApplication};
use shengshi_eid::{Purpose, VerifierCategory};
use shengshi_i18n::{t, t_args, Lang};

use super::forms::{page_helpers, refused, respond, PageError};
use super::other;
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::problem::Problem;
use crate::AppState;

struct Choice {
    name: &'static str,
    text: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "verifier_apply.html")]
struct ApplyPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    name: String,
    contact: String,
    categories: Vec<Choice>,
    purposes: Vec<Choice>,
}
page_helpers!(ApplyPage);

#[derive(Template)]
#[template(path = "verifier_apply_done.html")]
struct DonePage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    body: String,
}
page_helpers!(DonePage);

/// What was typed and chosen, kept when the form is shown again.
#[derive(Default)]
struct Entered {
    name: String,
    contact: String,
    category: String,
    purposes: Vec<String>,
}

fn page(
    state: &AppState,
    lang: RequestLang,
    csrf: (String, Option<HeaderValue>),
    errors: Vec<PageError>,
    entered: Entered,
) -> Response {
    let l = lang.lang;
    let page = ApplyPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        csrf: csrf.0,
        errors,
        name: entered.name,
        contact: entered.contact,
        categories: VerifierCategory::ALL
            .into_iter()
            .map(|c| Choice {
                name: c.name(),
                text: t(l, &format!("verifier_category.{}", c.name())),
                checked: entered.category == c.name(),
            })
            .collect(),
        purposes: Purpose::ALL
            .into_iter()
            .map(|p| Choice {
                name: p.name(),
                text: t(l, &format!("verifier_apply.purpose.{}", p.name())),
                checked: entered.purposes.iter().any(|e| e == p.name()),
            })
            .collect(),
    };
    respond(page, lang, csrf.1)
}

pub async fn form(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    page(
        &state,
        lang,
        csrf::form_token(&headers),
        Vec::new(),
        Entered::default(),
    )
}

/// The form's fields; the purposes arrive as repeated `purpose` pairs.
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let l = lang.lang;
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !csrf::form_token_matches(&headers, &value("csrf")) {
        return refused(l);
    }
    let entered = Entered {
        name: value("name"),
        contact: value("contact"),
        category: value("category"),
        purposes: pairs
            .iter()
            .filter(|(k, _)| k == "purpose")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let error = |field: &'static str, message: String| PageError { field, message };
    let show = |errors: Vec<PageError>, entered: Entered| {
        page(&state, lang, (value("csrf"), None), errors, entered)
    };
    let category = VerifierCategory::from_name(&entered.category);
    // Only names from the form's own checkboxes; anything else is ignored.
    let purposes: Vec<Purpose> = entered
        .purposes
        .iter()
        .filter_map(|p| Purpose::from_name(p))
        .collect();
    let Some(category) = category else {
        let mut errors = Vec::new();
        if entered.name.trim().is_empty() {
            errors.push(error("name", t(l, "verifier_apply.err_name").to_owned()));
        }
        errors.push(error(
            "category",
            t(l, "verifier_apply.err_category").to_owned(),
        ));
        return show(errors, entered);
    };
    let new = NewApplication {
        name: entered.name.clone(),
        category,
        purposes,
        contact: entered.contact.clone(),
    };
    let secrets = &state.identity.secrets;
    match verifier_applications::apply(&state.services, secrets, new, peer.ip()).await {
        Ok(application) => {
            let page = DonePage {
                lang: l,
                other_lang: other(l),
                mode: lang.mode,
                demo: state.info.demo,
                errors: Vec::new(),
                body: t_args(
                    l,
                    "verifier_apply.done_body",
                    &[("id", &application.id.to_string())],
                ),
            };
            respond(page, lang, None)
        }
        Err(ApplyError::Internal(e)) => Problem::internal(l, &e).into_response(),
        Err(e) => {
            let (field, message) = match &e {
                ApplyError::BadName => ("name", t(l, "verifier_apply.err_name").to_owned()),
                ApplyError::NoPurposes => {
                    ("purposes", t(l, "verifier_apply.err_purposes").to_owned())
                }
                ApplyError::PurposeNotForCategory { purpose, .. } => (
                    "purposes",
                    t_args(
                        l,
                        "verifier_apply.err_purpose_not_for_category",
                        &[
                            (
                                "category",
                                t(l, &format!("verifier_category.{}", category.name())),
                            ),
                            ("purpose", t(l, &format!("verifier_purpose.{purpose}"))),
                        ],
                    ),
                ),
                ApplyError::BadContact => {
                    ("contact", t(l, "verifier_apply.err_contact").to_owned())
                }
                ApplyError::TooMany | ApplyError::Internal(_) => {
                    ("name", t(l, "verifier_apply.err_too_many").to_owned())
                }
            };
            show(vec![error(field, message)], entered)
        }
    }
}
