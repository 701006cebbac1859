//! The verifier desk (/desk, issue 8 item 3 and issue 9 item 5): a hotel or
//! station front desk checks residents' e-ID codes.
//!
//! - With JavaScript (static/desk.js): the organisation's API key is kept in
//!   this browser's storage and sent only to our verification API; codes come
//!   from a hardware scanner (it types into the focused field and presses
//!   Enter), paste, or the camera where the browser has BarcodeDetector. With
//!   no network the script verifies SS1 and SS2 codes itself against the
//!   trust list and status list it cached (signed by the trust root this page
//!   pins), and the offline service worker keeps the page.
//! - Without JavaScript: the form posts the key and the code here, the server
//!   verifies them as the API does and answers with the verdict (and, for a
//!   hotel check-in or travel security code, the portrait inline). The key is
//!   never echoed into the page.

use askama::Template;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use axum::Form;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use shengshi_app::portrait;
use shengshi_app::verifiers::{self, Verification, VerificationRefused};
use shengshi_i18n::{t, t_args, Lang};

use super::forms::{page_helpers, refused, respond, PageError};
use super::{offline_service_worker, other, own_script};
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::{no_store, AppState};

/// The e-ID error codes the desk explains in plain words (others get the
/// general sentence with the code); desk.js uses the same keys.
const REASONS: [&str; 27] = [
    "expired",
    "issued_in_future",
    "revoked",
    "suspended",
    "status_unknown",
    "status_stale",
    "bad_signature",
    "non_canonical_signature",
    "unknown_kid",
    "key_not_valid_at_iat",
    "issuer_mismatch",
    "unsupported_algorithm",
    "sm2_unsupported",
    "bad_prefix",
    "too_large",
    "malformed",
    "purpose_category_not_allowed",
    "credential_expired",
    "device_signature_invalid",
    "digest_mismatch",
    "already_used",
    "purpose_not_allowed",
    "unauthenticated",
    "verifier_suspended",
    "rate_limited",
    "no_lists",
    "network",
];

/// The attributes a verdict may show, in this order.
const ATTRIBUTES: [&str; 7] = [
    "name",
    "id_number",
    "sex",
    "birth_date",
    "address",
    "age_over_18",
    "portrait_digest",
];

/// One line of a verdict's attribute list.
struct Shown {
    label: &'static str,
    value: String,
}

/// The verdict of a form post (the page without JavaScript).
struct Verdict {
    /// `valid` or `refused`.
    kind: &'static str,
    /// The verdict in the page's language and in the other one.
    word: &'static str,
    other_word: &'static str,
    other_lang: Lang,
    reason: String,
    purpose: String,
    attributes: Vec<Shown>,
    /// A `data:` URL of the portrait, when one was fetched.
    portrait: Option<String>,
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    code: String,
    verdict: Option<Verdict>,
    /// The trust root the offline checks pin (`ed25519:<hex>`), if configured.
    trust_root: String,
    /// The messages desk.js shows, as JSON (a data block, never executed).
    texts: String,
}
page_helpers!(DeskPage);

/// The messages desk.js needs, in the page's language, plus the verdict
/// words in both languages. `<` is escaped so the block cannot end early.
fn texts(l: Lang) -> String {
    let mut map = serde_json::Map::new();
    for key in [
        "valid",
        "refused",
        "unknown",
        "checked_online",
        "checked_offline",
        "offline_no_single_use",
        "status_old",
        "lists_none",
        "lists_state",
        "key_saved",
        "key_missing",
        "key_bad",
        "camera_failed",
        "portrait_alt",
        "purpose",
        "yes",
        "no",
        "male",
        "female",
        "reason_other",
        "working",
    ] {
        map.insert(key.to_owned(), t(l, &format!("desk.{key}")).into());
    }
    for key in REASONS {
        map.insert(
            format!("reason.{key}"),
            t(l, &format!("desk.reason.{key}")).into(),
        );
    }
    for key in ATTRIBUTES {
        map.insert(
            format!("attr.{key}"),
            t(l, &format!("desk.attr.{key}")).into(),
        );
    }
    for purpose in shengshi_eid::Purpose::ALL {
        let name = purpose.name();
        map.insert(
            format!("purpose.{name}"),
            t(l, &format!("verifier_purpose.{name}")).into(),
        );
    }
    let o = other(l);
    for key in ["valid", "refused", "unknown"] {
        map.insert(format!("other.{key}"), t(o, &format!("desk.{key}")).into());
    }
    map.insert("other_lang".into(), o.tag().into());
    serde_json::Value::Object(map)
        .to_string()
        .replace('<', "\\u003c")
}

