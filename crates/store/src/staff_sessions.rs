//! Staff sessions, kept apart from residents' sessions (shorter timeouts, their
//! own cookie and table). As for residents, only the SHA-256 of the cookie's
//! token is stored. Sessions are ephemeral: they are not exported.

use async_trait::async_trait;
use shengshi_domain::{StaffId, Timestamp};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredStaffSession {
    pub token_hash: Vec<u8>,
    pub staff: StaffId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[async_trait]
pub trait StaffSessionStore: Send + Sync {
    async fn create_staff_session(&self, session: &StoredStaffSession) -> Result<(), StoreError>;
    async fn staff_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<StoredStaffSession>, StoreError>;
    /// Records activity; callers coalesce (at most one write a minute per session).
    async fn touch_staff_session(&self, token_hash: &[u8], at: Timestamp)
        -> Result<(), StoreError>;
    /// Ends one session; `false` if it was already ended or unknown.
    async fn revoke_staff_session(
        &self,
        token_hash: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Ends every live session of a staff member; returns how many.
    async fn revoke_all_staff_sessions(
        &self,
        staff: StaffId,
        at: Timestamp,
    ) -> Result<u64, StoreError>;
}
