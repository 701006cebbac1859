//! "Who accessed my data" over the JSON API: the signed-in resident lists the
//! access log entries about them (filtered by purpose, paged by leaf index),
//! downloads all of them as CSV or JSON, and fetches an inclusion proof for
//! any one of them to check against the platform's signed checkpoint.

use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::Serialize;
use shengshi_app::access_view::{
    self, AccessQuery, AccessRow, AccessViewError, AccessorKind, MAX_PAGE,
};
use shengshi_domain::access::Purpose;
use shengshi_i18n::{t, t_args, Lang, MISSING};
use utoipa::ToSchema;

use super::registration::field;
use super::session::Authenticated;
use crate::lang::{query_param, RequestLang};
use crate::problem::{Problem, ProblemKind};
use crate::{no_store, AppState};

/// Rows per page when the request names no `limit`.
pub const DEFAULT_LIMIT: u32 = 20;

/// One opening of your personal data.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntryDto {
    /// The entry's position in the access log: the `before` cursor and the proof's `{index}`.
    pub leaf_index: u64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// `subject` (you), `platform` (an automated step), `staff`, `operator`, `delegate` (someone acting under your mandate) or `verifier` (an organisation that checked your e-ID code online).
    #[schema(example = "staff")]
    pub accessor: String,
    /// Who, in words, in the request's language (never a staff member's name).
    #[schema(example = "Public Security · Clerk")]
    pub accessor_text: String,
    /// For staff: the department, e.g. `public_security`.
    pub department: Option<String>,
    /// For staff: the role, e.g. `clerk`.
    pub role: Option<String>,
    /// For a verifier: the organisation's name as registered, e.g. `西湖大酒店`.
    pub organisation: Option<String>,
    /// Why, from a fixed list, e.g. `own_account`, `counter_check`.
    #[schema(example = "counter_check")]
    pub purpose: String,
    /// Why, in words, in the request's language.
    pub purpose_text: String,
    /// What the access was for, when there is a thing to point at (a case, a counter visit).
    pub reference: Option<String>,
    /// Which fields were opened, e.g. `name`, `id_number`, `phone`.
    pub fields: Vec<String>,
    /// Present when the law forbade telling you of this access until an
    /// embargo ended: the cited legal basis. The access was logged when it
    /// happened; it is shown only now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosed_after_embargo: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLogPage {
    /// Newest first.
    pub entries: Vec<AccessEntryDto>,
    /// Pass as `before` to get older entries; absent when there are none. With a
    /// `purpose` filter a page may be short, or empty, and still have one.
    pub next_before: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLogExport {
    /// When the export was made (RFC 3339, UTC).
    pub exported_at: String,
    /// Every entry about you, newest first.
    pub entries: Vec<AccessEntryDto>,
}

/// An RFC 9162 inclusion proof of one of your entries in the signed log.
///
/// To check it: SHA-256(0x00 ‖ entry) is the leaf hash; with `proof` it must
/// lead to the root in the checkpoint's third line, for `leaf_index` and
/// `tree_size`; and the checkpoint must carry a valid signature by `log_key`.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofDto {
    /// The entry bytes exactly as hashed into the log (base64 of JSON).
    pub entry: String,
    pub leaf_index: u64,
    /// The number of entries in the tree the checkpoint commits to.
    pub tree_size: u64,
    /// The latest checkpoint: a C2SP signed note (origin, size, base64 root; a blank line; signatures, witnesses' included).
    pub checkpoint: String,
    /// The audit path, leaf to root, each hash base64.
    pub proof: Vec<String>,
    /// The platform's checkpoint key as a note verifier key (`name+keyid+base64`).
    pub log_key: String,
}

/// Who, in words: never a staff member's name or id; a verifier
/// organisation by its registered name.
pub(crate) fn accessor_text(lang: Lang, row: &AccessRow) -> String {
    match (row.accessor, row.department, row.role) {
        (AccessorKind::Staff, Some(department), Some(role)) => format!(
            "{} · {}",
            t(lang, &department.display_key()),
            t(lang, &role.display_key())
        ),
        (AccessorKind::Verifier, _, _) if row.organisation.is_some() => t_args(
            lang,
            "access.who.verifier_named",
            &[("name", row.organisation.as_deref().unwrap_or_default())],
        ),
        (kind, _, _) => t(lang, &format!("access.who.{}", kind.name())).to_owned(),
    }
}

pub(crate) fn purpose_text(lang: Lang, purpose: Purpose) -> &'static str {
    t(lang, &format!("access.purpose.{}", purpose.name()))
}

/// A field's name in words where the catalog knows it, else as logged.
pub(crate) fn field_text(lang: Lang, name: &str) -> String {
    match t(lang, &format!("access.field.{name}")) {
        MISSING => name.to_owned(),
        text => text.to_owned(),
    }
}

pub(crate) fn parse_purpose(name: &str) -> Option<Purpose> {
    Purpose::ALL.into_iter().find(|p| p.name() == name)
}

