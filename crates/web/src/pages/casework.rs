//! Purpose-bound staff access, as pages (see `shengshi_app::casework` and
//! `shengshi_app::break_glass`):
//!
//! - `/staff/corrections`: the queue of residents' correction requests, with
//!   no personal data; take one, or (supervisors) assign it.
//! - `/staff/corrections/{id}`: the request and the resident's record, for
//!   the member it is assigned to only, with the decision form.
//! - `/staff/break-glass`: open a record without assigned work, with a
//!   written justification; the page says the supervisors are told.
//! - `/staff/break-glass/alerts`: the supervisors' queue of break-glass
//!   accesses to review.
//!
//! Every page is `no-store`: a record opened for one member must not stay in
//! a shared counter computer's cache.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use shengshi_app::break_glass::{self, Alert, BreakGlassError, ReviewError};
use shengshi_app::casework::{self, CaseError, CaseView, Decision, ResidentRecord};
use shengshi_app::staff::capability::Capabilities;
use shengshi_app::staff::supervisor;
use shengshi_domain::StaffId;
use shengshi_i18n::{t, Lang};
use shengshi_store::BreakGlassOutcome;

use super::forms::{page_helpers, refused, respond, see_other, PageError};
use super::other;
use super::sessions::local;
use super::staff_gate::gate;
use crate::csrf;
use crate::lang::{Mode, RequestLang};
use crate::problem::Problem;
use crate::staff_session::accounts;
use crate::{no_store, AppState};

const FORBIDDEN_CORRECTIONS: &str = "staff_cases.forbidden_corrections";
const FORBIDDEN_ASSIGN: &str = "staff_cases.forbidden_assign";
const FORBIDDEN_BREAK_GLASS: &str = "staff_cases.forbidden_break_glass";
const FORBIDDEN_ALERTS: &str = "staff_cases.forbidden_alerts";

/// [`gate`] for a form post: the form's CSRF token first.
async fn post_gate<C>(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
    csrf_token: &str,
    pick: impl FnOnce(Capabilities) -> Option<C>,
    forbidden_key: &'static str,
) -> Result<C, Response> {
    if !csrf::form_token_matches(headers, csrf_token) {
        return Err(refused(lang.lang));
    }
    gate(state, lang, headers, pick, forbidden_key).await
}

fn case_error_text(l: Lang, e: &CaseError) -> String {
    t(l, &format!("staff_cases.error.{}", e.code())).to_owned()
}

// ---------------------------------------------------------------------------
// The correction queue

struct QueueRow {
    id: String,
    /// The id's last 8 digits: its first ones are a timestamp (UUIDv7),
    /// the same for requests sent in the same minute.
    short_id: String,
    field: &'static str,
    received: String,
    received_iso: String,
    /// "unassigned", "you" or "other".
    assignment: &'static str,
    assignee: String,
}

struct StaffOption {
    id: String,
    label: String,
}

#[derive(Template)]
#[template(path = "staff_corrections.html")]
struct QueuePage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    rows: Vec<QueueRow>,
    /// The department's caseworkers, for a supervisor's assign form.
    assignees: Vec<StaffOption>,
    notice: Option<&'static str>,
}
page_helpers!(QueuePage);

#[derive(Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    notice: Option<String>,
}

pub async fn corrections(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Query(query): Query<QueueQuery>,
) -> Response {
    let notice = match query.notice.as_deref() {
        Some("decided") => Some("staff_cases.notice_decided"),
        Some("assigned") => Some("staff_cases.notice_assigned"),
        _ => None,
    };
    queue_page(&state, lang, &headers, Vec::new(), notice).await
}

