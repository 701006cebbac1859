//! C2SP tlog-cosignature, Ed25519 `cosignature/v1`: a witness's statement
//! that it saw a checkpoint consistent with everything it saw before.

use ed25519_dalek::{Signature, Signer};

use crate::keys::{NamedKey, NamedSigner, ALG_COSIGNATURE_V1};
use crate::{SignedNote, TlogError};

/// The header line of the message a `cosignature/v1` signs.
pub const COSIGNATURE_HEADER: &str = "cosignature/v1";

/// `cosignature/v1\ntime <t>\n` followed by the checkpoint body: the time is
/// signed too, so a cosignature cannot be replayed as a fresher one.
fn signed_message(checkpoint_body: &str, unix_seconds: u64) -> String {
    format!("{COSIGNATURE_HEADER}\ntime {unix_seconds}\n{checkpoint_body}")
}

/// A witness key that cosigns checkpoints.
#[derive(Clone, Debug)]
pub struct Cosigner {
    inner: NamedSigner,
}

impl Cosigner {
    /// A cosigner named `name` (a schema-less URL identifying the witness).
    pub fn new(name: &str, secret: &[u8; 32]) -> Result<Self, TlogError> {
        Ok(Self {
            inner: NamedSigner::new(name, ALG_COSIGNATURE_V1, secret)?,
        })
    }

    /// The verifier for this cosigner's public key.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            inner: self.inner.public.clone(),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.inner.public.name
    }

    /// The 4-byte key ID, `SHA-256(name || "\n" || 0x04 || public key)[:4]`.
    pub fn key_id(&self) -> [u8; 4] {
        self.inner.public.key_id
    }

    /// The signature line cosigning `checkpoint_body` at `unix_seconds`,
    /// without a trailing newline. Its payload after the key ID is the 8-byte
    /// big-endian time followed by the Ed25519 signature.
    pub fn cosign(&self, checkpoint_body: &str, unix_seconds: u64) -> String {
        let message = signed_message(checkpoint_body, unix_seconds);
        let signature = self.inner.key.sign(message.as_bytes());
        let mut payload = Vec::with_capacity(8 + 64);
        payload.extend_from_slice(&unix_seconds.to_be_bytes());
        payload.extend_from_slice(&signature.to_bytes());
        self.inner.signature_line(&payload)
    }
}

/// Verifies one witness's cosignatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    inner: NamedKey,
}

impl CosignatureVerifier {
    /// A verifier for witness `name` and its 32-byte Ed25519 public key.
    pub fn new(name: &str, public: &[u8; 32]) -> Result<Self, TlogError> {
        Ok(Self {
            inner: NamedKey::new(name, ALG_COSIGNATURE_V1, public)?,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> [u8; 4] {
        self.inner.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.inner.key.to_bytes()
    }

    /// The verifier key string `<name>+<hex key ID>+<base64(0x04 || public
    /// key)>`.
    pub fn to_vkey(&self) -> String {
        self.inner.to_vkey(ALG_COSIGNATURE_V1)
    }

    /// Parses a verifier key string of signature type 0x04, checking its key
    /// ID.
    pub fn from_vkey(vkey: &str) -> Result<Self, TlogError> {
        Ok(Self {
            inner: NamedKey::from_vkey(vkey, ALG_COSIGNATURE_V1)?,
        })
    }

    /// Verifies this witness's cosignature on the note; returns the cosigned
    /// time (Unix seconds).
    ///
    /// Lines by other keys are ignored. A line claiming this witness's name
    /// and key ID that does not verify rejects the note. If the witness
    /// cosigned more than once, the latest time is returned.
    pub fn verify(&self, note: &SignedNote) -> Result<u64, TlogError> {
        let key = &self.inner;
        let mut latest = None;
        for line in note.signatures.iter().filter(|s| s.is_by(key)) {
            let time = line
                .signature
                .split_first_chunk::<8>()
                .and_then(|(time, signature)| {
                    let time = u64::from_be_bytes(*time);
                    let signature = Signature::from_slice(signature).ok()?;
                    let message = signed_message(&note.body, time);
                    key.key
                        .verify_strict(message.as_bytes(), &signature)
                        .ok()
                        .map(|()| time)
                })
                .ok_or_else(|| TlogError::BadCosignature {
                    name: key.name.clone(),
                })?;
            latest = latest.max(Some(time));
        }
        latest.ok_or_else(|| TlogError::NoCosignature {
            name: key.name.clone(),
        })
    }
}
