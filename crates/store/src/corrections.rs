//! Correction requests (PIPL Art. 46): a resident asks for a field of their
//! record to be corrected. The proposed value and the explanation are personal
//! data, so they are stored sealed with the resident's data key; closing the
//! account (destroying the key) erases them with the rest.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{AccountId, Timestamp};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCorrection {
    pub id: uuid::Uuid,
    pub account: AccountId,
    /// `name`, `phone`, `address` or `other`.
    pub field: String,
    /// The proposed value, sealed (context `correction.value`).
    #[serde(with = "crate::base64_bytes")]
    pub sealed_value: Vec<u8>,
    /// The resident's explanation, sealed (context `correction.explanation`).
    #[serde(with = "crate::base64_bytes")]
    pub sealed_explanation: Vec<u8>,
    /// `open`, `done` or `rejected`.
    pub status: String,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
    #[serde(default, with = "crate::millis_opt")]
    pub decided_at: Option<Timestamp>,
}

#[async_trait]
pub trait CorrectionStore: Send + Sync {
    /// Stores a new request. The account must exist.
    async fn insert_correction(&self, correction: &StoredCorrection) -> Result<(), StoreError>;
    /// A resident's requests, newest first.
    async fn corrections_by_account(
        &self,
        account: AccountId,
    ) -> Result<Vec<StoredCorrection>, StoreError>;
    /// Requests ordered by id, after `after` (exclusive), for export.
    async fn corrections(
        &self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredCorrection>, StoreError>;
    /// Inserts requests as they are (import).
    async fn insert_corrections(&self, corrections: &[StoredCorrection]) -> Result<(), StoreError>;
}
