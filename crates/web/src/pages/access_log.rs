//! "Who accessed your data": the resident's access log as a page, newest
//! first, with a purpose filter (a GET form), older pages, downloads, and a
//! proof link per entry. Reading it opens no personal data.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use shengshi_app::access_view::{self, AccessQuery};
use shengshi_domain::access::Purpose;
use shengshi_i18n::{t, t_args, Lang};

use super::forms::{page_helpers, see_other, PageError};
use super::sessions::local;
use super::{other, render};
use crate::api::access_log::{accessor_text, field_text, parse_query, purpose_text, DEFAULT_LIMIT};
use crate::lang::{Mode, RequestLang};
use crate::problem::Problem;
use crate::session::current;
use crate::{no_store, AppState};

struct Row {
    when: String,
    when_iso: String,
    who: String,
    purpose: &'static str,
    reference: String,
    fields: String,
    /// For an access shown only once an embargo ended: says so, with its basis.
    embargo_note: Option<String>,
    /// Opened by staff without assigned work: flagged.
    break_glass: bool,
    proof_href: String,
    /// Tells the proof links apart for a screen reader.
    proof_context: String,
}

struct PurposeOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "access_log.html")]
struct AccessLogPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    errors: Vec<PageError>,
    rows: Vec<Row>,
    purposes: Vec<PurposeOption>,
    filtered: bool,
    /// The link to older entries, when there are any.
    older: Option<String>,
    /// The link back to the newest entries, when this page is not the first.
    newest: Option<String>,
}
page_helpers!(AccessLogPage);

/// This page's address with the filter (and a cursor) kept.
fn href(purpose: Option<Purpose>, limit: u32, before: Option<u64>) -> String {
    let mut params = Vec::new();
    if let Some(p) = purpose {
        params.push(format!("purpose={}", p.name()));
    }
    if let Some(b) = before {
        params.push(format!("before={b}"));
    }
    if limit != DEFAULT_LIMIT {
        params.push(format!("limit={limit}"));
    }
    if params.is_empty() {
        "/account/access-log".to_owned()
    } else {
        format!("/account/access-log?{}", params.join("&"))
    }
}

pub async fn list(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(session) = current(&state, &headers).await else {
        return see_other("/login", &[]);
    };
    let l = lang.lang;
    // A bad filter is shown beside the form, and the newest entries listed.
    let (query, errors) = match parse_query(l, query.as_deref()) {
        Ok(query) => (query, Vec::new()),
        Err(problem) => {
            let errors = problem
                .errors
                .into_iter()
                // The filter is the page's only field: a bad cursor or limit
                // (a hand-edited address) is listed there too, so the error
                // summary's link always leads to a field.
                .map(|e| PageError {
                    field: "purpose",
                    message: e.detail,
                })
                .collect();
            let query = AccessQuery {
                limit: DEFAULT_LIMIT,
                ..AccessQuery::default()
            };
            (query, errors)
        }
    };
    let page = match access_view::list(&state.services, session.account.subject, query).await {
        Ok(page) => page,
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let separator = t(l, "access.list_separator");
    let rows =
        page.rows
            .iter()
            .map(|row| {
                let when = local(row.at);
                Row {
                    proof_context: t_args(l, "access.proof_context", &[("when", &when)]),
                    when,
                    when_iso: row.at.to_rfc3339(),
                    who: accessor_text(l, row),
                    purpose: purpose_text(l, row.purpose),
                    reference: row
                        .reference
                        .as_deref()
                        .map(|r| reference_text(l, r))
                        .unwrap_or_else(|| "—".to_owned()),
                    fields: row
                        .fields
                        .iter()
                        .map(|f| field_text(l, f))
                        .collect::<Vec<_>>()
                        .join(separator),
                    embargo_note: row.disclosed_after_embargo.as_ref().map(|basis| {
                        t_args(l, "access.disclosed_after_embargo", &[("basis", basis)])
                    }),
                    break_glass: row.is_break_glass(),
                    proof_href: format!("/api/v1/me/access-log/{}/proof", row.leaf_index),
                }
            })
            .collect();
    let page = AccessLogPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        errors,
        rows,
        purposes: Purpose::ALL
            .into_iter()
            .map(|p| PurposeOption {
                value: p.name(),
                label: purpose_text(l, p),
                selected: query.purpose == Some(p),
            })
            .collect(),
        filtered: query.purpose.is_some(),
        older: page
            .next_before
            .map(|before| href(query.purpose, query.limit, Some(before))),
        newest: query.before.map(|_| href(query.purpose, query.limit, None)),
    };
    no_store(render(page, lang))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shengshi_i18n::MISSING;

    #[test]
    fn every_purpose_has_both_translations() {
        for lang in Lang::ALL {
            for purpose in Purpose::ALL {
                let text = purpose_text(lang, purpose);
                assert_ne!(
                    text,
                    MISSING,
                    "{lang:?} lacks access.purpose.{}",
                    purpose.name()
                );
            }
        }
    }

    #[test]
    fn links_keep_the_filter() {
        assert_eq!(href(None, DEFAULT_LIMIT, None), "/account/access-log");
        assert_eq!(
            href(Some(Purpose::CounterCheck), 5, Some(9)),
            "/account/access-log?purpose=counter_check&before=9&limit=5"
        );
    }
}

/// A reference as a resident reads it: an e-ID code (minted, checked
/// online, its portrait fetched) or a printable document named in words with
/// the first 8 characters of its id, the same for a code's minting and its
/// checks; anything else as recorded.
fn reference_text(lang: Lang, reference: &str) -> String {
    let parts: Vec<&str> = reference.split(':').collect();
    let (label, id) = match parts.as_slice() {
        ["eid-presentation" | "eid-offline", purpose, category, id] => {
            (t(lang, &format!("card.choice.{purpose}.{category}")), *id)
        }
        ["eid-verification" | "eid-portrait", id] => (t(lang, "access.reference_code"), *id),
        ["eid-document", id] => (t(lang, "card_document.title"), *id),
        _ => return reference.to_owned(),
    };
    if label == shengshi_i18n::MISSING || id.len() < 8 || !id.is_ascii() {
        return reference.to_owned();
    }
    format!("{label} · {}", &id[..8])
}

#[cfg(test)]
mod reference_tests {
    use super::*;

    #[test]
    fn e_id_codes_are_named_in_words() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            reference_text(
                Lang::En,
                &format!("eid-presentation:hotel_checkin:hotel:{id}")
            ),
            "Hotel check-in · 01234567"
        );
        assert_eq!(
            reference_text(Lang::ZhCn, &format!("eid-offline:age_over_18:retail:{id}")),
            "证明已满18周岁 · 01234567"
        );
        // A code's online check and portrait name the code as its minting did.
        assert_eq!(
            reference_text(Lang::En, &format!("eid-verification:{id}")),
            "e-ID code · 01234567"
        );
        assert_eq!(
            reference_text(Lang::ZhCn, &format!("eid-portrait:{id}")),
            "电子身份码 · 01234567"
        );
        assert_eq!(
            reference_text(
                Lang::En,
                "eid-document:0190aa3c-7d2e-7cc1-b0c4-4e1f6c2b9d10"
            ),
            "Printable identity document · 0190aa3c"
        );
        assert_eq!(reference_text(Lang::En, "case:42"), "case:42");
        assert_eq!(
            reference_text(Lang::En, "eid-verification:short"),
            "eid-verification:short"
        );
        assert_eq!(
            reference_text(Lang::En, "eid-presentation:nonsense:hotel:0123456789"),
            "eid-presentation:nonsense:hotel:0123456789"
        );
    }
}
