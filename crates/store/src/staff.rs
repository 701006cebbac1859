//! Staff accounts as stored. The password is an Argon2id PHC string; the TOTP
//! secret is sealed (never plaintext at rest). Failed logins and the last TOTP
//! time-step used are kept here so that lockout and replay protection hold
//! across processes.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{StaffId, Timestamp};

use crate::StoreError;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredStaff {
    pub id: StaffId,
    /// Unique, compared as stored (the use case normalises it).
    pub username: String,
    pub display_name: String,
    /// A `Department` name.
    pub department: String,
    /// A `Role` name.
    pub role: String,
    /// Argon2id, PHC string format.
    pub password_hash: String,
    /// The TOTP secret sealed with the platform's staff TOTP key.
    #[serde(with = "crate::base64_bytes")]
    pub sealed_totp_secret: Vec<u8>,
    pub disabled: bool,
    /// Failures since `first_failed_at`, reset by a success or a lockout.
    pub failed_logins: u32,
    #[serde(with = "crate::millis_opt")]
    pub first_failed_at: Option<Timestamp>,
    #[serde(with = "crate::millis_opt")]
    pub locked_until: Option<Timestamp>,
    /// The last TOTP time-step accepted; a code of that step or an earlier one
    /// is refused (replay).
    pub last_totp_step: Option<i64>,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
}

impl std::fmt::Debug for StoredStaff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredStaff")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("department", &self.department)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

/// The state after a failed login was counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaffFailure {
    /// Failures in the current window (0 right after a lockout began).
    pub failed_logins: u32,
    /// Set when this failure started a lockout.
    pub locked_until: Option<Timestamp>,
}

#[async_trait]
pub trait StaffStore: Send + Sync {
    /// [`StoreError::Conflict`] when the username is taken.
    async fn insert_staff(&self, staff: &StoredStaff) -> Result<(), StoreError>;
    async fn staff(&self, id: StaffId) -> Result<Option<StoredStaff>, StoreError>;
    async fn staff_by_username(&self, username: &str) -> Result<Option<StoredStaff>, StoreError>;
    /// Staff of one department, ordered by username.
    async fn staff_in_department(&self, department: &str) -> Result<Vec<StoredStaff>, StoreError>;
    /// `Ok(false)` when there is no such staff member.
    async fn set_staff_disabled(&self, id: StaffId, disabled: bool) -> Result<bool, StoreError>;
    /// Counts a failed login, atomically. Failures older than `window_start`
    /// are forgotten; the `max`-th failure in the window locks the account until
    /// `lock_until` and resets the count.
    async fn record_staff_failure(
        &self,
        id: StaffId,
        at: Timestamp,
        window_start: Timestamp,
        max: u32,
        lock_until: Timestamp,
    ) -> Result<StaffFailure, StoreError>;
    /// Records a successful login that used TOTP time-step `step`, atomically:
    /// `Ok(false)` (and nothing changed) when a step at or after it was already
    /// used — a replayed code. Resets the failure count.
    async fn record_staff_success(&self, id: StaffId, step: i64) -> Result<bool, StoreError>;
    /// Staff ordered by id, after `after` (exclusive), for export.
    async fn staff_page(
        &self,
        after: Option<StaffId>,
        limit: u32,
    ) -> Result<Vec<StoredStaff>, StoreError>;
    /// Inserts staff as they are (import), in one transaction.
    async fn insert_staff_many(&self, staff: &[StoredStaff]) -> Result<(), StoreError>;
}
