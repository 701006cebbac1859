//! Token Status List (draft-ietf-oauth-status-list-21), CWT form.

use crate::cbor::{self, FieldError, Fields, Sign1Error};
use crate::compress::{self, InflateError};
use crate::keys::{sign_checked, Algorithm, KeyId, SignError, Signer};
use crate::trust::TrustList;
use ciborium::Value;

/// COSE `typ` (protected header 16) of a status list token.
pub const STATUS_LIST_TYP: &str = "application/statuslist+cwt";
/// CWT claim keys.
pub const CLAIM_SUB: i64 = 2;
pub const CLAIM_EXP: i64 = 4;
pub const CLAIM_IAT: i64 = 6;
pub const CLAIM_TTL: i64 = 65534;
pub const CLAIM_STATUS_LIST: i64 = 65533;
/// A signed status list token larger than this is refused before parsing.
pub const MAX_STATUS_TOKEN_BYTES: usize = 16 * 1024 * 1024;
/// The inflated list may hold at most this many bytes (64 Mi entries at 2 bits).
pub const MAX_STATUS_LIST_BYTES: usize = 16 * 1024 * 1024;
/// Clock skew allowed on a status list's `iat`.
pub const STATUS_LIST_SKEW_SECONDS: i64 = 300;

/// The status of a card (a presentation's referenced token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardStatus {
    /// 0x00 VALID.
    Valid,
    /// 0x01 INVALID: revoked for good.
    Revoked,
    /// 0x02 SUSPENDED.
    Suspended,
}

impl CardStatus {
    pub fn value(self) -> u8 {
        match self {
            CardStatus::Valid => 0,
            CardStatus::Revoked => 1,
            CardStatus::Suspended => 2,
        }
    }

    pub fn from_value(v: u8) -> Option<CardStatus> {
        match v {
            0 => Some(CardStatus::Valid),
            1 => Some(CardStatus::Revoked),
            2 => Some(CardStatus::Suspended),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CardStatus::Valid => "valid",
            CardStatus::Revoked => "revoked",
            CardStatus::Suspended => "suspended",
        }
    }
}

/// A status list: `len` entries of `bits` bits each, index 0 in the least
/// significant bits of byte 0. Lists we make use 2 bits.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    len: usize,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusList")
            .field("bits", &self.bits)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl StatusList {
    /// `len` entries, all Valid, 2 bits each (rounded up to whole bytes).
    pub fn new(len: usize) -> StatusList {
        let bytes = vec![0u8; len.div_ceil(4)];
        StatusList {
            bits: 2,
            len: bytes.len() * 4,
            bytes,
        }
    }

    /// A list from its packed bytes; `bits` is 1, 2, 4 or 8.
    pub fn from_bytes(bits: u8, bytes: Vec<u8>) -> Option<StatusList> {
        if !matches!(bits, 1 | 2 | 4 | 8) {
            return None;
        }
        Some(StatusList {
            bits,
            len: bytes.len() * (8 / bits as usize),
            bytes,
        })
    }

    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The packed bytes (before compression).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The number of entries (a whole number of bytes' worth).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw status value at `index`.
    pub fn get_value(&self, index: usize) -> Option<u8> {
        if index >= self.len {
            return None;
        }
        let per_byte = 8 / self.bits as usize;
        let byte = self.bytes[index / per_byte];
        let shift = (index % per_byte) * self.bits as usize;
        let mask = if self.bits == 8 {
            0xff
        } else {
            (1u8 << self.bits) - 1
        };
        Some((byte >> shift) & mask)
    }

    /// The status at `index`; `None` outside the list or for a value we do not
    /// know (3, or application-specific values).
    pub fn get(&self, index: usize) -> Option<CardStatus> {
        CardStatus::from_value(self.get_value(index)?)
    }

    /// Sets the value at `index`; returns false outside the list or when the
    /// value does not fit the list's bits.
    pub fn set_value(&mut self, index: usize, value: u8) -> bool {
        if index >= self.len || (self.bits < 8 && value >> self.bits != 0) {
            return false;
        }
        let per_byte = 8 / self.bits as usize;
        let shift = (index % per_byte) * self.bits as usize;
        let mask = if self.bits == 8 {
            0xff
        } else {
            ((1u8 << self.bits) - 1) << shift
        };
        let b = &mut self.bytes[index / per_byte];
        *b = (*b & !mask) | (value << shift);
        true
    }

    /// Sets the status at `index`; returns false outside the list (or for
    /// Suspended in a 1-bit list).
    pub fn set(&mut self, index: usize, status: CardStatus) -> bool {
        self.set_value(index, status.value())
    }
}

/// A status list token: what the issuer publishes at `uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListToken {
    /// The list's URI (claim `sub`); presentations name it in their status claim.
    pub uri: String,
    pub issued_at: i64,
    pub expires_at: i64,
    /// Seconds a verifier may cache the list before fetching it again.
    pub ttl: u32,
    pub list: StatusList,
}

