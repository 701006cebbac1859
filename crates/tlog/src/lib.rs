//! Transparency-log primitives for the access log ("who accessed my data").
//!
//! Pure logic, no I/O: the storage and the sequencer live elsewhere and call
//! into this crate. It provides
//!
//! - RFC 9162 §2 Merkle tree hashing, inclusion and consistency proofs, and a
//!   [`CompactRange`] so a sequencer can extend the tree without its leaves;
//! - C2SP `tlog-checkpoint` bodies ([`Checkpoint`]);
//! - C2SP `signed-note` Ed25519 signatures ([`NoteSigner`], [`NoteVerifier`],
//!   [`SignedNote`]), byte-compatible with Go's `golang.org/x/mod/sumdb/note`;
//! - C2SP `tlog-cosignature` Ed25519 witness cosignatures (`cosignature/v1`,
//!   [`Cosigner`], [`CosignatureVerifier`]).
//!
//! Citizens (or anyone they trust) can then check that an access record is in
//! the log, that the log never rewrote history, and that witnesses saw the same
//! log as everybody else.

mod checkpoint;
mod cosignature;
mod error;
mod keys;
mod merkle;
mod note;

pub use checkpoint::Checkpoint;
pub use cosignature::{CosignatureVerifier, Cosigner, COSIGNATURE_HEADER};
pub use error::TlogError;
pub use keys::{ed25519_public, generate_ed25519_secret};
pub use merkle::{
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root, verify_consistency,
    verify_inclusion, CompactRange, Hash, EMPTY_ROOT,
};
pub use note::{NoteSignature, NoteSigner, NoteVerifier, SignedNote, MAX_SIGNATURES};
