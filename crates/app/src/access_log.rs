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
//!
//! An online e-ID verification is an access that is logged only if the
//! code's single-use claim holds ([`ClaimedAccess`]): its claim is settled
//! in the same transaction as the batch, so one commit (one fsync) makes both
//! durable, and a verification takes the database's write lock once.

use serde::{Deserialize, Serialize};
use shengshi_domain::access::{AccessEntry, Accessor, Purpose};
use shengshi_domain::{Clock, EventId, Timestamp};
use shengshi_store::{
    AccessBatch, ClaimOutcome, Store, StoreError, StoredAccessEntry, StoredCheckpoint,
    StoredVerification, VerificationClaim,
};
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
type ClaimedAck = oneshot::Sender<Result<ClaimedOutcome, AccessLogError>>;

/// An access logged only if its single-use claim holds for its verifier (an
/// online e-ID verification). The entry's subject is the holder of the
/// claimed card, found in the same transaction.
#[derive(Clone, Debug)]
pub struct ClaimedAccess {
    pub claim: VerificationClaim,
    pub at: Timestamp,
    pub accessor: Accessor,
    pub purpose: Purpose,
    pub reference: Option<String>,
    pub fields: Vec<String>,
}

impl ClaimedAccess {
    fn entry(&self, subject: shengshi_domain::SubjectId) -> AccessEntry {
        AccessEntry {
            id: EventId::new(),
            at: self.at,
            subject,
            accessor: self.accessor.clone(),
            purpose: self.purpose,
            reference: self.reference.clone(),
            fields: self.fields.clone(),
            embargo: None,
        }
    }
}

/// What became of a [`ClaimedAccess`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimedOutcome {
    /// The claim holds for this verifier (the first scan, or a repeated one):
    /// the access is durable at `leaf_index`; `holder` is the claim's row.
    Logged {
        leaf_index: u64,
        holder: StoredVerification,
    },
    /// The claim did not hold (why is in the outcome); nothing was logged.
    NotLogged(ClaimOutcome),
}

/// One piece of work for the sequencer.
enum Job {
    Entry(AccessEntry, Ack),
    Claimed(ClaimedAccess, ClaimedAck),
}

