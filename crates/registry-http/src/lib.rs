//! A province's population registry over HTTP.
//!
//! [`HttpRegistry`] implements [`shengshi_app::registry::PopulationRegistry`]
//! over the JSON contract in `docs/registry-protocol.md`:
//! `POST {base}/v1/identity-checks` with a bearer token. There is no national
//! public standard for this call, so the contract is ours; a province puts an
//! adapter in front of its real registry that speaks it.
//!
//! The client is strict: every field of an answer goes through the domain
//! types, the person returned must be the person asked about, and an answer
//! that is too big or malformed in any way is
//! [`RegistryError::Malformed`](shengshi_app::registry::RegistryError::Malformed),
//! never a verdict. A timeout is
//! [`RegistryError::Timeout`](shengshi_app::registry::RegistryError::Timeout)
//! and any other failure
//! [`RegistryError::Unavailable`](shengshi_app::registry::RegistryError::Unavailable):
//! an error never means "not found". Logs carry masked ID numbers and names only.
//!
//! With the `fake` feature, [`FakeRegistry`] is a **fake** registry (an
//! in-memory table of fictional people, loopback only) that speaks the same
//! contract and injects faults. It is for tests and demos, never a registry.

mod client;
#[cfg(feature = "fake")]
mod fake;

pub use client::{
    HttpRegistry, HttpRegistryBuilder, SettingsError, DEFAULT_BACKOFF, DEFAULT_DEADLINE,
    DEFAULT_MAX_RETRY_AFTER, DEFAULT_RETRIES, DEFAULT_TIMEOUT, ENDPOINT_PATH, MAX_BODY_BYTES,
};
#[cfg(feature = "fake")]
pub use fake::{FakeRegistry, Fault, Malformation};
