//! The electronic ID card page: activate the card, pick a purpose, show a
//! live code. Without scripts the code is an SVG image rendered here (cached
//! per presentation) and the page refreshes itself every 30 s; with scripts,
//! static/card.js asks for a new code every 30 s and draws it in the browser.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::eid::{self as app_eid, EidError};
use shengshi_app::registration;
use shengshi_domain::access::{Accessor, Purpose as AccessPurpose};
use shengshi_domain::{AccountId, Timestamp};
use shengshi_eid::{Purpose, VerifierCategory};
use shengshi_i18n::{t, Lang};
use shengshi_store::CardStatus;

use super::forms::{page_helpers, refused, respond, see_other, PageError};
use super::sessions::local;
use super::{other, own_script};
use crate::api::eid::{default_category, eid_problem, REFRESH_SECONDS};
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::problem::{Problem, ProblemKind};
use crate::session::current;
use crate::{no_store, AppState};

/// The purposes a resident can pick, in the order shown, with the verifier
/// each is shown to.
pub(super) const CHOICES: [(Purpose, VerifierCategory); 5] = [
    (Purpose::HotelCheckin, VerifierCategory::Hotel),
    (Purpose::TravelSecurity, VerifierCategory::Railway),
    (Purpose::TravelSecurity, VerifierCategory::Airport),
    (Purpose::AgeOver18, VerifierCategory::Retail),
    (Purpose::IdentityFull, VerifierCategory::Government),
];

struct Choice {
    href: String,
    label: &'static str,
    hint: &'static str,
}

pub(super) fn choice_label(
    lang: Lang,
    purpose: Purpose,
    category: VerifierCategory,
) -> &'static str {
    t(
        lang,
        &format!("card.choice.{}.{}", purpose.name(), category.name()),
    )
}

#[derive(Template)]
#[template(path = "card.html")]
struct CardPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    /// `none`, `active` or `suspended`.
    state: &'static str,
    holder_name: String,
    masked_id_number: String,
    activated: String,
    choices: Vec<Choice>,
}
page_helpers!(CardPage);

