//! The access log's one sequencer: every opening of a resident's personal
//! data becomes a leaf of one append-only Merkle tree (RFC 9162), and every
//! committed batch ends in a checkpoint signed by the platform (a C2SP signed
//! note), which witnesses countersign.
//!
//! Concurrent accesses are grouped: one transaction (one fsync) commits the
//! entries that arrived while the previous commit was in flight, together with
//! the checkpoint over them. Nothing is ever updated in place: the tree's right
//! edge travels from one checkpoint row to the next, so there is no hot row.
//! An access is acknowledged only after its batch is durable, and the door
//! hands out a data key only after that.

use serde::{Deserialize, Serialize};
use shengshi_domain::access::AccessEntry;
use shengshi_domain::Clock;
use shengshi_store::{Store, StoreError, StoredAccessEntry, StoredCheckpoint};
use shengshi_tlog::{Checkpoint, CompactRange, Hash, NoteSigner, NoteVerifier, SignedNote};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most entries committed in one batch.
const MAX_BATCH: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum AccessLogError {
    #[error("the access log is shut down")]
    Closed,
    #[error("the access log could not be written: {0}")]
    Store(String),
    #[error("the access log's stored state is unreadable: {0}")]
    Corrupt(String),
    #[error("another writer extended the access log first")]
    Conflict,
}

impl From<StoreError> for AccessLogError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => Self::Conflict,
            other => Self::Store(other.to_string()),
        }
    }
}

type Ack = oneshot::Sender<Result<u64, AccessLogError>>;

/// A handle to the sequencer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AccessLog {
    sender: mpsc::Sender<(AccessEntry, Ack)>,
    verifier: Arc<NoteVerifier>,
    /// Batches committed (one durable transaction each), for benchmarks.
    commits: Arc<AtomicU64>,
    /// False only for the benchmarks' discarding log.
    durable: bool,
}

/// The right edge of the tree as a checkpoint row keeps it.
#[derive(Serialize, Deserialize)]
struct RightEdge {
    size: u64,
    hashes: Vec<String>,
}

fn edge_to_json(range: &CompactRange) -> String {
    let edge = RightEdge {
        size: range.size(),
        hashes: range.hashes().iter().map(hex::encode).collect(),
    };
    serde_json::to_string(&edge).unwrap_or_default()
}