/// Why a status list token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatusListError {
    #[error("the status list token is too large")]
    TooLarge,
    #[error("the status list token is not well-formed CBOR")]
    CborMalformed,
    #[error("the status list token nests too deeply")]
    CborTooDeep,
    #[error("status list token: wrong or missing {0}")]
    WrongType(&'static str),
    #[error("the status list token's typ must be {STATUS_LIST_TYP}")]
    WrongTyp,
    #[error("the status list token's algorithm is not supported")]
    UnsupportedAlgorithm,
    #[error("the status list token is signed by a key not in the trust list")]
    UnknownKid,
    #[error("the signing key was not valid when the status list was issued")]
    KeyNotValidAtIat,
    #[error("the status list token's signature does not verify")]
    BadSignature,
    #[error("the status list is issued in the future")]
    IssuedInFuture,
    #[error("the status list's exp is not after its iat")]
    BadValidity,
    #[error("the status list would inflate beyond its bound")]
    DecompressionBomb,
    #[error("the status list's lst is not a valid zlib stream")]
    DecompressionFailed,
}

impl StatusListError {
    pub fn code(&self) -> &'static str {
        match self {
            StatusListError::TooLarge => "too_large",
            StatusListError::CborMalformed => "cbor_malformed",
            StatusListError::CborTooDeep => "cbor_too_deep",
            StatusListError::WrongType(_) => "wrong_type",
            StatusListError::WrongTyp => "wrong_typ",
            StatusListError::UnsupportedAlgorithm => "unsupported_algorithm",
            StatusListError::UnknownKid => "unknown_kid",
            StatusListError::KeyNotValidAtIat => "key_not_valid_at_iat",
            StatusListError::BadSignature => "bad_signature",
            StatusListError::IssuedInFuture => "issued_in_future",
            StatusListError::BadValidity => "bad_validity",
            StatusListError::DecompressionBomb => "decompression_bomb",
            StatusListError::DecompressionFailed => "decompression_failed",
        }
    }
}

impl From<FieldError> for StatusListError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::Malformed => StatusListError::CborMalformed,
            FieldError::WrongType(f) => StatusListError::WrongType(f),
        }
    }
}

/// Signs a status list token (COSE_Sign1 over a CWT, typ `application/statuslist+cwt`).
pub fn sign_status_list(
    token: &StatusListToken,
    signer: &dyn Signer,
) -> Result<Vec<u8>, SignError> {
    if token.expires_at <= token.issued_at {
        return Err(SignError::Input("exp must be after iat".into()));
    }
    let lst = compress::deflate(token.list.as_bytes());
    // Claim keys in deterministic order: 2, 4, 6, 65533, 65534.
    let claims = Value::Map(vec![
        (Value::from(CLAIM_SUB), Value::from(token.uri.as_str())),
        (Value::from(CLAIM_EXP), Value::from(token.expires_at)),
        (Value::from(CLAIM_IAT), Value::from(token.issued_at)),
        (
            Value::from(CLAIM_STATUS_LIST),
            Value::Map(vec![
                (Value::from("lst"), Value::Bytes(lst)),
                (Value::from("bits"), Value::from(token.list.bits())),
            ]),
        ),
        (Value::from(CLAIM_TTL), Value::from(token.ttl)),
    ]);
    let payload = cbor::encode(&claims);
    let protected = cbor::protected_header(
        signer.algorithm().cose_id(),
        &signer.key_id().0,
        None,
        Some(STATUS_LIST_TYP),
    );
    let signature = sign_checked(signer, &cbor::sig_structure(&protected, &payload))?;
    Ok(cbor::encode_sign1(&protected, &payload, &signature))
}