async fn queue_page(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
    errors: Vec<PageError>,
    notice: Option<&'static str>,
) -> Response {
    let l = lang.lang;
    // A supervisor also assigns: their department's staff fill the form.
    let pick = |c: Capabilities| c.correction_desk.map(|desk| (desk, c.supervisor));
    let (desk, boss) = match gate(state, lang, headers, pick, FORBIDDEN_CORRECTIONS).await {
        Ok(caps) => caps,
        Err(response) => return response,
    };
    let desk = &desk;
    let items = match casework::queue(&state.services, desk).await {
        Ok(items) => items,
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let staff = match &boss {
        Some(cap) => match supervisor::list_department_staff(cap, &accounts(state)).await {
            Ok(staff) => staff,
            Err(e) => return Problem::internal(l, &e).into_response(),
        },
        None => Vec::new(),
    };
    let name_of = |id: StaffId| {
        staff
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.display_name.clone())
            .unwrap_or_default()
    };
    let rows = items
        .into_iter()
        .map(|item| {
            let id = item.id.to_string();
            let assignment = match item.assigned_to {
                None => "unassigned",
                Some(who) if who == desk.staff() => "you",
                Some(_) => "other",
            };
            QueueRow {
                short_id: id[id.len() - 8..].to_owned(),
                id,
                field: t(l, &format!("privacy.field_{}", item.field)),
                received: local(item.created_at),
                received_iso: item.created_at.to_rfc3339(),
                assignment,
                assignee: item.assigned_to.map(name_of).unwrap_or_default(),
            }
        })
        .collect();
    let assignees = staff
        .iter()
        .filter(|s| !s.disabled && s.role != shengshi_domain::Role::Auditor)
        .filter(|s| s.role != shengshi_domain::Role::Administrator)
        .map(|s| StaffOption {
            id: s.id.to_string(),
            label: format!("{} ({})", s.display_name, s.username),
        })
        .collect();
    let (token, set) = csrf::form_token(headers);
    let page = QueuePage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        csrf: token,
        errors,
        rows,
        assignees,
        notice,
    };
    no_store(respond(page, lang, set))
}

#[derive(Deserialize)]
pub struct TakeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

/// Takes a request and goes straight to it.
pub async fn take(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<TakeForm>,
) -> Response {
    let l = lang.lang;
    let desk = match post_gate(
        &state,
        lang,
        &headers,
        &form.csrf,
        |c| c.correction_desk,
        FORBIDDEN_CORRECTIONS,
    )
    .await
    {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let desk = &desk;
    let result = match form.id.trim().parse::<uuid::Uuid>() {
        Ok(id) => casework::take(&state.services, desk, id).await.map(|()| id),
        Err(_) => Err(CaseError::NotFound),
    };
    match result {
        Ok(id) => see_other(&format!("/staff/corrections/{id}"), &[]),
        Err(CaseError::Internal(e)) => Problem::internal(l, &e).into_response(),
        Err(e) => {
            let errors = vec![PageError {
                field: "queue",
                message: case_error_text(l, &e),
            }];
            queue_page(&state, lang, &headers, errors, None).await
        }
    }
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    staff: String,
}

/// A supervisor assigns a request to a member of the department.
pub async fn assign(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<AssignForm>,
) -> Response {
    let l = lang.lang;
    let pick = |c: Capabilities| c.correction_desk.zip(c.supervisor);
    let (desk, boss) =
        match post_gate(&state, lang, &headers, &form.csrf, pick, FORBIDDEN_ASSIGN).await {
            Ok(caps) => caps,
            Err(response) => return response,
        };
    let (desk, boss) = (&desk, &boss);
    let id = form.id.trim().parse::<uuid::Uuid>();
    let to = form
        .staff
        .trim()
        .parse::<uuid::Uuid>()
        .map(StaffId::from_uuid);
    let result = match (id, to) {
        (Ok(id), Ok(to)) => casework::assign(&state.services, desk, boss, id, to).await,
        (Err(_), _) => Err(CaseError::NotFound),
        (_, Err(_)) => Err(CaseError::NotACaseworker),
    };
    match result {
        Ok(()) => see_other("/staff/corrections?notice=assigned", &[]),
        Err(CaseError::Internal(e)) => Problem::internal(l, &e).into_response(),
        Err(e) => {
            let errors = vec![PageError {
                field: "queue",
                message: case_error_text(l, &e),
            }];
            queue_page(&state, lang, &headers, errors, None).await
        }
    }
}

// ---------------------------------------------------------------------------
// One correction request, opened

/// The resident's record as the pages show it.
struct RecordView {
    name: String,
    id_number: String,
    phone: String,
    account: String,
    level: String,
    status: &'static str,
    in_person: Option<String>,
}

impl RecordView {
    fn new(l: Lang, r: ResidentRecord) -> Self {
        Self {
            name: r.name,
            id_number: r.id_number,
            phone: r.phone,
            account: r.account.to_string(),
            level: format!("L{}", r.assurance_level),
            status: t(l, &format!("staff_cases.account_{}", r.status)),
            in_person: r.in_person_verified_at.map(local),
        }
    }
}

#[derive(Template)]
#[template(path = "staff_correction.html")]
struct CasePage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    id: String,
    short_id: String,
    field: &'static str,
    proposed_value: String,
    explanation: String,
    received: String,
    open: bool,
    record: RecordView,
    decision: String,
    note: String,
}
page_helpers!(CasePage);

