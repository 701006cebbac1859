//! Registration pages: phone → code → name and ID number → "check your phone".
//! Plain forms that work without JavaScript. Between steps the browser holds
//! sealed, short-lived cookies (the pending phone, then the phone proof); the
//! server stores nothing until an account is opened.

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::registration::{self, Checks, RegistrationError, VerifiedPhone};
use shengshi_domain::{PersonName, PhoneCode, ResidentIdNumber};
use shengshi_i18n::{t, t_args, Lang};
use std::net::SocketAddr;

use super::forms::{
    clear_pending_phone, code_error, code_step, flow_cookie, page_helpers, pending_phone,
    phone_step, refused, respond, see_other, submit_phone_step, CodeForm, PageError, PhoneForm,
};
use super::other;
use crate::csrf;
use crate::lang::{cookie, Mode, RequestLang};
use crate::problem::Problem;
use crate::AppState;

const PROOF_COOKIE: &str = "reg_proof";

#[derive(Template)]
#[template(path = "register_identity.html")]
struct IdentityPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    name: String,
    id_number: String,
}
page_helpers!(IdentityPage);

#[derive(Template)]
#[template(path = "register_done.html")]
struct DonePage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
}
page_helpers!(DonePage);

pub async fn phone_form(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    phone_step(&state, "register", lang, &headers)
}

pub async fn phone_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<PhoneForm>,
) -> Response {
    submit_phone_step(&state, "register", peer.ip(), lang, &headers, form).await
}

pub async fn code_form(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    let Some(phone) = pending_phone(&state, "register", &headers) else {
        return see_other("/register", &[]);
    };
    code_step(
        &state,
        "register",
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
    let Some(phone) = pending_phone(&state, "register", &headers) else {
        return see_other("/register", &[]);
    };
    let l = lang.lang;
    let show = |message: String| {
        let csrf = (form.csrf.clone(), None);
        code_step(&state, "register", lang, csrf, &phone, Some(message))
    };
    let Some(code) = PhoneCode::parse(&form.code) else {
        return show(t(l, "field.code_format").to_owned());
    };
    match registration::verify_phone(&state.services, &state.identity.secrets, &phone, &code).await
    {
        Ok(proof) => {
            let token = proof.to_token(&state.identity.secrets);
            let ttl = registration::PHONE_PROOF_TTL.whole_seconds();
            see_other(
                "/register/identity",
                &[
                    flow_cookie("register", PROOF_COOKIE, &token, ttl),
                    clear_pending_phone("register"),
                ],
            )
        }
        Err(e) => match code_error(l, &e) {
            Some(message) => show(message),
            None => Problem::internal(l, &e).into_response(),
        },
    }
}

fn proof(state: &AppState, headers: &HeaderMap) -> Option<VerifiedPhone> {
    let token = cookie(headers, PROOF_COOKIE)?;
    VerifiedPhone::from_token(&state.identity.secrets, &token, state.services.clock.now()).ok()
}

pub async fn identity_form(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    if proof(&state, &headers).is_none() {
        return see_other("/register", &[]);
    }
    let (token, set) = csrf::form_token(&headers);
    let page = IdentityPage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        csrf: token,
        errors: Vec::new(),
        name: String::new(),
        id_number: String::new(),
    };
    respond(page, lang, set)
}

#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
}

pub async fn identity_submit(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<IdentityForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(proof) = proof(&state, &headers) else {
        return see_other("/register", &[]);
    };
    let l = lang.lang;
    let show = |errors: Vec<PageError>| {
        let page = IdentityPage {
            lang: l,
            other_lang: other(l),
            mode: lang.mode,
            demo: state.info.demo,
            csrf: form.csrf.clone(),
            errors,
            name: form.name.clone(),
            id_number: form.id_number.clone(),
        };
        respond(page, lang, None)
    };
    let mut errors = Vec::new();
    let name = PersonName::parse(&form.name)
        .map_err(|e| {
            errors.push(PageError {
                field: "name",
                message: t(l, &format!("field.{}", e.code())).to_owned(),
            })
        })
        .ok();
    let id_number = ResidentIdNumber::parse(&form.id_number, state.services.clock.today())
        .map_err(|e| {
            errors.push(PageError {
                field: "id_number",
                message: t(l, &format!("field.{}", e.code())).to_owned(),
            })
        })
        .ok();
    let (Some(name), Some(id_number)) = (name, id_number) else {
        return show(errors);
    };
    let identity = &state.identity;
    let checks = Checks {
        registry: identity.registry.as_ref(),
        carrier: identity.carrier.as_ref(),
        sms: identity.sms.as_ref(),
    };
    match registration::register(
        &state.services,
        &identity.secrets,
        checks,
        &proof,
        &name,
        &id_number,
        l,
    )
    .await
    {
        Ok(_) => see_other(
            "/register/done",
            &[flow_cookie("register", PROOF_COOKIE, "", 0)],
        ),
        Err(RegistrationError::PhoneProofExpired) => {
            see_other("/register", &[flow_cookie("register", PROOF_COOKIE, "", 0)])
        }
        Err(RegistrationError::Internal(e)) => Problem::internal(l, &e).into_response(),
        Err(e) => {
            let unavailable = |system: &str| {
                t_args(
                    l,
                    "problem.dependency_unavailable.detail",
                    &[("system", t(l, &format!("system.{system}")))],
                )
            };
            let message = match &e {
                RegistrationError::RegistryUnavailable(_) => unavailable("registry"),
                RegistrationError::CarrierUnavailable(_) => unavailable("carrier"),
                other => t(l, &format!("problem.{}.detail", other.code())).to_owned(),
            };
            // The name is what the resident corrects for a mismatch; the rest concern the ID number.
            let field = if matches!(e, RegistrationError::NameMismatch) {
                "name"
            } else {
                "id_number"
            };
            show(vec![PageError { field, message }])
        }
    }
}

pub async fn done(State(state): State<AppState>, lang: RequestLang) -> Response {
    let page = DonePage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
    };
    respond(page, lang, None)
}
