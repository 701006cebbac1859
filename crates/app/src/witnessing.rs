//! Getting checkpoints cosigned by witnesses (C2SP tlog-witness). A witness
//! holds its own key, remembers the last checkpoint it cosigned for our log,
//! and cosigns a new one only with a proof that the new tree extends the old
//! one. So once a checkpoint is cosigned, even an operator holding the
//! platform's signing key cannot rewrite the entries under it unnoticed.

use shengshi_store::StoreError;
use shengshi_tlog::{CosignatureVerifier, Hash, SignedNote};

use crate::Services;

/// What a witness answered to one submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitnessAnswer {
    /// The cosignature line(s) for the submitted checkpoint.
    Cosigned(String),
    /// The witness's latest cosigned size for our log differs from the
    /// `old` size we sent: resubmit from that size.
    Conflict { witness_size: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("the witness could not be reached: {0}")]
    Unreachable(String),
    #[error("the witness refused the checkpoint ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the witness answered something unreadable: {0}")]
    Malformed(String),
}

/// A witness, as the platform talks to it.
#[async_trait::async_trait]
pub trait WitnessClient: Send + Sync + std::fmt::Debug {
    /// The witness's public key: its cosignatures are checked before storing.
    fn verifier(&self) -> &CosignatureVerifier;
    /// Submits a checkpoint note with a consistency proof from `old_size`.
    async fn add_checkpoint(
        &self,
        old_size: u64,
        proof: &[Hash],
        note: &str,
    ) -> Result<WitnessAnswer, WitnessError>;
}

#[derive(Debug, thiserror::Error)]
pub enum WitnessingError {
    #[error(transparent)]
    Witness(#[from] WitnessError),
    #[error("the witness's cosignature does not verify: {0}")]
    BadCosignature(String),
    #[error("the witness keeps asking for another starting size")]
    NoAgreement,
    #[error("the access log could not be read or written: {0}")]
    Store(String),
    #[error("the access log is inconsistent: {0}")]
    Corrupt(String),
}

impl From<StoreError> for WitnessingError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// The leaf hashes of the first `size` entries (for consistency proofs).
async fn leaf_hashes(services: &Services, size: u64) -> Result<Vec<Hash>, WitnessingError> {
    let mut leaves = Vec::new();
    while (leaves.len() as u64) < size {
        let page = services
            .store
            .access_entries(leaves.len() as u64, 1000)
            .await?;
        if page.is_empty() {
            return Err(WitnessingError::Corrupt(format!(
                "a checkpoint covers {size} entries, only {} are stored",
                leaves.len()
            )));
        }
        for entry in page.into_iter().take((size - leaves.len() as u64) as usize) {
            let hash = Hash::try_from(entry.leaf_hash.as_slice()).map_err(|_| {
                WitnessingError::Corrupt(format!("entry {} has a bad leaf hash", entry.leaf_index))
            })?;
            leaves.push(hash);
        }
    }
    Ok(leaves)
}

/// The size of the latest checkpoint this witness has cosigned, as our notes
/// record it (0 if none).
async fn last_cosigned(
    services: &Services,
    witness: &CosignatureVerifier,
) -> Result<u64, WitnessingError> {
    let mut after = 0;
    let mut last = 0;
    loop {
        let page = services.store.access_checkpoints(after, 1000).await?;
        let Some(tail) = page.last() else {
            return Ok(last);
        };
        after = tail.tree_size;
        for checkpoint in &page {
            let cosigned = SignedNote::parse(&checkpoint.note)
                .ok()
                .is_some_and(|note| witness.verify(&note).is_ok());
            if cosigned {
                last = checkpoint.tree_size;
            }
        }
    }
}

/// Has the latest checkpoint cosigned by `client`; returns its tree size, or
/// `None` when there is no checkpoint yet. Idempotent: a checkpoint already
/// cosigned by this witness is left as it is.
pub async fn cosign_latest(
    services: &Services,
    client: &dyn WitnessClient,
) -> Result<Option<u64>, WitnessingError> {
    let Some(latest) = services.store.latest_access_checkpoint().await? else {
        return Ok(None);
    };
    let mut note =
        SignedNote::parse(&latest.note).map_err(|e| WitnessingError::Corrupt(e.to_string()))?;
    if client.verifier().verify(&note).is_ok() {
        return Ok(Some(latest.tree_size));
    }
    let mut old = last_cosigned(services, client.verifier()).await?;
    let leaves = leaf_hashes(services, latest.tree_size).await?;
    // One retry: a witness that lost or is ahead of our record names its size.
    for _ in 0..2 {
        let proof = shengshi_tlog::consistency_proof(&leaves, old, latest.tree_size)
            .map_err(|e| WitnessingError::Corrupt(e.to_string()))?;
        match client.add_checkpoint(old, &proof, &latest.note).await? {
            WitnessAnswer::Conflict { witness_size } => {
                if witness_size > latest.tree_size {
                    return Err(WitnessingError::Corrupt(format!(
                        "the witness has seen {witness_size} entries, more than the log holds ({})",
                        latest.tree_size
                    )));
                }
                old = witness_size;
            }
            WitnessAnswer::Cosigned(lines) => {
                for line in lines.lines().filter(|l| !l.trim().is_empty()) {
                    note.add_signature_line(line)
                        .map_err(|e| WitnessingError::BadCosignature(e.to_string()))?;
                }
                client
                    .verifier()
                    .verify(&note)
                    .map_err(|e| WitnessingError::BadCosignature(e.to_string()))?;
                services
                    .store
                    .add_checkpoint_cosignature(latest.tree_size, &note.to_text())
                    .await?;
                return Ok(Some(latest.tree_size));
            }
        }
    }
    Err(WitnessingError::NoAgreement)
}
