//! The printable identity document (MOSIP Claim 169): what it is and what it
//! risks, the details and validity the resident chooses, the result to print
//! (a server-rendered QR code and everything it discloses), and the list of
//! documents with a revoke button each.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::eid::EidError;
use shengshi_app::eid_document::{
    self as app_doc, DocumentError, DocumentField, DocumentRequest, Validity,
};
use shengshi_i18n::{t, Lang};
use shengshi_store::StoredAccount;

use super::card::qr_svg;
use super::forms::{page_helpers, refused, respond, see_other, PageError};
use super::other;
use super::sessions::local;
use crate::api::eid_document::document_problem;
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::session::current;
use crate::{no_store, AppState};

struct FieldChoice {
    name: &'static str,
    label: &'static str,
    checked: bool,
}

struct ValidityChoice {
    name: &'static str,
    label: &'static str,
    checked: bool,
}

struct DocumentRow {
    id: String,
    issued: String,
    issued_iso: String,
    expires: String,
    expires_iso: String,
    details: String,
    state: &'static str,
    state_label: &'static str,
    revocable: bool,
}

#[derive(Template)]
#[template(path = "card_document.html")]
struct DocumentPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    csrf: String,
    fields: Vec<FieldChoice>,
    validities: Vec<ValidityChoice>,
    documents: Vec<DocumentRow>,
}
page_helpers!(DocumentPage);

struct Disclosed {
    label: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "card_document_done.html")]
struct DonePage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    svg: String,
    code: String,
    disclosed: Vec<Disclosed>,
    issued: String,
    expires: String,
    expires_iso: String,
    id: String,
    issuer: String,
}
page_helpers!(DonePage);

/// What the resident chose, kept to show the form again after an error.
#[derive(Default)]
struct Entered {
    fields: Vec<String>,
    validity: String,
}

fn field_label(lang: Lang, name: &str) -> &'static str {
    t(lang, &format!("card_document.field.{name}"))
}

async fn render(
    state: &AppState,
    lang: RequestLang,
    account: &StoredAccount,
    csrf: (String, Option<axum::http::HeaderValue>),
    errors: Vec<PageError>,
    entered: Entered,
) -> Response {
    let l = lang.lang;
    let documents = match app_doc::list(&state.services, account).await {
        Ok(d) => d,
        Err(e) => return document_problem(l, &e).into_response(),
    };
    let page = DocumentPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors,
        csrf: csrf.0,
        fields: DocumentField::ALL
            .iter()
            .map(|f| FieldChoice {
                name: f.name(),
                label: field_label(l, f.name()),
                checked: entered.fields.iter().any(|e| e == f.name()),
            })
            .collect(),
        validities: Validity::ALL
            .iter()
            .map(|v| ValidityChoice {
                name: v.name(),
                label: t(l, &format!("card_document.validity.{}", v.name())),
                // One month unless the resident chose otherwise: the shortest is the safest.
                checked: if entered.validity.is_empty() {
                    *v == Validity::OneMonth
                } else {
                    entered.validity == v.name()
                },
            })
            .collect(),
        documents: documents
            .iter()
            .map(|d| DocumentRow {
                id: d.id.to_string(),
                issued: local(d.issued_at),
                issued_iso: d.issued_at.to_rfc3339(),
                expires: local(d.expires_at),
                expires_iso: d.expires_at.to_rfc3339(),
                details: d
                    .fields
                    .iter()
                    .map(|f| field_label(l, f))
                    .collect::<Vec<_>>()
                    .join(t(l, "access.list_separator")),
                state: d.state.name(),
                state_label: t(l, &format!("card_document.state.{}", d.state.name())),
                revocable: d.revocable(),
            })
            .collect(),
    };
    no_store(respond(page, lang, csrf.1))
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
        &session.account,
        csrf::form_token(&headers),
        Vec::new(),
        Entered::default(),
    )
    .await
}

/// A refusal the resident can act on, shown on the form; `None` for the rest.
fn page_error(lang: Lang, error: &DocumentError) -> Option<PageError> {
    let (field, key) = match error {
        DocumentError::NoFields | DocumentError::UnknownField(_) => {
            ("fields", "card_document.error.no_fields")
        }
        DocumentError::UnknownValidity => ("validity", "card_document.error.validity"),
        DocumentError::NoPortrait => ("fields", "card_document.error.no_photo"),
        DocumentError::PortraitFormat => ("fields", "card_document.error.photo_format"),
        DocumentError::TooLarge => ("fields", "card_document.error.too_large"),
        DocumentError::NationalityUnknown => ("fields", "card_document.error.nationality"),
        DocumentError::NotFound => ("documents", "card_document.error.not_found"),
        DocumentError::Eid(e) => (
            "fields",
            match e {
                EidError::NotReady(_) => "card.error.not_ready",
                EidError::NotEligible => "card.error.not_eligible",
                EidError::NoCard => "card.error.no_card",
                EidError::CardSuspended => "card.error.suspended",
                EidError::TooManyPresentations => "card.error.too_many",
                EidError::RegistryUnavailable(_) => "card.error.registry_unavailable",
                _ => return None,
            },
        ),
    };
    Some(PageError {
        field,
        message: t(lang, key).to_owned(),
    })
}

