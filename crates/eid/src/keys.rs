//! Signature algorithms, public keys, key ids and signers.
//!
//! Verification is strict and the same for every caller:
//! - Ed25519: the signature's S must be below the group order L (else
//!   `non_canonical_signature`), then ed25519-dalek's `verify_strict` (which
//!   also refuses small-order keys and R).
//! - ECDSA P-256: r and s in 1..n-1, s ≤ n/2 (low S, else
//!   `non_canonical_signature`), then ring's `ECDSA_P256_SHA256_FIXED`.
//! - SM2 with SM3 (GB/T 32918.2, signature format GB/T 35276, default user id
//!   "1234567812345678"): r and s in 1..n-1, then the RustCrypto `sm2` crate.

use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// The COSE algorithm id we use for SM2 with SM3. It is in the private-use
/// range (< -65536) of the IANA COSE Algorithms registry: no SM2 algorithm is
/// registered there.
pub const COSE_ALG_SM2_SM3: i64 = -65537;
/// COSE `EdDSA` (RFC 9053), what EU DCC and mdoc verifiers expect for Ed25519.
pub const COSE_ALG_EDDSA: i64 = -8;
/// COSE `ES256`: ECDSA with P-256 and SHA-256.
pub const COSE_ALG_ES256: i64 = -7;

/// The SM2 user id (distinguishing identifier) of GB/T 35276 when none is agreed.
pub const SM2_DEFAULT_USER_ID: &str = "1234567812345678";

/// A signature algorithm an issuer key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Ed25519 (RFC 8032), COSE `EdDSA` (-8). The default.
    Ed25519,
    /// ECDSA over P-256 with SHA-256, COSE `ES256` (-7).
    EcdsaP256,
    /// SM2 with SM3, private-use COSE id [`COSE_ALG_SM2_SM3`].
    Sm2,
}

impl Algorithm {
    /// Every algorithm, in order of preference.
    pub const ALL: [Algorithm; 3] = [Algorithm::Ed25519, Algorithm::EcdsaP256, Algorithm::Sm2];

    /// The COSE algorithm id (protected header label 1).
    pub fn cose_id(self) -> i64 {
        match self {
            Algorithm::Ed25519 => COSE_ALG_EDDSA,
            Algorithm::EcdsaP256 => COSE_ALG_ES256,
            Algorithm::Sm2 => COSE_ALG_SM2_SM3,
        }
    }

    /// The algorithm with this COSE id, if we accept it.
    pub fn from_cose_id(id: i64) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.cose_id() == id)
    }

    /// The JOSE/JWK `alg` name: "EdDSA", "ES256", "SM2-SM3".
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "EdDSA",
            Algorithm::EcdsaP256 => "ES256",
            Algorithm::Sm2 => "SM2-SM3",
        }
    }

    /// A short lower-case name for files and command lines: "ed25519", "p256", "sm2".
    pub fn short_name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256 => "p256",
            Algorithm::Sm2 => "sm2",
        }
    }

    /// Accepts [`Algorithm::name`] and [`Algorithm::short_name`] (case-insensitive).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| {
            name.eq_ignore_ascii_case(a.name()) || name.eq_ignore_ascii_case(a.short_name())
        })
    }

    /// Length of the public key bytes: 32 (Ed25519) or 65 (SEC1 uncompressed).
    pub fn public_key_len(self) -> usize {
        match self {
            Algorithm::Ed25519 => 32,
            Algorithm::EcdsaP256 | Algorithm::Sm2 => 65,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// First 8 bytes of SHA-256 over the public key bytes (COSE `kid`, JWK `kid`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    pub fn of(key: &PublicKey) -> KeyId {
        key.key_id()
    }

    fn of_bytes(bytes: &[u8]) -> KeyId {
        let digest = Sha256::digest(bytes);
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }

    /// base64url without padding (the JWK `kid`).
    pub fn to_base64url(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn from_base64url(text: &str) -> Option<KeyId> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        Some(KeyId(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64url())
    }
}

/// A verified public key: construction checks the encoding and that the point
/// is on the curve, so verification never meets a malformed key. The parsed
/// form is kept so a verification does not decode the point again.
#[derive(Clone)]
pub struct PublicKey {
    algorithm: Algorithm,
    bytes: Vec<u8>,
    key_id: KeyId,
    parsed: Parsed,
}

#[derive(Clone)]
enum Parsed {
    Ed25519(ed25519_dalek::VerifyingKey),
    // ring parses the SEC1 bytes at each verification (cheap next to it).
    EcdsaP256,
    Sm2(Box<sm2::dsa::VerifyingKey>),
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm && self.bytes == other.bytes
    }
}
impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_text())
    }
}

