//! Verifies the whole access log (`shengshi audit verify`): every entry's
//! bytes against its leaf hash, the tree order, every checkpoint's root
//! against the entries, and the platform's signature on every checkpoint. The
//! first problem is named: which entry, or which checkpoint and the entries it
//! covers.
//!
//! The platform's own signature only proves what the platform claimed: an
//! operator holding the key could rewrite the log and sign it again. Witness
//! cosignatures (checked separately) are what catch that.

use shengshi_domain::access::AccessEntry;
use shengshi_store::{Store, StoreError, StoredCheckpoint};
use shengshi_tlog::{Checkpoint, CompactRange, CosignatureVerifier, NoteVerifier, SignedNote};

const PAGE: u32 = 1000;

/// What a clean verification covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditReport {
    pub entries: u64,
    pub checkpoints: u64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("entry {index}: {reason}")]
    BadEntry { index: u64, reason: String },
    #[error("checkpoint at tree size {size} (entries {from} to {to}): {reason}")]
    BadCheckpoint {
        size: u64,
        from: u64,
        to: u64,
        reason: String,
    },
    #[error("the log is truncated: {0}")]
    Truncated(String),
    #[error("no checkpoint carries a cosignature by witness {0}: nothing independent vouches for this log")]
    NotWitnessed(String),
    #[error("the checkpoint at tree size {size} carries a cosignature by witness {witness} that does not verify (forged, or the checkpoint was rewritten)")]
    BadCosignature { size: u64, witness: String },
    #[error("the access log could not be read: {0}")]
    Store(String),
}

impl From<StoreError> for AuditError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

fn bad_entry(index: u64, reason: impl Into<String>) -> AuditError {
    AuditError::BadEntry {
        index,
        reason: reason.into(),
    }
}

/// Checks one checkpoint against the tree the entries built.
fn check_checkpoint(
    stored: &StoredCheckpoint,
    range: &CompactRange,
    previous_size: u64,
    verifier: &NoteVerifier,
) -> Result<(), AuditError> {
    let bad = |reason: String| AuditError::BadCheckpoint {
        size: stored.tree_size,
        from: previous_size,
        to: stored.tree_size.saturating_sub(1),
        reason,
    };
    let root = range.root();
    if stored.root_hash != root {
        return Err(bad(
            "the entries do not produce its root: an entry in this range was changed, added or removed"
                .into(),
        ));
    }
    let note = SignedNote::parse(&stored.note).map_err(|e| bad(format!("its note: {e}")))?;
    note.verify(verifier)
        .map_err(|e| bad(format!("its signature: {e}")))?;
    let claimed = Checkpoint::parse(&note.body).map_err(|e| bad(format!("its note body: {e}")))?;
    if claimed.origin != verifier.name() {
        return Err(bad(format!(
            "it names the log {:?}, not {:?}",
            claimed.origin,
            verifier.name()
        )));
    }
    if claimed.size != stored.tree_size || claimed.root != root {
        return Err(bad(
            "the signed size or root differs from the stored one".into()
        ));
    }
    Ok(())
}

/// The checkpoints in size order, read a page at a time.
struct Checkpoints<'a> {
    store: &'a dyn Store,
    buffer: std::collections::VecDeque<StoredCheckpoint>,
    after: u64,
    exhausted: bool,
}

impl<'a> Checkpoints<'a> {
    fn new(store: &'a dyn Store) -> Self {
        Self {
            store,
            buffer: Default::default(),
            after: 0,
            exhausted: false,
        }
    }

    async fn peek(&mut self) -> Result<Option<&StoredCheckpoint>, AuditError> {
        if self.buffer.is_empty() && !self.exhausted {
            let page = self.store.access_checkpoints(self.after, PAGE).await?;
            match page.last() {
                Some(last) => self.after = last.tree_size,
                None => self.exhausted = true,
            }
            self.buffer.extend(page);
        }
        Ok(self.buffer.front())
    }

    fn pop(&mut self) {
        self.buffer.pop_front();
    }
}

