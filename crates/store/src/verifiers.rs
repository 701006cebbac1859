//! Verifier organisations (hotels, stations, airports, banks…), their API
//! keys (stored only as keyed MACs), and the online verifications that made
//! each presentation code single-use.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{CardId, SubjectId, Timestamp};

use crate::StoreError;

/// A verifier organisation as registered by an operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVerifier {
    pub id: uuid::Uuid,
    /// The name residents see in their access log.
    pub name: String,
    /// The verifier category of docs/eid-format.md (`hotel`, `railway`, …);
    /// never changes.
    pub category: String,
    /// The purposes it may ask for (`hotel_checkin`, `age_over_18`, …), each
    /// allowed for its category.
    pub purposes: Vec<String>,
    /// `active` or `suspended`.
    pub status: String,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
    #[serde(with = "shengshi_domain::security::millis")]
    pub changed_at: Timestamp,
}

/// One API key of a verifier. The key itself is never stored: only a MAC of
/// it under a platform secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVerifierKey {
    /// The key's id, which the key text carries (`svk_{id}_{secret}`).
    pub id: uuid::Uuid,
    pub verifier: uuid::Uuid,
    #[serde(with = "crate::base64_bytes")]
    pub key_mac: Vec<u8>,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
    /// Set once, when a newer key replaced it; a revoked key never works again.
    #[serde(default, with = "crate::millis_opt")]
    pub revoked_at: Option<Timestamp>,
}

impl std::fmt::Debug for StoredVerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredVerifierKey")
            .field("id", &self.id)
            .field("verifier", &self.verifier)
            .field("created_at", &self.created_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// A presentation code accepted online: the first verifier to claim its id
/// (`cti`) owns it; no other verifier is ever answered for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVerification {
    /// Hex of the code's 16-byte `cti`.
    pub cti: String,
    pub verifier: uuid::Uuid,
    pub card: CardId,
    pub subject: SubjectId,
    #[serde(with = "shengshi_domain::security::millis")]
    pub verified_at: Timestamp,
    /// When the code stops verifying anyway (its `exp`).
    #[serde(with = "shengshi_domain::security::millis")]
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait VerifierStore: Send + Sync {
    /// Inserts a verifier and its first key in one transaction.
    async fn insert_verifier(
        &self,
        verifier: &StoredVerifier,
        key: &StoredVerifierKey,
    ) -> Result<(), StoreError>;
    async fn verifier(&self, id: uuid::Uuid) -> Result<Option<StoredVerifier>, StoreError>;
    /// Every verifier, oldest first.
    async fn verifiers(&self) -> Result<Vec<StoredVerifier>, StoreError>;
    /// Moves a verifier to `status`; `Ok(false)` if no such verifier or it
    /// already had that status.
    async fn set_verifier_status(
        &self,
        id: uuid::Uuid,
        status: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// A key by its id, revoked or not.
    async fn verifier_key(&self, id: uuid::Uuid) -> Result<Option<StoredVerifierKey>, StoreError>;
    /// Revokes every live key of `key.verifier` (at `key.created_at`) and
    /// inserts `key`, in one transaction; returns how many were revoked.
    async fn replace_verifier_keys(&self, key: &StoredVerifierKey) -> Result<u64, StoreError>;
    /// Every key, oldest first (export).
    async fn verifier_keys(&self) -> Result<Vec<StoredVerifierKey>, StoreError>;
    /// The verification that holds this code id (hex of its `cti`), if any.
    async fn verification(&self, cti: &str) -> Result<Option<StoredVerification>, StoreError>;
    /// Verifications ordered by `cti`, after `after` (exclusive), for export.
    async fn verifications(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredVerification>, StoreError>;
    /// Import: verifiers, keys and verifications as they are.
    async fn import_verifiers(
        &self,
        verifiers: &[StoredVerifier],
        keys: &[StoredVerifierKey],
        verifications: &[StoredVerification],
    ) -> Result<(), StoreError>;
}