/// Errors about keys.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("a {0} public key must be {1} bytes (SEC1 uncompressed for EC keys)")]
    PublicKeyLength(Algorithm, usize),
    #[error("the bytes are not a valid {0} public key")]
    InvalidPublicKey(Algorithm),
    #[error("the seed is not a valid {0} secret scalar (zero or not below the group order): draw another")]
    SeedOutOfRange(Algorithm),
    #[error("a {0} secret key is 32 bytes")]
    SecretKeyLength(Algorithm),
    #[error("a key text is `ALG:HEX` with ALG one of ed25519, p256, sm2")]
    BadText,
}

/// A signature check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature does not verify (or is malformed: wrong length, r or s zero or ≥ n).
    Bad,
    /// A signature in a non-canonical form: Ed25519 S ≥ L, ECDSA s > n/2.
    NonCanonical,
}

impl PublicKey {
    /// Ed25519: 32 raw bytes; P-256 and SM2: 65 bytes SEC1 uncompressed (0x04 ‖ x ‖ y).
    pub fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<PublicKey, KeyError> {
        if bytes.len() != algorithm.public_key_len() {
            return Err(KeyError::PublicKeyLength(
                algorithm,
                algorithm.public_key_len(),
            ));
        }
        let invalid = || KeyError::InvalidPublicKey(algorithm);
        let parsed = match algorithm {
            Algorithm::Ed25519 => {
                let array: [u8; 32] = bytes.try_into().map_err(|_| invalid())?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&array).map_err(|_| invalid())?;
                if key.is_weak() {
                    return Err(invalid());
                }
                Parsed::Ed25519(key)
            }
            Algorithm::EcdsaP256 => {
                if bytes[0] != 0x04 {
                    return Err(invalid());
                }
                p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(|_| invalid())?;
                Parsed::EcdsaP256
            }
            Algorithm::Sm2 => {
                if bytes[0] != 0x04 {
                    return Err(invalid());
                }
                let key = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DEFAULT_USER_ID, bytes)
                    .map_err(|_| invalid())?;
                Parsed::Sm2(Box::new(key))
            }
        };
        Ok(PublicKey {
            algorithm,
            bytes: bytes.to_vec(),
            key_id: KeyId::of_bytes(bytes),
            parsed,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `ed25519:<hex>`, `p256:<hex>` or `sm2:<hex>` (the trust-root file format).
    pub fn to_text(&self) -> String {
        format!(
            "{}:{}",
            self.algorithm.short_name(),
            hex::encode(&self.bytes)
        )
    }

    /// Parses [`PublicKey::to_text`]; surrounding whitespace is ignored.
    pub fn from_text(text: &str) -> Result<PublicKey, KeyError> {
        let (alg, hex_part) = text.trim().split_once(':').ok_or(KeyError::BadText)?;
        let algorithm = Algorithm::ALL
            .into_iter()
            .find(|a| a.short_name() == alg)
            .ok_or(KeyError::BadText)?;
        let bytes = hex::decode(hex_part).map_err(|_| KeyError::BadText)?;
        PublicKey::from_bytes(algorithm, &bytes)
    }

    /// Checks `signature` over `message` strictly (see the module documentation).
    /// This one function is what every verification in this crate calls.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        match &self.parsed {
            Parsed::Ed25519(key) => {
                let array: [u8; 64] = signature.try_into().map_err(|_| SignatureError::Bad)?;
                if !scalar_below(&array[32..], &ED25519_L_LE) {
                    return Err(SignatureError::NonCanonical);
                }
                let sig = ed25519_dalek::Signature::from_bytes(&array);
                key.verify_strict(message, &sig)
                    .map_err(|_| SignatureError::Bad)
            }
            Parsed::EcdsaP256 => {
                check_rs(signature, &P256_N, Some(&P256_HALF_N))?;
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::ECDSA_P256_SHA256_FIXED,
                    &self.bytes,
                )
                .verify(message, signature)
                .map_err(|_| SignatureError::Bad)
            }
            Parsed::Sm2(key) => {
                check_rs(signature, &SM2_N, None)?;
                let sig =
                    sm2::dsa::Signature::from_slice(signature).map_err(|_| SignatureError::Bad)?;
                use sm2::dsa::signature::Verifier;
                key.verify(message, &sig).map_err(|_| SignatureError::Bad)
            }
        }
    }
}

/// Ed25519 group order L, little-endian.
const ED25519_L_LE: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];
/// P-256 group order n, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// floor(n / 2) for P-256, big-endian.
const P256_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];
/// SM2 group order n, big-endian.
const SM2_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x23,
];

/// `value < bound`, both 32 bytes little-endian.
fn scalar_below(value: &[u8], bound_le: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if value[i] != bound_le[i] {
            return value[i] < bound_le[i];
        }
    }
    false
}

