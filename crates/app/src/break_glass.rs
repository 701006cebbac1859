//! Break-glass access: a staff member opens a resident's record without work
//! assigned to them, because something cannot wait (a person in danger, a
//! counter queue where the system is the only record at hand).
//!
//! It is allowed, never silent:
//! - the member writes a justification first (at least
//!   [`MIN_JUSTIFICATION_CHARS`] characters), and the access is stored with it
//!   *before* the record opens, so a crash cannot leave an access without its
//!   alert;
//! - the department's supervisors see it in their queue ([`alerts`]) until one
//!   of them, not the member, reviews it ([`review`]): justified, or referred
//!   to the auditors;
//! - the door logs it as `Purpose::BreakGlass`, which the resident's access
//!   view flags;
//! - both the access and the review are security events.
//!
//! Only a [`BreakGlassCap`] opens a record this way:
//!
//! ```no_run
//! use shengshi_app::staff::capability::BreakGlassCap;
//!
//! async fn emergency(
//!     services: &shengshi_app::Services,
//!     secrets: &shengshi_app::secrets::PlatformSecrets,
//!     cap: &BreakGlassCap,
//! ) {
//!     let _ = shengshi_app::break_glass::open_record(
//!         services, secrets, cap, "11010519491231002X", "an emergency at the counter",
//!     )
//!     .await;
//! }
//! ```
//!
//! and auditors and administrators hold none:
//!
//! ```compile_fail
//! use shengshi_app::staff::capability::AuditorCap;
//!
//! async fn peek(
//!     services: &shengshi_app::Services,
//!     secrets: &shengshi_app::secrets::PlatformSecrets,
//!     auditor: &AuditorCap,
//! ) {
//!     let _ = shengshi_app::break_glass::open_record(
//!         services, secrets, auditor, "11010519491231002X", "an emergency at the counter",
//!     )
//!     .await;
//! }
//! ```

use std::collections::hash_map::{Entry, HashMap};

use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::identity::ResidentIdNumber;
use shengshi_domain::{Actor, Role, SecurityEventKind};
use shengshi_store::{BreakGlassOutcome, BreakGlassReview, StoredBreakGlass};

use crate::casework::{ResidentRecord, RECORD_FIELDS};
use crate::door::{self, AccessRequest};
use crate::registration::id_number_mac;
use crate::secrets::PlatformSecrets;
use crate::staff::capability::{BreakGlassCap, SupervisorCap};
use crate::Services;

/// A justification shorter than this is not one.
pub const MIN_JUSTIFICATION_CHARS: usize = 20;
pub const MAX_JUSTIFICATION_CHARS: usize = 1000;
/// The longest review note, in characters.
pub const MAX_REVIEW_NOTE_CHARS: usize = 1000;
/// The most alerts one queue page lists.
const ALERT_LIMIT: u32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum BreakGlassError {
    #[error("write why this cannot wait, in at least {MIN_JUSTIFICATION_CHARS} characters")]
    JustificationTooShort,
    #[error("the justification must be at most {MAX_JUSTIFICATION_CHARS} characters")]
    JustificationTooLong,
    #[error("this is not a valid resident ID number")]
    InvalidIdNumber,
    #[error("no active account has this ID number")]
    NoSuchResident,
    #[error("the record could not be opened: {0}")]
    Internal(String),
}

impl BreakGlassError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::JustificationTooShort => "break_glass_justification_short",
            Self::JustificationTooLong => "break_glass_justification_long",
            Self::InvalidIdNumber => "break_glass_id_number",
            Self::NoSuchResident => "break_glass_no_resident",
            Self::Internal(_) => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// Also the answer for another department's access: it tells nothing.
    #[error("no such break-glass access in your department")]
    NotFound,
    #[error("a break-glass access is reviewed by a supervisor other than who made it")]
    OwnAccess,
    #[error("this break-glass access has already been reviewed")]
    AlreadyReviewed,
    #[error("the review note must be at most {MAX_REVIEW_NOTE_CHARS} characters")]
    NoteTooLong,
    #[error("a referral to the auditors needs a note saying what is wrong")]
    NoteRequired,
    #[error("the review could not be saved: {0}")]
    Internal(String),
}

impl ReviewError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "break_glass_not_found",
            Self::OwnAccess => "break_glass_own_access",
            Self::AlreadyReviewed => "break_glass_already_reviewed",
            Self::NoteTooLong => "break_glass_note_long",
            Self::NoteRequired => "break_glass_note_required",
            Self::Internal(_) => "internal",
        }
    }
}

