//! The presentation code: `SS1:` + base45(COSE_Sign1(CWT)), minted online and
//! verified offline. The format is specified in docs/eid-format.md.

use crate::base45;
use crate::cbor::{self, CborError, FieldError, Fields, Item, Sign1Error};
use crate::claims::{
    AttributeKey, Attributes, Disclosed, Purpose, Sex, StatusRef, VerifierCategory,
};
use crate::compress::{self, InflateError};
use crate::holder::{HOLDER_PREFIX, MAX_CREDENTIAL_LIFETIME_SECONDS};
use crate::keys::{sign_checked, Algorithm, KeyId, SignError, SignatureError, Signer};
use crate::status::{CardStatus, StatusListToken};
use crate::trust::TrustList;
use ciborium::Value;
use std::fmt;

/// Every code starts with this.
pub const PREFIX: &str = "SS1:";
/// The longest code text accepted.
pub const MAX_TEXT_CHARS: usize = 4096;
/// The most a compressed payload may inflate to.
pub const MAX_INFLATED_BYTES: usize = 8192;
/// The longest lifetime (`exp - iat`) of a presentation.
pub const MAX_LIFETIME_SECONDS: u32 = 60;

/// CWT claim keys (RFC 8392 and the status list draft).
pub const CLAIM_ISS: i64 = 1;
pub const CLAIM_EXP: i64 = 4;
pub const CLAIM_IAT: i64 = 6;
pub const CLAIM_CTI: i64 = 7;
pub const CLAIM_STATUS: i64 = 65535;
/// Our private claim: `{1: purpose, 2: verifier category, 3: attributes}`.
pub const CLAIM_SHENGSHI: i64 = -65537;

/// What the issuer puts in one presentation.
#[derive(Debug, Clone)]
pub struct PresentationRequest<'a> {
    pub issuer: &'a str,
    /// Unix seconds.
    pub issued_at: i64,
    /// 1..=60.
    pub lifetime_seconds: u32,
    /// Unique per presentation (random).
    pub cti: [u8; 16],
    pub purpose: Purpose,
    pub category: VerifierCategory,
    pub attributes: &'a Attributes,
    pub status: StatusRef,
}