/// `4401**********123X`: enough for the holder to recognise, nothing more.
fn mask(id_number: &str) -> String {
    let chars: Vec<char> = id_number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

pub async fn page(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    render_card(&state, lang, &headers, &session.account, Vec::new()).await
}

async fn render_card(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
    account: &shengshi_store::StoredAccount,
    errors: Vec<PageError>,
) -> Response {
    let l = lang.lang;
    let card = match app_eid::card(&state.services, account.id).await {
        Ok(card) => card,
        Err(e) => return eid_problem(l, &e).into_response(),
    };
    let (mut holder_name, mut masked_id_number) = (String::new(), String::new());
    if card.is_some() {
        // The card face shows the holder: opening the profile is logged.
        match registration::open_profile(
            &state.services,
            account,
            Accessor::Subject,
            AccessPurpose::OwnAccount,
        )
        .await
        {
            Ok(profile) => {
                holder_name = profile.name.clone();
                masked_id_number = mask(&profile.id_number);
            }
            Err(e) => return Problem::internal(l, &e).into_response(),
        }
    }
    let (token, set) = csrf::form_token(headers);
    let page = CardPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors,
        csrf: token,
        state: match card.as_ref().map(|c| c.status) {
            None | Some(CardStatus::Revoked) => "none",
            Some(CardStatus::Active) => "active",
            Some(CardStatus::Suspended) => "suspended",
        },
        holder_name,
        masked_id_number,
        activated: card.map(|c| local(c.activated_at)).unwrap_or_default(),
        choices: CHOICES
            .iter()
            .map(|(purpose, category)| Choice {
                href: format!(
                    "/card/show?purpose={}&category={}",
                    purpose.name(),
                    category.name()
                ),
                label: choice_label(l, *purpose, *category),
                hint: t(l, &format!("card.discloses.{}", purpose.name())),
            })
            .collect(),
    };
    no_store(respond(page, lang, set))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// A refusal the resident can act on, shown on the card page.
fn page_error(lang: Lang, error: &EidError) -> Option<PageError> {
    let key = match error {
        EidError::NotReady(_) => "card.error.not_ready",
        EidError::NotEligible => "card.error.not_eligible",
        EidError::RegistryRefused(_) => "card.error.registry_refused",
        EidError::RegistryUnavailable(_) => "card.error.registry_unavailable",
        EidError::NoCard => "card.error.no_card",
        EidError::CardSuspended => "card.error.suspended",
        EidError::TooManyPresentations => "card.error.too_many",
        EidError::NotSuspended
        | EidError::PurposeNotAllowed { .. }
        | EidError::TrustList(_)
        | EidError::Internal(_) => return None,
    };
    Some(PageError {
        field: "card-actions",
        message: t(lang, key).to_owned(),
    })
}

async fn after_action(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
    account: &shengshi_store::StoredAccount,
    result: Result<(), EidError>,
) -> Response {
    match result {
        Ok(()) => see_other("/card", &[]),
        Err(e) => match page_error(lang.lang, &e) {
            Some(error) => render_card(state, lang, headers, account, vec![error]).await,
            None => eid_problem(lang.lang, &e).into_response(),
        },
    }
}

pub async fn activate(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let result = app_eid::activate(
        &state.services,
        &state.identity.eid,
        state.identity.registry.as_ref(),
        &session.account,
    )
    .await
    .map(|_| ());
    after_action(&state, lang, &headers, &session.account, result).await
}

pub async fn suspend(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let result = app_eid::report_lost(&state.services, &state.identity.eid, &session.account)
        .await
        .map(|_| ());
    after_action(&state, lang, &headers, &session.account, result).await
}

pub async fn resume(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let result = app_eid::resume(&state.services, &state.identity.eid, &session.account)
        .await
        .map(|_| ());
    after_action(&state, lang, &headers, &session.account, result).await
}

#[derive(Template)]
#[template(path = "card_show.html")]
struct ShowPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    label: &'static str,
    discloses: &'static str,
    purpose: &'static str,
    category: &'static str,
    code: String,
    image: String,
    expires_iso: String,
    expires_local: String,
    refresh_seconds: u32,
}
page_helpers!(ShowPage);

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    category: String,
}

/// Local wall-clock time to the second: a code lives for a minute.
fn local_seconds(at: Timestamp) -> String {
    let t = at
        .as_offset_date_time()
        .to_offset(shengshi_domain::clock::SHANGHAI_OFFSET);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

/// Mints a code for the chosen purpose and shows it.
pub async fn show(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Query(query): Query<ShowQuery>,
) -> Response {
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let l = lang.lang;
    // A language or mode switch drops the query: back to the picker, with
    // the choice remembered.
    let Some(purpose) = Purpose::from_name(&query.purpose) else {
        return see_other("/card", &lang.remember());
    };
    let category = if query.category.is_empty() {
        default_category(purpose)
    } else {
        match VerifierCategory::from_name(&query.category) {
            Some(category) => category,
            None => return see_other("/card", &lang.remember()),
        }
    };
    let presentation = match app_eid::present(
        &state.services,
        &state.identity.eid,
        &session.account,
        purpose,
        category,
    )
    .await
    {
        Ok(p) => p,
        Err(e) => {
            return match page_error(l, &e) {
                Some(error) => {
                    render_card(&state, lang, &headers, &session.account, vec![error]).await
                }
                None => eid_problem(l, &e).into_response(),
            }
        }
    };
    let image = match state.qr_images.insert(
        &presentation.id,
        session.account.id,
        presentation.expires_at,
        &presentation.text,
    ) {
        Some(()) => format!("/card/qr/{}", presentation.id),
        None => return Problem::internal(l, &"the code does not fit in a QR code").into_response(),
    };
    let page = ShowPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        label: choice_label(l, purpose, category),
        discloses: t(l, &format!("card.discloses.{}", purpose.name())),
        purpose: purpose.name(),
        category: category.name(),
        code: presentation.text,
        image,
        expires_iso: presentation.expires_at.to_rfc3339(),
        expires_local: local_seconds(presentation.expires_at),
        refresh_seconds: REFRESH_SECONDS,
    };
    no_store(respond(page, lang, None))
}

