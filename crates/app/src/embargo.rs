//! Deferred disclosure: when the law forbids telling a resident that their data
//! was opened (a criminal investigation; PIPL Arts. 18 and 35), the access is
//! still logged at once, but the resident is shown it only when the embargo
//! ends.
//!
//! An embargo needs a cited legal basis, an end date and a supervisor's
//! approval: a clerk requests it ([`request`], with a [`ClerkCap`]), a
//! supervisor of the same department who is not the requester decides it
//! ([`approve`] or [`refuse`], with a [`SupervisorCap`]), and only an approved,
//! unexpired embargo yields an [`EmbargoGrant`] ([`grant`]), the one thing
//! `door::open_embargoed` accepts. A grant has private fields, so it cannot
//! be made any other way:
//!
//! ```compile_fail
//! fn forge(embargo: shengshi_domain::access::Embargo) -> shengshi_app::embargo::EmbargoGrant {
//!     shengshi_app::embargo::EmbargoGrant { embargo, subject: shengshi_domain::SubjectId::new() }
//! }
//! ```

use shengshi_domain::access::Embargo;
use shengshi_domain::{Actor, EmbargoId, SecurityEventKind, StaffId, SubjectId, Timestamp};
use shengshi_store::{EmbargoStatus, StoredEmbargo};
use time::Duration;

use crate::staff::capability::{ClerkCap, SupervisorCap};
use crate::Services;

/// The longest cited basis, in characters (a citation, not a case file).
pub const MAX_BASIS_CHARS: usize = 200;
/// The longest one embargo may run. Longer secrecy needs a new request, which
/// is approved afresh (a renewal).
pub const MAX_DURATION: Duration = Duration::days(365);

/// What a clerk asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbargoRequest {
    pub subject: SubjectId,
    /// The cited law and article, e.g. `刑事诉讼法第152条` or `PIPL Art. 18(1)`.
    pub basis: String,
    pub until: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("an embargo needs a cited legal basis")]
    NoBasis,
    #[error("the cited legal basis is longer than {MAX_BASIS_CHARS} characters")]
    BasisTooLong,
    #[error("an embargo must end in the future")]
    EndsInThePast,
    #[error("an embargo may run for at most a year; renew it with a new request")]
    TooLong,
    #[error("the embargo could not be requested: {0}")]
    Internal(String),
}

impl RequestError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoBasis => "embargo_no_basis",
            Self::BasisTooLong => "embargo_basis_too_long",
            Self::EndsInThePast => "embargo_ends_in_the_past",
            Self::TooLong => "embargo_too_long",
            Self::Internal(_) => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// Also the answer for another department's embargo: it tells nothing.
    #[error("no such embargo in your department")]
    NotFound,
    #[error("an embargo must be decided by someone other than who requested it")]
    OwnRequest,
    #[error("the embargo has already been decided")]
    AlreadyDecided,
    #[error("the embargo could not be decided: {0}")]
    Internal(String),
}

impl DecideError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "embargo_not_found",
            Self::OwnRequest => "embargo_own_request",
            Self::AlreadyDecided => "embargo_already_decided",
            Self::Internal(_) => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("no such embargo for this subject in your department")]
    NotFound,
    #[error("an embargo without approval cannot be used")]
    NotApproved,
    #[error("the embargo has ended")]
    Ended,
    #[error("the embargo could not be read: {0}")]
    Internal(String),
}

/// The right to log one subject's accesses under an approved embargo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbargoGrant {
    embargo: Embargo,
    subject: SubjectId,
}

impl EmbargoGrant {
    pub fn subject(&self) -> SubjectId {
        self.subject
    }

    /// What the access entry will carry.
    pub fn embargo(&self) -> &Embargo {
        &self.embargo
    }
}

