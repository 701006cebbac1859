//! Purpose-bound staff access: who a correction request is assigned to, and
//! the break-glass accesses made without assigned work (see
//! `shengshi_app::casework` and `shengshi_app::break_glass`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{AccountId, Department, StaffId, Timestamp};

use crate::{StoreError, StoredCorrection};

/// Who works on a correction request, and their decision once made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAssignment {
    pub correction: uuid::Uuid,
    pub staff: StaffId,
    pub assigned_by: StaffId,
    #[serde(with = "shengshi_domain::security::millis")]
    pub assigned_at: Timestamp,
    pub decided_by: Option<StaffId>,
    /// The decision's note to the resident, sealed with their data key
    /// (context `correction.note`).
    #[serde(with = "crate::base64_bytes_opt")]
    pub sealed_note: Option<Vec<u8>>,
}

/// A correction request with its assignment, if it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorrectionCase {
    pub correction: StoredCorrection,
    pub assignment: Option<StoredAssignment>,
}

/// How a supervisor judged a break-glass access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakGlassOutcome {
    /// The emergency was real and the access was needed.
    Justified,
    /// Handed to the auditors as possible misuse.
    Referred,
}

impl BreakGlassOutcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Justified => "justified",
            Self::Referred => "referred",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Justified, Self::Referred]
            .into_iter()
            .find(|o| o.name() == name)
    }
}

/// A supervisor's review of a break-glass access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassReview {
    pub by: StaffId,
    #[serde(with = "shengshi_domain::security::millis")]
    pub at: Timestamp,
    pub outcome: BreakGlassOutcome,
    pub note: Option<String>,
}

/// One opening of a resident's record without assigned work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBreakGlass {
    pub id: uuid::Uuid,
    pub staff: StaffId,
    /// The department of the staff member, whose supervisors are alerted.
    pub department: Department,
    pub account: AccountId,
    /// Written by the staff member before the record opened. Holds no
    /// personal data by instruction; kept as plain text for the supervisor.
    pub justification: String,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
    pub review: Option<BreakGlassReview>,
}

#[async_trait]
pub trait CaseWorkStore: Send + Sync {
    /// Correction requests still open, oldest first, with their assignments.
    async fn open_correction_cases(&self, limit: u32) -> Result<Vec<CorrectionCase>, StoreError>;
    /// One request with its assignment.
    async fn correction_case(&self, id: uuid::Uuid) -> Result<Option<CorrectionCase>, StoreError>;
    /// Assigns an open request to `staff`, only if it is currently assigned to
    /// `expected` (`None`: unassigned). `Ok(false)` when someone else changed
    /// it first or it was decided meanwhile.
    async fn assign_correction(
        &self,
        assignment: &StoredAssignment,
        expected: Option<StaffId>,
    ) -> Result<bool, StoreError>;
    /// Decides an open request assigned to `by` (`status` is `done` or
    /// `rejected`), in one transaction with the assignment's note.
    /// `Ok(false)` when it is no longer open or no longer assigned to `by`.
    async fn decide_correction(
        &self,
        id: uuid::Uuid,
        by: StaffId,
        status: &str,
        sealed_note: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Assignments ordered by correction id, after `after` (exclusive), for export.
    async fn correction_assignments(
        &self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredAssignment>, StoreError>;
    /// Inserts assignments as they are (import).
    async fn insert_correction_assignments(
        &self,
        assignments: &[StoredAssignment],
    ) -> Result<(), StoreError>;

    async fn insert_break_glass(&self, access: &StoredBreakGlass) -> Result<(), StoreError>;
    async fn break_glass(&self, id: uuid::Uuid) -> Result<Option<StoredBreakGlass>, StoreError>;
    /// A department's break-glass accesses, newest first; only the unreviewed
    /// ones when `unreviewed_only`.
    async fn department_break_glass(
        &self,
        department: Department,
        unreviewed_only: bool,
        limit: u32,
    ) -> Result<Vec<StoredBreakGlass>, StoreError>;
    /// Writes the review once. `Ok(false)` when already reviewed.
    async fn review_break_glass(
        &self,
        id: uuid::Uuid,
        review: &BreakGlassReview,
    ) -> Result<bool, StoreError>;
    /// Accesses ordered by id, after `after` (exclusive), for export.
    async fn break_glass_accesses(
        &self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredBreakGlass>, StoreError>;
    /// Inserts accesses as they are, reviews included (import).
    async fn insert_break_glass_accesses(
        &self,
        accesses: &[StoredBreakGlass],
    ) -> Result<(), StoreError>;
}