fn dto(lang: Lang, row: AccessRow) -> AccessEntryDto {
    AccessEntryDto {
        leaf_index: row.leaf_index,
        at: row.at.to_rfc3339(),
        accessor: row.accessor.name().to_owned(),
        accessor_text: accessor_text(lang, &row),
        department: row.department.map(|d| d.name().to_owned()),
        role: row.role.map(|r| r.name().to_owned()),
        organisation: row.organisation,
        purpose: row.purpose.name().to_owned(),
        purpose_text: purpose_text(lang, row.purpose).to_owned(),
        reference: row.reference,
        fields: row.fields,
        disclosed_after_embargo: row.disclosed_after_embargo,
    }
}

fn view_problem(lang: Lang, error: AccessViewError) -> Problem {
    match error {
        AccessViewError::NotFound => Problem::new(ProblemKind::AccessEntryNotFound, lang, &[]),
        other => Problem::internal(lang, &other),
    }
}

/// Reads `purpose`, `before` and `limit` from a query string; empty values
/// count as absent (a GET form sends `purpose=` for "all purposes").
pub(crate) fn parse_query(lang: Lang, query: Option<&str>) -> Result<AccessQuery, Problem> {
    let query = query.unwrap_or("");
    let value = |name| query_param(query, name).filter(|v| !v.is_empty());
    let mut errors = Vec::new();
    let purpose = value("purpose").and_then(|p| {
        let parsed = parse_purpose(&p);
        if parsed.is_none() {
            errors.push(field(lang, "/purpose", "access_purpose"));
        }
        parsed
    });
    let before = value("before").and_then(|b| {
        let parsed = b.parse::<u64>().ok();
        if parsed.is_none() {
            errors.push(field(lang, "/before", "access_before"));
        }
        parsed
    });
    let limit = match value("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                errors.push(field(lang, "/limit", "access_limit"));
                DEFAULT_LIMIT
            }
        },
    };
    if errors.is_empty() {
        Ok(AccessQuery {
            before,
            purpose,
            limit,
        })
    } else {
        Err(Problem::validation(lang, errors))
    }
}

/// Who opened your personal data, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/me/access-log",
    tag = "access-log",
    params(
        ("purpose" = Option<String>, Query, description = "Only entries with this purpose, e.g. `counter_check`"),
        ("before" = Option<u64>, Query, description = "Only entries older than this leaf index (the previous page's `next_before`)"),
        ("limit" = Option<u32>, Query, description = "Entries per page, 1 to 100; 20 when absent"),
    ),
    responses(
        (status = 200, body = AccessLogPage),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown purpose, or a bad `before` or `limit`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    RawQuery(query): RawQuery,
) -> Response {
    let l = lang.lang;
    let query = match parse_query(l, query.as_deref()) {
        Ok(query) => query,
        Err(problem) => return problem.into_response(),
    };
    match access_view::list(&state.services, session.account.subject, query).await {
        Ok(page) => no_store(
            Json(AccessLogPage {
                entries: page.rows.into_iter().map(|r| dto(l, r)).collect(),
                next_before: page.next_before,
            })
            .into_response(),
        ),
        Err(e) => view_problem(l, e).into_response(),
    }
}

fn attachment(content_type: &'static str, filename: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    no_store(response)
}

/// The CSV columns, in order (stable names; values as in the JSON).
pub const CSV_HEADER: [&str; 11] = [
    "leaf_index",
    "at",
    "accessor",
    "accessor_text",
    "department",
    "role",
    "purpose",
    "purpose_text",
    "reference",
    "fields",
    "disclosed_after_embargo",
];

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line
/// break, quotes doubled. A value a spreadsheet would run as a formula gets a
/// leading apostrophe (OWASP's advice against CSV injection).
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_line(out: &mut String, values: &[&str]) {
    let fields: Vec<String> = values.iter().map(|v| csv_field(v)).collect();
    out.push_str(&fields.join(","));
    out.push_str("\r\n");
}

/// The entries as CSV: a byte-order mark (so Excel reads UTF-8), the header, one line each.
pub(crate) fn to_csv(entries: &[AccessEntryDto]) -> String {
    let mut out = String::from('\u{feff}');
    csv_line(&mut out, &CSV_HEADER);
    for e in entries {
        let leaf_index = e.leaf_index.to_string();
        let fields = e.fields.join(" ");
        csv_line(
            &mut out,
            &[
                &leaf_index,
                &e.at,
                &e.accessor,
                &e.accessor_text,
                e.department.as_deref().unwrap_or(""),
                e.role.as_deref().unwrap_or(""),
                &e.purpose,
                &e.purpose_text,
                e.reference.as_deref().unwrap_or(""),
                &fields,
                e.disclosed_after_embargo.as_deref().unwrap_or(""),
            ],
        );
    }
    out
}

async fn export_entries(
    state: &AppState,
    lang: Lang,
    session: &shengshi_app::login::Authenticated,
) -> Result<Vec<AccessEntryDto>, Problem> {
    access_view::all(&state.services, session.account.subject)
        .await
        .map(|rows| rows.into_iter().map(|r| dto(lang, r)).collect())
        .map_err(|e| view_problem(lang, e))
}

fn export_name(state: &AppState, extension: &str) -> String {
    let today = state.services.clock.now().civil_date();
    format!("access-log-{today}.{extension}")
}

