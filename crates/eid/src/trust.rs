//! The trust list: issuer verification keys as a JWK Set, signed by an offline trust root.

use crate::cbor::{self, Sign1Error};
use crate::keys::{sign_checked, Algorithm, KeyError, KeyId, PublicKey, SignError, Signer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// COSE content type (protected header 3) of a signed trust list.
pub const TRUST_LIST_CONTENT_TYPE: &str = "application/jwk-set+json";
/// A signed trust list larger than this is refused before parsing.
pub const MAX_SIGNED_TRUST_LIST_BYTES: usize = 1024 * 1024;
/// Clock skew allowed on the trust list's `iat`.
pub const TRUST_LIST_SKEW_SECONDS: i64 = 300;

/// An issuer key and the credential `iat` values it may sign: `not_before ≤ iat ≤ not_after`.
/// A retired key keeps `not_after` at its retirement and stays listed until
/// its last credential (and status list) has expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub public_key: PublicKey,
    pub not_before: i64,
    pub not_after: i64,
}

impl TrustedKey {
    /// Whether this key may have signed something issued at `iat`.
    pub fn valid_at(&self, iat: i64) -> bool {
        self.not_before <= iat && iat <= self.not_after
    }
}

/// The issuer's verification keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustList {
    /// The issuer; every credential's `iss` must equal it.
    pub issuer: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub keys: Vec<TrustedKey>,
}

/// A trust list could not be read, signed or opened.
#[derive(Debug, thiserror::Error)]
pub enum TrustListError {
    #[error("the trust list is not valid JSON of the expected shape: {0}")]
    Json(String),
    #[error("trust list key {index}: {reason}")]
    Key { index: usize, reason: String },
    #[error("the trust list names key {0} twice")]
    DuplicateKid(KeyId),
    #[error("the trust list's iat must be before its exp")]
    BadValidity,
    #[error("the signed trust list is too large")]
    TooLarge,
    #[error("the signed trust list is not a valid COSE_Sign1 ({0})")]
    Cose(String),
    #[error("the signed trust list is not signed by this trust root")]
    WrongRoot,
    #[error("the trust list's signature does not verify")]
    BadSignature,
    #[error("the trust list's content type must be {TRUST_LIST_CONTENT_TYPE}")]
    ContentType,
    #[error("the trust list expired at {0}")]
    Expired(i64),
    #[error("the trust list is issued in the future ({0})")]
    NotYetValid(i64),
    #[error(transparent)]
    Sign(#[from] SignError),
}

#[derive(Serialize, Deserialize)]
struct JwksJson {
    iss: String,
    iat: i64,
    exp: i64,
    keys: Vec<JwkJson>,
}

#[derive(Serialize, Deserialize)]
struct JwkJson {
    kty: String,
    crv: String,
    x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    y: Option<String>,
    kid: String,
    alg: String,
    #[serde(rename = "use")]
    use_: String,
    nbf: i64,
    exp: i64,
}

fn jwk_of(key: &TrustedKey) -> JwkJson {
    let pk = &key.public_key;
    let bytes = pk.as_bytes();
    let (kty, crv, x, y) = match pk.algorithm() {
        Algorithm::Ed25519 => ("OKP", "Ed25519", URL_SAFE_NO_PAD.encode(bytes), None),
        Algorithm::EcdsaP256 | Algorithm::Sm2 => (
            "EC",
            if pk.algorithm() == Algorithm::Sm2 {
                "SM2"
            } else {
                "P-256"
            },
            URL_SAFE_NO_PAD.encode(&bytes[1..33]),
            Some(URL_SAFE_NO_PAD.encode(&bytes[33..65])),
        ),
    };
    JwkJson {
        kty: kty.into(),
        crv: crv.into(),
        x,
        y,
        kid: pk.key_id().to_base64url(),
        alg: pk.algorithm().name().into(),
        use_: "sig".into(),
        nbf: key.not_before,
        exp: key.not_after,
    }
}

fn key_of(jwk: &JwkJson) -> Result<TrustedKey, String> {
    let algorithm = match (jwk.kty.as_str(), jwk.crv.as_str()) {
        ("OKP", "Ed25519") => Algorithm::Ed25519,
        ("EC", "P-256") => Algorithm::EcdsaP256,
        ("EC", "SM2") => Algorithm::Sm2,
        (kty, crv) => return Err(format!("unsupported kty/crv {kty}/{crv}")),
    };
    if jwk.alg != algorithm.name() {
        return Err(format!("alg must be {} for {}", algorithm.name(), jwk.crv));
    }
    if jwk.use_ != "sig" {
        return Err("use must be \"sig\"".into());
    }
    let decode = |s: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| format!("{what} is not base64url without padding"))
    };
    let x = decode(&jwk.x, "x")?;
    let bytes = match algorithm {
        Algorithm::Ed25519 => {
            if jwk.y.is_some() {
                return Err("an OKP key has no y".into());
            }
            x
        }
        _ => {
            let y = decode(jwk.y.as_deref().ok_or("an EC key needs y")?, "y")?;
            if x.len() != 32 || y.len() != 32 {
                return Err("x and y must be 32 bytes each".into());
            }
            let mut b = Vec::with_capacity(65);
            b.push(0x04);
            b.extend_from_slice(&x);
            b.extend_from_slice(&y);
            b
        }
    };
    let public_key =
        PublicKey::from_bytes(algorithm, &bytes).map_err(|e: KeyError| e.to_string())?;
    if jwk.kid != public_key.key_id().to_base64url() {
        return Err(format!(
            "kid must be {} (SHA-256 of the key, first 8 bytes)",
            public_key.key_id()
        ));
    }
    if jwk.nbf > jwk.exp {
        return Err("nbf is after exp".into());
    }
    Ok(TrustedKey {
        public_key,
        not_before: jwk.nbf,
        not_after: jwk.exp,
    })
}