/// A presentation could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("the lifetime must be 1 to {MAX_LIFETIME_SECONDS} seconds")]
    Lifetime,
    #[error(
        "a holder credential's lifetime must be 1 to {MAX_CREDENTIAL_LIFETIME_SECONDS} seconds"
    )]
    CredentialLifetime,
    #[error("the device key must be ECDSA P-256")]
    DeviceKey,
    #[error("purpose {0} may not be shown to verifier category {1}")]
    PurposeCategoryNotAllowed(Purpose, VerifierCategory),
    #[error("the code would be longer than {MAX_TEXT_CHARS} characters")]
    TooLarge,
    #[error("issued_at is out of range")]
    IssuedAt,
    #[error("attribute {0} is not valid (birth_date must be YYYY-MM-DD)")]
    Attribute(&'static str),
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// The CWT claims of a presentation, in deterministic key order.
fn claims_value(request: &PresentationRequest<'_>) -> Value {
    let disclosed = Disclosed::for_purpose(request.purpose, request.attributes);
    let mut attributes = Vec::new();
    for key in disclosed.keys() {
        let value = match key {
            AttributeKey::Name => Value::from(disclosed.name.clone().unwrap_or_default()),
            AttributeKey::IdNumber => Value::from(disclosed.id_number.clone().unwrap_or_default()),
            AttributeKey::Sex => Value::from(disclosed.sex.map(Sex::code).unwrap_or_default()),
            AttributeKey::BirthDate => {
                Value::from(disclosed.birth_date.clone().unwrap_or_default())
            }
            AttributeKey::Address => Value::from(disclosed.address.clone().unwrap_or_default()),
            AttributeKey::PortraitDigest => {
                Value::Bytes(disclosed.portrait_digest.unwrap_or_default().to_vec())
            }
            AttributeKey::AgeOver18 => Value::Bool(disclosed.age_over_18.unwrap_or_default()),
            // No purpose discloses it (Disclosed has no such field).
            AttributeKey::AgeOver60 => continue,
        };
        attributes.push((Value::from(key.code()), value));
    }
    Value::Map(vec![
        (Value::from(CLAIM_ISS), Value::from(request.issuer)),
        (
            Value::from(CLAIM_EXP),
            Value::from(request.issued_at + i64::from(request.lifetime_seconds)),
        ),
        (Value::from(CLAIM_IAT), Value::from(request.issued_at)),
        (Value::from(CLAIM_CTI), Value::Bytes(request.cti.to_vec())),
        (
            Value::from(CLAIM_STATUS),
            Value::Map(vec![(
                Value::from("status_list"),
                Value::Map(vec![
                    (Value::from("idx"), Value::from(request.status.index)),
                    (Value::from("uri"), Value::from(request.status.uri.as_str())),
                ]),
            )]),
        ),
        (
            Value::from(CLAIM_SHENGSHI),
            Value::Map(vec![
                (Value::from(1), Value::from(request.purpose.code())),
                (Value::from(2), Value::from(request.category.code())),
                (Value::from(3), Value::Map(attributes)),
            ]),
        ),
    ])
}

/// Signs a presentation and returns the QR text. Compresses only when that
/// makes the text shorter.
pub fn mint_presentation(
    request: &PresentationRequest<'_>,
    signer: &dyn Signer,
) -> Result<String, MintError> {
    if request.lifetime_seconds == 0 || request.lifetime_seconds > MAX_LIFETIME_SECONDS {
        return Err(MintError::Lifetime);
    }
    if !request.purpose.allows(request.category) {
        return Err(MintError::PurposeCategoryNotAllowed(
            request.purpose,
            request.category,
        ));
    }
    if request
        .issued_at
        .checked_add(i64::from(MAX_LIFETIME_SECONDS))
        .is_none()
    {
        return Err(MintError::IssuedAt);
    }
    if request
        .purpose
        .attribute_keys()
        .contains(&AttributeKey::BirthDate)
        && !is_full_date(&request.attributes.birth_date)
    {
        return Err(MintError::Attribute("birth_date"));
    }
    let payload = cbor::encode(&claims_value(request));
    let protected =
        cbor::protected_header(signer.algorithm().cose_id(), &signer.key_id().0, None, None);
    let signature = sign_checked(signer, &cbor::sig_structure(&protected, &payload))?;
    let cose = cbor::encode_sign1(&protected, &payload, &signature);
    let text = encode_text(&cose);
    if text.len() > MAX_TEXT_CHARS {
        return Err(MintError::TooLarge);
    }
    Ok(text)
}

/// `SS1:` + base45 of the COSE bytes, or of their zlib form when that is shorter.
pub fn encode_text(cose: &[u8]) -> String {
    encode_text_with(PREFIX, cose)
}

/// `prefix` + base45 of the COSE bytes, or of their zlib form when that is shorter.
pub(crate) fn encode_text_with(prefix: &str, cose: &[u8]) -> String {
    let compressed = compress::deflate(cose);
    let body = if compressed.len() < cose.len() {
        compressed
    } else {
        cose.to_vec()
    };
    format!("{prefix}{}", base45::encode(&body))
}

/// What a verifier decides with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Refuse codes for any other purpose (`purpose_mismatch`).
    pub expected_purpose: Option<Purpose>,
    /// Allowed difference between the verifier's and the issuer's clocks (default 30).
    pub max_clock_skew_seconds: i64,
    /// The oldest status list (by its `iat`) that counts (default 86 400).
    pub max_status_age_seconds: i64,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy {
            expected_purpose: None,
            max_clock_skew_seconds: 30,
            max_status_age_seconds: 86_400,
        }
    }
}

/// A presentation that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPresentation {
    pub issuer: String,
    pub kid: KeyId,
    pub algorithm: Algorithm,
    pub issued_at: i64,
    pub expires_at: i64,
    pub cti: [u8; 16],
    pub purpose: Purpose,
    pub category: VerifierCategory,
    pub disclosed: Disclosed,
    pub status: StatusRef,
    /// `SS1` (issuer-signed) or `SS2` (holder-bound, device-signed).
    pub mode: PresentationMode,
    /// For `SS2` codes: the credential and the device that signed the code.
    pub holder: Option<HolderBinding>,
}

/// Which kind of code was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentationMode {
    /// `SS1:`: minted and signed by the issuer online.
    Issuer,
    /// `SS2:`: signed by the holder's device with the key its credential names.
    Holder,
}