/// Every entry about you as CSV (UTF-8 with a byte-order mark, a header row, RFC 4180 quoting).
#[utoipa::path(
    get,
    path = "/api/v1/me/access-log/export.csv",
    tag = "access-log",
    responses(
        (status = 200, description = "A download (`Content-Disposition: attachment`); columns: leaf_index, at, accessor, accessor_text, department, role, purpose, purpose_text, reference, fields (space-separated), disclosed_after_embargo (the cited legal basis, for an access shown only after an embargo ended)", body = String, content_type = "text/csv"),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export_csv(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    match export_entries(&state, lang.lang, &session).await {
        Ok(entries) => attachment(
            "text/csv; charset=utf-8",
            &export_name(&state, "csv"),
            to_csv(&entries).into_bytes(),
        ),
        Err(problem) => problem.into_response(),
    }
}

/// Every entry about you as JSON.
#[utoipa::path(
    get,
    path = "/api/v1/me/access-log/export.json",
    tag = "access-log",
    responses(
        (status = 200, description = "A download (`Content-Disposition: attachment`)", body = AccessLogExport),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export_json(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
) -> Response {
    let entries = match export_entries(&state, lang.lang, &session).await {
        Ok(entries) => entries,
        Err(problem) => return problem.into_response(),
    };
    let export = AccessLogExport {
        exported_at: state.services.clock.now().to_rfc3339(),
        entries,
    };
    match serde_json::to_vec_pretty(&export) {
        Ok(body) => attachment("application/json", &export_name(&state, "json"), body),
        Err(e) => Problem::internal(lang.lang, &e).into_response(),
    }
}

/// An inclusion proof of one of your entries in the latest signed checkpoint.
#[utoipa::path(
    get,
    path = "/api/v1/me/access-log/{index}/proof",
    tag = "access-log",
    params(("index" = u64, Path, description = "The entry's `leaf_index`")),
    responses(
        (status = 200, body = InclusionProofDto),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "None of your entries has this index", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn proof(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    Path(index): Path<String>,
) -> Response {
    let l = lang.lang;
    // Not a number is answered like someone else's index: there is no such entry of yours.
    let Ok(index) = index.parse::<u64>() else {
        return Problem::new(ProblemKind::AccessEntryNotFound, l, &[]).into_response();
    };
    match access_view::inclusion(&state.services, session.account.subject, index).await {
        Ok(p) => no_store(
            Json(InclusionProofDto {
                entry: BASE64.encode(&p.entry),
                leaf_index: p.leaf_index,
                tree_size: p.tree_size,
                checkpoint: p.checkpoint,
                proof: p.proof.iter().map(|h| BASE64.encode(h)).collect(),
                log_key: p.log_key,
            })
            .into_response(),
        ),
        Err(e) => view_problem(l, e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reference: Option<&str>) -> AccessEntryDto {
        AccessEntryDto {
            leaf_index: 7,
            at: "2026-11-25T08:00:00Z".into(),
            accessor: "staff".into(),
            accessor_text: "公安 · 窗口办事员".into(),
            department: Some("public_security".into()),
            role: Some("clerk".into()),
            organisation: None,
            purpose: "counter_check".into(),
            purpose_text: "Counter check".into(),
            reference: reference.map(str::to_owned),
            fields: vec!["name".into(), "id_number".into()],
            disclosed_after_embargo: None,
        }
    }

    #[test]
    fn csv_has_a_bom_a_header_and_quotes_what_needs_it() {
        let csv = to_csv(&[entry(Some("visit, \"A\"\nline")), entry(Some("=1+1"))]);
        let body = csv.strip_prefix('\u{feff}').expect("a byte-order mark");
        let mut lines = body.split("\r\n");
        assert_eq!(lines.next(), Some(CSV_HEADER.join(",").as_str()));
        assert!(
            body.contains(
                r#""visit, ""A""
line""#
            ),
            "{body}"
        );
        assert!(body.contains(",'=1+1,"), "formulas are defused: {body}");
        assert!(body.contains("公安 · 窗口办事员"));
    }

    #[test]
    fn every_purpose_parses_by_its_name() {
        for purpose in Purpose::ALL {
            assert_eq!(parse_purpose(purpose.name()), Some(purpose));
        }
        assert_eq!(parse_purpose("snooping"), None);
    }

    #[test]
    fn the_query_is_checked() {
        let q = parse_query(Lang::En, Some("purpose=counter_check&before=12&limit=5")).unwrap();
        assert_eq!(q.purpose, Some(Purpose::CounterCheck));
        assert_eq!((q.before, q.limit), (Some(12), 5));
        let q = parse_query(Lang::En, Some("purpose=&before=")).unwrap();
        assert_eq!((q.purpose, q.before, q.limit), (None, None, DEFAULT_LIMIT));
        let problem = parse_query(Lang::En, Some("purpose=x&before=-1&limit=101")).unwrap_err();
        assert_eq!(problem.errors.len(), 3);
        assert!(problem.errors.iter().all(|e| !e.detail.contains(MISSING)));
    }
}