/// Records the access and its justification, alerts the supervisors, then
/// opens the record through the door.
pub async fn open_record(
    services: &Services,
    secrets: &PlatformSecrets,
    cap: &BreakGlassCap,
    id_number: &str,
    justification: &str,
) -> Result<(StoredBreakGlass, ResidentRecord), BreakGlassError> {
    let internal = |e: &dyn std::fmt::Display| BreakGlassError::Internal(e.to_string());
    let justification = justification.trim();
    let chars = justification.chars().count();
    if chars < MIN_JUSTIFICATION_CHARS {
        return Err(BreakGlassError::JustificationTooShort);
    }
    if chars > MAX_JUSTIFICATION_CHARS {
        return Err(BreakGlassError::JustificationTooLong);
    }
    let id_number = ResidentIdNumber::parse(id_number.trim(), services.clock.today())
        .map_err(|_| BreakGlassError::InvalidIdNumber)?;
    let account = services
        .store
        .active_account_by_id_number(&id_number_mac(secrets, &id_number))
        .await
        .map_err(|e| internal(&e))?
        .ok_or(BreakGlassError::NoSuchResident)?;
    let access = StoredBreakGlass {
        id: uuid::Uuid::now_v7(),
        staff: cap.staff(),
        department: cap.department(),
        account: account.id,
        justification: justification.to_owned(),
        created_at: services.clock.now(),
        review: None,
    };
    // The alert first: if anything after this fails, the supervisors still
    // see that the record was asked for.
    services
        .store
        .insert_break_glass(&access)
        .await
        .map_err(|e| internal(&e))?;
    services
        .security_log
        .record(
            Actor::Staff { id: cap.staff() },
            SecurityEventKind::BreakGlassAccess {
                access: access.id,
                staff: cap.staff(),
                account: account.id,
            },
        )
        .await
        .map_err(|e| internal(&e))?;
    let opened = door::open(
        services,
        AccessRequest {
            subject: account.subject,
            accessor: Accessor::Staff {
                staff: cap.staff(),
                department: cap.department(),
                role: cap.role(),
            },
            purpose: Purpose::BreakGlass,
            reference: Some(format!("break-glass:{}", access.id)),
            fields: RECORD_FIELDS.to_vec(),
        },
    )
    .await
    .map_err(|e| internal(&e))?;
    let record = ResidentRecord::open(&opened, &account).map_err(|e| internal(&e))?;
    Ok((access, record))
}

/// A break-glass access as the supervisor's queue shows it: who, when, why.
/// The resident is named by account only; the supervisor opens nothing.
#[derive(Clone, Debug)]
pub struct Alert {
    pub access: StoredBreakGlass,
    pub staff_username: String,
    pub staff_display_name: String,
    pub staff_role: Option<Role>,
}

/// The supervisor's department's break-glass accesses, newest first.
pub async fn alerts(
    services: &Services,
    cap: &SupervisorCap,
    unreviewed_only: bool,
) -> Result<Vec<Alert>, ReviewError> {
    let internal = |e: &dyn std::fmt::Display| ReviewError::Internal(e.to_string());
    let accesses = services
        .store
        .department_break_glass(cap.department(), unreviewed_only, ALERT_LIMIT)
        .await
        .map_err(|e| internal(&e))?;
    // A department's alerts come from a few members: read each once.
    let mut members = HashMap::new();
    let mut out = Vec::with_capacity(accesses.len());
    for access in accesses {
        if let Entry::Vacant(slot) = members.entry(access.staff) {
            let member = services
                .store
                .staff(access.staff)
                .await
                .map_err(|e| internal(&e))?;
            slot.insert(member);
        }
        let (staff_username, staff_display_name, staff_role) = match &members[&access.staff] {
            Some(m) => (
                m.username.clone(),
                m.display_name.clone(),
                Role::from_name(&m.role),
            ),
            None => (String::new(), String::new(), None),
        };
        out.push(Alert {
            access,
            staff_username,
            staff_display_name,
            staff_role,
        });
    }
    Ok(out)
}

/// A supervisor of the member's department, other than the member, reviews
/// the access once. A referral must say what is wrong.
pub async fn review(
    services: &Services,
    cap: &SupervisorCap,
    id: uuid::Uuid,
    outcome: BreakGlassOutcome,
    note: &str,
) -> Result<StoredBreakGlass, ReviewError> {
    let internal = |e: &dyn std::fmt::Display| ReviewError::Internal(e.to_string());
    let note = note.trim();
    if note.chars().count() > MAX_REVIEW_NOTE_CHARS {
        return Err(ReviewError::NoteTooLong);
    }
    if outcome == BreakGlassOutcome::Referred && note.is_empty() {
        return Err(ReviewError::NoteRequired);
    }
    let access = services
        .store
        .break_glass(id)
        .await
        .map_err(|e| internal(&e))?
        .filter(|a| a.department == cap.department())
        .ok_or(ReviewError::NotFound)?;
    if access.staff == cap.staff() {
        return Err(ReviewError::OwnAccess);
    }
    if access.review.is_some() {
        return Err(ReviewError::AlreadyReviewed);
    }
    let review = BreakGlassReview {
        by: cap.staff(),
        at: services.clock.now(),
        outcome,
        note: (!note.is_empty()).then(|| note.to_owned()),
    };
    // Written only over no review, so two supervisors at once cannot both.
    if !services
        .store
        .review_break_glass(id, &review)
        .await
        .map_err(|e| internal(&e))?
    {
        return Err(ReviewError::AlreadyReviewed);
    }
    services
        .security_log
        .record(
            Actor::Staff { id: cap.staff() },
            SecurityEventKind::BreakGlassReviewed {
                access: id,
                staff: cap.staff(),
                outcome: outcome.name().to_owned(),
            },
        )
        .await
        .map_err(|e| internal(&e))?;
    Ok(StoredBreakGlass {
        review: Some(review),
        ..access
    })
}
