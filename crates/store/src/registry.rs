//! The population registry kept in our own database, as stored. Every record
//! is personal data: the whole record is sealed with its person's own data key
//! (context `registry.record`), and the only lookup key is a keyed MAC of the
//! normalised ID number, so neither the number nor the name is ever a column.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{SubjectId, Timestamp};

use crate::{StoreError, StoredDataKey};

/// One registered person as stored (and as exported, docs/export-format.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRegistryRecord {
    pub id: uuid::Uuid,
    /// The data subject whose key seals the record; never changes.
    pub subject: SubjectId,
    /// Keyed MAC of the normalised ID number; unique.
    #[serde(with = "crate::base64_bytes")]
    pub id_number_mac: Vec<u8>,
    /// The whole record, sealed with the subject's data key.
    #[serde(with = "crate::base64_bytes")]
    pub sealed: Vec<u8>,
    /// True for generated demo residents.
    pub fictional: bool,
    #[serde(with = "shengshi_domain::security::millis")]
    pub updated_at: Timestamp,
}

/// How many people the registry holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegistryCount {
    pub total: u64,
    pub fictional: u64,
}

#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// In one transaction: inserts `new_keys` (the data keys of people not yet
    /// registered), then each record — or, when a record with the same
    /// `id_number_mac` exists for the same subject, replaces its `sealed`,
    /// `fictional` and `updated_at` (its `id` and subject stay). Fails whole with
    /// [`StoreError::Conflict`] if a key already exists or a MAC belongs to
    /// another subject (a concurrent import registered the person first).
    async fn upsert_registry_records(
        &self,
        new_keys: &[StoredDataKey],
        records: &[StoredRegistryRecord],
    ) -> Result<(), StoreError>;

    async fn registry_record(
        &self,
        id_number_mac: &[u8],
    ) -> Result<Option<StoredRegistryRecord>, StoreError>;

    async fn count_registry_records(&self) -> Result<RegistryCount, StoreError>;

    /// Records ordered by id, after `after` (exclusive), for export.
    async fn registry_records(
        &self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredRegistryRecord>, StoreError>;
}
