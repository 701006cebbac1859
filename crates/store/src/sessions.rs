//! Server-side sessions. The cookie holds a random token; the database holds
//! only its SHA-256, so a copy of the table cannot be replayed as cookies.

use async_trait::async_trait;
use shengshi_domain::{AccountId, Timestamp};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub token_hash: Vec<u8>,
    pub account: AccountId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// A short description of the browser and system ("Chrome on Android"),
    /// derived from the User-Agent at login; never the raw header.
    pub device: Option<String>,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &StoredSession) -> Result<(), StoreError>;
    async fn session(&self, token_hash: &[u8]) -> Result<Option<StoredSession>, StoreError>;
    /// Records activity; callers coalesce (at most one write a minute per session).
    async fn touch_session(&self, token_hash: &[u8], at: Timestamp) -> Result<(), StoreError>;
    /// Ends one session; `false` if it was already ended or unknown.
    async fn revoke_session(&self, token_hash: &[u8], at: Timestamp) -> Result<bool, StoreError>;
    /// The account's live sessions: not revoked, not past `expires_at` at `now`,
    /// and seen after `idle_cutoff`; newest first.
    async fn live_sessions(
        &self,
        account: AccountId,
        now: Timestamp,
        idle_cutoff: Timestamp,
    ) -> Result<Vec<StoredSession>, StoreError>;
    /// Ends one session only if it belongs to `account`; `false` if it does not,
    /// is unknown, or was already ended.
    async fn revoke_account_session(
        &self,
        account: AccountId,
        token_hash: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Ends every live session of an account ("log out everywhere"); returns how many.
    async fn revoke_account_sessions(
        &self,
        account: AccountId,
        at: Timestamp,
    ) -> Result<u64, StoreError>;
}
