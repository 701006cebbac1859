//! Resident accounts as stored. Personal data (name, ID number, phone) sits in
//! `sealed_profile`, sealed with the account's own data key; lookups use keyed
//! MACs so that neither the ID number nor the phone number is ever a column.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{AccountId, SubjectId, Timestamp};

use crate::{StoreError, StoredDataKey};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAccount {
    pub id: AccountId,
    /// The data subject whose key seals the profile.
    pub subject: SubjectId,
    /// 1, 2 or 3 (see `AssuranceLevel`).
    pub assurance_level: i64,
    /// MAC of the resident ID number; `None` below L2. One active account per number.
    #[serde(with = "crate::base64_bytes_opt")]
    pub id_number_mac: Option<Vec<u8>>,
    /// MAC of the phone number (SMS login looks accounts up by it).
    #[serde(with = "crate::base64_bytes")]
    pub phone_mac: Vec<u8>,
    /// The profile, sealed with the subject's data key (context `account.profile`).
    #[serde(with = "crate::base64_bytes")]
    pub sealed_profile: Vec<u8>,
    /// `active`, `evicted` or `closed`.
    pub status: String,
    /// When staff last compared the resident with their identity card at a
    /// counter (part of L3). Absent in exports made before it existed.
    #[serde(default, with = "crate::millis_opt")]
    pub in_person_verified_at: Option<Timestamp>,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
    #[serde(with = "shengshi_domain::security::millis")]
    pub updated_at: Timestamp,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates the account together with its subject's data key, in one
    /// transaction. [`StoreError::Conflict`] (and nothing written) when an active
    /// account already holds the same ID number.
    async fn create_account(
        &self,
        account: &StoredAccount,
        key: &StoredDataKey,
    ) -> Result<(), StoreError>;
    async fn account(&self, id: AccountId) -> Result<Option<StoredAccount>, StoreError>;
    /// The active account for an ID number, if any.
    async fn active_account_by_id_number(
        &self,
        id_number_mac: &[u8],
    ) -> Result<Option<StoredAccount>, StoreError>;
    /// Active accounts whose verified phone this is.
    async fn active_accounts_by_phone(
        &self,
        phone_mac: &[u8],
    ) -> Result<Vec<StoredAccount>, StoreError>;
    /// Accounts ordered by id, after `after` (exclusive), for export.
    async fn accounts(
        &self,
        after: Option<AccountId>,
        limit: u32,
    ) -> Result<Vec<StoredAccount>, StoreError>;
    /// Inserts accounts as they are (import). Their data keys must already exist.
    async fn insert_accounts(&self, accounts: &[StoredAccount]) -> Result<(), StoreError>;
    /// Records an in-person check of an active account; `false` if the account
    /// is not active.
    async fn record_in_person_check(
        &self,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Sets an active account's assurance level (1, 2 or 3).
    async fn set_assurance_level(
        &self,
        account: AccountId,
        level: i64,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// In one transaction: evicts the active account `squatter` (status
    /// `evicted`, every session and passkey revoked) and opens `replacement`
    /// with its data key. [`StoreError::Conflict`] (and nothing written) when
    /// `squatter` is no longer active or the ID number is taken again.
    async fn evict_and_replace(
        &self,
        squatter: AccountId,
        replacement: &StoredAccount,
        key: &StoredDataKey,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// In one transaction: closes the active account (status `closed`),
    /// revokes its sessions, its passkeys and the mandates it gave. `false`
    /// (and nothing written) when the account is not active.
    async fn close_account(&self, account: AccountId, at: Timestamp) -> Result<bool, StoreError>;
}