impl PresentationMode {
    /// "issuer" or "holder".
    pub fn name(self) -> &'static str {
        match self {
            PresentationMode::Issuer => "issuer",
            PresentationMode::Holder => "holder",
        }
    }
}

/// What an `SS2` code adds: the issuer-signed holder credential it carries
/// (`issuer`, `kid` and `algorithm` of [`VerifiedPresentation`] are the
/// credential's; `issued_at`, `expires_at` and `cti` the device presentation's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderBinding {
    /// The device's counter (one more per code on that device).
    pub counter: u64,
    pub credential_issued_at: i64,
    pub credential_expires_at: i64,
    pub credential_cti: [u8; 16],
    /// The `cnf` key's id (first 8 bytes of SHA-256 of its SEC1 form).
    pub device_key_id: KeyId,
}

/// Why the status could not be established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusUnknownReason {
    /// No status list was given.
    NoList,
    /// The list is older than the policy's `max_status_age_seconds`.
    ListTooOld,
    /// The list is past its own `exp`.
    ListExpired,
    /// The list is for another URI than the presentation names.
    OtherList,
    /// The index is outside the list.
    IndexOutOfRange,
    /// The list holds a value we do not know at the index.
    UnknownValue,
}

impl StatusUnknownReason {
    pub fn describe(self) -> &'static str {
        match self {
            StatusUnknownReason::NoList => "no status list was given",
            StatusUnknownReason::ListTooOld => "the status list is older than the policy allows",
            StatusUnknownReason::ListExpired => "the status list has expired",
            StatusUnknownReason::OtherList => "the status list is not the one the code names",
            StatusUnknownReason::IndexOutOfRange => "the code's status index is outside the list",
            StatusUnknownReason::UnknownValue => "the status list holds an unknown value",
        }
    }
}

/// Why a code was refused. Each variant has one stable [`VerifyError::code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    BadPrefix,
    TooLarge,
    BadBase45,
    DecompressionBomb,
    DecompressionFailed,
    CborMalformed,
    CborTooDeep,
    /// A field is missing or of the wrong type; names it.
    WrongType {
        field: &'static str,
    },
    UnsupportedAlgorithm {
        alg: Option<i128>,
    },
    UnknownKid {
        kid: Vec<u8>,
    },
    /// The key exists but was not allowed to sign at the code's `iat`.
    KeyNotValidAtIat {
        kid: KeyId,
    },
    BadSignature,
    NonCanonicalSignature,
    /// `iss` is not the trust list's issuer.
    IssuerMismatch,
    LifetimeTooLong,
    Expired,
    IssuedInFuture,
    AttributeOutsidePurpose {
        attribute: String,
    },
    PurposeCategoryNotAllowed {
        purpose: Purpose,
        category: VerifierCategory,
    },
    PurposeMismatch {
        expected: Purpose,
        found: Purpose,
    },
    Revoked {
        presentation: Box<VerifiedPresentation>,
    },
    Suspended {
        presentation: Box<VerifiedPresentation>,
    },
    /// Everything else verified, but the status could not be established:
    /// never valid; the desk's policy decides what to do.
    StatusUnknown {
        reason: StatusUnknownReason,
        presentation: Box<VerifiedPresentation>,
    },
    // ---- holder-bound codes (SS2) only ----
    /// The holder credential's validity window has passed.
    CredentialExpired,
    /// The holder credential's `iat` is in the future.
    CredentialIssuedInFuture,
    /// The holder credential lives longer than 7 days.
    CredentialLifetimeTooLong,
    /// The credential's `cnf` claim is not a P-256 COSE_Key on the curve.
    CnfInvalid,
    /// The device signature does not verify with the `cnf` key.
    DeviceSignatureInvalid,
    /// The device signature has a high S.
    DeviceSignatureNonCanonical,
    /// A disclosure is not `[bstr .size 16, key, value of the key's type]`.
    DisclosureMalformed,
    /// A disclosure's digest is not the credential's digest for its key.
    DigestMismatch {
        attribute: &'static str,
    },
    /// A disclosure the purpose does not include.
    DisclosureOutsidePurpose {
        attribute: &'static str,
    },
    /// The same attribute disclosed twice.
    DisclosureDuplicate {
        attribute: &'static str,
    },
    /// An attribute the purpose requires (and the credential has) is not disclosed.
    DisclosureMissing {
        attribute: &'static str,
    },
}