/// The form's fields; the details arrive as repeated `field` pairs.
pub async fn issue(
    State(state): State<AppState>,
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
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let entered = Entered {
        fields: pairs
            .iter()
            .filter(|(k, _)| k == "field")
            .map(|(_, v)| v.clone())
            .collect(),
        validity: value("validity"),
    };
    let result = match DocumentRequest::parse(&entered.fields, &entered.validity) {
        Ok(request) => {
            app_doc::issue(
                &state.services,
                &state.identity.eid,
                Some(state.identity.registry.as_ref()),
                &session.account,
                &request,
            )
            .await
        }
        Err(e) => Err(e),
    };
    let doc = match result {
        Ok(doc) => doc,
        Err(e) => {
            return match page_error(l, &e) {
                Some(error) => {
                    render(
                        &state,
                        lang,
                        &session.account,
                        (value("csrf"), None),
                        vec![error],
                        entered,
                    )
                    .await
                }
                None => document_problem(l, &e).into_response(),
            }
        }
    };
    let Some(svg) = qr_svg(&doc.text) else {
        return crate::problem::Problem::internal(l, &"the document does not fit a QR code")
            .into_response();
    };
    // The label is ours (a catalog string), but escape it all the same.
    let label = t(l, "card_document.qr_alt").replace(['"', '<', '>', '&'], "");
    let svg = svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{label}\" class=\"eid-qr-image eid-doc-qr\" "),
        1,
    );
    let i = &doc.identity;
    let mut disclosed = Vec::new();
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            disclosed.push(Disclosed {
                label: field_label(l, name),
                value,
            });
        }
    };
    add("name", i.full_name.clone());
    add(
        "birth_date",
        i.date_of_birth
            .as_ref()
            .map(|d| format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..8])),
    );
    add(
        "sex",
        i.gender
            .map(|g| t(l, &format!("card_document.sex.{}", g.name())).to_owned()),
    );
    add("id_number", i.id.clone());
    add("address", i.address.clone());
    add("nationality", i.nationality.clone());
    add(
        "photo",
        i.photo_format
            .map(|f| t(l, "card_document.photo_included").replace("{format}", f.name())),
    );
    let page = DonePage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors: Vec::new(),
        svg,
        code: doc.text.clone(),
        disclosed,
        issued: local(doc.issued_at),
        expires: local(doc.expires_at),
        expires_iso: doc.expires_at.to_rfc3339(),
        id: doc.id.to_string(),
        issuer: state.identity.eid.settings().issuer.clone(),
    };
    no_store(respond(page, lang, None))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
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
    let result = match uuid::Uuid::parse_str(&form.id) {
        Ok(id) => app_doc::revoke(&state.services, &state.identity.eid, &session.account, id).await,
        Err(_) => Err(DocumentError::NotFound),
    };
    match result {
        Ok(()) => see_other("/card/document", &[]),
        Err(e) => match page_error(lang.lang, &e) {
            Some(error) => {
                render(
                    &state,
                    lang,
                    &session.account,
                    (form.csrf, None),
                    vec![error],
                    Entered::default(),
                )
                .await
            }
            None => document_problem(lang.lang, &e).into_response(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shengshi_app::eid_document::DocumentState;

    #[test]
    fn every_state_and_field_has_words_in_both_languages() {
        for lang in [Lang::En, Lang::ZhCn] {
            for f in DocumentField::ALL {
                let key = format!("card_document.field.{}", f.name());
                assert!(!t(lang, &key).is_empty() && t(lang, &key) != t(lang, "no.such.key"));
            }
            for s in [
                DocumentState::Valid,
                DocumentState::Expired,
                DocumentState::Revoked,
                DocumentState::CardRevoked,
                DocumentState::CardSuspended,
            ] {
                let key = format!("card_document.state.{}", s.name());
                assert!(!t(lang, &key).is_empty() && t(lang, &key) != t(lang, "no.such.key"));
            }
        }
    }
}
