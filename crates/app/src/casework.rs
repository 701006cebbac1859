//! Purpose-bound staff access, for the one kind of casework that exists so
//! far: residents' correction requests (PIPL Art. 46).
//!
//! Staff open a resident's record only for work assigned to them. A request
//! lands in the queue of the department that handles it; a member of that
//! department takes it (or a supervisor assigns it), and only the member it
//! is assigned to may open the resident's record for it ([`open`]) — through
//! the door, as `Purpose::CaseWork` with the request as the reference — and
//! decide it ([`decide`]). Anyone else is refused before anything opens, and
//! the refusal is a security event. Opening a record without assigned work
//! is a break-glass access (`crate::break_glass`).
//!
//! Every operation takes a [`CorrectionDeskCap`], which only the public
//! security bureau's casework roles hold:
//!
//! ```no_run
//! use shengshi_app::staff::capability::CorrectionDeskCap;
//!
//! async fn work(services: &shengshi_app::Services, desk: &CorrectionDeskCap, id: uuid::Uuid) {
//!     let _ = shengshi_app::casework::open(services, desk, id).await;
//! }
//! ```
//!
//! so the compiler keeps everyone else out:
//!
//! ```compile_fail
//! use shengshi_app::staff::capability::ClerkCap;
//!
//! async fn peek(services: &shengshi_app::Services, clerk: &ClerkCap, id: uuid::Uuid) {
//!     let _ = shengshi_app::casework::open(services, clerk, id).await;
//! }
//! ```

use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::{AccountId, Actor, Department, Role, SecurityEventKind, StaffId, Timestamp};
use shengshi_store::{CorrectionCase, StoredAccount, StoredAssignment};
use zeroize::Zeroizing;

use crate::door::{self, AccessRequest, Opened};
use crate::registration::{Profile, PROFILE_CONTEXT};
use crate::rights::{EXPLANATION_CONTEXT, NOTE_CONTEXT, VALUE_CONTEXT};
use crate::staff::capability::{CorrectionDeskCap, SupervisorCap};
use crate::Services;

/// The department whose household registration (户政) keeps the records that
/// corrections are about; its queue holds every correction request.
pub const CORRECTIONS_DEPARTMENT: Department = Department::PublicSecurity;
/// The longest note to the resident, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// The most requests one queue page lists.
const QUEUE_LIMIT: u32 = 200;

/// What the assigned staff member decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The record was corrected (in the registry that keeps it).
    Done,
    /// Not corrected; the note says why.
    Rejected,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Rejected => "rejected",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Done, Self::Rejected]
            .into_iter()
            .find(|d| d.name() == name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("no such correction request")]
    NotFound,
    #[error("this correction request is not assigned to you, so its record stays closed")]
    NotAssigned,
    #[error("this correction request is already assigned to someone")]
    AlreadyAssigned,
    #[error("this correction request has already been decided")]
    AlreadyDecided,
    #[error("requests can only be assigned to an active caseworker of the department")]
    NotACaseworker,
    #[error("only a supervisor of the department that handles corrections may assign them")]
    OtherDepartment,
    #[error("a rejection needs a note to the resident saying why")]
    NoteRequired,
    #[error("the note must be at most {MAX_NOTE_CHARS} characters")]
    NoteTooLong,
    #[error("the correction request could not be handled: {0}")]
    Internal(String),
}

impl CaseError {
    /// The stable code the API and pages map to a message.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "case_not_found",
            Self::NotAssigned => "case_not_assigned",
            Self::AlreadyAssigned => "case_already_assigned",
            Self::AlreadyDecided => "case_already_decided",
            Self::NotACaseworker => "case_not_a_caseworker",
            Self::OtherDepartment => "case_other_department",
            Self::NoteRequired => "case_note_required",
            Self::NoteTooLong => "case_note_too_long",
            Self::Internal(_) => "internal",
        }
    }
}

fn internal(e: impl std::fmt::Display) -> CaseError {
    CaseError::Internal(e.to_string())
}

/// One line of the queue: no personal data, only what is needed to pick work.
#[derive(Clone, Debug)]
pub struct QueueItem {
    pub id: uuid::Uuid,
    pub field: String,
    pub created_at: Timestamp,
    pub assigned_to: Option<StaffId>,
    pub assigned_at: Option<Timestamp>,
}

/// A resident's record as staff see it once it is opened for them.
#[derive(Clone)]
pub struct ResidentRecord {
    pub account: AccountId,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub assurance_level: i64,
    pub status: String,
    pub in_person_verified_at: Option<Timestamp>,
}

impl std::fmt::Debug for ResidentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResidentRecord([personal data])")
    }
}