/// Walks the whole log; see the module documentation.
pub async fn verify(store: &dyn Store, verifier: &NoteVerifier) -> Result<AuditReport, AuditError> {
    let mut range = CompactRange::new();
    let mut checkpoints = Checkpoints::new(store);
    let mut checked = 0u64;
    let mut previous_size = 0u64;
    loop {
        let page = store.access_entries(range.size(), PAGE).await?;
        if page.is_empty() {
            break;
        }
        for stored in page {
            let index = range.size();
            if stored.leaf_index != index {
                return Err(bad_entry(
                    index,
                    format!(
                        "missing: the next stored entry is {} (an entry was deleted)",
                        stored.leaf_index
                    ),
                ));
            }
            let leaf = shengshi_tlog::leaf_hash(&stored.entry);
            if stored.leaf_hash != leaf {
                return Err(bad_entry(
                    index,
                    "its bytes do not match its leaf hash (the entry was edited)",
                ));
            }
            let entry = AccessEntry::from_bytes(&stored.entry)
                .map_err(|e| bad_entry(index, format!("its bytes are not an access entry: {e}")))?;
            if entry.subject != stored.subject || entry.at != stored.at {
                return Err(bad_entry(
                    index,
                    "its subject or time column differs from its bytes",
                ));
            }
            range.append(leaf);
            while let Some(checkpoint) = checkpoints.peek().await? {
                if checkpoint.tree_size > range.size() {
                    break;
                }
                if checkpoint.tree_size < range.size() {
                    return Err(AuditError::BadCheckpoint {
                        size: checkpoint.tree_size,
                        from: previous_size,
                        to: checkpoint.tree_size.saturating_sub(1),
                        reason: "it is out of order".into(),
                    });
                }
                check_checkpoint(checkpoint, &range, previous_size, verifier)?;
                previous_size = checkpoint.tree_size;
                checked += 1;
                checkpoints.pop();
            }
        }
    }
    if let Some(checkpoint) = checkpoints.peek().await? {
        return Err(AuditError::Truncated(format!(
            "the checkpoint at tree size {} covers entries that are not stored (only {} are)",
            checkpoint.tree_size,
            range.size()
        )));
    }
    if previous_size != range.size() {
        return Err(AuditError::Truncated(format!(
            "entries {} to {} are under no checkpoint",
            previous_size,
            range.size() - 1
        )));
    }
    Ok(AuditReport {
        entries: range.size(),
        checkpoints: checked,
    })
}

/// How far a witness vouches for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessReport {
    pub witness: String,
    /// The largest tree size it cosigned.
    pub cosigned_size: u64,
}

/// [`verify`], then for each witness: the latest checkpoint it cosigned. A
/// cosignature that does not verify is an error, and so is a witness that
/// cosigned nothing. Because `verify` has recomputed every checkpoint's root
/// from the entries, a valid cosignature means the witness saw exactly the
/// entries now stored, up to that size: a log rewritten and re-signed with the
/// platform's own key fails here.
pub async fn verify_witnessed(
    store: &dyn Store,
    verifier: &NoteVerifier,
    witnesses: &[CosignatureVerifier],
) -> Result<(AuditReport, Vec<WitnessReport>), AuditError> {
    let report = verify(store, verifier).await?;
    let mut cosigned = vec![0u64; witnesses.len()];
    let mut checkpoints = Checkpoints::new(store);
    while let Some(checkpoint) = checkpoints.peek().await? {
        let size = checkpoint.tree_size;
        let note = SignedNote::parse(&checkpoint.note).map_err(|e| AuditError::BadCheckpoint {
            size,
            from: 0,
            to: size.saturating_sub(1),
            reason: format!("its note: {e}"),
        })?;
        for (witness, last) in witnesses.iter().zip(cosigned.iter_mut()) {
            let claims = note
                .signatures
                .iter()
                .any(|s| s.name == witness.name() && s.key_id == witness.key_id());
            if !claims {
                continue;
            }
            match witness.verify(&note) {
                Ok(_) => *last = size,
                Err(_) => {
                    return Err(AuditError::BadCosignature {
                        size,
                        witness: witness.name().to_owned(),
                    })
                }
            }
        }
        checkpoints.pop();
    }
    let mut reports = Vec::new();
    for (witness, size) in witnesses.iter().zip(cosigned) {
        if size == 0 {
            return Err(AuditError::NotWitnessed(witness.name().to_owned()));
        }
        reports.push(WitnessReport {
            witness: witness.name().to_owned(),
            cosigned_size: size,
        });
    }
    Ok((report, reports))
}