impl VerifyError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::BadPrefix => "bad_prefix",
            VerifyError::TooLarge => "too_large",
            VerifyError::BadBase45 => "bad_base45",
            VerifyError::DecompressionBomb => "decompression_bomb",
            VerifyError::DecompressionFailed => "decompression_failed",
            VerifyError::CborMalformed => "cbor_malformed",
            VerifyError::CborTooDeep => "cbor_too_deep",
            VerifyError::WrongType { .. } => "wrong_type",
            VerifyError::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            VerifyError::UnknownKid { .. } => "unknown_kid",
            VerifyError::KeyNotValidAtIat { .. } => "key_not_valid_at_iat",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::NonCanonicalSignature => "non_canonical_signature",
            VerifyError::IssuerMismatch => "issuer_mismatch",
            VerifyError::LifetimeTooLong => "lifetime_too_long",
            VerifyError::Expired => "expired",
            VerifyError::IssuedInFuture => "issued_in_future",
            VerifyError::AttributeOutsidePurpose { .. } => "attribute_outside_purpose",
            VerifyError::PurposeCategoryNotAllowed { .. } => "purpose_category_not_allowed",
            VerifyError::PurposeMismatch { .. } => "purpose_mismatch",
            VerifyError::Revoked { .. } => "revoked",
            VerifyError::Suspended { .. } => "suspended",
            VerifyError::StatusUnknown { .. } => "status_unknown",
            VerifyError::CredentialExpired => "credential_expired",
            VerifyError::CredentialIssuedInFuture => "credential_issued_in_future",
            VerifyError::CredentialLifetimeTooLong => "credential_lifetime_too_long",
            VerifyError::CnfInvalid => "cnf_invalid",
            VerifyError::DeviceSignatureInvalid => "device_signature_invalid",
            VerifyError::DeviceSignatureNonCanonical => "device_signature_non_canonical",
            VerifyError::DisclosureMalformed => "disclosure_malformed",
            VerifyError::DigestMismatch { .. } => "digest_mismatch",
            VerifyError::DisclosureOutsidePurpose { .. } => "disclosure_outside_purpose",
            VerifyError::DisclosureDuplicate { .. } => "disclosure_duplicate",
            VerifyError::DisclosureMissing { .. } => "disclosure_missing",
        }
    }

    /// The presentation, when everything but its status verified (revoked,
    /// suspended, status unknown).
    pub fn presentation(&self) -> Option<&VerifiedPresentation> {
        match self {
            VerifyError::Revoked { presentation }
            | VerifyError::Suspended { presentation }
            | VerifyError::StatusUnknown { presentation, .. } => Some(presentation),
            _ => None,
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::BadPrefix => {
                write!(
                    f,
                    "the text does not start with {PREFIX} or {HOLDER_PREFIX}"
                )
            }
            VerifyError::TooLarge => {
                write!(f, "the code is longer than {MAX_TEXT_CHARS} characters")
            }
            VerifyError::BadBase45 => f.write_str("the code is not valid base45"),
            VerifyError::DecompressionBomb => write!(
                f,
                "the payload would inflate beyond {MAX_INFLATED_BYTES} bytes"
            ),
            VerifyError::DecompressionFailed => {
                f.write_str("the payload is not a valid zlib stream")
            }
            VerifyError::CborMalformed => {
                f.write_str("the payload is not well-formed CBOR (or has duplicate keys)")
            }
            VerifyError::CborTooDeep => f.write_str("the CBOR nests too deeply"),
            VerifyError::WrongType { field } => write!(f, "wrong type or missing: {field}"),
            VerifyError::UnsupportedAlgorithm { alg: Some(a) } => {
                write!(f, "algorithm {a} is not accepted")
            }
            VerifyError::UnsupportedAlgorithm { alg: None } => {
                f.write_str("the algorithm is not accepted")
            }
            VerifyError::UnknownKid { kid } => {
                write!(f, "key {} is not in the trust list", hex::encode(kid))
            }
            VerifyError::KeyNotValidAtIat { kid } => {
                write!(f, "key {kid} was not valid when the code was issued")
            }
            VerifyError::BadSignature => f.write_str("the signature does not verify"),
            VerifyError::NonCanonicalSignature => f.write_str(
                "the signature is not in canonical form (Ed25519 S ≥ L or ECDSA high S)",
            ),
            VerifyError::IssuerMismatch => {
                f.write_str("the code's issuer is not the trust list's issuer")
            }
            VerifyError::LifetimeTooLong => write!(
                f,
                "the code's lifetime exceeds {MAX_LIFETIME_SECONDS} seconds"
            ),
            VerifyError::Expired => f.write_str("the code has expired"),
            VerifyError::IssuedInFuture => f.write_str("the code is issued in the future"),
            VerifyError::AttributeOutsidePurpose { attribute } => {
                write!(f, "attribute {attribute} is outside the code's purpose")
            }
            VerifyError::PurposeCategoryNotAllowed { purpose, category } => {
                write!(f, "purpose {purpose} may not be shown to a {category}")
            }
            VerifyError::PurposeMismatch { expected, found } => {
                write!(f, "the code is for {found}, not {expected}")
            }
            VerifyError::Revoked { .. } => f.write_str("the card is revoked"),
            VerifyError::Suspended { .. } => f.write_str("the card is suspended"),
            VerifyError::StatusUnknown { reason, .. } => {
                write!(f, "status unknown: {}", reason.describe())
            }
            VerifyError::CredentialExpired => f.write_str("the holder credential has expired"),
            VerifyError::CredentialIssuedInFuture => {
                f.write_str("the holder credential is issued in the future")
            }
            VerifyError::CredentialLifetimeTooLong => write!(
                f,
                "the holder credential's lifetime exceeds {MAX_CREDENTIAL_LIFETIME_SECONDS} seconds"
            ),
            VerifyError::CnfInvalid => {
                f.write_str("the credential's cnf claim is not a valid P-256 key")
            }
            VerifyError::DeviceSignatureInvalid => {
                f.write_str("the device signature does not verify with the credential's key")
            }
            VerifyError::DeviceSignatureNonCanonical => {
                f.write_str("the device signature is not in canonical form (ECDSA high S)")
            }
            VerifyError::DisclosureMalformed => {
                f.write_str("a disclosure is not [salt, key, value] of the key's type")
            }
            VerifyError::DigestMismatch { attribute } => write!(
                f,
                "the disclosed {attribute} does not match the credential's digest"
            ),
            VerifyError::DisclosureOutsidePurpose { attribute } => {
                write!(f, "the disclosed {attribute} is outside the code's purpose")
            }
            VerifyError::DisclosureDuplicate { attribute } => {
                write!(f, "{attribute} is disclosed more than once")
            }
            VerifyError::DisclosureMissing { attribute } => {
                write!(
                    f,
                    "the purpose requires {attribute}, which is not disclosed"
                )
            }
        }
    }
}