impl TrustList {
    /// The JWK Set JSON (pretty, stable member order).
    pub fn to_jwks_json(&self) -> String {
        let json = JwksJson {
            iss: self.issuer.clone(),
            iat: self.issued_at,
            exp: self.expires_at,
            keys: self.keys.iter().map(jwk_of).collect(),
        };
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string_pretty(&json).expect("trust list JSON")
    }

    /// Parses and checks a JWK Set: every key is valid, its kid is its hash, no kid twice.
    pub fn from_jwks_json(text: &str) -> Result<TrustList, TrustListError> {
        let json: JwksJson =
            serde_json::from_str(text).map_err(|e| TrustListError::Json(e.to_string()))?;
        if json.iat >= json.exp {
            return Err(TrustListError::BadValidity);
        }
        let mut keys: Vec<TrustedKey> = Vec::with_capacity(json.keys.len());
        for (index, jwk) in json.keys.iter().enumerate() {
            let key = key_of(jwk).map_err(|reason| TrustListError::Key { index, reason })?;
            if keys
                .iter()
                .any(|k| k.public_key.key_id() == key.public_key.key_id())
            {
                return Err(TrustListError::DuplicateKid(key.public_key.key_id()));
            }
            keys.push(key);
        }
        Ok(TrustList {
            issuer: json.iss,
            issued_at: json.iat,
            expires_at: json.exp,
            keys,
        })
    }

    pub fn find(&self, kid: &KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.public_key.key_id() == *kid)
    }
}

/// Signs the exact bytes of a trust list JSON with the trust root
/// (COSE_Sign1, content type `application/jwk-set+json`).
pub fn sign_trust_list(list_json: &[u8], root: &dyn Signer) -> Result<Vec<u8>, SignError> {
    let protected = cbor::protected_header(
        root.algorithm().cose_id(),
        &root.key_id().0,
        Some(TRUST_LIST_CONTENT_TYPE),
        None,
    );
    let signature = sign_checked(root, &cbor::sig_structure(&protected, list_json))?;
    Ok(cbor::encode_sign1(&protected, list_json, &signature))
}

