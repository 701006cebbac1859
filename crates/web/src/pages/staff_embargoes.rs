//! Embargoes in the staff console (`/staff/embargoes`, see
//! `shengshi_app::embargo`): a clerk or supervisor requests one for a
//! resident's account, citing the law and an end date; supervisors see their
//! department's requests waiting and approve or refuse them (never their
//! own). The app's refusals are shown in the error summary, linked to the
//! field at fault.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::HeaderValue;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::embargo::{self, DecideError, EmbargoRequest, RequestError};
use shengshi_app::staff::capability::{Capabilities, ClerkCap};
use shengshi_domain::{AccountId, EmbargoId, Timestamp};
use shengshi_i18n::{t, Lang};
use time::{Date, UtcOffset};

use super::forms::{page_helpers, refused, respond, see_other, PageError};
use super::other;
use super::staff_gate::gate;
use crate::csrf;
use crate::lang::{query_param, Mode, RequestLang};
use crate::problem::Problem;
use crate::{no_store, AppState};

/// Beijing time: an embargo "ends on" a day there.
const SHANGHAI: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// The queue's heading: where the summary links a decision's error.
const QUEUE: &str = "embargo-queue";

struct QueueRow {
    id: String,
    subject: String,
    basis: String,
    until: String,
    requested: String,
}

#[derive(Default)]
struct Entered {
    account: String,
    basis: String,
    until: String,
}

#[derive(Template)]
#[template(path = "staff_embargoes.html")]
struct EmbargoesPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    /// A confirmation after a request or decision.
    notice: Option<&'static str>,
    /// Only supervisors see the queue.
    supervisor: bool,
    queue: Vec<QueueRow>,
    form: Entered,
}
page_helpers!(EmbargoesPage);

async fn caps(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
) -> Result<(Capabilities, ClerkCap), Response> {
    // Clerks and supervisors (who also hold a clerk's capability).
    let pick = |caps: Capabilities| {
        let clerk = caps.clerk.clone()?;
        Some((caps, clerk))
    };
    gate(state, lang, headers, pick, "staff_embargoes.forbidden").await
}

async fn show(
    state: &AppState,
    lang: RequestLang,
    caps: &Capabilities,
    csrf: (String, Option<HeaderValue>),
    errors: Vec<PageError>,
    notice: Option<&'static str>,
    form: Entered,
) -> Response {
    let l = lang.lang;
    let queue = match &caps.supervisor {
        Some(cap) => match embargo::awaiting_decision(&state.services, cap).await {
            Ok(list) => list,
            Err(e) => return Problem::internal(l, &e).into_response(),
        },
        None => Vec::new(),
    };
    let page = EmbargoesPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors,
        csrf: csrf.0,
        notice,
        supervisor: caps.supervisor.is_some(),
        queue: queue
            .into_iter()
            .map(|e| QueueRow {
                id: e.id.to_string(),
                subject: e.subject.to_string(),
                basis: e.legal_basis,
                until: e.until.civil_date().to_string(),
                requested: e.created_at.civil_date().to_string(),
            })
            .collect(),
        form,
    };
    no_store(respond(page, lang, csrf.1))
}