/// A handle to the sequencer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AccessLog {
    sender: mpsc::Sender<Job>,
    verifier: Arc<NoteVerifier>,
    /// Batches committed (one durable transaction each), for benchmarks.
    commits: Arc<AtomicU64>,
    /// Entries appended, for benchmarks.
    logged: Arc<AtomicU64>,
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
        let logged = Arc::new(AtomicU64::new(0));
        let sequencer = Sequencer {
            store,
            clock,
            signer,
            origin,
            range,
            commits: commits.clone(),
            logged: logged.clone(),
        };
        tokio::spawn(sequencer.run(receiver));
        Ok(Self {
            sender,
            verifier,
            commits,
            logged,
        })
    }

    /// **Benchmarks only** (`shengshi bench audit` measures the cost of the
    /// log by running the same load with it off): a log that acknowledges
    /// every entry at once and writes nothing but claims (each batch of
    /// claims in one durable transaction, as the real log commits them). It
    /// breaks the door's promise, so nothing that serves residents may use
    /// it; the server builds one only through `Application::build_for_benchmark`.
    pub fn discarding_for_benchmarks(store: Arc<dyn Store>) -> Self {
        let (sender, mut receiver) = mpsc::channel::<Job>(4 * MAX_BATCH);
        // Any key will do: nothing is ever signed with it.
        let verifier = NoteSigner::new("shengshi.bench/discarded", &[0; 32])
            .map(|s| Arc::new(s.verifier()))
            .unwrap_or_else(|_| unreachable!("a constant origin and seed make a signer"));
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        tokio::spawn(async move {
            let mut next = 0u64;
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let mut claimed = Vec::new();
                for job in batch.drain(..) {
                    match job {
                        Job::Entry(_, ack) => {
                            let _ = ack.send(Ok(next));
                            next += 1;
                        }
                        Job::Claimed(access, ack) => claimed.push((access, ack)),
                    }
                }
                if claimed.is_empty() {
                    continue;
                }
                let claims: Vec<_> = claimed.iter().map(|(a, _)| a.claim.clone()).collect();
                let result = store.commit_access_batch(&claims, &mut |_| Ok(None)).await;
                counter.fetch_add(1, Ordering::Relaxed);
                match result {
                    Ok(outcomes) => {
                        for ((access, ack), outcome) in claimed.into_iter().zip(outcomes) {
                            let answer = if outcome.holds_for(&access.claim) {
                                next += 1;
                                held(next - 1, outcome)
                            } else {
                                ClaimedOutcome::NotLogged(outcome)
                            };
                            let _ = ack.send(Ok(answer));
                        }
                    }
                    Err(e) => {
                        for (_, ack) in claimed {
                            let _ = ack.send(Err(AccessLogError::Store(e.to_string())));
                        }
                    }
                }
            }
        });
        Self {
            sender,
            verifier,
            commits,
            logged: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many batches this sequencer has committed (each one durable
    /// transaction), for benchmarks counting what reaches the disk. The
    /// benchmarks' discarding log counts its batches of claims.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// How many entries this sequencer has appended (none for the
    /// benchmarks' discarding log), for benchmarks.
    pub fn entries_logged(&self) -> u64 {
        self.logged.load(Ordering::Relaxed)
    }

    /// The platform's checkpoint key (publish it; witnesses and residents check with it).
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Appends an entry; returns its leaf index once it is durable.
    pub async fn record(&self, entry: AccessEntry) -> Result<u64, AccessLogError> {
        let (ack, done) = oneshot::channel();
        self.sender
            .send(Job::Entry(entry, ack))
            .await
            .map_err(|_| AccessLogError::Closed)?;
        done.await.map_err(|_| AccessLogError::Closed)?
    }

    /// Settles the claim and, if it holds for its verifier, appends the
    /// access, in one durable transaction; returns once that is durable.
    pub async fn record_claimed(
        &self,
        access: ClaimedAccess,
    ) -> Result<ClaimedOutcome, AccessLogError> {
        let (ack, done) = oneshot::channel();
        self.sender
            .send(Job::Claimed(access, ack))
            .await
            .map_err(|_| AccessLogError::Closed)?;
        done.await.map_err(|_| AccessLogError::Closed)?
    }
}

fn held(leaf_index: u64, outcome: ClaimOutcome) -> ClaimedOutcome {
    match outcome {
        ClaimOutcome::Held { holder, .. } => ClaimedOutcome::Logged {
            leaf_index,
            holder: *holder,
        },
        other => ClaimedOutcome::NotLogged(other),
    }
}

struct Sequencer {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    signer: NoteSigner,
    origin: String,
    range: CompactRange,
    commits: Arc<AtomicU64>,
    logged: Arc<AtomicU64>,
}

impl Sequencer {
    async fn run(mut self, mut receiver: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let jobs: Vec<Job> = std::mem::take(&mut batch);
            let mut result = self.commit(&jobs).await;
            if matches!(result, Err(AccessLogError::Conflict)) {
                // Another process (an operator command) appended meanwhile:
                // continue from what is stored and try once more.
                match current_range(self.store.as_ref()).await {
                    Ok(range) => {
                        self.range = range;
                        result = self.commit(&jobs).await;
                    }
                    Err(e) => result = Err(e),
                }
            }
            match result {
                Ok(Committed { leaves, outcomes }) => {
                    let mut outcomes = outcomes.into_iter();
                    for (job, leaf) in jobs.into_iter().zip(leaves) {
                        // The caller may have given up waiting.
                        match job {
                            Job::Entry(_, ack) => {
                                let _ = ack.send(leaf.ok_or_else(|| {
                                    AccessLogError::Corrupt("an entry was not placed".into())
                                }));
                            }
                            Job::Claimed(_, ack) => {
                                let answer = match (outcomes.next(), leaf) {
                                    (Some(outcome), Some(leaf)) => Ok(held(leaf, outcome)),
                                    (Some(outcome), None) => Ok(ClaimedOutcome::NotLogged(outcome)),
                                    (None, _) => Err(AccessLogError::Corrupt(
                                        "a claim was not settled".into(),
                                    )),
                                };
                                let _ = ack.send(answer);
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, jobs = jobs.len(), "access entries not written");
                    // Another sequencer may have moved the tree on: start from what is stored.
                    match current_range(self.store.as_ref()).await {
                        Ok(range) => self.range = range,
                        Err(e) => {
                            tracing::error!(error = %e, "the access log state did not reload")
                        }
                    }
                    for job in jobs {
                        let error = AccessLogError::Store(e.to_string());
                        match job {
                            Job::Entry(_, ack) => drop(ack.send(Err(error))),
                            Job::Claimed(_, ack) => drop(ack.send(Err(error))),
                        }
                    }
                }
            }
        }
    }

    /// Writes one batch, its claims and its checkpoint in one transaction.
    async fn commit(&mut self, jobs: &[Job]) -> Result<Committed, AccessLogError> {
        let claims: Vec<VerificationClaim> = jobs
            .iter()
            .filter_map(|job| match job {
                Job::Claimed(access, _) => Some(access.claim.clone()),
                Job::Entry(..) => None,
            })
            .collect();
        let mut leaves: Vec<Option<u64>> = Vec::new();
        let mut extended: Option<CompactRange> = None;
        let signer = &self.signer;
        let origin = &self.origin;
        let range = &self.range;
        let now = self.clock.now();
        let mut build = |outcomes: &[ClaimOutcome]| {
            let mut next = range.clone();
            let first = next.size();
            let mut outcomes = outcomes.iter();
            let mut stored = Vec::with_capacity(jobs.len());
            leaves.clear();
            for job in jobs {
                let entry = match job {
                    Job::Entry(entry, _) => Some(entry.clone()),
                    Job::Claimed(access, _) => {
                        let outcome = outcomes.next().ok_or_else(|| {
                            StoreError::Database("a claim's outcome is missing".into())
                        })?;
                        match outcome {
                            ClaimOutcome::Held { subject, .. }
                                if outcome.holds_for(&access.claim) =>
                            {
                                Some(access.entry(*subject))
                            }
                            _ => None,
                        }
                    }
                };
                let Some(entry) = entry else {
                    leaves.push(None);
                    continue;
                };
                let bytes = entry.to_bytes();
                let leaf = shengshi_tlog::leaf_hash(&bytes);
                leaves.push(Some(next.size()));
                stored.push(StoredAccessEntry {
                    leaf_index: next.size(),
                    subject: entry.subject,
                    at: entry.at,
                    entry: bytes,
                    leaf_hash: leaf.to_vec(),
                });
                next.append(leaf);
            }
            if stored.is_empty() {
                // Only claims that did not hold: nothing to log.
                extended = None;
                return Ok(None);
            }
            let checkpoint = sign_checkpoint(signer, origin, &next, now)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            extended = Some(next);
            Ok(Some(AccessBatch {
                previous_size: first,
                entries: stored,
                checkpoint,
            }))
        };
        let outcomes = self.store.commit_access_batch(&claims, &mut build).await?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        if let Some(next) = extended {
            let added = next.size() - self.range.size();
            self.logged.fetch_add(added, Ordering::Relaxed);
            self.range = next;
        }
        Ok(Committed { leaves, outcomes })
    }
}

/// A committed batch: each job's leaf index (none for a claim that did not
/// hold), and the claims' outcomes in order.
struct Committed {
    leaves: Vec<Option<u64>>,
    outcomes: Vec<ClaimOutcome>,
}

/// The platform's signed checkpoint over the tree `range`.
fn sign_checkpoint(
    signer: &NoteSigner,
    origin: &str,
    range: &CompactRange,
    now: Timestamp,
) -> Result<StoredCheckpoint, AccessLogError> {
    let root = range.root();
    let body = Checkpoint {
        origin: origin.to_owned(),
        size: range.size(),
        root,
    }
    .body();
    let signature = signer.sign(&body);
    let mut note = SignedNote {
        body,
        signatures: Vec::new(),
    };
    note.add_signature_line(&signature)
        .map_err(|e| AccessLogError::Corrupt(e.to_string()))?;
    Ok(StoredCheckpoint {
        tree_size: range.size(),
        root_hash: root.to_vec(),
        right_edge: edge_to_json(range),
        note: note.to_text(),
        created_at: now,
    })
}
