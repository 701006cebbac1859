//! The encryption envelope for personal data.
//!
//! * Every data subject has its own **data key**. Personal data is sealed with it;
//!   destroying the key erases the subject, in backups too.
//! * Data keys are stored only **wrapped** by a key-encryption key (KEK) that lives
//!   outside the data directory: a file or secret in development, a KMS in
//!   production (anything implementing [`KeyEncryptionKey`]).
//! * Every ciphertext names its algorithm and its key, so algorithms and keys can
//!   change without guessing: AES-256-GCM by default, SM4-GCM (GB/T 32907) for
//!   deployments that must use the national algorithms.
//!
//! Decryption here is the mechanism only; who may call it is decided by the
//! application's audited door.

mod algorithm;
mod kek;
mod sealed;
mod token;

pub use algorithm::Algorithm;
pub use kek::{AsDynKek, KekError, KeyEncryptionKey, KeyRing, LocalKek};
pub use sealed::{DataKey, EnvelopeError, KeyRef, Sealed};
pub use token::TokenKey;