pub async fn page(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (caps, _) = match caps(&state, lang, &headers).await {
        Ok(caps) => caps,
        Err(response) => return response,
    };
    let query = query.unwrap_or_default();
    let notice = if query_param(&query, "requested").is_some() {
        Some("staff_embargoes.requested")
    } else {
        match query_param(&query, "decided").as_deref() {
            Some("approved") => Some("staff_embargoes.decided_approved"),
            Some("refused") => Some("staff_embargoes.decided_refused"),
            _ => None,
        }
    };
    let csrf = csrf::form_token(&headers);
    show(
        &state,
        lang,
        &caps,
        csrf,
        Vec::new(),
        notice,
        Entered::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    until: String,
}

/// The first instant after the given day, Beijing time.
fn end_of_day(day: Date) -> Option<Timestamp> {
    Some(Timestamp::from_offset_date_time(
        day.next_day()?.midnight().assume_offset(SHANGHAI),
    ))
}

pub async fn request(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<RequestForm>,
) -> Response {
    let l = lang.lang;
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(l);
    }
    let (caps, clerk) = match caps(&state, lang, &headers).await {
        Ok(caps) => caps,
        Err(response) => return response,
    };
    let error = |field: &'static str, key: &str| PageError {
        field,
        message: t(l, key).to_owned(),
    };
    let mut errors = Vec::new();
    let account = match form.account.trim() {
        "" => {
            errors.push(error("account", "staff_embargoes.err_account"));
            None
        }
        text => match text.parse::<AccountId>() {
            Ok(id) => match state.services.store.account(id).await {
                Ok(Some(account)) if account.status == "active" => Some(account),
                Ok(_) => {
                    errors.push(error("account", "staff_embargoes.err_no_account"));
                    None
                }
                Err(e) => return Problem::internal(l, &e).into_response(),
            },
            Err(_) => {
                errors.push(error("account", "staff_embargoes.err_no_account"));
                None
            }
        },
    };
    // Checked here too, so that every missing field is named at once.
    if form.basis.trim().is_empty() {
        errors.push(error("basis", "problem.embargo_no_basis.detail"));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let until = Date::parse(form.until.trim(), &format)
        .ok()
        .and_then(end_of_day);
    if until.is_none() {
        errors.push(error("until", "staff_embargoes.err_until_format"));
    }
    let entered = Entered {
        account: form.account.trim().to_owned(),
        basis: form.basis.clone(),
        until: form.until.trim().to_owned(),
    };
    let csrf = (form.csrf.clone(), None);
    let (Some(account), Some(until), true) = (account, until, errors.is_empty()) else {
        return show(&state, lang, &caps, csrf, errors, None, entered).await;
    };
    let asked = EmbargoRequest {
        subject: account.subject,
        basis: form.basis,
        until,
    };
    let refusal = match embargo::request(&state.services, &clerk, asked).await {
        Ok(_) => return see_other("/staff/embargoes?requested=1", &[]),
        Err(RequestError::Internal(e)) => return Problem::internal(l, &e).into_response(),
        Err(e @ (RequestError::NoBasis | RequestError::BasisTooLong)) => ("basis", e),
        Err(e @ (RequestError::EndsInThePast | RequestError::TooLong)) => ("until", e),
    };
    let (field, e) = refusal;
    let key = format!("problem.{}.detail", e.code());
    let errors = vec![error(field, &key)];
    show(&state, lang, &caps, csrf, errors, None, entered).await
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: String,
    /// `approve` or `refuse`.
    #[serde(default)]
    decision: String,
}

pub async fn decide(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let l = lang.lang;
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(l);
    }
    let (caps, _) = match caps(&state, lang, &headers).await {
        Ok(caps) => caps,
        Err(response) => return response,
    };
    let Some(cap) = caps.supervisor.clone() else {
        return see_other("/staff/embargoes", &[]);
    };
    let services = &state.services;
    let decided = match (id.parse::<EmbargoId>(), form.decision.as_str()) {
        (Ok(id), "approve") => embargo::approve(services, &cap, id).await,
        (Ok(id), "refuse") => embargo::refuse(services, &cap, id).await,
        (Err(_), _) => Err(DecideError::NotFound),
        (Ok(_), _) => return see_other("/staff/embargoes", &[]),
    };
    let e = match decided {
        Ok(e) => {
            return see_other(
                &format!("/staff/embargoes?decided={}", e.status.name()),
                &[],
            )
        }
        Err(DecideError::Internal(e)) => return Problem::internal(l, &e).into_response(),
        Err(e) => e,
    };
    let key = format!("problem.{}.detail", e.code());
    let errors = vec![PageError {
        field: QUEUE,
        message: t(l, &key).to_owned(),
    }];
    let csrf = (form.csrf, None);
    show(&state, lang, &caps, csrf, errors, None, Entered::default()).await
}