/// The fields a record opening reads.
pub(crate) const RECORD_FIELDS: [&str; 3] = ["name", "id_number", "phone"];

impl ResidentRecord {
    /// Decrypts the account's profile with a capability the door minted.
    pub(crate) fn open(opened: &Opened, account: &StoredAccount) -> Result<Self, String> {
        let sealed = shengshi_envelope::Sealed::from_bytes(account.sealed_profile.clone())
            .map_err(|e| e.to_string())?;
        let plain = opened
            .open(&sealed, PROFILE_CONTEXT)
            .map_err(|e| e.to_string())?;
        let profile: Profile = serde_json::from_slice(&plain).map_err(|e| e.to_string())?;
        Ok(Self {
            account: account.id,
            name: profile.name,
            id_number: profile.id_number,
            phone: profile.phone,
            assurance_level: account.assurance_level,
            status: account.status.clone(),
            in_person_verified_at: account.in_person_verified_at,
        })
    }
}

/// A correction request opened for the staff member it is assigned to.
#[derive(Clone, Debug)]
pub struct CaseView {
    pub id: uuid::Uuid,
    pub field: String,
    pub proposed_value: String,
    pub explanation: String,
    pub status: String,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub record: ResidentRecord,
}

/// Who may see the queue: the department that handles corrections.
fn check_department(desk: &CorrectionDeskCap) -> Result<(), CaseError> {
    if desk.department() == CORRECTIONS_DEPARTMENT {
        Ok(())
    } else {
        Err(CaseError::OtherDepartment)
    }
}

/// The open requests, oldest first.
pub async fn queue(
    services: &Services,
    desk: &CorrectionDeskCap,
) -> Result<Vec<QueueItem>, CaseError> {
    check_department(desk)?;
    let cases = services
        .store
        .open_correction_cases(QUEUE_LIMIT)
        .await
        .map_err(internal)?;
    Ok(cases
        .into_iter()
        .map(|c| QueueItem {
            id: c.correction.id,
            field: c.correction.field,
            created_at: c.correction.created_at,
            assigned_to: c.assignment.as_ref().map(|a| a.staff),
            assigned_at: c.assignment.as_ref().map(|a| a.assigned_at),
        })
        .collect())
}

async fn open_case(services: &Services, id: uuid::Uuid) -> Result<CorrectionCase, CaseError> {
    services
        .store
        .correction_case(id)
        .await
        .map_err(internal)?
        .ok_or(CaseError::NotFound)
}

/// The staff member takes an unassigned request for themselves.
pub async fn take(
    services: &Services,
    desk: &CorrectionDeskCap,
    id: uuid::Uuid,
) -> Result<(), CaseError> {
    check_department(desk)?;
    let case = open_case(services, id).await?;
    if case.correction.status != "open" {
        return Err(CaseError::AlreadyDecided);
    }
    if case.assignment.is_some() {
        return Err(CaseError::AlreadyAssigned);
    }
    write_assignment(services, id, desk.staff(), desk.staff(), None).await
}

/// A supervisor of the department assigns (or reassigns) an open request.
pub async fn assign(
    services: &Services,
    desk: &CorrectionDeskCap,
    supervisor: &SupervisorCap,
    id: uuid::Uuid,
    to: StaffId,
) -> Result<(), CaseError> {
    check_department(desk)?;
    if supervisor.department() != CORRECTIONS_DEPARTMENT {
        return Err(CaseError::OtherDepartment);
    }
    let assignee = services
        .store
        .staff(to)
        .await
        .map_err(internal)?
        .ok_or(CaseError::NotACaseworker)?;
    let caseworker = !assignee.disabled
        && Department::from_name(&assignee.department) == Some(CORRECTIONS_DEPARTMENT)
        && matches!(
            Role::from_name(&assignee.role),
            Some(Role::Clerk | Role::Reviewer | Role::Supervisor)
        );
    if !caseworker {
        return Err(CaseError::NotACaseworker);
    }
    let case = open_case(services, id).await?;
    if case.correction.status != "open" {
        return Err(CaseError::AlreadyDecided);
    }
    let current = case.assignment.map(|a| a.staff);
    if current == Some(to) {
        return Ok(());
    }
    write_assignment(services, id, to, supervisor.staff(), current).await
}

