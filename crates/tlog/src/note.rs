//! C2SP signed notes with Ed25519 signatures, compatible with Go's
//! `golang.org/x/mod/sumdb/note`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer};

use crate::keys::{check_key_name, NamedKey, NamedSigner, ALG_ED25519};
use crate::TlogError;

/// The most signature lines a note may carry. The spec asks verifiers to
/// accept at least 16; Go's note package stops at 100, and so do we.
pub const MAX_SIGNATURES: usize = 100;

const SIGNATURE_PREFIX: &str = "— ";

/// Signs note bodies (such as checkpoints) as the log.
#[derive(Clone, Debug)]
pub struct NoteSigner {
    inner: NamedSigner,
}

impl NoteSigner {
    /// A signer named `name` (for a log, its origin) with an Ed25519 secret.
    pub fn new(name: &str, secret: &[u8; 32]) -> Result<Self, TlogError> {
        Ok(Self {
            inner: NamedSigner::new(name, ALG_ED25519, secret)?,
        })
    }

    /// The verifier for this signer's public key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            inner: self.inner.public.clone(),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.inner.public.name
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> [u8; 4] {
        self.inner.public.key_id
    }

    /// The signature line `— <name> <base64(key ID || signature)>` over
    /// `body`, without a trailing newline.
    ///
    /// `body` must be valid note text (ending in a newline, no control
    /// characters other than newline) for the note to parse again.
    pub fn sign(&self, body: &str) -> String {
        let signature = self.inner.key.sign(body.as_bytes());
        self.inner.signature_line(&signature.to_bytes())
    }
}

/// Verifies note signatures by one named Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    inner: NamedKey,
}

impl NoteVerifier {
    /// A verifier for `name` and a 32-byte Ed25519 public key.
    pub fn new(name: &str, public: &[u8; 32]) -> Result<Self, TlogError> {
        Ok(Self {
            inner: NamedKey::new(name, ALG_ED25519, public)?,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The 4-byte key ID, `SHA-256(name || "\n" || 0x01 || public key)[:4]`.
    pub fn key_id(&self) -> [u8; 4] {
        self.inner.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.inner.key.to_bytes()
    }

    /// The verifier key string `<name>+<hex key ID>+<base64(0x01 || public
    /// key)>`, as Go's note package writes it, to publish for auditors.
    pub fn to_vkey(&self) -> String {
        self.inner.to_vkey(ALG_ED25519)
    }

    /// Parses a verifier key string, checking that its key ID matches.
    pub fn from_vkey(vkey: &str) -> Result<Self, TlogError> {
        Ok(Self {
            inner: NamedKey::from_vkey(vkey, ALG_ED25519)?,
        })
    }
}

/// One signature line of a note, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: [u8; 4],
    /// The signature bytes after the key ID; their meaning depends on the
    /// signature type (64 bytes for Ed25519, 72 for `cosignature/v1`).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Parses `— <name> <base64(key ID || signature)>` (no newline).
    pub fn parse_line(line: &str) -> Result<Self, TlogError> {
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(TlogError::MalformedSignatureLine(
                "it does not start with an em dash and a space",
            ))?;
        let (name, encoded) = rest
            .split_once(' ')
            .ok_or(TlogError::MalformedSignatureLine(
                "it has no space between key name and signature",
            ))?;
        check_key_name(name)?;
        let payload = BASE64
            .decode(encoded)
            .map_err(|_| TlogError::MalformedSignatureLine("the signature is not base64"))?;
        match payload.split_first_chunk::<4>() {
            Some((key_id, signature)) if !signature.is_empty() => Ok(Self {
                name: name.to_owned(),
                key_id: *key_id,
                signature: signature.to_vec(),
            }),
            _ => Err(TlogError::MalformedSignatureLine(
                "the signature is too short to hold a key ID and a signature",
            )),
        }
    }

    /// The signature line, without a trailing newline.
    pub fn to_line(&self) -> String {
        let mut payload = Vec::with_capacity(4 + self.signature.len());
        payload.extend_from_slice(&self.key_id);
        payload.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}", self.name, BASE64.encode(payload))
    }

    /// Whether this signature claims to be by the key with `name` and `key_id`.
    pub(crate) fn is_by(&self, key: &NamedKey) -> bool {
        self.name == key.name && self.key_id == key.key_id
    }
}

/// A note: text followed by a blank line and signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, including its final newline.
    pub body: String,
    pub signatures: Vec<NoteSignature>,
}

fn check_no_control_characters(text: &str) -> Result<(), TlogError> {
    if text.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(TlogError::NoteControlCharacter);
    }
    Ok(())
}

impl SignedNote {
    /// A note with `body` and no signatures yet, checking the body is note
    /// text: ending in a newline, no control characters other than newline.
    pub fn new(body: &str) -> Result<Self, TlogError> {
        check_no_control_characters(body)?;
        if !body.ends_with('\n') {
            return Err(TlogError::NoteNoFinalNewline);
        }
        Ok(Self {
            body: body.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note. Signatures are only parsed, not verified; see
    /// [`SignedNote::verify`].
    pub fn parse(text: &str) -> Result<Self, TlogError> {
        check_no_control_characters(text)?;
        // The text ends at the last blank line; it may contain blank lines.
        let split = text.rfind("\n\n").ok_or(TlogError::NoteNoSignatures)?;
        let (body, signatures) = (&text[..=split], &text[split + 2..]);
        let Some(signatures) = signatures.strip_suffix('\n') else {
            return Err(if signatures.is_empty() {
                TlogError::NoteNoSignatures
            } else {
                TlogError::MalformedSignatureLine("the last signature line has no newline")
            });
        };
        let mut note = Self {
            body: body.to_owned(),
            signatures: Vec::new(),
        };
        for line in signatures.split('\n') {
            note.push(NoteSignature::parse_line(line)?)?;
        }
        Ok(note)
    }

    /// The note as text: body, blank line, one signature line each.
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(self.body.len() + 1 + 128 * self.signatures.len());
        text.push_str(&self.body);
        text.push('\n');
        for signature in &self.signatures {
            text.push_str(&signature.to_line());
            text.push('\n');
        }
        text
    }

    /// Adds a signature line, such as [`NoteSigner::sign`] or
    /// [`crate::Cosigner::cosign`] returns; one trailing newline is allowed.
    pub fn add_signature_line(&mut self, line: &str) -> Result<(), TlogError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        check_no_control_characters(line)?;
        self.push(NoteSignature::parse_line(line)?)
    }

    fn push(&mut self, signature: NoteSignature) -> Result<(), TlogError> {
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(TlogError::NoteTooManySignatures(MAX_SIGNATURES));
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Ok if a signature by this verifier is present and valid.
    ///
    /// Signatures by unknown keys (another name or key ID) are ignored, as the
    /// spec says; but any signature line claiming this key that does not
    /// verify rejects the note, since only a forger writes one.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<(), TlogError> {
        let key = &verifier.inner;
        let mut found = false;
        for signature in self.signatures.iter().filter(|s| s.is_by(key)) {
            let valid = Signature::from_slice(&signature.signature)
                .is_ok_and(|sig| key.key.verify_strict(self.body.as_bytes(), &sig).is_ok());
            if !valid {
                return Err(TlogError::BadSignature {
                    name: key.name.clone(),
                });
            }
            found = true;
        }
        if !found {
            return Err(TlogError::NoValidSignature {
                name: key.name.clone(),
            });
        }
        Ok(())
    }
}
