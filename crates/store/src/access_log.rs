//! The access log as stored: entries (their exact bytes and leaf hashes) and
//! the checkpoint each committed batch produces. One sequencer appends; the
//! database refuses changes to entries and lets a checkpoint only gain
//! cosignatures.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{CardId, SubjectId, Timestamp};

use crate::{CardStatus, StoreError, StoredVerification};
use std::collections::{HashMap, HashSet};

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

/// An online verification's single-use claim on a presentation code,
/// settled in the access log's batch transaction, so that the entry
/// recording the verification is written if and only if the claim holds
/// (one transaction, one fsync, for both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationClaim {
    /// Hex of the code's 16-byte `cti`.
    pub cti: String,
    pub verifier: uuid::Uuid,
    /// The API key the verifier authenticated with: it must still be live
    /// when the claim commits.
    pub key: uuid::Uuid,
    /// The card the code names, by its place in the status list.
    pub status_index: u32,
    pub verified_at: Timestamp,
    pub expires_at: Timestamp,
}

/// How a [`VerificationClaim`] was settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The code's card is active, and `holder` holds the code: this claim,
    /// or an earlier one (whose verifier may be another).
    Held {
        card: CardId,
        subject: SubjectId,
        holder: Box<StoredVerification>,
    },
    /// The key is unknown or was rotated out, or belongs to another verifier.
    KeyNotLive,
    /// The verifier organisation is suspended.
    VerifierSuspended,
    /// No card has the code's status index.
    NoCard,
    /// The code's card is suspended or revoked.
    CardNotActive(CardStatus),
}

impl ClaimOutcome {
    /// True when the claim holds for its own verifier and card: the code is
    /// that verifier's (first or repeated scan), so the access is logged.
    pub fn holds_for(&self, claim: &VerificationClaim) -> bool {
        matches!(self, Self::Held { card, holder, .. }
            if holder.verifier == claim.verifier && holder.card == *card)
    }
}

/// A claim's key as read in the batch's transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ClaimKey {
    verifier: uuid::Uuid,
    live: bool,
    verifier_active: bool,
}

/// A claim's card as read in the batch's transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimCard {
    id: CardId,
    subject: SubjectId,
    status: CardStatus,
}

/// For the backends: what a batch's transaction read for its claims (their
/// keys, with their verifiers' status, and their cards), and the checks on it.
#[derive(Debug, Default)]
pub struct ClaimReads {
    keys: HashMap<uuid::Uuid, ClaimKey>,
    cards: HashMap<u32, ClaimCard>,
}

impl ClaimReads {
    /// The key ids to read, each once.
    pub fn key_ids(claims: &[VerificationClaim]) -> Vec<uuid::Uuid> {
        let mut seen = HashSet::new();
        claims
            .iter()
            .map(|c| c.key)
            .filter(|k| seen.insert(*k))
            .collect()
    }

    /// The status indices of the cards to read, each once.
    pub fn status_indices(claims: &[VerificationClaim]) -> Vec<i64> {
        let mut seen = HashSet::new();
        claims
            .iter()
            .map(|c| i64::from(c.status_index))
            .filter(|i| seen.insert(*i))
            .collect()
    }

    /// A key as read: its verifier, whether it was revoked, and the
    /// verifier's status (`active` or `suspended`).
    pub fn add_key(&mut self, id: uuid::Uuid, verifier: uuid::Uuid, revoked: bool, status: &str) {
        let key = ClaimKey {
            verifier,
            live: !revoked,
            verifier_active: status == "active",
        };
        self.keys.insert(id, key);
    }

    /// A card as read, by its status index.
    pub fn add_card(
        &mut self,
        status_index: i64,
        id: CardId,
        subject: SubjectId,
        status: &str,
    ) -> Result<(), StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("card {id}: {what}"));
        let index = u32::try_from(status_index)
            .map_err(|_| corrupt(format!("status index {status_index}")))?;
        let status =
            CardStatus::from_name(status).ok_or_else(|| corrupt(format!("status {status:?}")))?;
        self.cards.insert(
            index,
            ClaimCard {
                id,
                subject,
                status,
            },
        );
        Ok(())
    }

    /// Each claim's checks, in order: the card it may claim, or why not.
    pub fn check(&self, claims: &[VerificationClaim]) -> Vec<Result<ClaimCard, ClaimOutcome>> {
        claims
            .iter()
            .map(|c| c.check(self.keys.get(&c.key), self.cards.get(&c.status_index)))
            .collect()
    }
}

impl VerificationClaim {
    /// The checks before a claim is inserted, in their order (see
    /// [`AccessLogStore::commit_access_batch`]): the card to claim, or why not.
    fn check(
        &self,
        key: Option<&ClaimKey>,
        card: Option<&ClaimCard>,
    ) -> Result<ClaimCard, ClaimOutcome> {
        match key {
            Some(k) if k.live && k.verifier == self.verifier => {
                if !k.verifier_active {
                    return Err(ClaimOutcome::VerifierSuspended);
                }
            }
            _ => return Err(ClaimOutcome::KeyNotLive),
        }
        match card {
            None => Err(ClaimOutcome::NoCard),
            Some(c) if c.status != CardStatus::Active => Err(ClaimOutcome::CardNotActive(c.status)),
            Some(c) => Ok(*c),
        }
    }

    fn row(&self, card: &ClaimCard) -> StoredVerification {
        StoredVerification {
            cti: self.cti.clone(),
            verifier: self.verifier,
            card: card.id,
            subject: card.subject,
            verified_at: self.verified_at,
            expires_at: self.expires_at,
        }
    }
}