async fn write_assignment(
    services: &Services,
    id: uuid::Uuid,
    to: StaffId,
    by: StaffId,
    expected: Option<StaffId>,
) -> Result<(), CaseError> {
    let assignment = StoredAssignment {
        correction: id,
        staff: to,
        assigned_by: by,
        assigned_at: services.clock.now(),
        decided_by: None,
        sealed_note: None,
    };
    // The store re-checks the current assignee and the status in the same
    // transaction, so two staff taking one request at once cannot both win.
    if !services
        .store
        .assign_correction(&assignment, expected)
        .await
        .map_err(internal)?
    {
        let now = open_case(services, id).await?;
        return Err(if now.correction.status != "open" {
            CaseError::AlreadyDecided
        } else {
            CaseError::AlreadyAssigned
        });
    }
    services
        .security_log
        .record(
            Actor::Staff { id: by },
            SecurityEventKind::CorrectionAssigned {
                correction: id,
                staff: to,
                by,
            },
        )
        .await
        .map_err(internal)
}

/// Checks the assignment, then opens the resident's record through the door.
/// With `only_open`, a decided request is refused before anything else
/// (nothing opens for it).
async fn open_assigned(
    services: &Services,
    desk: &CorrectionDeskCap,
    id: uuid::Uuid,
    fields: Vec<&'static str>,
    only_open: bool,
) -> Result<(CorrectionCase, StoredAccount, Opened), CaseError> {
    check_department(desk)?;
    let case = open_case(services, id).await?;
    if only_open && case.correction.status != "open" {
        return Err(CaseError::AlreadyDecided);
    }
    if case.assignment.as_ref().map(|a| a.staff) != Some(desk.staff()) {
        services
            .security_log
            .record(
                Actor::Staff { id: desk.staff() },
                SecurityEventKind::RecordAccessRefused {
                    staff: desk.staff(),
                    reference: format!("correction:{id}"),
                },
            )
            .await
            .map_err(internal)?;
        return Err(CaseError::NotAssigned);
    }
    let account = services
        .store
        .account(case.correction.account)
        .await
        .map_err(internal)?
        .ok_or(CaseError::NotFound)?;
    let opened = door::open(
        services,
        AccessRequest {
            subject: account.subject,
            accessor: Accessor::Staff {
                staff: desk.staff(),
                department: desk.department(),
                role: desk.role(),
            },
            purpose: Purpose::CaseWork,
            reference: Some(format!("correction:{id}")),
            fields,
        },
    )
    .await
    .map_err(internal)?;
    Ok((case, account, opened))
}

/// Opens the request and the resident's record, for the member it is
/// assigned to only.
pub async fn open(
    services: &Services,
    desk: &CorrectionDeskCap,
    id: uuid::Uuid,
) -> Result<CaseView, CaseError> {
    let mut fields = RECORD_FIELDS.to_vec();
    fields.push("corrections");
    let (case, account, opened) = open_assigned(services, desk, id, fields, false).await?;
    let text = |bytes: &[u8], context: &[u8]| -> Result<String, CaseError> {
        let sealed = shengshi_envelope::Sealed::from_bytes(bytes.to_vec()).map_err(internal)?;
        let plain = opened.open(&sealed, context).map_err(internal)?;
        Ok(String::from_utf8_lossy(&plain).into_owned())
    };
    let c = &case.correction;
    Ok(CaseView {
        id: c.id,
        field: c.field.clone(),
        proposed_value: text(&c.sealed_value, VALUE_CONTEXT)?,
        explanation: text(&c.sealed_explanation, EXPLANATION_CONTEXT)?,
        status: c.status.clone(),
        created_at: c.created_at,
        decided_at: c.decided_at,
        record: ResidentRecord::open(&opened, &account).map_err(internal)?,
    })
}

/// The assigned member decides the request, with a note the resident reads
/// (sealed with their key). A rejection must say why.
pub async fn decide(
    services: &Services,
    desk: &CorrectionDeskCap,
    id: uuid::Uuid,
    decision: Decision,
    note: &str,
) -> Result<(), CaseError> {
    let note = note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(CaseError::NoteTooLong);
    }
    if decision == Decision::Rejected && note.is_empty() {
        return Err(CaseError::NoteRequired);
    }
    let (_case, _account, opened) =
        open_assigned(services, desk, id, vec!["corrections"], true).await?;
    let note = Zeroizing::new(note.as_bytes().to_vec());
    let sealed = opened.seal(&note, NOTE_CONTEXT).into_bytes();
    if !services
        .store
        .decide_correction(
            id,
            desk.staff(),
            decision.name(),
            &sealed,
            services.clock.now(),
        )
        .await
        .map_err(internal)?
    {
        return Err(CaseError::AlreadyDecided);
    }
    services
        .security_log
        .record(
            Actor::Staff { id: desk.staff() },
            SecurityEventKind::CorrectionDecided {
                correction: id,
                staff: desk.staff(),
                status: decision.name().to_owned(),
            },
        )
        .await
        .map_err(internal)
}
