//! A witness for Shengshi's access log, speaking C2SP tlog-witness
//! (`POST /add-checkpoint`), and the platform's HTTP client for one.
//!
//! The witness is meant to run somewhere the platform's operator does not
//! control (an independent auditor, another department): it has its own
//! Ed25519 key and its own state file. It cosigns a checkpoint only if
//!
//! 1. it is signed by a log it was told to witness,
//! 2. the `old` size in the request is the size it last cosigned for that log
//!    (otherwise it answers 409 with its size), and
//! 3. the consistency proof shows the new tree extends the one it last
//!    cosigned.
//!
//! Its state is written durably (temporary file, fsync, rename) before the
//! cosignature leaves, so a crash can never make it cosign two forks.

pub mod client;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use shengshi_tlog::{Checkpoint, Cosigner, Hash, NoteVerifier, SignedNote, EMPTY_ROOT};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Mutex;

pub use client::HttpWitness;

/// The content type of a 409 answer's body: the witness's size for the log.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Why a checkpoint was not cosigned.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("this witness does not witness the log {0:?}")]
    UnknownLog(String),
    #[error("the checkpoint is not signed by the log's key: {0}")]
    BadSignature(String),
    #[error("the witness last cosigned size {0} for this log")]
    Conflict(u64),
    #[error("the checkpoint does not extend what this witness cosigned before: {0}")]
    Inconsistent(String),
    #[error("the witness could not save its state: {0}")]
    State(String),
}

impl AddError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnknownLog(_) => StatusCode::NOT_FOUND,
            Self::BadSignature(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Inconsistent(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::State(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What the witness last cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    size: u64,
    root: String,
}

/// A witness: its key, the logs it witnesses, and its state file.
#[derive(Debug)]
pub struct Witness {
    cosigner: Cosigner,
    logs: BTreeMap<String, NoteVerifier>,
    state_file: PathBuf,
    state: Mutex<BTreeMap<String, Seen>>,
}

/// Reads a witness key file: 32 bytes as 64 hex digits.
pub fn read_key(path: &Path) -> Result<[u8; 32], String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the witness key {}: {e}", path.display()))?;
    let bytes = zeroize::Zeroizing::new(
        hex::decode(text.trim()).map_err(|_| format!("{} is not 64 hex digits", path.display()))?,
    );
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{} is not 64 hex digits", path.display()))
}

/// Creates a new witness key file (mode 0600); refuses to overwrite one.
pub fn create_key(path: &Path) -> Result<[u8; 32], String> {
    use std::io::Write;
    let secret = shengshi_tlog::generate_ed25519_secret();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(hex::encode(secret).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(secret)
}

impl Witness {
    /// A witness named `name` (a schema-less URL, e.g.
    /// `audit.example.gov.cn/witness`) for the given logs, keeping its state
    /// in `state_file` (created on first cosignature).
    pub fn open(
        name: &str,
        secret: &[u8; 32],
        logs: Vec<NoteVerifier>,
        state_file: PathBuf,
    ) -> Result<Self, String> {
        let cosigner = Cosigner::new(name, secret).map_err(|e| e.to_string())?;
        let state = match std::fs::read(&state_file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!("the state file {} is unreadable: {e}", state_file.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", state_file.display())),
        };
        Ok(Self {
            cosigner,
            logs: logs.into_iter().map(|v| (v.name().to_owned(), v)).collect(),
            state_file,
            state: Mutex::new(state),
        })
    }

    /// The witness's public key, as `shengshi audit verify --witness` takes it.
    pub fn vkey(&self) -> String {
        self.cosigner.verifier().to_vkey()
    }

    /// Handles one `add-checkpoint` request body; returns the cosignature line.
    pub async fn add_checkpoint(&self, body: &str, now_seconds: u64) -> Result<String, AddError> {
        let request = parse_request(body)?;
        let note = SignedNote::parse(&request.note)
            .map_err(|e| AddError::BadRequest(format!("the checkpoint note: {e}")))?;
        let checkpoint = Checkpoint::parse(&note.body)
            .map_err(|e| AddError::BadRequest(format!("the checkpoint: {e}")))?;
        let log = self
            .logs
            .get(&checkpoint.origin)
            .ok_or_else(|| AddError::UnknownLog(checkpoint.origin.clone()))?;
        note.verify(log)
            .map_err(|e| AddError::BadSignature(e.to_string()))?;

        // One submission at a time: the check and the state write are one step.
        let mut state = self.state.lock().await;
        let (seen_size, seen_root) = match state.get(&checkpoint.origin) {
            Some(seen) => (seen.size, decode_root(&seen.root)?),
            None => (0, EMPTY_ROOT),
        };
        if request.old != seen_size {
            return Err(AddError::Conflict(seen_size));
        }
        if checkpoint.size < seen_size {
            return Err(AddError::BadRequest(format!(
                "the checkpoint's size {} is below the old size {seen_size}",
                checkpoint.size
            )));
        }
        shengshi_tlog::verify_consistency(
            seen_size,
            checkpoint.size,
            &seen_root,
            &checkpoint.root,
            &request.proof,
        )
        .map_err(|e| AddError::Inconsistent(e.to_string()))?;
        let mut next = state.clone();
        next.insert(
            checkpoint.origin.clone(),
            Seen {
                size: checkpoint.size,
                root: hex::encode(checkpoint.root),
            },
        );
        save_state(&self.state_file, &next).map_err(AddError::State)?;
        *state = next;
        Ok(self.cosigner.cosign(&note.body, now_seconds))
    }
}

fn decode_root(text: &str) -> Result<Hash, AddError> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| AddError::State("a stored root is not 32 bytes of hex".into()))
}

/// Writes the state so that a crash leaves either the old or the new file.
fn save_state(path: &Path, state: &BTreeMap<String, Seen>) -> Result<(), String> {
    use std::io::Write;
    let json = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary).map_err(|e| e.to_string())?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .map_err(|e| e.to_string())?;
    std::fs::rename(&temporary, path).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

struct Request {
    old: u64,
    proof: Vec<Hash>,
    note: String,
}

/// `old <size>\n`, the proof's hashes one per line in base64, an empty line,
/// then the checkpoint note.
fn parse_request(body: &str) -> Result<Request, AddError> {
    let bad = |why: &str| AddError::BadRequest(why.to_owned());
    let (first, rest) = body
        .split_once('\n')
        .ok_or_else(|| bad("no old size line"))?;
    let old = first
        .strip_prefix("old ")
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| bad("the first line must be `old <size>`"))?;
    // The proof ends at the first empty line; an empty proof leaves it first.
    let (proof_text, note) = match rest.strip_prefix('\n') {
        Some(note) => ("", note),
        None => rest
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?,
    };
    let proof = proof_text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            BASE64
                .decode(line)
                .ok()
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| bad("a proof line is not a base64 SHA-256 hash"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Request {
        old,
        proof,
        note: note.to_owned(),
    })
}