pub async fn case(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    case_page(&state, lang, &headers, &id, Vec::new(), "", "").await
}

async fn case_page(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
    id: &str,
    errors: Vec<PageError>,
    decision: &str,
    note: &str,
) -> Response {
    let l = lang.lang;
    let desk = match gate(
        state,
        lang,
        headers,
        |c| c.correction_desk,
        FORBIDDEN_CORRECTIONS,
    )
    .await
    {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let desk = &desk;
    let opened: Result<CaseView, CaseError> = match id.parse::<uuid::Uuid>() {
        Ok(id) => casework::open(&state.services, desk, id).await,
        Err(_) => Err(CaseError::NotFound),
    };
    let case = match opened {
        Ok(case) => case,
        Err(CaseError::Internal(e)) => return Problem::internal(l, &e).into_response(),
        Err(e) => {
            // Not assigned (or gone): back to the queue, saying why; the
            // record stays closed.
            let errors = vec![PageError {
                field: "queue",
                message: case_error_text(l, &e),
            }];
            return queue_page(state, lang, headers, errors, None).await;
        }
    };
    let id = case.id.to_string();
    let (token, set) = csrf::form_token(headers);
    let page = CasePage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        csrf: token,
        errors,
        short_id: id[id.len() - 8..].to_owned(),
        id,
        field: t(l, &format!("privacy.field_{}", case.field)),
        proposed_value: case.proposed_value,
        explanation: case.explanation,
        received: local(case.created_at),
        open: case.status == "open",
        record: RecordView::new(l, case.record),
        decision: decision.to_owned(),
        note: note.to_owned(),
    };
    no_store(respond(page, lang, set))
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let l = lang.lang;
    let desk = match post_gate(
        &state,
        lang,
        &headers,
        &form.csrf,
        |c| c.correction_desk,
        FORBIDDEN_CORRECTIONS,
    )
    .await
    {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let desk = &desk;
    let show = |field: &'static str, message: String| {
        let errors = vec![PageError { field, message }];
        case_page(
            &state,
            lang,
            &headers,
            &id,
            errors,
            &form.decision,
            &form.note,
        )
    };
    let Some(decision) = Decision::from_name(form.decision.trim()) else {
        return show(
            "decision",
            t(l, "staff_cases.error.decision_missing").to_owned(),
        )
        .await;
    };
    let Ok(case_id) = id.parse::<uuid::Uuid>() else {
        return show("queue", case_error_text(l, &CaseError::NotFound)).await;
    };
    match casework::decide(&state.services, desk, case_id, decision, &form.note).await {
        Ok(()) => see_other("/staff/corrections?notice=decided", &[]),
        Err(CaseError::Internal(e)) => Problem::internal(l, &e).into_response(),
        Err(e @ (CaseError::NoteRequired | CaseError::NoteTooLong)) => {
            show("note", case_error_text(l, &e)).await
        }
        Err(e) => {
            let errors = vec![PageError {
                field: "queue",
                message: case_error_text(l, &e),
            }];
            queue_page(&state, lang, &headers, errors, None).await
        }
    }
}

// ---------------------------------------------------------------------------
// Break-glass