/// Checks an r‖s signature: 64 bytes, 1 ≤ r, s < n, and (if `half`) s ≤ n/2.
fn check_rs(signature: &[u8], n: &[u8; 32], half: Option<&[u8; 32]>) -> Result<(), SignatureError> {
    if signature.len() != 64 {
        return Err(SignatureError::Bad);
    }
    let (r, s) = signature.split_at(32);
    for part in [r, s] {
        if part.iter().all(|b| *b == 0) || part >= &n[..] {
            return Err(SignatureError::Bad);
        }
    }
    if let Some(half) = half {
        if s > &half[..] {
            return Err(SignatureError::NonCanonical);
        }
    }
    Ok(())
}

/// Something that signs with an issuer (or trust-root) key: a software key, or
/// a KMS/HSM. `sign` returns the COSE signature bytes: Ed25519 64 bytes;
/// ECDSA P-256 and SM2 r‖s, 32 bytes each, ECDSA with low S.
pub trait Signer: Send + Sync {
    fn algorithm(&self) -> Algorithm;
    fn key_id(&self) -> KeyId;
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// A signer failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the signer failed: {0}")]
    Signer(String),
    #[error("the signer returned a malformed signature")]
    MalformedSignature,
    #[error("the input cannot be signed: {0}")]
    Input(String),
}

/// A secret key held in memory. The secret is zeroized on drop (Ed25519 and
/// P-256 keys by their crates; the SM2 secret is kept as zeroizing bytes and the
/// signing key rebuilt for each signature, as the `sm2` crate does not zeroize).
pub struct SoftwareKey {
    inner: SoftwareInner,
    public: PublicKey,
}

enum SoftwareInner {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    EcdsaP256(Box<p256::ecdsa::SigningKey>),
    Sm2(Zeroizing<[u8; 32]>),
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKey")
            .field("algorithm", &self.public.algorithm)
            .field("key_id", &self.public.key_id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl SoftwareKey {
    /// A key from 32 random bytes supplied by the caller. For P-256 and SM2 the
    /// bytes are the secret scalar: if it is zero or not below the group order
    /// ([`KeyError::SeedOutOfRange`], probability about 2⁻³²), draw again.
    pub fn from_seed(algorithm: Algorithm, seed: &[u8; 32]) -> Result<SoftwareKey, KeyError> {
        SoftwareKey::from_secret_bytes(algorithm, seed).map_err(|e| match e {
            KeyError::SecretKeyLength(a) | KeyError::InvalidPublicKey(a) => {
                KeyError::SeedOutOfRange(a)
            }
            other => other,
        })
    }

    /// The 32 secret bytes (Ed25519 seed, or the EC secret scalar big-endian),
    /// for sealing by the caller.
    pub fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        match &self.inner {
            SoftwareInner::Ed25519(key) => Zeroizing::new(key.to_bytes().to_vec()),
            SoftwareInner::EcdsaP256(key) => {
                let bytes = key.to_bytes();
                Zeroizing::new(bytes.as_slice().to_vec())
            }
            SoftwareInner::Sm2(secret) => Zeroizing::new(secret.to_vec()),
        }
    }

    /// The inverse of [`SoftwareKey::secret_bytes`].
    pub fn from_secret_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<SoftwareKey, KeyError> {
        let array: Zeroizing<[u8; 32]> = Zeroizing::new(
            bytes
                .try_into()
                .map_err(|_| KeyError::SecretKeyLength(algorithm))?,
        );
        let out_of_range = || KeyError::SeedOutOfRange(algorithm);
        let (inner, public_bytes) = match algorithm {
            Algorithm::Ed25519 => {
                let key = ed25519_dalek::SigningKey::from_bytes(&array);
                let public = key.verifying_key().to_bytes().to_vec();
                (SoftwareInner::Ed25519(Box::new(key)), public)
            }
            Algorithm::EcdsaP256 => {
                let key =
                    p256::ecdsa::SigningKey::from_slice(&array[..]).map_err(|_| out_of_range())?;
                let public = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
                (SoftwareInner::EcdsaP256(Box::new(key)), public)
            }
            Algorithm::Sm2 => {
                let key = sm2::dsa::SigningKey::from_slice(SM2_DEFAULT_USER_ID, &array[..])
                    .map_err(|_| out_of_range())?;
                let public = key.verifying_key().to_sec1_bytes().to_vec();
                (SoftwareInner::Sm2(array), public)
            }
        };
        let public = PublicKey::from_bytes(algorithm, &public_bytes)?;
        Ok(SoftwareKey { inner, public })
    }

    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }
}

impl Signer for SoftwareKey {
    fn algorithm(&self) -> Algorithm {
        self.public.algorithm
    }