/// For the backends: the rows to insert for the claims that passed their
/// checks, one per `cti` (the earlier claim's), in `cti` order (so that two
/// transactions claiming overlapping codes lock them in the same order).
pub fn claim_rows(
    claims: &[VerificationClaim],
    checked: &[Result<ClaimCard, ClaimOutcome>],
) -> Vec<StoredVerification> {
    let mut rows: Vec<StoredVerification> = Vec::with_capacity(claims.len());
    let mut seen = HashSet::with_capacity(claims.len());
    for (claim, checked) in claims.iter().zip(checked) {
        if let Ok(card) = checked {
            if seen.insert(claim.cti.as_str()) {
                rows.push(claim.row(card));
            }
        }
    }
    rows.sort_by(|a, b| a.cti.cmp(&b.cti));
    rows
}

/// For the backends: the rows the insert returned (`inserted`, by `cti`)
/// hold their codes; the others' codes were held before, and their holders
/// must be read. Returns the holders known so far and the rows to read.
pub fn split_claimed(
    rows: Vec<StoredVerification>,
    inserted: &HashSet<String>,
) -> (HashMap<String, StoredVerification>, Vec<StoredVerification>) {
    let (mine, held_before): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|r| inserted.contains(&r.cti));
    let holders = mine.into_iter().map(|r| (r.cti.clone(), r)).collect();
    (holders, held_before)
}

/// For the backends: each claim's outcome, from its checks and the rows that
/// hold the codes after the inserts (by `cti`).
pub fn claim_outcomes(
    checked: Vec<Result<ClaimCard, ClaimOutcome>>,
    claims: &[VerificationClaim],
    holders: &HashMap<String, StoredVerification>,
) -> Result<Vec<ClaimOutcome>, StoreError> {
    checked
        .into_iter()
        .zip(claims)
        .map(|(checked, claim)| match checked {
            Err(outcome) => Ok(outcome),
            Ok(card) => {
                let holder = holders.get(&claim.cti).cloned().ok_or_else(|| {
                    StoreError::Database(format!("the claim of {} was not stored", claim.cti))
                })?;
                Ok(ClaimOutcome::Held {
                    card: card.id,
                    subject: card.subject,
                    holder: Box::new(holder),
                })
            }
        })
        .collect()
}

/// What the access log writes in one batch: entries continuing the tree at
/// `previous_size`, and the checkpoint after them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessBatch {
    pub previous_size: u64,
    pub entries: Vec<StoredAccessEntry>,
    pub checkpoint: StoredCheckpoint,
}

impl AccessBatch {
    /// For the backends: [`StoreError::Conflict`] unless the entries are
    /// numbered on from `previous_size` and the checkpoint ends after them.
    /// (That `previous_size` is the latest checkpoint's size, the backend
    /// checks as it inserts the checkpoint: see [`Self::not_continuing`].)
    pub fn check_shape(&self) -> Result<(), StoreError> {
        let previous = self.previous_size;
        let continues = self
            .entries
            .iter()
            .enumerate()
            .all(|(i, e)| e.leaf_index == previous + i as u64);
        if !continues || self.checkpoint.tree_size != previous + self.entries.len() as u64 {
            return Err(StoreError::Conflict(format!(
                "the batch does not continue the access log from {previous}"
            )));
        }
        Ok(())
    }

    /// For the backends: the conflict when the log is not at `previous_size`.
    pub fn not_continuing(&self) -> StoreError {
        StoreError::Conflict(format!(
            "the access log is not at {}: another writer extended it",
            self.previous_size
        ))
    }
}

/// Builds a batch's entries once its claims are settled (it sees each
/// claim's outcome, in order); `None` writes no entries (claims only).
pub type BuildAccessBatch<'a> =
    dyn FnMut(&[ClaimOutcome]) -> Result<Option<AccessBatch>, StoreError> + Send + 'a;

#[async_trait]
pub trait AccessLogStore: Send + Sync {
    /// The access log's one write, in one durable transaction:
    ///
    /// 1. settles each claim, in order: its key must be live and its
    ///    verifier's, the verifier active, the card of its status index
    ///    active; then the claim is inserted unless its `cti` is held
    ///    already (of two claims of one `cti` in one call the earlier wins),
    ///    and the holder read back;
    /// 2. calls `build` once with the outcomes;
    /// 3. writes the batch it returns. Its entries must continue the tree
    ///    exactly where `previous_size` ended, and `previous_size` must be
    ///    the latest checkpoint's size (0 for none): otherwise
    ///    [`StoreError::Conflict`] and nothing is written, claims included
    ///    (another sequencer got there first).
    ///
    /// Returns the outcomes, in the order of `claims`.
    async fn commit_access_batch(
        &self,
        claims: &[VerificationClaim],
        build: &mut BuildAccessBatch<'_>,
    ) -> Result<Vec<ClaimOutcome>, StoreError>;
    /// Appends a batch and its checkpoint with no claims (see
    /// [`commit_access_batch`](Self::commit_access_batch)).
    async fn append_access_batch(
        &self,
        previous_size: u64,
        entries: &[StoredAccessEntry],
        checkpoint: &StoredCheckpoint,
    ) -> Result<(), StoreError> {
        let mut batch = Some(AccessBatch {
            previous_size,
            entries: entries.to_vec(),
            checkpoint: checkpoint.clone(),
        });
        self.commit_access_batch(&[], &mut |_| Ok(batch.take()))
            .await
            .map(drop)
    }
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