/// A clerk asks to withhold accesses to `subject` until `until`.
pub async fn request(
    services: &Services,
    cap: &ClerkCap,
    request: EmbargoRequest,
) -> Result<StoredEmbargo, RequestError> {
    let basis = request.basis.trim();
    if basis.is_empty() {
        return Err(RequestError::NoBasis);
    }
    if basis.chars().count() > MAX_BASIS_CHARS {
        return Err(RequestError::BasisTooLong);
    }
    let now = services.clock.now();
    if request.until <= now {
        return Err(RequestError::EndsInThePast);
    }
    if request.until > now.plus(MAX_DURATION) {
        return Err(RequestError::TooLong);
    }
    let embargo = StoredEmbargo {
        id: EmbargoId::new(),
        subject: request.subject,
        requested_by: cap.staff(),
        department: cap.department(),
        legal_basis: basis.to_owned(),
        until: request.until,
        status: EmbargoStatus::Requested,
        approved_by: None,
        decided_at: None,
        created_at: now,
    };
    let internal = |e: &dyn std::fmt::Display| RequestError::Internal(e.to_string());
    services
        .store
        .insert_embargo(&embargo)
        .await
        .map_err(|e| internal(&e))?;
    services
        .security_log
        .record(
            Actor::Staff { id: cap.staff() },
            SecurityEventKind::EmbargoRequested {
                embargo: embargo.id,
                staff: cap.staff(),
                basis: embargo.legal_basis.clone(),
                until: embargo.until.to_rfc3339(),
            },
        )
        .await
        .map_err(|e| internal(&e))?;
    Ok(embargo)
}

/// The supervisor's queue: their department's embargoes still waiting for a
/// decision, oldest first.
pub async fn awaiting_decision(
    services: &Services,
    cap: &SupervisorCap,
) -> Result<Vec<StoredEmbargo>, DecideError> {
    services
        .store
        .embargoes_awaiting_decision(cap.department())
        .await
        .map_err(|e| DecideError::Internal(e.to_string()))
}

/// A supervisor of the requester's department approves the embargo.
pub async fn approve(
    services: &Services,
    cap: &SupervisorCap,
    id: EmbargoId,
) -> Result<StoredEmbargo, DecideError> {
    decide(services, cap, id, EmbargoStatus::Approved).await
}

/// A supervisor of the requester's department refuses the embargo.
pub async fn refuse(
    services: &Services,
    cap: &SupervisorCap,
    id: EmbargoId,
) -> Result<StoredEmbargo, DecideError> {
    decide(services, cap, id, EmbargoStatus::Refused).await
}

async fn decide(
    services: &Services,
    cap: &SupervisorCap,
    id: EmbargoId,
    status: EmbargoStatus,
) -> Result<StoredEmbargo, DecideError> {
    let internal = |e: &dyn std::fmt::Display| DecideError::Internal(e.to_string());
    let store = &services.store;
    let embargo = store
        .embargo(id)
        .await
        .map_err(|e| internal(&e))?
        .filter(|e| e.department == cap.department())
        .ok_or(DecideError::NotFound)?;
    if embargo.requested_by == cap.staff() {
        return Err(DecideError::OwnRequest);
    }
    if embargo.status != EmbargoStatus::Requested {
        return Err(DecideError::AlreadyDecided);
    }
    let now = services.clock.now();
    // The store re-checks "still requested" in its update, so two supervisors
    // deciding at once cannot both win.
    if !store
        .decide_embargo(id, status, cap.staff(), now)
        .await
        .map_err(|e| internal(&e))?
    {
        return Err(DecideError::AlreadyDecided);
    }
    let staff = cap.staff();
    let event = match status {
        EmbargoStatus::Refused => SecurityEventKind::EmbargoRefused { embargo: id, staff },
        _ => SecurityEventKind::EmbargoApproved { embargo: id, staff },
    };
    services
        .security_log
        .record(Actor::Staff { id: staff }, event)
        .await
        .map_err(|e| internal(&e))?;
    Ok(StoredEmbargo {
        status,
        approved_by: Some(staff),
        decided_at: Some(now),
        ..embargo
    })
}

/// The grant to open `subject`'s data under embargo `id`: only for an
/// approved embargo of that subject, of the clerk's department, not yet ended.
pub async fn grant(
    services: &Services,
    cap: &ClerkCap,
    id: EmbargoId,
    subject: SubjectId,
) -> Result<EmbargoGrant, GrantError> {
    let embargo = services
        .store
        .embargo(id)
        .await
        .map_err(|e| GrantError::Internal(e.to_string()))?
        .filter(|e| e.subject == subject && e.department == cap.department())
        .ok_or(GrantError::NotFound)?;
    let approved_by: StaffId = match (embargo.status, embargo.approved_by) {
        (EmbargoStatus::Approved, Some(by)) => by,
        _ => return Err(GrantError::NotApproved),
    };
    if embargo.until <= services.clock.now() {
        return Err(GrantError::Ended);
    }
    Ok(EmbargoGrant {
        embargo: Embargo {
            basis: embargo.legal_basis,
            until: embargo.until,
            approved_by,
            approval: embargo.id,
        },
        subject,
    })
}