impl std::error::Error for VerifyError {}

impl From<CborError> for VerifyError {
    fn from(e: CborError) -> Self {
        match e {
            CborError::Malformed => VerifyError::CborMalformed,
            CborError::TooDeep => VerifyError::CborTooDeep,
        }
    }
}

impl From<FieldError> for VerifyError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::Malformed => VerifyError::CborMalformed,
            FieldError::WrongType(field) => VerifyError::WrongType { field },
        }
    }
}

/// Decodes the text (`SS1:` or `SS2:`) down to the COSE_Sign1 bytes (prefix,
/// size, base45, bounded inflate).
pub fn decode_text(text: &str) -> Result<Vec<u8>, VerifyError> {
    if text.len() > MAX_TEXT_CHARS {
        return Err(VerifyError::TooLarge);
    }
    let body = text
        .strip_prefix(PREFIX)
        .or_else(|| text.strip_prefix(HOLDER_PREFIX))
        .ok_or(VerifyError::BadPrefix)?;
    let bytes = base45::decode(body).map_err(|_| VerifyError::BadBase45)?;
    match bytes.first() {
        Some(0x78) => compress::inflate_bounded(&bytes, MAX_INFLATED_BYTES).map_err(|e| match e {
            InflateError::TooLarge => VerifyError::DecompressionBomb,
            InflateError::Invalid => VerifyError::DecompressionFailed,
        }),
        Some(0xd2) => Ok(bytes),
        _ => Err(VerifyError::WrongType {
            field: "payload_first_byte",
        }),
    }
}

