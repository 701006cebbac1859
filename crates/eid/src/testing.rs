//! Helpers for tests and the corpus generator: building codes that are wrong
//! on purpose. Not part of the stable API.

use crate::cbor;
use crate::keys::{SignError, Signer};

/// Negates s of an r‖s P-256 signature (s ↦ n − s): the high-S twin of a low-S signature.
pub fn negate_s_p256(signature: &[u8]) -> Vec<u8> {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let mut out = signature.to_vec();
    let s = &signature[32..64];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        if d < 0 {
            d += 256;
            borrow = 1;
        } else {
            borrow = 0;
        }
        out[32 + i] = d as u8;
    }
    out
}

/// Adds the Ed25519 group order L to S (little-endian): same point, non-canonical scalar.
pub fn add_l_ed25519(signature: &[u8]) -> Vec<u8> {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10,
    ];
    let mut out = signature.to_vec();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(signature[32 + i]) + u16::from(L[i]) + carry;
        out[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

/// The protected header `{1: alg, 4: kid}` as we write it.
pub fn protected_header(alg: i64, kid: &[u8]) -> Vec<u8> {
    cbor::protected_header(alg, kid, None, None)
}

/// The COSE Sig_structure with empty external AAD.
pub fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    cbor::sig_structure(protected, payload)
}

/// A tagged COSE_Sign1 with an empty unprotected header.
pub fn encode_sign1(protected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
    cbor::encode_sign1(protected, payload, signature)
}

/// Signs an arbitrary payload (any CBOR bytes) as a COSE_Sign1 with `signer`.
pub fn sign_payload(payload: &[u8], signer: &dyn Signer) -> Result<Vec<u8>, SignError> {
    let protected = protected_header(signer.algorithm().cose_id(), &signer.key_id().0);
    let signature = signer.sign(&sig_structure(&protected, payload))?;
    Ok(encode_sign1(&protected, payload, &signature))
}

/// Encodes a ciborium value (for building payloads by hand).
pub fn encode_value(value: &ciborium::Value) -> Vec<u8> {
    cbor::encode(value)
}

/// Takes a tagged COSE_Sign1 apart: (protected, payload, signature).
pub fn split_sign1(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let s = cbor::parse_sign1(bytes, &[3, 16]).ok()?;
    Some((
        s.protected_bytes.to_vec(),
        s.payload.to_vec(),
        s.signature.to_vec(),
    ))
}

/// Takes a device COSE_Sign1 (protected header `{1: alg}`, no kid) apart:
/// (protected, payload, signature).
pub fn split_device_sign1(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let s = cbor::parse_sign1_without_kid(bytes).ok()?;
    Some((
        s.protected_bytes.to_vec(),
        s.payload.to_vec(),
        s.signature.to_vec(),
    ))
}
