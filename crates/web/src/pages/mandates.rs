//! 亲友代办 on pages: the mandates a resident gave (with the actions taken
//! under them, and a button to revoke), the mandates given to them (with a
//! form to record what they did), and a form to give one. The rules and the
//! messages are the API's (`api::mandates`).

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::mandates::{self, ActError, GrantError, GrantRequest, MandateView};
use shengshi_domain::clock::SHANGHAI_OFFSET;
use shengshi_domain::mandate::{ActionCode, MandateError, Relationship, ServiceCode, ServiceSet};
use shengshi_domain::{AccountId, MandateId, Timestamp};
use shengshi_i18n::{t, Lang};
use shengshi_store::StoredAccount;

use super::forms::{page_helpers, refused, respond, see_other, PageError};
use super::other;
use super::sessions::local;
use crate::api::mandates::mandate_problem;
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::problem::{Problem, ProblemKind};
use crate::session::current;
use crate::{no_store, AppState};

struct MandateRow {
    id: String,
    /// The other party's account number.
    other: String,
    relationship: &'static str,
    services: String,
    /// For the grantee's "act" form: the services it may act in.
    service_codes: Vec<String>,
    from: String,
    until: String,
    status: &'static str,
    status_text: &'static str,
}

struct ActionRow {
    at: String,
    actor: String,
    service: String,
    action: String,
}

struct RelationshipChoice {
    name: &'static str,
    text: &'static str,
}

#[derive(Template)]
#[template(path = "mandates.html")]
struct MandatesPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    my_account: String,
    given: Vec<MandateRow>,
    received: Vec<MandateRow>,
    actions: Vec<ActionRow>,
    relationships: Vec<RelationshipChoice>,
    form: GrantForm,
}
page_helpers!(MandatesPage);

/// The grant form as the resident filled it in.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    grantee: String,
    #[serde(default)]
    relationship: String,
    #[serde(default)]
    services: String,
    #[serde(default)]
    valid_until: String,
}

fn row(lang: Lang, view: &MandateView, other: AccountId) -> MandateRow {
    let m = &view.mandate;
    let status = view.status.name();
    MandateRow {
        id: m.id().to_string(),
        other: other.to_string(),
        relationship: t(
            lang,
            &format!("mandates.relationship.{}", m.relationship().name()),
        ),
        services: m
            .services()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        service_codes: m.services().iter().map(|s| s.as_str().to_owned()).collect(),
        from: local(m.valid_from()),
        until: local(m.valid_until()),
        status,
        status_text: t(lang, &format!("mandates.status.{status}")),
    }
}

async fn render(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
    account: &StoredAccount,
    errors: Vec<PageError>,
    form: GrantForm,
) -> Response {
    let l = lang.lang;
    let me = account.id;
    let given = mandates::list_for_grantor(&state.services, me).await;
    let received = mandates::list_for_grantee(&state.services, me).await;
    let actions = mandates::actions_for_grantor(&state.services, me).await;
    let (given, received, actions) = match (given, received, actions) {
        (Ok(g), Ok(r), Ok(a)) => (g, r, a),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return Problem::internal(l, &e).into_response()
        }
    };
    let (token, set) = csrf::form_token(headers);
    let page = MandatesPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors,
        csrf: token,
        my_account: me.to_string(),
        given: given
            .iter()
            .map(|v| row(l, v, v.mandate.grantee()))
            .collect(),
        received: received
            .iter()
            .map(|v| row(l, v, v.mandate.grantor()))
            .collect(),
        actions: actions
            .into_iter()
            .rev()
            .map(|a| ActionRow {
                at: local(a.at),
                actor: a.actor.to_string(),
                service: a.service.as_str().to_owned(),
                action: a.action.as_str().to_owned(),
            })
            .collect(),
        relationships: Relationship::ALL
            .iter()
            .map(|r| RelationshipChoice {
                name: r.name(),
                text: t(l, &format!("mandates.relationship.{}", r.name())),
            })
            .collect(),
        form,
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
        &session.account,
        Vec::new(),
        GrantForm::default(),
    )
    .await
}

fn error(field: &'static str, message: String) -> PageError {
    PageError { field, message }
}

/// The end of a day in China, as the mandate's last moment.
fn end_of_day(text: &str) -> Option<Timestamp> {
    let date = time::Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let end = date
        .with_hms(23, 59, 59)
        .ok()?
        .assume_offset(SHANGHAI_OFFSET);
    Some(Timestamp::from_offset_date_time(end))
}

fn problem_text(problem: Problem) -> String {
    problem.detail
}

