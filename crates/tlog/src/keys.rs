//! Ed25519 keys as the C2SP signed-note family names and identifies them.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::TlogError;

/// Signature type byte of a plain Ed25519 note signature (C2SP signed-note).
pub(crate) const ALG_ED25519: u8 = 0x01;
/// Signature type byte of an Ed25519 `cosignature/v1` (C2SP tlog-cosignature).
pub(crate) const ALG_COSIGNATURE_V1: u8 = 0x04;

/// A fresh Ed25519 secret key from the operating system's randomness.
///
/// Panics only if the operating system cannot supply randomness at all, in
/// which case no key could be made safely anyway.
pub fn generate_ed25519_secret() -> [u8; 32] {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    secret
}

/// The Ed25519 public key belonging to a 32-byte secret key.
pub fn ed25519_public(secret: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(secret).verifying_key().to_bytes()
}

/// Checks a key name: non-empty, no Unicode spaces, no '+' (it separates
/// vkey fields) and no control characters (they may not appear in notes).
pub(crate) fn check_key_name(name: &str) -> Result<(), TlogError> {
    let bad = name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+');
    if bad {
        return Err(TlogError::InvalidKeyName(name.to_owned()));
    }
    Ok(())
}

/// `SHA-256(name || "\n" || type || public key)[:4]`, the key ID every C2SP
/// signature line carries so verifiers can pick the right key.
pub(crate) fn key_id(name: &str, alg: u8, public: &[u8; 32]) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([alg])
        .chain_update(public)
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A named Ed25519 public key for one signature type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NamedKey {
    pub(crate) name: String,
    pub(crate) key_id: [u8; 4],
    pub(crate) key: VerifyingKey,
}

impl NamedKey {
    pub(crate) fn new(name: &str, alg: u8, public: &[u8; 32]) -> Result<Self, TlogError> {
        check_key_name(name)?;
        let key = VerifyingKey::from_bytes(public).map_err(|_| TlogError::InvalidPublicKey)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, alg, public),
            key,
        })
    }

    /// `<name>+<hex key ID>+<base64(type || public key)>`, as Go's note package.
    pub(crate) fn to_vkey(&self, alg: u8) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(alg);
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            BASE64.encode(material)
        )
    }

    /// Parses a vkey of signature type `alg`, checking its key ID.
    pub(crate) fn from_vkey(vkey: &str, alg: u8) -> Result<Self, TlogError> {
        // The name has no '+'; the base64 part may, so split at most twice.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(TlogError::MalformedVkey(
                "it needs three '+'-separated parts",
            ));
        };
        let id: [u8; 4] = hex::decode(id_hex)
            .ok()
            .and_then(|id| id.try_into().ok())
            .ok_or(TlogError::MalformedVkey(
                "the key ID is not 8 hexadecimal digits",
            ))?;
        let material = BASE64
            .decode(material)
            .map_err(|_| TlogError::MalformedVkey("the key is not base64"))?;
        let Some((&got, public)) = material.split_first() else {
            return Err(TlogError::MalformedVkey("the key is empty"));
        };
        if got != alg {
            return Err(TlogError::VkeyWrongType { got, want: alg });
        }
        let public: &[u8; 32] = public
            .try_into()
            .map_err(|_| TlogError::MalformedVkey("the public key is not 32 bytes"))?;
        let named = Self::new(name, alg, public)?;
        if named.key_id != id {
            return Err(TlogError::VkeyKeyIdMismatch);
        }
        Ok(named)
    }
}

/// An Ed25519 signing key with its name and key ID for one signature type.
#[derive(Clone)]
pub(crate) struct NamedSigner {
    pub(crate) public: NamedKey,
    pub(crate) key: SigningKey,
}

impl std::fmt::Debug for NamedSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("NamedSigner")
            .field("name", &self.public.name)
            .field("key_id", &hex::encode(self.public.key_id))
            .finish_non_exhaustive()
    }
}

impl NamedSigner {
    pub(crate) fn new(name: &str, alg: u8, secret: &[u8; 32]) -> Result<Self, TlogError> {
        let key = SigningKey::from_bytes(secret);
        let public = NamedKey::new(name, alg, &key.verifying_key().to_bytes())?;
        Ok(Self { public, key })
    }

    /// `— <name> <base64(key ID || signature bytes)>`, without a newline.
    pub(crate) fn signature_line(&self, signature: &[u8]) -> String {
        let mut payload = Vec::with_capacity(4 + signature.len());
        payload.extend_from_slice(&self.public.key_id);
        payload.extend_from_slice(signature);
        format!("— {} {}", self.public.name, BASE64.encode(payload))
    }
}