fn page(state: &AppState, lang: &RequestLang, csrf: String) -> DeskPage {
    let l = lang.lang;
    let trust_root = state
        .identity
        .eid
        .settings()
        .trust_root
        .as_ref()
        .map(|k| k.to_text())
        .unwrap_or_default();
    DeskPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        csrf,
        code: String::new(),
        verdict: None,
        trust_root,
        texts: texts(l),
    }
}

/// The desk. It holds no personal data and needs no session, so the service
/// worker may keep it; revalidated on every online visit.
pub async fn desk(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    let (token, cookie) = csrf::form_token(&headers);
    let page = page(&state, &lang, token);
    let mut response = respond(page, lang, cookie);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    response
}

#[derive(Deserialize)]
pub struct DeskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    code: String,
}

/// The plain-words reason of a refusal (the desk's keys).
fn reason_key(refusal: &VerificationRefused) -> &'static str {
    match refusal {
        VerificationRefused::Unauthenticated => "unauthenticated",
        VerificationRefused::RateLimited { .. } => "rate_limited",
        VerificationRefused::Suspended => "verifier_suspended",
        VerificationRefused::PurposeNotAllowed { .. } => "purpose_not_allowed",
        VerificationRefused::AlreadyUsed => "already_used",
        VerificationRefused::Invalid(code) => code,
        VerificationRefused::NotReady(_) | VerificationRefused::Internal(_) => "network",
    }
}

fn reason_text(l: Lang, code: &str) -> String {
    let key = if REASONS.contains(&code) {
        code
    } else if code.starts_with("cbor_")
        || code.starts_with("decompression_")
        || code == "bad_base45"
        || code == "wrong_type"
    {
        "malformed"
    } else {
        return t_args(l, "desk.reason_other", &[("code", code)]);
    };
    t(l, &format!("desk.reason.{key}")).to_owned()
}

fn shown(l: Lang, v: &Verification) -> Vec<Shown> {
    let d = &v.disclosed;
    let yes_no = |b: bool| t(l, if b { "desk.yes" } else { "desk.no" }).to_owned();
    let values: [Option<String>; 7] = [
        d.name.clone(),
        d.id_number.clone(),
        d.sex
            .map(|s| t(l, &format!("desk.{}", s.name())).to_owned()),
        d.birth_date.clone(),
        d.address.clone(),
        d.age_over_18.map(yes_no),
        d.portrait_digest.map(hex::encode),
    ];
    ATTRIBUTES
        .iter()
        .zip(values)
        .filter_map(|(key, value)| {
            value.map(|value| Shown {
                label: t(l, &format!("desk.attr.{key}")),
                value,
            })
        })
        .collect()
}