/// The QR image of one presentation, for its holder only, while it lives.
pub async fn qr_image(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(session) = current(&state, &headers).await else {
        return Problem::new(ProblemKind::Unauthenticated, lang.lang, &[]).into_response();
    };
    match state
        .qr_images
        .get(&id, session.account.id, state.services.clock.now())
    {
        Some(svg) => {
            let mut response = svg.as_ref().clone().into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
            no_store(response)
        }
        None => {
            Problem::new(ProblemKind::NotFound, lang.lang, &[("path", "/card/qr")]).into_response()
        }
    }
}

/// The script that keeps the code fresh, and the QR encoder it draws with
/// (qrcode-generator 2.0.4 by Kazuhiko Arase, MIT licence, vendored from npm).
pub async fn script() -> Response {
    own_script(include_str!("../../static/card.js"))
}

pub async fn qr_encoder() -> Response {
    own_script(include_str!(
        "../../static/vendor/qrcode-generator-2.0.4.js"
    ))
}

/// QR images rendered on the server, kept per presentation until it expires.
/// Rendering costs milliseconds; a refresh or a second request for the same
/// code reuses the image.
#[derive(Debug, Default)]
pub struct QrImages {
    entries: Mutex<HashMap<String, QrImage>>,
}

#[derive(Debug)]
struct QrImage {
    account: AccountId,
    expires_at: Timestamp,
    svg: Arc<String>,
}

/// At most this many images are kept; the oldest expiries go first.
const MAX_IMAGES: usize = 10_000;

impl QrImages {
    /// Renders and keeps the image of a code; `None` if it does not fit a QR code.
    pub fn insert(
        &self,
        id: &str,
        account: AccountId,
        expires_at: Timestamp,
        text: &str,
    ) -> Option<()> {
        let svg = Arc::new(qr_svg(text)?);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_IMAGES {
            // Drop whatever expires first: the oldest codes.
            let mut by_expiry: Vec<_> = entries
                .iter()
                .map(|(k, v)| (v.expires_at, k.clone()))
                .collect();
            by_expiry.sort();
            for (_, key) in by_expiry.into_iter().take(MAX_IMAGES / 10) {
                entries.remove(&key);
            }
        }
        entries.insert(
            id.to_owned(),
            QrImage {
                account,
                expires_at,
                svg,
            },
        );
        Some(())
    }

    fn get(&self, id: &str, account: AccountId, now: Timestamp) -> Option<Arc<String>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, image| image.expires_at > now);
        entries
            .get(id)
            .filter(|image| image.account == account)
            .map(|image| image.svg.clone())
    }
}

/// An SVG of the text as a QR code (error correction M, 4-module quiet zone).
/// One path of unit squares; no styles, so it needs nothing from the CSP.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let size = width + 8;
    let mut path = String::with_capacity(width * width * 4);
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i % width + 4, i / width + 4);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_the_ends() {
        assert_eq!(mask("44010219900307123X"), "4401**********123X");
        assert_eq!(mask("1234"), "****");
    }

    #[test]
    fn images_are_for_their_holder_until_they_expire() {
        let images = QrImages::default();
        let (alice, bob) = (AccountId::new(), AccountId::new());
        let now = Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
        let expires = now.plus(time::Duration::seconds(60));
        images.insert("c1", alice, expires, "SS1:ABC").unwrap();
        assert!(images.get("c1", alice, now).is_some());
        assert!(images.get("c1", bob, now).is_none());
        assert!(images.get("c1", alice, expires).is_none());
    }

    #[test]
    fn the_svg_has_the_quiet_zone_and_no_style() {
        let svg = qr_svg("SS1:HELLO").unwrap();
        // Version 1 is 21 modules; plus 4 on each side.
        assert!(svg.contains("viewBox=\"0 0 29 29\""), "{svg}");
        assert!(!svg.contains("style"));
    }
}