pub(crate) fn need<'a>(
    value: Option<Item<'a>>,
    field: &'static str,
) -> Result<Item<'a>, VerifyError> {
    value.ok_or(VerifyError::WrongType { field })
}

struct Claims {
    issuer: String,
    issued_at: i64,
    expires_at: i64,
    cti: [u8; 16],
    status: StatusRef,
    purpose: Purpose,
    category: VerifierCategory,
    disclosed: Disclosed,
    /// The first attribute key that is not one of ours (checked against the purpose later).
    unknown_attribute: Option<String>,
}

fn parse_claims(payload: &[u8]) -> Result<Claims, VerifyError> {
    let mut claims = Fields::from_item(cbor::decode(payload)?, "claims")?;
    let issuer = cbor::as_text(need(claims.take_int(CLAIM_ISS.into()), "iss")?, "iss")?.to_owned();
    let expires_at = cbor::as_i64(need(claims.take_int(CLAIM_EXP.into()), "exp")?, "exp")?;
    let issued_at = cbor::as_i64(need(claims.take_int(CLAIM_IAT.into()), "iat")?, "iat")?;
    let cti: [u8; 16] = cbor::as_bytes(need(claims.take_int(CLAIM_CTI.into()), "cti")?, "cti")?
        .try_into()
        .map_err(|_| VerifyError::WrongType { field: "cti" })?;
    let mut status = Fields::from_item(
        need(claims.take_int(CLAIM_STATUS.into()), "status")?,
        "status",
    )?;
    let mut status_list = Fields::from_item(
        need(status.take_text_key("status_list"), "status_list")?,
        "status_list",
    )?;
    if !status.is_empty() {
        return Err(VerifyError::WrongType { field: "status" });
    }
    let index = cbor::as_u32(need(status_list.take_text_key("idx"), "idx")?, "idx")?;
    let uri = cbor::as_text(need(status_list.take_text_key("uri"), "uri")?, "uri")?.to_owned();
    if !status_list.is_empty() {
        return Err(VerifyError::WrongType {
            field: "status_list",
        });
    }
    let mut ours = Fields::from_item(
        need(claims.take_int(CLAIM_SHENGSHI.into()), "shengshi_claim")?,
        "shengshi_claim",
    )?;
    if !claims.is_empty() {
        return Err(VerifyError::WrongType { field: "claims" });
    }
    let purpose_code = cbor::as_int(need(ours.take_int(1), "purpose")?, "purpose")?;
    let purpose = u64::try_from(purpose_code)
        .ok()
        .and_then(Purpose::from_code)
        .ok_or(VerifyError::WrongType { field: "purpose" })?;
    let category_code = cbor::as_int(need(ours.take_int(2), "category")?, "category")?;
    let category = u64::try_from(category_code)
        .ok()
        .and_then(VerifierCategory::from_code)
        .ok_or(VerifyError::WrongType { field: "category" })?;
    let mut attrs = Fields::from_item(need(ours.take_int(3), "attributes")?, "attributes")?;
    if !ours.is_empty() {
        return Err(VerifyError::WrongType {
            field: "shengshi_claim",
        });
    }
    let mut disclosed = Disclosed::default();
    for key in AttributeKey::ALL {
        if key == AttributeKey::AgeOver60 {
            // Not an SS1 attribute: left in the map, refused below as outside the purpose.
            continue;
        }
        let Some(value) = attrs.take_int(key.code().into()) else {
            continue;
        };
        match key {
            AttributeKey::Name => disclosed.name = Some(cbor::as_text(value, "name")?.to_owned()),
            AttributeKey::IdNumber => {
                disclosed.id_number = Some(cbor::as_text(value, "id_number")?.to_owned())
            }
            AttributeKey::Sex => {
                let code = cbor::as_int(value, "sex")?;
                disclosed.sex = Some(
                    u64::try_from(code)
                        .ok()
                        .and_then(Sex::from_code)
                        .ok_or(VerifyError::WrongType { field: "sex" })?,
                );
            }
            AttributeKey::BirthDate => {
                let date = cbor::as_text(value, "birth_date")?;
                if !is_full_date(date) {
                    return Err(VerifyError::WrongType {
                        field: "birth_date",
                    });
                }
                disclosed.birth_date = Some(date.to_owned());
            }
            AttributeKey::Address => {
                disclosed.address = Some(cbor::as_text(value, "address")?.to_owned())
            }
            AttributeKey::PortraitDigest => {
                disclosed.portrait_digest = Some(
                    cbor::as_bytes(value, "portrait_digest")?
                        .try_into()
                        .map_err(|_| VerifyError::WrongType {
                            field: "portrait_digest",
                        })?,
                )
            }
            AttributeKey::AgeOver18 => {
                disclosed.age_over_18 = Some(cbor::as_bool(value, "age_over_18")?)
            }
            AttributeKey::AgeOver60 => {}
        }
    }
    let unknown_attribute = attrs.remaining_keys().next().map(|k| match k {
        cbor::Key::Int(i) => format!("{i}"),
        cbor::Key::Text(t) => format!("{t:?}"),
    });
    Ok(Claims {
        issuer,
        issued_at,
        expires_at,
        cti,
        status: StatusRef { index, uri },
        purpose,
        category,
        disclosed,
        unknown_attribute,
    })
}

