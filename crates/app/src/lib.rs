//! Use cases. Each module is one use case (or a small family) with its own error
//! type; they depend on the storage traits and the clock, never on a driver or
//! on HTTP.

pub mod access_log;
pub mod access_view;
pub mod audit;
pub mod break_glass;
pub mod carrier;
pub mod casework;
pub mod door;
pub mod eid;
pub mod eid_document;
pub mod eid_holder;
pub mod embargo;
pub mod health;
pub mod installation;
pub mod keys;
pub mod login;
pub mod mandates;
pub mod passkeys;
pub mod phone_codes;
pub mod portrait;
pub mod proofing;
pub mod registration;
pub mod registry;
pub mod registry_db;
pub mod rights;
mod secret_token;
pub mod secrets;
pub mod security_log;
pub mod sms;
pub mod staff;
pub mod transfer;
pub mod verifier_applications;
pub mod verifiers;
pub mod witnessing;

use shengshi_domain::Clock;
use shengshi_envelope::{Algorithm, KeyEncryptionKey};
use shengshi_store::Store;
use std::sync::Arc;

pub use security_log::SecurityLog;

/// What every use case may need, built once at start-up.
#[derive(Clone, Debug)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub kek: Arc<dyn KeyEncryptionKey>,
    pub security_log: SecurityLog,
    /// Algorithm for newly created data keys.
    pub envelope_algorithm: Algorithm,
    /// Where every opening of personal data is recorded (see `door`).
    pub access_log: access_log::AccessLog,
}