/// The form's answer: the server verifies with the key the form carried.
pub async fn verify(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<DeskForm>,
) -> Response {
    if !csrf::form_token_matches(&headers, &form.csrf) {
        return refused(lang.lang);
    }
    let l = lang.lang;
    let o = other(l);
    let mut page = page(&state, &lang, form.csrf.clone());
    let key = form.api_key.trim();
    let code = form.code.trim();
    if key.is_empty() {
        page.errors.push(PageError {
            field: "api_key",
            message: t(l, "desk.key_missing").to_owned(),
        });
    }
    if code.is_empty() {
        page.errors.push(PageError {
            field: "code",
            message: t(l, "desk.code_missing").to_owned(),
        });
    }
    if page.errors.is_empty() {
        let result = verifiers::verify(
            &state.services,
            &state.identity.eid,
            &state.identity.secrets,
            &state.verifier_gate,
            Some(key),
            code,
        )
        .await;
        page.verdict = Some(match result {
            Ok(v) => {
                // The page cannot send the key for an image, so the portrait
                // comes inline; fetching it is logged like the API's.
                let link = portrait::link(&state.identity.secrets, &v);
                let mut image = None;
                if let Some(link) = link {
                    match portrait::fetch(
                        &state.services,
                        &state.identity.secrets,
                        &state.verifier_gate,
                        state.identity.registry.as_ref(),
                        Some(key),
                        &link.token,
                    )
                    .await
                    {
                        Ok(p) => {
                            image = Some(format!(
                                "data:{};base64,{}",
                                p.content_type,
                                STANDARD.encode(&p.bytes)
                            ))
                        }
                        Err(e) => tracing::warn!(reason = e.reason(), "desk portrait not shown"),
                    }
                }
                Verdict {
                    kind: "valid",
                    word: t(l, "desk.valid"),
                    other_word: t(o, "desk.valid"),
                    other_lang: o,
                    reason: t(l, "desk.checked_online").to_owned(),
                    purpose: t(l, &format!("verifier_purpose.{}", v.purpose.name())).to_owned(),
                    attributes: shown(l, &v),
                    portrait: image,
                }
            }
            Err(refusal) => {
                if let VerificationRefused::Internal(e) | VerificationRefused::NotReady(e) =
                    &refusal
                {
                    tracing::error!(error = %e, "desk verification failed");
                }
                Verdict {
                    kind: "refused",
                    word: t(l, "desk.refused"),
                    other_word: t(o, "desk.refused"),
                    other_lang: o,
                    reason: reason_text(l, reason_key(&refusal)),
                    purpose: String::new(),
                    attributes: Vec::new(),
                    portrait: None,
                }
            }
        });
    } else {
        page.code = code.to_owned();
    }
    // Personal data on the page: never cached.
    no_store(respond(page, lang, None))
}

/// The desk's service worker. Its scope is `/desk`, the page itself, which is
/// not below the script's own folder (`/desk/`): the header allows that.
pub async fn service_worker() -> Response {
    offline_service_worker(
        "desk",
        "/desk",
        &[
            "/static/app.css",
            "/static/desk.js",
            "/static/eid-verify.js",
            "/static/favicon.svg",
        ],
        Some("/desk"),
    )
}

pub async fn script() -> Response {
    own_script(include_str!("../../static/desk.js"))
}

/// The offline verifier the desk uses (docs/verifier-desk.md).
pub async fn verifier_script() -> Response {
    own_script(include_str!("../../static/eid-verify.js"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_and_text_exists_in_both_languages() {
        for l in [Lang::ZhCn, Lang::En] {
            let texts: serde_json::Value = serde_json::from_str(&texts(l)).unwrap();
            for (key, value) in texts.as_object().unwrap() {
                let value = value.as_str().unwrap();
                assert!(!value.contains(shengshi_i18n::MISSING), "{l:?} {key}");
            }
            for key in ["code_missing", "key_missing"] {
                assert!(!t(l, &format!("desk.{key}")).contains(shengshi_i18n::MISSING));
            }
        }
        // A code with no plain words of its own still names itself.
        assert!(reason_text(Lang::En, "disclosure_duplicate").contains("disclosure_duplicate"));
        assert_eq!(
            reason_text(Lang::En, "cbor_too_deep"),
            reason_text(Lang::En, "malformed")
        );
    }

    #[test]
    fn the_texts_block_cannot_close_its_element() {
        assert!(!texts(Lang::En).contains('<'));
    }
}