    fn key_id(&self) -> KeyId {
        self.public.key_id
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.inner {
            SoftwareInner::Ed25519(key) => {
                use ed25519_dalek::Signer as _;
                Ok(key.sign(message).to_bytes().to_vec())
            }
            SoftwareInner::EcdsaP256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = key
                    .try_sign(message)
                    .map_err(|e| SignError::Signer(e.to_string()))?;
                Ok(signature.normalize_s().to_bytes().to_vec())
            }
            SoftwareInner::Sm2(secret) => {
                use sm2::dsa::signature::Signer as _;
                let key = sm2::dsa::SigningKey::from_slice(SM2_DEFAULT_USER_ID, &secret[..])
                    .map_err(|e| SignError::Signer(e.to_string()))?;
                let signature: sm2::dsa::Signature = key
                    .try_sign(message)
                    .map_err(|e| SignError::Signer(e.to_string()))?;
                Ok(signature.to_bytes().to_vec())
            }
        }
    }
}

/// Calls the signer and checks the signature's shape (64 bytes for every algorithm).
pub(crate) fn sign_checked(signer: &dyn Signer, message: &[u8]) -> Result<Vec<u8>, SignError> {
    let signature = signer.sign(message)?;
    if signature.len() != 64 {
        return Err(SignError::MalformedSignature);
    }
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1_through_the_signer() {
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let key = SoftwareKey::from_seed(Algorithm::Ed25519, &seed).unwrap();
        assert_eq!(
            hex::encode(key.public_key().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let signature = key.sign(b"").unwrap();
        assert_eq!(
            hex::encode(&signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        key.public_key().verify(b"", &signature).unwrap();
        assert_eq!(
            key.public_key().verify(b"x", &signature),
            Err(SignatureError::Bad)
        );
    }

    #[test]
    fn ed25519_s_plus_l_is_non_canonical() {
        let key = SoftwareKey::from_seed(Algorithm::Ed25519, &[7; 32]).unwrap();
        let mut signature = key.sign(b"m").unwrap();
        // S + L still fits in 32 bytes when S is small enough; add L little-endian.
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(signature[32 + i]) + u16::from(ED25519_L_LE[i]) + carry;
            signature[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(
            key.public_key().verify(b"m", &signature),
            Err(SignatureError::NonCanonical)
        );
    }

    #[test]
    fn every_algorithm_signs_and_verifies_and_round_trips_its_secret() {
        for alg in Algorithm::ALL {
            let key = SoftwareKey::from_seed(alg, &[0x42; 32]).unwrap();
            let signature = key.sign(b"hello").unwrap();
            assert_eq!(signature.len(), 64);
            let public = key.public_key();
            assert_eq!(public.algorithm(), alg);
            assert_eq!(public.as_bytes().len(), alg.public_key_len());
            public.verify(b"hello", &signature).unwrap();
            assert_eq!(
                public.verify(b"hellO", &signature),
                Err(SignatureError::Bad)
            );
            let again = SoftwareKey::from_secret_bytes(alg, &key.secret_bytes()).unwrap();
            assert_eq!(again.public_key(), public);
            assert_eq!(PublicKey::from_text(&public.to_text()).unwrap(), public);
            assert_eq!(Algorithm::from_cose_id(alg.cose_id()), Some(alg));
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
            assert!(!format!("{key:?}").contains(&hex::encode(&key.secret_bytes()[..])));
        }
    }

    #[test]
    fn p256_high_s_is_refused_as_non_canonical() {
        let key = SoftwareKey::from_seed(Algorithm::EcdsaP256, &[0x11; 32]).unwrap();
        let signature = key.sign(b"m").unwrap();
        key.public_key().verify(b"m", &signature).unwrap();
        let high = crate::testing::negate_s_p256(&signature);
        assert_eq!(
            key.public_key().verify(b"m", &high),
            Err(SignatureError::NonCanonical)
        );
    }

    #[test]
    fn out_of_range_seeds_are_refused() {
        assert_eq!(
            SoftwareKey::from_seed(Algorithm::EcdsaP256, &[0xff; 32]).unwrap_err(),
            KeyError::SeedOutOfRange(Algorithm::EcdsaP256)
        );
        assert_eq!(
            SoftwareKey::from_seed(Algorithm::Sm2, &[0; 32]).unwrap_err(),
            KeyError::SeedOutOfRange(Algorithm::Sm2)
        );
    }

    #[test]
    fn the_secret_halves_zeroize_on_drop() {
        fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroize_on_drop::<ed25519_dalek::SigningKey>();
        zeroize_on_drop::<p256::ecdsa::SigningKey>();
        zeroize_on_drop::<Zeroizing<[u8; 32]>>();
    }

    #[test]
    fn kid_is_sha256_prefix() {
        let key = SoftwareKey::from_seed(Algorithm::Ed25519, &[1; 32]).unwrap();
        let digest = Sha256::digest(key.public_key().as_bytes());
        assert_eq!(key.key_id().0, digest[..8]);
    }
}