fn edge_from_json(text: &str) -> Result<CompactRange, AccessLogError> {
    let corrupt =
        |why: String| AccessLogError::Corrupt(format!("a checkpoint's right edge: {why}"));
    let edge: RightEdge = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let hashes = edge
        .hashes
        .iter()
        .map(|h| {
            let bytes = hex::decode(h).map_err(|e| corrupt(e.to_string()))?;
            Hash::try_from(bytes.as_slice()).map_err(|_| corrupt("a hash is not 32 bytes".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    CompactRange::from_parts(edge.size, hashes).map_err(|e| corrupt(e.to_string()))
}

/// The tree as the latest checkpoint left it (empty before the first).
async fn current_range(store: &dyn Store) -> Result<CompactRange, AccessLogError> {
    match store.latest_access_checkpoint().await? {
        Some(checkpoint) => edge_from_json(&checkpoint.right_edge),
        None => Ok(CompactRange::new()),
    }
}

/// The log's name in its checkpoints (the C2SP "origin"), unique per installation.
pub fn origin_for(installation: shengshi_domain::InstallationId) -> String {
    format!("shengshi.access-log/{installation}")
}

impl AccessLog {
    /// Starts the sequencer where the latest checkpoint ended, signing with
    /// the platform's access-log key (`PlatformSecrets::access_log_seed`).
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        origin: String,
        seed: &[u8; 32],
    ) -> Result<Self, AccessLogError> {
        let signer =
            NoteSigner::new(&origin, seed).map_err(|e| AccessLogError::Corrupt(e.to_string()))?;
        let verifier = Arc::new(signer.verifier());
        let range = current_range(store.as_ref()).await?;
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        let commits = Arc::new(AtomicU64::new(0));
        let sequencer = Sequencer {
            store,
            clock,
            signer,
            origin,
            range,
            commits: commits.clone(),
        };
        tokio::spawn(sequencer.run(receiver));
        Ok(Self {
            sender,
            verifier,
            commits,
            durable: true,
        })
    }

    /// **Benchmarks only** (`shengshi bench audit` measures the cost of the
    /// log by running the same load with it off): a log that acknowledges
    /// every entry at once and writes nothing. It breaks the door's promise,
    /// so nothing that serves residents may use it; the server builds one only
    /// through `Application::build_for_benchmark`.
    pub fn discarding_for_benchmarks() -> Self {
        let (sender, mut receiver) = mpsc::channel::<(AccessEntry, Ack)>(4 * MAX_BATCH);
        // Any key will do: nothing is ever signed with it.
        let verifier = NoteSigner::new("shengshi.bench/discarded", &[0; 32])
            .map(|s| Arc::new(s.verifier()))
            .unwrap_or_else(|_| unreachable!("a constant origin and seed make a signer"));
        tokio::spawn(async move {
            let mut next = 0u64;
            while let Some((_, ack)) = receiver.recv().await {
                let _ = ack.send(Ok(next));
                next += 1;
            }
        });
        Self {
            sender,
            verifier,
            commits: Arc::new(AtomicU64::new(0)),
            durable: false,
        }
    }

    /// True when every recorded entry is durable before `record` returns
    /// (always, except the benchmarks' discarding log). A caller may then
    /// commit its own related writes without waiting for the disk and let
    /// the entry's commit make them durable.
    pub fn is_durable(&self) -> bool {
        self.durable
    }

    /// How many batches this sequencer has committed (each one durable
    /// transaction), for benchmarks counting what reaches the disk.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// The platform's checkpoint key (publish it; witnesses and residents check with it).
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Appends an entry; returns its leaf index once it is durable.
    pub async fn record(&self, entry: AccessEntry) -> Result<u64, AccessLogError> {
        let (ack, done) = oneshot::channel();
        self.sender
            .send((entry, ack))
            .await
            .map_err(|_| AccessLogError::Closed)?;
        done.await.map_err(|_| AccessLogError::Closed)?
    }
}

struct Sequencer {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    signer: NoteSigner,
    origin: String,
    range: CompactRange,
    commits: Arc<AtomicU64>,
}

impl Sequencer {
    async fn run(mut self, mut receiver: mpsc::Receiver<(AccessEntry, Ack)>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let (entries, acks): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
            let mut result = self.commit(&entries).await;
            if matches!(result, Err(AccessLogError::Conflict)) {
                // Another process (an operator command) appended meanwhile:
                // continue from what is stored and try once more.
                match current_range(self.store.as_ref()).await {
                    Ok(range) => {
                        self.range = range;
                        result = self.commit(&entries).await;
                    }
                    Err(e) => result = Err(e),
                }
            }
            if let Err(e) = &result {
                tracing::error!(error = %e, entries = entries.len(), "access entries not written");
                // Another sequencer may have moved the tree on: start from what is stored.
                match current_range(self.store.as_ref()).await {
                    Ok(range) => self.range = range,
                    Err(e) => tracing::error!(error = %e, "the access log state did not reload"),
                }
            }
            for (i, ack) in acks.into_iter().enumerate() {
                let outcome = match &result {
                    Ok(first) => Ok(first + i as u64),
                    Err(e) => Err(AccessLogError::Store(e.to_string())),
                };
                let _ = ack.send(outcome); // the caller may have given up waiting
            }
        }
    }

    /// Writes one batch and its checkpoint; returns the first entry's index.
    async fn commit(&mut self, entries: &[AccessEntry]) -> Result<u64, AccessLogError> {
        let first = self.range.size();
        let mut next = self.range.clone();
        let mut stored = Vec::with_capacity(entries.len());
        for entry in entries {
            let bytes = entry.to_bytes();
            let leaf = shengshi_tlog::leaf_hash(&bytes);
            stored.push(StoredAccessEntry {
                leaf_index: next.size(),
                subject: entry.subject,
                at: entry.at,
                entry: bytes,
                leaf_hash: leaf.to_vec(),
            });
            next.append(leaf);
        }
        let root = next.root();
        let body = Checkpoint {
            origin: self.origin.clone(),
            size: next.size(),
            root,
        }
        .body();
        let signature = self.signer.sign(&body);
        let mut note = SignedNote {
            body,
            signatures: Vec::new(),
        };
        note.add_signature_line(&signature)
            .map_err(|e| AccessLogError::Corrupt(e.to_string()))?;
        let checkpoint = StoredCheckpoint {
            tree_size: next.size(),
            root_hash: root.to_vec(),
            right_edge: edge_to_json(&next),
            note: note.to_text(),
            created_at: self.clock.now(),
        };
        self.store
            .append_access_batch(first, &stored, &checkpoint)
            .await?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.range = next;
        Ok(first)
    }
}