#[derive(Template)]
#[template(path = "staff_break_glass.html")]
struct BreakGlassPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    id_number: String,
    justification: String,
    min_chars: usize,
    /// Set once the record is open.
    record: Option<RecordView>,
}
page_helpers!(BreakGlassPage);

fn break_glass_page(
    state: &AppState,
    lang: RequestLang,
    csrf: (String, Option<axum::http::HeaderValue>),
    errors: Vec<PageError>,
    form: (&str, &str),
    record: Option<RecordView>,
) -> Response {
    let page = BreakGlassPage {
        lang: lang.lang,
        other_lang: other(lang.lang),
        mode: lang.mode,
        demo: state.info.demo,
        csrf: csrf.0,
        errors,
        id_number: form.0.to_owned(),
        justification: form.1.to_owned(),
        min_chars: break_glass::MIN_JUSTIFICATION_CHARS,
        record,
    };
    no_store(respond(page, lang, csrf.1))
}

pub async fn break_glass_form(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = gate(
        &state,
        lang,
        &headers,
        |c| c.break_glass,
        FORBIDDEN_BREAK_GLASS,
    )
    .await
    {
        return response;
    }
    let csrf = csrf::form_token(&headers);
    break_glass_page(&state, lang, csrf, Vec::new(), ("", ""), None)
}

#[derive(Deserialize)]
pub struct BreakGlassForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    justification: String,
}