/// Opens a status list token: the signature by a key of the trust list that was
/// valid at the list's `iat`, the structure, and `iat ≤ now + 300 s`. An
/// expired list is returned (the verifier turns it into `status_unknown`).
pub fn open_status_list(
    cose: &[u8],
    trust: &TrustList,
    now: i64,
) -> Result<StatusListToken, StatusListError> {
    if cose.len() > MAX_STATUS_TOKEN_BYTES {
        return Err(StatusListError::TooLarge);
    }
    let sign1 = cbor::parse_sign1(cose, &[16]).map_err(|e| match e {
        Sign1Error::Cbor(cbor::CborError::TooDeep) => StatusListError::CborTooDeep,
        Sign1Error::Cbor(cbor::CborError::Malformed) => StatusListError::CborMalformed,
        Sign1Error::WrongType(f) => StatusListError::WrongType(f),
        Sign1Error::UnsupportedAlgorithm(_) => StatusListError::UnsupportedAlgorithm,
    })?;
    let algorithm =
        Algorithm::from_cose_id(sign1.alg).ok_or(StatusListError::UnsupportedAlgorithm)?;
    let kid = KeyId(
        sign1
            .kid
            .try_into()
            .map_err(|_| StatusListError::UnknownKid)?,
    );
    let key = trust.find(&kid).ok_or(StatusListError::UnknownKid)?;
    if key.public_key.algorithm() != algorithm {
        return Err(StatusListError::UnsupportedAlgorithm);
    }
    key.public_key
        .verify(
            &cbor::sig_structure(sign1.protected_bytes, sign1.payload),
            sign1.signature,
        )
        .map_err(|_| StatusListError::BadSignature)?;
    if sign1.typ != Some(STATUS_LIST_TYP) {
        return Err(StatusListError::WrongTyp);
    }
    let claims = cbor::decode(sign1.payload).map_err(|e| match e {
        cbor::CborError::TooDeep => StatusListError::CborTooDeep,
        cbor::CborError::Malformed => StatusListError::CborMalformed,
    })?;
    let mut claims = Fields::from_item(claims, "claims")?;
    let uri = cbor::as_text(
        claims
            .take_int(CLAIM_SUB.into())
            .ok_or(StatusListError::WrongType("sub"))?,
        "sub",
    )?
    .to_owned();
    let issued_at = cbor::as_i64(
        claims
            .take_int(CLAIM_IAT.into())
            .ok_or(StatusListError::WrongType("iat"))?,
        "iat",
    )?;
    let expires_at = cbor::as_i64(
        claims
            .take_int(CLAIM_EXP.into())
            .ok_or(StatusListError::WrongType("exp"))?,
        "exp",
    )?;
    let ttl = cbor::as_u32(
        claims
            .take_int(CLAIM_TTL.into())
            .ok_or(StatusListError::WrongType("ttl"))?,
        "ttl",
    )?;
    let status_list = claims
        .take_int(CLAIM_STATUS_LIST.into())
        .ok_or(StatusListError::WrongType("status_list"))?;
    if !claims.is_empty() {
        return Err(StatusListError::WrongType("claims"));
    }
    let mut status_list = Fields::from_item(status_list, "status_list")?;
    let bits = cbor::as_int(
        status_list
            .take_text_key("bits")
            .ok_or(StatusListError::WrongType("bits"))?,
        "bits",
    )?;
    let lst = cbor::as_bytes(
        status_list
            .take_text_key("lst")
            .ok_or(StatusListError::WrongType("lst"))?,
        "lst",
    )?;
    // aggregation_uri (optional in the draft) is accepted and ignored.
    if let Some(v) = status_list.take_text_key("aggregation_uri") {
        cbor::as_text(v, "aggregation_uri")?;
    }
    if !status_list.is_empty() {
        return Err(StatusListError::WrongType("status_list"));
    }
    let bits = u8::try_from(bits)
        .ok()
        .filter(|b| matches!(b, 1 | 2 | 4 | 8))
        .ok_or(StatusListError::WrongType("bits"))?;
    if !key.valid_at(issued_at) {
        return Err(StatusListError::KeyNotValidAtIat);
    }
    if expires_at <= issued_at {
        return Err(StatusListError::BadValidity);
    }
    if issued_at > now.saturating_add(STATUS_LIST_SKEW_SECONDS) {
        return Err(StatusListError::IssuedInFuture);
    }
    let bytes = compress::inflate_bounded(lst, MAX_STATUS_LIST_BYTES).map_err(|e| match e {
        InflateError::TooLarge => StatusListError::DecompressionBomb,
        InflateError::Invalid => StatusListError::DecompressionFailed,
    })?;
    let list = StatusList::from_bytes(bits, bytes).ok_or(StatusListError::WrongType("bits"))?;
    Ok(StatusListToken {
        uri,
        issued_at,
        expires_at,
        ttl,
        list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SoftwareKey;
    use crate::trust::TrustedKey;

    /// The 1-bit example of the draft (section "Status List"): statuses
    /// 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1 pack to b9 a3.
    #[test]
    fn draft_one_bit_example() {
        let statuses = [1u8, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        let mut list = StatusList::from_bytes(1, vec![0; 2]).unwrap();
        for (i, s) in statuses.iter().enumerate() {
            assert!(list.set_value(i, *s));
        }
        assert_eq!(list.as_bytes(), &[0xb9, 0xa3]);
        for (i, s) in statuses.iter().enumerate() {
            assert_eq!(list.get_value(i), Some(*s));
        }
        assert!(!list.set(0, CardStatus::Suspended));
    }

    /// The 2-bit example of the draft: statuses 1,2,0,3, 0,1,0,1, 1,2,3,3 pack to c9 44 f9.
    #[test]
    fn draft_two_bit_example() {
        let statuses = [1u8, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
        let mut list = StatusList::new(12);
        assert_eq!(list.len(), 12);
        for (i, s) in statuses.iter().enumerate() {
            assert!(list.set_value(i, *s));
        }
        assert_eq!(list.as_bytes(), &[0xc9, 0x44, 0xf9]);
        assert_eq!(list.get(0), Some(CardStatus::Revoked));
        assert_eq!(list.get(1), Some(CardStatus::Suspended));
        assert_eq!(list.get(2), Some(CardStatus::Valid));
        assert_eq!(list.get(3), None);
        assert_eq!(list.get(12), None);
        assert!(!list.set(12, CardStatus::Revoked));
    }

    #[test]
    fn sign_and_open() {
        let key = SoftwareKey::from_seed(Algorithm::Ed25519, &[5; 32]).unwrap();
        let trust = TrustList {
            issuer: "iss".into(),
            issued_at: 0,
            expires_at: 1_000_000,
            keys: vec![TrustedKey {
                public_key: key.public_key(),
                not_before: 0,
                not_after: 500_000,
            }],
        };
        let mut list = StatusList::new(100_000);
        list.set(77, CardStatus::Revoked);
        list.set(99_999, CardStatus::Suspended);
        let token = StatusListToken {
            uri: "https://id.example.gov.cn/status/1".into(),
            issued_at: 1000,
            expires_at: 1000 + 86_400,
            ttl: 3600,
            list,
        };
        let signed = sign_status_list(&token, &key).unwrap();
        assert!(
            signed.len() < 400,
            "a mostly-valid list compresses well: {}",
            signed.len()
        );
        let opened = open_status_list(&signed, &trust, 1000).unwrap();
        assert_eq!(opened, token);
        assert_eq!(
            open_status_list(&signed, &trust, 0).unwrap_err(),
            StatusListError::IssuedInFuture
        );
        let mut tampered = signed.clone();
        let n = tampered.len();
        tampered[n - 70] ^= 0x40;
        assert_eq!(
            open_status_list(&tampered, &trust, 1000).unwrap_err(),
            StatusListError::BadSignature
        );
        let other = TrustList {
            keys: vec![],
            ..trust.clone()
        };
        assert_eq!(
            open_status_list(&signed, &other, 1000).unwrap_err(),
            StatusListError::UnknownKid
        );
    }
}