/// `YYYY-MM-DD` with a plausible month and day.
pub(crate) fn is_full_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return false;
    }
    let month = (b[5] - b'0') * 10 + (b[6] - b'0');
    let day = (b[8] - b'0') * 10 + (b[9] - b'0');
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Verifies a code offline: `SS1:` (issuer-signed) or `SS2:` (holder-bound,
/// see [`crate::verify_holder_presentation`]). Every check runs, in the order of
/// docs/eid-format.md; the first failure is returned. `Ok` only when the
/// status list says VALID.
pub fn verify_presentation(
    text: &str,
    trust: &TrustList,
    status: Option<&StatusListToken>,
    now: i64,
    policy: &VerifyPolicy,
) -> Result<VerifiedPresentation, VerifyError> {
    if text.len() <= MAX_TEXT_CHARS && text.starts_with(HOLDER_PREFIX) {
        return crate::holder::verify_holder_presentation(text, trust, status, now, policy, None);
    }
    // 1. Text, size, base45, bounded inflate.
    let cose = decode_text(text)?;
    // 2. COSE_Sign1 structure and protected header.
    let sign1 = cbor::parse_sign1(&cose, &[]).map_err(|e| match e {
        Sign1Error::Cbor(c) => VerifyError::from(c),
        Sign1Error::WrongType(field) => VerifyError::WrongType { field },
        Sign1Error::UnsupportedAlgorithm(alg) => VerifyError::UnsupportedAlgorithm { alg },
    })?;
    // 3. Algorithm allow-list, key id in the trust list, key of that algorithm.
    let algorithm =
        Algorithm::from_cose_id(sign1.alg).ok_or(VerifyError::UnsupportedAlgorithm {
            alg: Some(i128::from(sign1.alg)),
        })?;
    let kid = KeyId(sign1.kid.try_into().map_err(|_| VerifyError::UnknownKid {
        kid: sign1.kid.to_vec(),
    })?);
    let key = trust.find(&kid).ok_or_else(|| VerifyError::UnknownKid {
        kid: sign1.kid.to_vec(),
    })?;
    if key.public_key.algorithm() != algorithm {
        return Err(VerifyError::UnsupportedAlgorithm {
            alg: Some(i128::from(sign1.alg)),
        });
    }
    // 4. Signature (strict), before the payload is parsed.
    key.public_key
        .verify(
            &cbor::sig_structure(sign1.protected_bytes, sign1.payload),
            sign1.signature,
        )
        .map_err(|e| match e {
            SignatureError::Bad => VerifyError::BadSignature,
            SignatureError::NonCanonical => VerifyError::NonCanonicalSignature,
        })?;
    // 5. Claims: structure and types.
    let claims = parse_claims(sign1.payload)?;
    // 6. Issuer and key validity at iat.
    if claims.issuer != trust.issuer {
        return Err(VerifyError::IssuerMismatch);
    }
    if !key.valid_at(claims.issued_at) {
        return Err(VerifyError::KeyNotValidAtIat { kid });
    }
    // 7. Validity window.
    let lifetime = i128::from(claims.expires_at) - i128::from(claims.issued_at);
    if lifetime <= 0 {
        return Err(VerifyError::WrongType { field: "exp" });
    }
    if lifetime > i128::from(MAX_LIFETIME_SECONDS) {
        return Err(VerifyError::LifetimeTooLong);
    }
    let skew = policy.max_clock_skew_seconds.max(0);
    if claims.issued_at > now.saturating_add(skew) {
        return Err(VerifyError::IssuedInFuture);
    }
    if now >= claims.expires_at.saturating_add(skew) {
        return Err(VerifyError::Expired);
    }
    // 8. Purpose: allowed for the category, only its attributes, the one expected.
    if !claims.purpose.allows(claims.category) {
        return Err(VerifyError::PurposeCategoryNotAllowed {
            purpose: claims.purpose,
            category: claims.category,
        });
    }
    if let Some(attribute) = claims.unknown_attribute {
        return Err(VerifyError::AttributeOutsidePurpose { attribute });
    }
    let allowed = claims.purpose.attribute_keys();
    let present = claims.disclosed.keys();
    for key in &present {
        if !allowed.contains(key) {
            return Err(VerifyError::AttributeOutsidePurpose {
                attribute: key.name().to_owned(),
            });
        }
    }
    for required in allowed {
        if *required != AttributeKey::PortraitDigest && !present.contains(required) {
            return Err(VerifyError::WrongType {
                field: required.name(),
            });
        }
    }
    if let Some(expected) = policy.expected_purpose {
        if expected != claims.purpose {
            return Err(VerifyError::PurposeMismatch {
                expected,
                found: claims.purpose,
            });
        }
    }
    let presentation = VerifiedPresentation {
        issuer: claims.issuer,
        kid,
        algorithm,
        issued_at: claims.issued_at,
        expires_at: claims.expires_at,
        cti: claims.cti,
        purpose: claims.purpose,
        category: claims.category,
        disclosed: claims.disclosed,
        status: claims.status,
        mode: PresentationMode::Issuer,
        holder: None,
    };
    // 9. Status: a fresh list for this URI must say VALID.
    check_status(presentation, status, now, policy)
}

/// The last step of every verification: a fresh status list for the code's
/// URI must say VALID at the code's index.
pub(crate) fn check_status(
    presentation: VerifiedPresentation,
    status: Option<&StatusListToken>,
    now: i64,
    policy: &VerifyPolicy,
) -> Result<VerifiedPresentation, VerifyError> {
    let unknown = |reason, presentation| VerifyError::StatusUnknown {
        reason,
        presentation: Box::new(presentation),
    };
    let Some(list) = status else {
        return Err(unknown(StatusUnknownReason::NoList, presentation));
    };
    if list.uri != presentation.status.uri {
        return Err(unknown(StatusUnknownReason::OtherList, presentation));
    }
    if now >= list.expires_at {
        return Err(unknown(StatusUnknownReason::ListExpired, presentation));
    }
    if now.saturating_sub(list.issued_at) > policy.max_status_age_seconds {
        return Err(unknown(StatusUnknownReason::ListTooOld, presentation));
    }
    let index = presentation.status.index as usize;
    if index >= list.list.len() {
        return Err(unknown(StatusUnknownReason::IndexOutOfRange, presentation));
    }
    match list.list.get(index) {
        Some(CardStatus::Valid) => Ok(presentation),
        Some(CardStatus::Revoked) => Err(VerifyError::Revoked {
            presentation: Box::new(presentation),
        }),
        Some(CardStatus::Suspended) => Err(VerifyError::Suspended {
            presentation: Box::new(presentation),
        }),
        None => Err(unknown(StatusUnknownReason::UnknownValue, presentation)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(is_full_date("1990-02-28"));
        assert!(!is_full_date("1990-13-01"));
        assert!(!is_full_date("1990-1-01"));
        assert!(!is_full_date("１９９０-01-01"));
    }

    #[test]
    fn decode_text_errors() {
        assert_eq!(decode_text("HC1:ABC").unwrap_err(), VerifyError::BadPrefix);
        assert_eq!(decode_text("SS2:abc").unwrap_err(), VerifyError::BadBase45);
        assert_eq!(decode_text("SS1:abc").unwrap_err(), VerifyError::BadBase45);
        assert_eq!(
            decode_text(&"A".repeat(5000)).unwrap_err(),
            VerifyError::TooLarge
        );
        assert_eq!(
            decode_text(&format!("SS1:{}", base45::encode(&[0x00]))).unwrap_err(),
            VerifyError::WrongType {
                field: "payload_first_byte"
            }
        );
    }
}
