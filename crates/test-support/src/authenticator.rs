//! A software passkey authenticator for tests: it answers the JSON challenges
//! the platform sends browsers exactly as a browser with a platform
//! authenticator would (ES256 keys, "none" attestation, user verified, a
//! signature counter), so the real WebAuthn verification runs in tests.
//!
//! Only for tests: keys live in memory and nothing guards them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// One discoverable credential held by the authenticator.
#[derive(Clone, Debug)]
pub struct TestCredential {
    pub id: Vec<u8>,
    pub user_handle: Vec<u8>,
    pub rp_id: String,
    key: SigningKey,
    pub counter: u32,
}

/// An authenticator holding any number of credentials.
#[derive(Clone, Debug, Default)]
pub struct TestAuthenticator {
    pub credentials: Vec<TestCredential>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    let text = value.as_str().expect("a base64url string");
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

fn random_key() -> SigningKey {
    loop {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            return key;
        }
    }
}

/// A CBOR byte-string header for `len` bytes (lengths below 65536).
fn cbor_bytes_header(len: usize) -> Vec<u8> {
    match len {
        0..=23 => vec![0x40 | len as u8],
        24..=255 => vec![0x58, len as u8],
        _ => vec![0x59, (len >> 8) as u8, len as u8],
    }
}

fn cbor_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = cbor_bytes_header(data.len());
    out.extend_from_slice(data);
    out
}

/// The COSE_Key of an ES256 public key: {1: 2, 3: -7, -1: 1, -2: x, -3: y}.
fn cose_key(key: &SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_sec1_point(false);
    let sec1 = point.as_bytes();
    let (x, y) = (&sec1[1..33], &sec1[33..65]);
    let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
    out.extend(cbor_bytes(x));
    out.push(0x22);
    out.extend(cbor_bytes(y));
    out
}

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_AT: u8 = 0x40;

fn client_data(kind: &str, challenge: &Value, origin: &str) -> Vec<u8> {
    json!({
        "type": kind,
        "challenge": challenge.as_str().expect("challenge"),
        "origin": origin,
        "crossOrigin": false,
    })
    .to_string()
    .into_bytes()
}

impl TestAuthenticator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `navigator.credentials.create` for `options` (the
    /// `publicKey` object the platform sent, or the whole challenge response
    /// with it inside) from a page at `origin`. Returns the credential JSON.
    pub fn register(&mut self, options: &Value, origin: &str) -> Value {
        let options = options.get("publicKey").unwrap_or(options);
        let rp_id = options["rp"]["id"].as_str().expect("rp.id").to_owned();
        let user_handle = unb64(&options["user"]["id"]);
        let key = random_key();
        let mut id = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut id);

        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(FLAG_UP | FLAG_UV | FLAG_AT);
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: none given
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend(cose_key(&key));

        // {"fmt": "none", "attStmt": {}, "authData": bytes}
        let mut attestation = vec![0xa3, 0x63];
        attestation.extend_from_slice(b"fmt");
        attestation.push(0x64);
        attestation.extend_from_slice(b"none");
        attestation.push(0x67);
        attestation.extend_from_slice(b"attStmt");
        attestation.push(0xa0);
        attestation.push(0x68);
        attestation.extend_from_slice(b"authData");
        attestation.extend(cbor_bytes(&auth_data));

        let client_data = client_data("webauthn.create", &options["challenge"], origin);
        self.credentials.push(TestCredential {
            id: id.clone(),
            user_handle,
            rp_id,
            key,
            counter: 0,
        });
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
            },
            "extensions": {},
        })
    }

    /// Answers `navigator.credentials.get` with the credential at `index`
    /// (discoverable login: the user picks one), advancing its counter.
    pub fn authenticate(&mut self, options: &Value, origin: &str, index: usize) -> Value {
        let options = options.get("publicKey").unwrap_or(options);
        let credential = &mut self.credentials[index];
        credential.counter += 1;
        let mut auth_data = Sha256::digest(credential.rp_id.as_bytes()).to_vec();
        auth_data.push(FLAG_UP | FLAG_UV);
        auth_data.extend_from_slice(&credential.counter.to_be_bytes());
        let client_data = client_data("webauthn.get", &options["challenge"], origin);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = credential.key.sign(&signed);
        json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": b64(&credential.user_handle),
            },
            "extensions": {},
        })
    }
}
