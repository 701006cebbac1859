//! The access log as stored: entries (their exact bytes and leaf hashes) and
//! the checkpoint each committed batch produces. One sequencer appends; the
//! database refuses changes to entries and lets a checkpoint only gain
//! cosignatures.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{SubjectId, Timestamp};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAccessEntry {
    /// The entry's position in the tree, from 0.
    pub leaf_index: u64,
    pub subject: SubjectId,
    #[serde(with = "shengshi_domain::security::millis")]
    pub at: Timestamp,
    /// The entry bytes that are hashed (see `shengshi_domain::access`).
    #[serde(with = "crate::base64_bytes")]
    pub entry: Vec<u8>,
    /// RFC 9162 leaf hash of `entry` (kept to build proofs without rehashing).
    #[serde(with = "crate::base64_bytes")]
    pub leaf_hash: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    #[serde(with = "crate::base64_bytes")]
    pub root_hash: Vec<u8>,
    /// The tree's right edge (hashes of its perfect subtrees, left to right),
    /// as JSON, so the next batch extends the tree without reading every leaf.
    pub right_edge: String,
    /// The signed note: checkpoint body, the platform's signature, then any
    /// witnesses' cosignatures.
    pub note: String,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
}

#[async_trait]
pub trait AccessLogStore: Send + Sync {
    /// Appends a batch and its checkpoint in one transaction. The entries must
    /// continue the tree exactly where `previous_size` ended, and
    /// `previous_size` must be the latest checkpoint's size (0 for none):
    /// otherwise [`StoreError::Conflict`] and nothing is written (another
    /// sequencer got there first).
    async fn append_access_batch(
        &self,
        previous_size: u64,
        entries: &[StoredAccessEntry],
        checkpoint: &StoredCheckpoint,
    ) -> Result<(), StoreError>;
    async fn latest_access_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// Checkpoints with a size above `after_size`, smallest first.
    async fn access_checkpoints(
        &self,
        after_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError>;
    /// The checkpoint of exactly this size.
    async fn access_checkpoint(
        &self,
        tree_size: u64,
    ) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// Entries from `from_index` on, in tree order.
    async fn access_entries(
        &self,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<StoredAccessEntry>, StoreError>;
    /// One subject's entries, newest first, below `before_index` (None: all).
    async fn subject_access_entries(
        &self,
        subject: SubjectId,
        before_index: Option<u64>,
        limit: u32,
    ) -> Result<Vec<StoredAccessEntry>, StoreError>;
    /// Replaces a checkpoint's note by a longer one that starts with it (a
    /// cosignature added); `false` if the stored note is not a prefix.
    async fn add_checkpoint_cosignature(
        &self,
        tree_size: u64,
        note: &str,
    ) -> Result<bool, StoreError>;
    /// Import: entries and checkpoints as they are.
    async fn insert_access_log(
        &self,
        entries: &[StoredAccessEntry],
        checkpoints: &[StoredCheckpoint],
    ) -> Result<(), StoreError>;
}
