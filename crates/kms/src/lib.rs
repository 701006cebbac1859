//! The key-encryption key in a key management service, outside the server.
//!
//! [`VaultTransitKek`] implements [`shengshi_envelope::KeyEncryptionKey`] over the
//! HTTP API of the Transit secrets engine of HashiCorp Vault and OpenBao:
//! `POST {addr}/v1/{mount}/encrypt/{key}` and `POST {addr}/v1/{mount}/decrypt/{key}`,
//! authenticated by the `X-Vault-Token` header. The key material never enters
//! the server: every wrap and unwrap is a call the KMS can authorise and audit.
//!
//! The transit key **must be created with `derived=true`**, for example
//! `vault write -f transit/keys/shengshi-kek derived=true`. Only a derived key
//! binds the context (data key id and algorithm) to the ciphertext; Vault
//! silently ignores the context of a key created without it.
//! [`self_test`] refuses such a key.
//!
//! With the `fake` feature, [`FakeVaultTransit`] is a **fake** Transit server
//! (in-memory keys, loopback only) for tests and demos. It speaks the same two
//! endpoints and is never a KMS.

#[cfg(feature = "fake")]
mod fake;
mod transit;

#[cfg(feature = "fake")]
pub use fake::FakeVaultTransit;
pub use transit::{
    is_valid_key_name, is_valid_mount, self_test, SettingsError, VaultTransitBuilder,
    VaultTransitKek, DEFAULT_BACKOFF, DEFAULT_MOUNT, DEFAULT_RETRIES, DEFAULT_TIMEOUT,
};