pub async fn grant(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<GrantForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let l = lang.lang;
    let mut errors = Vec::new();
    let grantee = form.grantee.trim().parse::<AccountId>().ok();
    if grantee.is_none() {
        errors.push(error("grantee", t(l, "field.account_id_format").to_owned()));
    }
    let relationship = Relationship::from_name(form.relationship.trim());
    if relationship.is_none() {
        let e = MandateError::UnknownRelationship(form.relationship.clone());
        errors.push(error("relationship", problem_text(mandate_problem(l, &e))));
    }
    let codes: Vec<&str> = form
        .services
        .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    let services = match ServiceSet::parse(&codes) {
        Ok(services) => Some(services),
        Err(e) => {
            errors.push(error("services", problem_text(mandate_problem(l, &e))));
            None
        }
    };
    let valid_until = end_of_day(&form.valid_until);
    if valid_until.is_none() {
        errors.push(error(
            "valid_until",
            t(l, "field.statistics_date").to_owned(),
        ));
    }
    let (Some(grantee), Some(relationship), Some(services), Some(valid_until)) =
        (grantee, relationship, services, valid_until)
    else {
        return render(&state, lang, &headers, &session.account, errors, form).await;
    };
    let request = GrantRequest {
        grantor: session.account.id,
        grantee,
        relationship,
        services,
        valid_from: state.services.clock.now(),
        valid_until,
    };
    match mandates::grant(&state.services, request).await {
        Ok(_) => see_other("/account/mandates", &[]),
        Err(GrantError::Internal(e)) => Problem::internal(l, &e).into_response(),
        Err(e) => {
            let (field, kind) = match &e {
                GrantError::NoSuchGrantee => ("grantee", Some(ProblemKind::NoSuchGrantee)),
                GrantError::GrantorNotActive => ("grantee", Some(ProblemKind::GrantorNotActive)),
                GrantError::AlreadyEnded => ("valid_until", Some(ProblemKind::AlreadyEnded)),
                GrantError::Invalid(MandateError::SelfMandate)
                | GrantError::Invalid(MandateError::GranteeLevelTooLow(_)) => ("grantee", None),
                GrantError::Invalid(MandateError::EndsBeforeStart)
                | GrantError::Invalid(MandateError::TooLong { .. }) => ("valid_until", None),
                GrantError::Invalid(_) => ("services", None),
                GrantError::Internal(_) => ("grantee", None),
            };
            let message = match (kind, &e) {
                (Some(kind), _) => Problem::new(kind, l, &[]).detail,
                (None, GrantError::Invalid(inner)) => problem_text(mandate_problem(l, inner)),
                (None, other) => other.to_string(),
            };
            render(
                &state,
                lang,
                &headers,
                &session.account,
                vec![error(field, message)],
                form,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mandate: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let Ok(id) = form.mandate.parse::<MandateId>() else {
        return Problem::new(ProblemKind::MandateNotFound, lang.lang, &[]).into_response();
    };
    match mandates::revoke(&state.services, id, session.account.id).await {
        Ok(_) => see_other("/account/mandates", &[]),
        Err(mandates::RevokeError::NotFound) => {
            Problem::new(ProblemKind::MandateNotFound, lang.lang, &[]).into_response()
        }
        Err(e) => Problem::internal(lang.lang, &e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mandate: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    action: String,
}

/// The grantee records something they did for the grantor (until the
/// service catalog arrives, the action is named by its code).
pub async fn act(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<ActForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let l = lang.lang;
    // The error summary links to the list of mandates given to the resident.
    let field = "received";
    let parsed = (
        form.mandate.parse::<MandateId>().ok(),
        ServiceCode::parse(form.service.trim()).ok(),
        ActionCode::parse(form.action.trim()).ok(),
    );
    let (Some(mandate), Some(service), Some(action)) = parsed else {
        let e = MandateError::BadCode(form.action.clone());
        let errors = vec![error(field, problem_text(mandate_problem(l, &e)))];
        return render(
            &state,
            lang,
            &headers,
            &session.account,
            errors,
            GrantForm::default(),
        )
        .await;
    };
    match mandates::act_under_mandate(
        &state.services,
        mandate,
        session.account.id,
        service,
        action,
    )
    .await
    {
        Ok(_) => see_other("/account/mandates", &[]),
        Err(ActError::Internal(e)) => Problem::internal(l, &e).into_response(),
        Err(e) => {
            let message = t(l, &format!("mandates.refused.{}", e.code())).to_owned();
            render(
                &state,
                lang,
                &headers,
                &session.account,
                vec![error(field, message)],
                GrantForm::default(),
            )
            .await
        }
    }
}