/// Opens a signed trust list: the signature by `root`, the JSON, and the list's
/// own validity (`iat - 300 s ≤ now < exp`).
pub fn open_signed_trust_list(
    cose: &[u8],
    root: &PublicKey,
    now: i64,
) -> Result<TrustList, TrustListError> {
    if cose.len() > MAX_SIGNED_TRUST_LIST_BYTES {
        return Err(TrustListError::TooLarge);
    }
    let sign1 = cbor::parse_sign1(cose, &[3]).map_err(|e| {
        TrustListError::Cose(match e {
            Sign1Error::Cbor(c) => format!("{c:?}"),
            Sign1Error::WrongType(f) => format!("wrong type: {f}"),
            Sign1Error::UnsupportedAlgorithm(a) => format!("unsupported algorithm {a:?}"),
        })
    })?;
    if sign1.alg != root.algorithm().cose_id() || sign1.kid != root.key_id().0.as_slice() {
        return Err(TrustListError::WrongRoot);
    }
    root.verify(
        &cbor::sig_structure(sign1.protected_bytes, sign1.payload),
        sign1.signature,
    )
    .map_err(|_| TrustListError::BadSignature)?;
    if sign1.content_type != Some(TRUST_LIST_CONTENT_TYPE) {
        return Err(TrustListError::ContentType);
    }
    let text =
        std::str::from_utf8(sign1.payload).map_err(|_| TrustListError::Json("not UTF-8".into()))?;
    let list = TrustList::from_jwks_json(text)?;
    if now >= list.expires_at {
        return Err(TrustListError::Expired(list.expires_at));
    }
    if list.issued_at > now.saturating_add(TRUST_LIST_SKEW_SECONDS) {
        return Err(TrustListError::NotYetValid(list.issued_at));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SoftwareKey;

    fn list() -> TrustList {
        TrustList {
            issuer: "https://id.example.gov.cn".into(),
            issued_at: 1_000,
            expires_at: 100_000,
            keys: crate::keys::Algorithm::ALL
                .iter()
                .enumerate()
                .map(|(i, a)| TrustedKey {
                    public_key: SoftwareKey::from_seed(*a, &[i as u8 + 3; 32])
                        .unwrap()
                        .public_key(),
                    not_before: 0,
                    not_after: 50_000,
                })
                .collect(),
        }
    }

    #[test]
    fn json_round_trip_and_signing() {
        let list = list();
        let json = list.to_jwks_json();
        assert_eq!(TrustList::from_jwks_json(&json).unwrap(), list);
        let root = SoftwareKey::from_seed(Algorithm::Ed25519, &[9; 32]).unwrap();
        let signed = sign_trust_list(json.as_bytes(), &root).unwrap();
        assert_eq!(
            open_signed_trust_list(&signed, &root.public_key(), 2_000).unwrap(),
            list
        );
        assert!(matches!(
            open_signed_trust_list(&signed, &root.public_key(), 100_000),
            Err(TrustListError::Expired(100_000))
        ));
        assert!(matches!(
            open_signed_trust_list(&signed, &root.public_key(), 0),
            Err(TrustListError::NotYetValid(1_000))
        ));
        let other = SoftwareKey::from_seed(Algorithm::Ed25519, &[8; 32]).unwrap();
        assert!(matches!(
            open_signed_trust_list(&signed, &other.public_key(), 2_000),
            Err(TrustListError::WrongRoot)
        ));
        let mut tampered = signed.clone();
        let at = tampered.len() - 100;
        tampered[at] ^= 1;
        assert!(open_signed_trust_list(&tampered, &root.public_key(), 2_000).is_err());
    }

    #[test]
    fn wrong_kid_is_refused() {
        let json = list().to_jwks_json();
        let kid = list().keys[0].public_key.key_id().to_base64url();
        let bad = json.replacen(&kid, "AAAAAAAAAAA", 1);
        assert!(matches!(
            TrustList::from_jwks_json(&bad),
            Err(TrustListError::Key { index: 0, .. })
        ));
    }
}