pub async fn break_glass_submit(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<BreakGlassForm>,
) -> Response {
    let l = lang.lang;
    let cap = match post_gate(
        &state,
        lang,
        &headers,
        &form.csrf,
        |c| c.break_glass,
        FORBIDDEN_BREAK_GLASS,
    )
    .await
    {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let cap = &cap;
    let opened = break_glass::open_record(
        &state.services,
        &state.identity.secrets,
        cap,
        &form.id_number,
        &form.justification,
    )
    .await;
    let csrf = (form.csrf.clone(), None);
    let typed = (form.id_number.trim(), form.justification.trim());
    match opened {
        Ok((_, record)) => {
            let record = Some(RecordView::new(l, record));
            break_glass_page(&state, lang, csrf, Vec::new(), ("", ""), record)
        }
        Err(BreakGlassError::Internal(e)) => Problem::internal(l, &e).into_response(),
        Err(e) => {
            let field = match e {
                BreakGlassError::JustificationTooShort | BreakGlassError::JustificationTooLong => {
                    "justification"
                }
                _ => "id_number",
            };
            let errors = vec![PageError {
                field,
                message: t(l, &format!("staff_cases.error.{}", e.code())).to_owned(),
            }];
            break_glass_page(&state, lang, csrf, errors, typed, None)
        }
    }
}

struct AlertRow {
    id: String,
    when: String,
    when_iso: String,
    who: String,
    role: &'static str,
    account: String,
    justification: String,
    /// The review, in words, once made.
    review: Option<String>,
    own: bool,
}

#[derive(Template)]
#[template(path = "staff_break_glass_alerts.html")]
struct AlertsPage {
    lang: Lang,
    other_lang: Lang,
    mode: Mode,
    demo: bool,
    csrf: String,
    errors: Vec<PageError>,
    rows: Vec<AlertRow>,
    /// The alert a refused review was for, so its error shows beside it.
    error_for_id: String,
}
page_helpers!(AlertsPage);

pub async fn alerts(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
) -> Response {
    alerts_page(&state, lang, &headers, Vec::new(), String::new()).await
}

async fn alerts_page(
    state: &AppState,
    lang: RequestLang,
    headers: &HeaderMap,
    errors: Vec<PageError>,
    error_for_id: String,
) -> Response {
    let l = lang.lang;
    let boss = match gate(state, lang, headers, |c| c.supervisor, FORBIDDEN_ALERTS).await {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let boss = &boss;
    let list: Vec<Alert> = match break_glass::alerts(&state.services, boss, false).await {
        Ok(list) => list,
        Err(e) => return Problem::internal(l, &e).into_response(),
    };
    let rows = list
        .into_iter()
        .map(|a| AlertRow {
            id: a.access.id.to_string(),
            when: local(a.access.created_at),
            when_iso: a.access.created_at.to_rfc3339(),
            who: format!("{} ({})", a.staff_display_name, a.staff_username),
            role: a
                .staff_role
                .map(|r| t(l, &format!("staff.role.{}", r.name())))
                .unwrap_or(""),
            account: a.access.account.to_string(),
            justification: a.access.justification,
            review: a.access.review.map(|r| {
                let outcome = t(l, &format!("staff_cases.outcome_{}", r.outcome.name()));
                match r.note {
                    Some(note) => format!("{outcome} · {}: {note}", local(r.at)),
                    None => format!("{outcome} · {}", local(r.at)),
                }
            }),
            own: a.access.staff == boss.staff(),
        })
        .collect();
    let (token, set) = csrf::form_token(headers);
    let page = AlertsPage {
        lang: l,
        other_lang: other(l),
        mode: lang.mode,
        demo: state.info.demo,
        csrf: token,
        errors,
        rows,
        error_for_id,
    };
    no_store(respond(page, lang, set))
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
}

pub async fn review(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Form(form): Form<ReviewForm>,
) -> Response {
    let l = lang.lang;
    let boss = match post_gate(
        &state,
        lang,
        &headers,
        &form.csrf,
        |c| c.supervisor,
        FORBIDDEN_ALERTS,
    )
    .await
    {
        Ok(cap) => cap,
        Err(response) => return response,
    };
    let boss = &boss;
    let result = match (
        form.id.trim().parse::<uuid::Uuid>(),
        BreakGlassOutcome::from_name(form.outcome.trim()),
    ) {
        (Ok(id), Some(outcome)) => {
            break_glass::review(&state.services, boss, id, outcome, &form.note)
                .await
                .map(|_| ())
        }
        (Err(_), _) => Err(ReviewError::NotFound),
        (Ok(_), None) => {
            let errors = vec![PageError {
                field: "review",
                message: t(l, "staff_cases.error.outcome_missing").to_owned(),
            }];
            return alerts_page(&state, lang, &headers, errors, form.id.trim().to_owned()).await;
        }
    };
    match result {
        Ok(()) => see_other("/staff/break-glass/alerts", &[]),
        Err(ReviewError::Internal(e)) => Problem::internal(l, &e).into_response(),
        Err(e) => {
            let errors = vec![PageError {
                field: "review",
                message: t(l, &format!("staff_cases.error.{}", e.code())).to_owned(),
            }];
            alerts_page(&state, lang, &headers, errors, form.id.trim().to_owned()).await
        }
    }
}

// ---------------------------------------------------------------------------
// The dashboard's casework queues

/// What the staff console shows of casework for this member.
pub(super) struct CaseQueues {
    /// Open correction requests, for the correction desk.
    pub corrections: Option<usize>,
    /// Of those, the ones assigned to this member.
    pub corrections_mine: usize,
    /// Break-glass accesses waiting for review, for a supervisor.
    pub alerts: Option<usize>,
    /// The member may open a record by break-glass.
    pub break_glass: bool,
}

impl CaseQueues {
    pub fn any(&self) -> bool {
        self.corrections.is_some() || self.alerts.is_some() || self.break_glass
    }
}

pub(super) async fn case_queues(
    state: &AppState,
    caps: &Capabilities,
) -> Result<CaseQueues, Response> {
    let internal = |e: &dyn std::fmt::Display| Problem::internal(Lang::En, e).into_response();
    let (corrections, corrections_mine) = match &caps.correction_desk {
        Some(desk) => {
            let queue = casework::queue(&state.services, desk)
                .await
                .map_err(|e| internal(&e))?;
            let mine = queue
                .iter()
                .filter(|item| item.assigned_to == Some(desk.staff()))
                .count();
            (Some(queue.len()), mine)
        }
        None => (None, 0),
    };
    let alerts = match &caps.supervisor {
        Some(boss) => Some(
            break_glass::alerts(&state.services, boss, true)
                .await
                .map_err(|e| internal(&e))?
                .len(),
        ),
        None => None,
    };
    Ok(CaseQueues {
        corrections,
        corrections_mine,
        alerts,
        break_glass: caps.break_glass.is_some(),
    })
}