/// The request body for a submission (what [`HttpWitness`] sends).
pub fn request_body(old_size: u64, proof: &[Hash], note: &str) -> String {
    let mut body = format!("old {old_size}\n");
    for hash in proof {
        body.push_str(&BASE64.encode(hash));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// The witness's HTTP interface: `POST /add-checkpoint`.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .with_state(witness)
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let Ok(body) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not UTF-8\n").into_response();
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match witness.add_checkpoint(body, now).await {
        Ok(line) => (StatusCode::OK, format!("{line}\n")).into_response(),
        Err(AddError::Conflict(size)) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            format!("{size}\n"),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "checkpoint not cosigned");
            (e.status(), format!("{e}\n")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shengshi_tlog::{CompactRange, NoteSigner};

    const LOG: &str = "shengshi.access-log/test";

    fn note_for(signer: &NoteSigner, leaves: &[Hash]) -> String {
        let range = CompactRange::from_leaves(leaves).unwrap();
        let body = Checkpoint {
            origin: LOG.into(),
            size: range.size(),
            root: range.root(),
        }
        .body();
        let mut note = SignedNote::new(&body).unwrap();
        note.add_signature_line(&signer.sign(&body)).unwrap();
        note.to_text()
    }

    fn leaves(n: u8) -> Vec<Hash> {
        (0..n).map(|i| shengshi_tlog::leaf_hash(&[i])).collect()
    }

    #[tokio::test]
    async fn cosigns_only_known_logs_extending_what_it_saw_and_remembers_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let log = NoteSigner::new(LOG, &[7; 32]).unwrap();
        let open = || {
            Witness::open(
                "w.example/witness",
                &[9; 32],
                vec![log.verifier()],
                state.clone(),
            )
            .unwrap()
        };
        let witness = open();
        let all = leaves(5);

        // Unknown log, bad signature, malformed body.
        let stranger = NoteSigner::new("other.log", &[7; 32]).unwrap();
        let body = request_body(
            0,
            &[],
            &note_for(&stranger, &all[..2]).replace(LOG, "other.log"),
        );
        assert!(matches!(
            witness.add_checkpoint(&body, 1).await,
            Err(AddError::UnknownLog(_) | AddError::BadSignature(_) | AddError::BadRequest(_))
        ));
        let forger = NoteSigner::new(LOG, &[8; 32]).unwrap();
        let body = request_body(0, &[], &note_for(&forger, &all[..2]));
        assert!(matches!(
            witness.add_checkpoint(&body, 1).await,
            Err(AddError::BadSignature(_))
        ));
        assert!(matches!(
            witness.add_checkpoint("old x\n\n", 1).await,
            Err(AddError::BadRequest(_))
        ));

        // First checkpoint from 0, then an extension with its proof.
        let body = request_body(0, &[], &note_for(&log, &all[..2]));
        let line = witness.add_checkpoint(&body, 100).await.unwrap();
        assert!(line.starts_with("— w.example/witness "), "{line}");
        let proof = shengshi_tlog::consistency_proof(&all, 2, 5).unwrap();
        let body = request_body(2, &proof, &note_for(&log, &all));
        witness.add_checkpoint(&body, 101).await.unwrap();

        // After a restart it still knows size 5: a stale `old` gets a 409 with 5.
        let witness = open();
        let body = request_body(2, &proof, &note_for(&log, &all));
        assert_eq!(
            witness.add_checkpoint(&body, 102).await,
            Err(AddError::Conflict(5))
        );

        // A fork (a different leaf 3) does not extend what it cosigned.
        let mut fork = leaves(6);
        fork[3] = shengshi_tlog::leaf_hash(b"rewritten");
        let proof = shengshi_tlog::consistency_proof(&fork, 5, 6).unwrap();
        let body = request_body(5, &proof, &note_for(&log, &fork));
        assert!(matches!(
            witness.add_checkpoint(&body, 103).await,
            Err(AddError::Inconsistent(_))
        ));
        // The honest extension still works.
        let honest = leaves(6);
        let proof = shengshi_tlog::consistency_proof(&honest, 5, 6).unwrap();
        let body = request_body(5, &proof, &note_for(&log, &honest));
        witness.add_checkpoint(&body, 104).await.unwrap();
    }
}
