//! The printable identity document: MOSIP Claim 169 (IANA CWT claim 169,
//! "identity-data"), the one long-lived code we issue.
//!
//! Layout, exactly what third-party Claim 169 decoders expect (the MOSIP
//! specification, github.com/mosip/id-claim-169, draft-sasikumar-id-claim-169,
//! and the MOSIP documentation's "169 - QR Code Specifications"):
//!
//! ```text
//! identity map (integer keys) → CWT claim 169 → COSE_Sign1 (tag 18)
//!   → zlib (always) → base45 (RFC 9285), no prefix
//! ```
//!
//! The CWT also carries `iss` (1), `exp` (4), `nbf` (5), `iat` (6) and our
//! Token Status List reference (65535, as in presentation codes), so a document
//! can be revoked. The protected header is `{1: alg, 4: kid}`, the kid naming
//! the issuer key in our trust list. docs/eid-format.md has the rationale and
//! the risks.

use crate::base45;
use crate::cbor::{self, Fields, Item, TAG_COSE_SIGN1};
use crate::claims::StatusRef;
use crate::compress::{self, InflateError};
use crate::keys::{sign_checked, Algorithm, KeyId, PublicKey, SignError, SignatureError, Signer};
use crate::presentation::{need, VerifyError, VerifyPolicy};
use crate::status::{CardStatus, StatusListToken};
use crate::trust::TrustList;
use crate::StatusUnknownReason;
use ciborium::Value;
use std::fmt;

/// The CWT claim that holds the identity data (IANA "CBOR Web Token (CWT) Claims").
pub const CLAIM_IDENTITY: i64 = 169;
/// CWT `nbf` (RFC 8392).
pub const CLAIM_NBF: i64 = 5;
const CLAIM_ISS: i64 = 1;
const CLAIM_EXP: i64 = 4;
const CLAIM_IAT: i64 = 6;
const CLAIM_STATUS: i64 = 65535;
/// The most a version 40 QR code holds in alphanumeric mode (EC level L):
/// a longer document could not be printed.
pub const MAX_DOCUMENT_TEXT_CHARS: usize = 4296;
/// The most a document's zlib stream may inflate to.
pub const MAX_DOCUMENT_INFLATED_BYTES: usize = 16 * 1024;
/// The longest validity (`exp - iat`) we issue or accept: five years and two
/// leap days.
pub const MAX_DOCUMENT_LIFETIME_SECONDS: i64 = (5 * 365 + 2) * 86_400;
/// The Claim 169 data version we write (key 2).
pub const DOCUMENT_VERSION: &str = "1.0";

/// Gender (key 9): 1 male, 2 female, 3 others (Claim 169 §"CBOR Map Structure").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Male,
    Female,
    Other,
}

impl Gender {
    pub fn code(self) -> u32 {
        match self {
            Gender::Male => 1,
            Gender::Female => 2,
            Gender::Other => 3,
        }
    }

    pub fn from_code(code: i128) -> Option<Gender> {
        match code {
            1 => Some(Gender::Male),
            2 => Some(Gender::Female),
            3 => Some(Gender::Other),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Other => "other",
        }
    }
}

/// Photo format (key 17): 1 JPEG, 2 JPEG 2000, 3 AVIF, 4 WebP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhotoFormat {
    Jpeg,
    Jpeg2000,
    Avif,
    Webp,
}

impl PhotoFormat {
    pub fn code(self) -> u32 {
        match self {
            PhotoFormat::Jpeg => 1,
            PhotoFormat::Jpeg2000 => 2,
            PhotoFormat::Avif => 3,
            PhotoFormat::Webp => 4,
        }
    }

    pub fn from_code(code: i128) -> Option<PhotoFormat> {
        match code {
            1 => Some(PhotoFormat::Jpeg),
            2 => Some(PhotoFormat::Jpeg2000),
            3 => Some(PhotoFormat::Avif),
            4 => Some(PhotoFormat::Webp),
            _ => None,
        }
    }

    /// The format of an image by its magic bytes, if it is one Claim 169 names.
    pub fn sniff(image: &[u8]) -> Option<PhotoFormat> {
        if image.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(PhotoFormat::Jpeg)
        } else if image.starts_with(b"RIFF") && image.get(8..12) == Some(b"WEBP") {
            Some(PhotoFormat::Webp)
        } else if image.get(4..12) == Some(b"ftypavif") {
            Some(PhotoFormat::Avif)
        } else if image.starts_with(&[0, 0, 0, 0x0c, b'j', b'P', b' ', b' '])
            || image.starts_with(&[0xff, 0x4f, 0xff, 0x51])
        {
            Some(PhotoFormat::Jpeg2000)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "jpeg",
            PhotoFormat::Jpeg2000 => "jpeg2000",
            PhotoFormat::Avif => "avif",
            PhotoFormat::Webp => "webp",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Jpeg2000 => "image/jp2",
            PhotoFormat::Avif => "image/avif",
            PhotoFormat::Webp => "image/webp",
        }
    }
}

/// Claim 169 keys (the specification's table; all fields are optional).
pub mod key {
    pub const ID: u8 = 1;
    pub const VERSION: u8 = 2;
    pub const LANGUAGE: u8 = 3;
    pub const FULL_NAME: u8 = 4;
    pub const DATE_OF_BIRTH: u8 = 8;
    pub const GENDER: u8 = 9;
    pub const ADDRESS: u8 = 10;
    pub const NATIONALITY: u8 = 13;
    pub const PHOTO: u8 = 16;
    pub const PHOTO_FORMAT: u8 = 17;
}

/// The identity data of claim 169 that we write and read. Other keys of the
/// specification (first/last names, e-mail, biometrics, …) we never issue.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// 1: the ID number.
    pub id: Option<String>,
    /// 2: the data version.
    pub version: Option<String>,
    /// 3: the language of the text fields (ISO 639-3, e.g. `zho`).
    pub language: Option<String>,
    /// 4: full name.
    pub full_name: Option<String>,
    /// 8: date of birth, `YYYYMMDD` (decoders also meet `YYYY-MM-DD`).
    pub date_of_birth: Option<String>,
    /// 9.
    pub gender: Option<Gender>,
    /// 10: address, lines separated by `\n`.
    pub address: Option<String>,
    /// 13: nationality (ISO 3166-1 alpha-3, e.g. `CHN`).
    pub nationality: Option<String>,
    /// 16: the photograph's bytes.
    pub photo: Option<Vec<u8>>,
    /// 17: the photograph's format.
    pub photo_format: Option<PhotoFormat>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal data never reaches logs through Debug.
        write!(f, "Identity {{ fields: {:?} }}", self.field_names())
    }
}

impl Identity {
    /// The names of the fields present, in key order (what a verifier reads).
    pub fn field_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut add = |present: bool, name| {
            if present {
                names.push(name)
            }
        };
        add(self.id.is_some(), "id");
        add(self.version.is_some(), "version");
        add(self.language.is_some(), "language");
        add(self.full_name.is_some(), "full_name");
        add(self.date_of_birth.is_some(), "date_of_birth");
        add(self.gender.is_some(), "gender");
        add(self.address.is_some(), "address");
        add(self.nationality.is_some(), "nationality");
        add(self.photo.is_some(), "photo");
        add(self.photo_format.is_some(), "photo_format");
        names
    }

    fn to_value(&self) -> Value {
        let mut map = Vec::new();
        let mut text = |k: u8, v: &Option<String>| {
            if let Some(v) = v {
                map.push((Value::from(k), Value::from(v.as_str())));
            }
        };
        text(key::ID, &self.id);
        text(key::VERSION, &self.version);
        text(key::LANGUAGE, &self.language);
        text(key::FULL_NAME, &self.full_name);
        text(key::DATE_OF_BIRTH, &self.date_of_birth);
        if let Some(g) = self.gender {
            map.push((Value::from(key::GENDER), Value::from(g.code())));
        }
        if let Some(a) = &self.address {
            map.push((Value::from(key::ADDRESS), Value::from(a.as_str())));
        }
        if let Some(n) = &self.nationality {
            map.push((Value::from(key::NATIONALITY), Value::from(n.as_str())));
        }
        if let Some(p) = &self.photo {
            map.push((Value::from(key::PHOTO), Value::Bytes(p.clone())));
        }
        if let Some(f) = self.photo_format {
            map.push((Value::from(key::PHOTO_FORMAT), Value::from(f.code())));
        }
        // Keys are all below 24, so ascending order is RFC 8949 §4.2.1 order.
        Value::Map(map)
    }
}

/// `YYYYMMDD` (what we write) with a plausible month and day.
pub fn is_compact_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let month = (b[4] - b'0') * 10 + (b[5] - b'0');
    let day = (b[6] - b'0') * 10 + (b[7] - b'0');
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// What the issuer puts in one document.
#[derive(Debug, Clone)]
pub struct DocumentRequest<'a> {
    pub issuer: &'a str,
    /// Unix seconds; also `nbf`.
    pub issued_at: i64,
    /// Unix seconds; at most [`MAX_DOCUMENT_LIFETIME_SECONDS`] after `issued_at`.
    pub expires_at: i64,
    pub identity: &'a Identity,
    pub status: StatusRef,
}

/// A document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error(
        "the validity must be more than 0 and at most {MAX_DOCUMENT_LIFETIME_SECONDS} seconds"
    )]
    Lifetime,
    #[error("the document names no field")]
    Empty,
    #[error("field {0} is not valid (date_of_birth must be YYYYMMDD; photo needs its format)")]
    Field(&'static str),
    #[error("the document would be longer than {MAX_DOCUMENT_TEXT_CHARS} characters (a QR code holds no more)")]
    TooLarge,
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Signs a Claim 169 document and returns the QR text (base45, no prefix).
pub fn mint_document(
    request: &DocumentRequest<'_>,
    signer: &dyn Signer,
) -> Result<String, DocumentError> {
    let lifetime = i128::from(request.expires_at) - i128::from(request.issued_at);
    if lifetime <= 0 || lifetime > i128::from(MAX_DOCUMENT_LIFETIME_SECONDS) {
        return Err(DocumentError::Lifetime);
    }
    let identity = request.identity;
    if identity.field_names().iter().all(|f| {
        // Only the data version and language: nothing about the person.
        *f == "version" || *f == "language"
    }) {
        return Err(DocumentError::Empty);
    }
    if let Some(d) = &identity.date_of_birth {
        if !is_compact_date(d) {
            return Err(DocumentError::Field("date_of_birth"));
        }
    }
    if identity.photo.is_some() != identity.photo_format.is_some() {
        return Err(DocumentError::Field("photo"));
    }
    let payload = cbor::encode(&Value::Map(vec![
        (Value::from(CLAIM_ISS), Value::from(request.issuer)),
        (Value::from(CLAIM_EXP), Value::from(request.expires_at)),
        (Value::from(CLAIM_NBF), Value::from(request.issued_at)),
        (Value::from(CLAIM_IAT), Value::from(request.issued_at)),
        (Value::from(CLAIM_IDENTITY), identity.to_value()),
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
    ]));
    let protected =
        cbor::protected_header(signer.algorithm().cose_id(), &signer.key_id().0, None, None);
    let signature = sign_checked(signer, &cbor::sig_structure(&protected, &payload))?;
    let cose = cbor::encode_sign1(&protected, &payload, &signature);
    // Claim 169 always compresses (zlib), whatever the size.
    let text = base45::encode(&compress::deflate(&cose));
    if text.len() > MAX_DOCUMENT_TEXT_CHARS {
        return Err(DocumentError::TooLarge);
    }
    Ok(text)
}

/// A document whose signature, validity and (for [`verify_document`]) status
/// were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDocument {
    pub issuer: Option<String>,
    /// The protected header's kid, if any (ours always have one).
    pub kid: Option<KeyId>,
    pub algorithm: Algorithm,
    pub issued_at: Option<i64>,
    pub not_before: Option<i64>,
    pub expires_at: Option<i64>,
    pub status: Option<StatusRef>,
    pub identity: Identity,
    /// Claim 169 keys present that this decoder does not read (never in our
    /// documents; [`verify_document`] refuses them).
    pub unread_keys: Vec<i128>,
}

/// Why a document was refused. [`DocumentVerifyError::code`] uses the same
/// codes as presentation codes where the check is the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentVerifyError {
    /// Text, zlib, CBOR, COSE, signature, issuer, validity: as for presentations.
    Code(VerifyError),
    /// `nbf` is in the future.
    NotYetValid,
    Revoked(Box<VerifiedDocument>),
    Suspended(Box<VerifiedDocument>),
    /// Everything else verified but the status is unknown: never valid.
    StatusUnknown {
        reason: StatusUnknownReason,
        document: Box<VerifiedDocument>,
    },
}

impl DocumentVerifyError {
    pub fn code(&self) -> &'static str {
        match self {
            DocumentVerifyError::Code(e) => e.code(),
            DocumentVerifyError::NotYetValid => "not_yet_valid",
            DocumentVerifyError::Revoked(_) => "revoked",
            DocumentVerifyError::Suspended(_) => "suspended",
            DocumentVerifyError::StatusUnknown { .. } => "status_unknown",
        }
    }

    /// The document, when everything but its status verified.
    pub fn document(&self) -> Option<&VerifiedDocument> {
        match self {
            DocumentVerifyError::Revoked(d) | DocumentVerifyError::Suspended(d) => Some(d),
            DocumentVerifyError::StatusUnknown { document, .. } => Some(document),
            _ => None,
        }
    }
}

impl fmt::Display for DocumentVerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentVerifyError::Code(VerifyError::TooLarge) => write!(
                f,
                "the document is longer than {MAX_DOCUMENT_TEXT_CHARS} characters"
            ),
            DocumentVerifyError::Code(VerifyError::DecompressionBomb) => write!(
                f,
                "the payload would inflate beyond {MAX_DOCUMENT_INFLATED_BYTES} bytes"
            ),
            DocumentVerifyError::Code(VerifyError::LifetimeTooLong) => write!(
                f,
                "the document's validity exceeds {MAX_DOCUMENT_LIFETIME_SECONDS} seconds"
            ),
            DocumentVerifyError::Code(VerifyError::Expired) => {
                f.write_str("the document has expired")
            }
            DocumentVerifyError::Code(VerifyError::IssuedInFuture) => {
                f.write_str("the document is issued in the future")
            }
            DocumentVerifyError::Code(e) => e.fmt(f),
            DocumentVerifyError::NotYetValid => f.write_str("the document is not valid yet"),
            DocumentVerifyError::Revoked(_) => f.write_str("the document is revoked"),
            DocumentVerifyError::Suspended(_) => f.write_str("the document is suspended"),
            DocumentVerifyError::StatusUnknown { reason, .. } => {
                write!(f, "status unknown: {}", reason.describe())
            }
        }
    }
}

impl std::error::Error for DocumentVerifyError {}

impl From<VerifyError> for DocumentVerifyError {
    fn from(e: VerifyError) -> Self {
        DocumentVerifyError::Code(e)
    }
}

fn code_err(e: impl Into<VerifyError>) -> DocumentVerifyError {
    DocumentVerifyError::Code(e.into())
}

/// A COSE_Sign1 taken apart, nothing verified yet.
struct Parsed {
    protected: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
    alg: i64,
    kid: Option<Vec<u8>>,
}

/// Base45 → bounded zlib inflate → COSE_Sign1 (tag 18). The header may carry
/// `alg` (required) and `kid` (protected, or unprotected as COSE allows).
fn parse(text: &str) -> Result<Parsed, DocumentVerifyError> {
    if text.len() > MAX_DOCUMENT_TEXT_CHARS {
        return Err(code_err(VerifyError::TooLarge));
    }
    let bytes = base45::decode(text).map_err(|_| code_err(VerifyError::BadBase45))?;
    if bytes.first() != Some(&0x78) {
        // Claim 169 is always zlib (CMF 0x78).
        return Err(code_err(VerifyError::DecompressionFailed));
    }
    let cose = compress::inflate_bounded(&bytes, MAX_DOCUMENT_INFLATED_BYTES).map_err(|e| {
        code_err(match e {
            InflateError::TooLarge => VerifyError::DecompressionBomb,
            InflateError::Invalid => VerifyError::DecompressionFailed,
        })
    })?;
    let item = cbor::decode(&cose).map_err(code_err)?;
    let wrong = |field| code_err(VerifyError::WrongType { field });
    let Item::Tag(TAG_COSE_SIGN1, inner) = item else {
        return Err(wrong("cose_sign1_tag"));
    };
    let Item::Array(items) = *inner else {
        return Err(wrong("cose_sign1"));
    };
    let [protected, unprotected, payload, signature]: [Item<'_>; 4] =
        items.try_into().map_err(|_| wrong("cose_sign1"))?;
    let (Item::Bytes(protected), Item::Bytes(payload), Item::Bytes(signature)) =
        (protected, payload, signature)
    else {
        return Err(wrong("cose_sign1"));
    };
    let mut header = Fields::from_item(
        cbor::decode(protected).map_err(code_err)?,
        "protected_header",
    )
    .map_err(code_err)?;
    let alg = match header.take_int(1) {
        Some(item) => {
            let id = item
                .as_i128()
                .ok_or(code_err(VerifyError::UnsupportedAlgorithm { alg: None }))?;
            i64::try_from(id)
                .map_err(|_| code_err(VerifyError::UnsupportedAlgorithm { alg: Some(id) }))?
        }
        None => return Err(wrong("alg")),
    };
    let mut kid = match header.take_int(4) {
        Some(item) => Some(cbor::as_bytes(item, "kid").map_err(code_err)?.to_vec()),
        None => None,
    };
    if !header.is_empty() {
        return Err(wrong("protected_header"));
    }
    let mut unprotected = Fields::from_item(unprotected, "unprotected_header").map_err(code_err)?;
    if let Some(item) = unprotected.take_int(4) {
        if kid.is_some() {
            return Err(wrong("kid"));
        }
        kid = Some(cbor::as_bytes(item, "kid").map_err(code_err)?.to_vec());
    }
    if !unprotected.is_empty() {
        return Err(wrong("unprotected_header"));
    }
    Ok(Parsed {
        protected: protected.to_vec(),
        payload: payload.to_vec(),
        signature: signature.to_vec(),
        alg,
        kid,
    })
}

fn check_signature(parsed: &Parsed, key: &PublicKey) -> Result<Algorithm, DocumentVerifyError> {
    let algorithm =
        Algorithm::from_cose_id(parsed.alg).ok_or(code_err(VerifyError::UnsupportedAlgorithm {
            alg: Some(i128::from(parsed.alg)),
        }))?;
    if key.algorithm() != algorithm {
        return Err(code_err(VerifyError::UnsupportedAlgorithm {
            alg: Some(i128::from(parsed.alg)),
        }));
    }
    key.verify(
        &cbor::sig_structure(&parsed.protected, &parsed.payload),
        &parsed.signature,
    )
    .map_err(|e| {
        code_err(match e {
            SignatureError::Bad => VerifyError::BadSignature,
            SignatureError::NonCanonical => VerifyError::NonCanonicalSignature,
        })
    })?;
    Ok(algorithm)
}

fn text_field(item: Item<'_>, field: &'static str) -> Result<String, DocumentVerifyError> {
    Ok(cbor::as_text(item, field).map_err(code_err)?.to_owned())
}

/// The CWT claims, after the signature verified.
fn parse_claims(
    payload: &[u8],
    algorithm: Algorithm,
    kid: Option<KeyId>,
) -> Result<VerifiedDocument, DocumentVerifyError> {
    let mut claims =
        Fields::from_item(cbor::decode(payload).map_err(code_err)?, "claims").map_err(code_err)?;
    let int = |item: Option<Item<'_>>, field| -> Result<Option<i64>, DocumentVerifyError> {
        item.map(|i| cbor::as_i64(i, field).map_err(code_err))
            .transpose()
    };
    let issuer = claims
        .take_int(CLAIM_ISS.into())
        .map(|i| text_field(i, "iss"))
        .transpose()?;
    let expires_at = int(claims.take_int(CLAIM_EXP.into()), "exp")?;
    let not_before = int(claims.take_int(CLAIM_NBF.into()), "nbf")?;
    let issued_at = int(claims.take_int(CLAIM_IAT.into()), "iat")?;
    let status = match claims.take_int(CLAIM_STATUS.into()) {
        None => None,
        Some(item) => {
            let mut status = Fields::from_item(item, "status").map_err(code_err)?;
            let mut list = Fields::from_item(
                need(status.take_text_key("status_list"), "status_list")?,
                "status_list",
            )
            .map_err(code_err)?;
            let index =
                cbor::as_u32(need(list.take_text_key("idx"), "idx")?, "idx").map_err(code_err)?;
            let uri = text_field(need(list.take_text_key("uri"), "uri")?, "uri")?;
            if !status.is_empty() || !list.is_empty() {
                return Err(code_err(VerifyError::WrongType { field: "status" }));
            }
            Some(StatusRef { index, uri })
        }
    };
    let mut data = Fields::from_item(
        need(claims.take_int(CLAIM_IDENTITY.into()), "claim_169")?,
        "claim_169",
    )
    .map_err(code_err)?;
    // Other CWT claims (sub, aud, cti, …) are allowed by the specification
    // and carry nothing we show; they are ignored.
    let mut identity = Identity::default();
    let text =
        |data: &mut Fields<'_>, k: u8, field| -> Result<Option<String>, DocumentVerifyError> {
            data.take_int(k.into())
                .map(|i| text_field(i, field))
                .transpose()
        };
    identity.id = text(&mut data, key::ID, "id")?;
    identity.version = text(&mut data, key::VERSION, "version")?;
    identity.language = text(&mut data, key::LANGUAGE, "language")?;
    identity.full_name = text(&mut data, key::FULL_NAME, "full_name")?;
    identity.date_of_birth = text(&mut data, key::DATE_OF_BIRTH, "date_of_birth")?;
    if let Some(d) = &identity.date_of_birth {
        let dashed = d.len() == 10 && crate::presentation::is_full_date(d);
        if !is_compact_date(d) && !dashed {
            return Err(code_err(VerifyError::WrongType {
                field: "date_of_birth",
            }));
        }
    }
    if let Some(item) = data.take_int(key::GENDER.into()) {
        let code = cbor::as_int(item, "gender").map_err(code_err)?;
        identity.gender = Some(
            Gender::from_code(code).ok_or(code_err(VerifyError::WrongType { field: "gender" }))?,
        );
    }
    identity.address = text(&mut data, key::ADDRESS, "address")?;
    identity.nationality = text(&mut data, key::NATIONALITY, "nationality")?;
    if let Some(item) = data.take_int(key::PHOTO.into()) {
        identity.photo = Some(cbor::as_bytes(item, "photo").map_err(code_err)?.to_vec());
    }
    if let Some(item) = data.take_int(key::PHOTO_FORMAT.into()) {
        let code = cbor::as_int(item, "photo_format").map_err(code_err)?;
        identity.photo_format = Some(PhotoFormat::from_code(code).ok_or(code_err(
            VerifyError::WrongType {
                field: "photo_format",
            },
        ))?);
    }
    let mut unread_keys = Vec::new();
    for k in data.remaining_keys() {
        match k {
            cbor::Key::Int(i) => unread_keys.push(i),
            // The specification's keys are integers only.
            cbor::Key::Text(_) => {
                return Err(code_err(VerifyError::WrongType { field: "claim_169" }))
            }
        }
    }
    unread_keys.sort_unstable();
    Ok(VerifiedDocument {
        issuer,
        kid,
        algorithm,
        issued_at,
        not_before,
        expires_at,
        status,
        identity,
        unread_keys,
    })
}

/// The validity window: `exp` (and `nbf`, `iat` when present) against `now`.
fn check_window(
    document: &VerifiedDocument,
    now: i64,
    skew: i64,
) -> Result<(), DocumentVerifyError> {
    let skew = skew.max(0);
    if let Some(iat) = document.issued_at {
        if iat > now.saturating_add(skew) {
            return Err(code_err(VerifyError::IssuedInFuture));
        }
    }
    if let Some(nbf) = document.not_before {
        if nbf > now.saturating_add(skew) {
            return Err(DocumentVerifyError::NotYetValid);
        }
    }
    if let Some(exp) = document.expires_at {
        if now >= exp.saturating_add(skew) {
            return Err(code_err(VerifyError::Expired));
        }
    }
    Ok(())
}

/// Decodes and checks a Claim 169 document against one known public key, as a
/// third-party verifier with a preconfigured key does (no trust list, no kid
/// needed, no status): signature (strict), then `exp`/`nbf`/`iat` when present.
pub fn verify_document_with_key(
    text: &str,
    key: &PublicKey,
    now: i64,
    max_clock_skew_seconds: i64,
) -> Result<VerifiedDocument, DocumentVerifyError> {
    let parsed = parse(text)?;
    let algorithm = check_signature(&parsed, key)?;
    let kid = parsed
        .kid
        .as_deref()
        .and_then(|k| k.try_into().ok())
        .map(KeyId);
    let document = parse_claims(&parsed.payload, algorithm, kid)?;
    check_window(&document, now, max_clock_skew_seconds)?;
    Ok(document)
}

/// Verifies one of our documents offline: the issuer key named by `kid` in the
/// trust list (valid at `iat`), the issuer, a validity of at most five years,
/// `nbf`/`exp`, only the fields we issue, and finally the status list, which
/// must say VALID at the document's index. Fails closed at the first problem.
pub fn verify_document(
    text: &str,
    trust: &TrustList,
    status: Option<&StatusListToken>,
    now: i64,
    policy: &VerifyPolicy,
) -> Result<VerifiedDocument, DocumentVerifyError> {
    let parsed = parse(text)?;
    let raw_kid = parsed
        .kid
        .clone()
        .ok_or(code_err(VerifyError::WrongType { field: "kid" }))?;
    let kid = KeyId(raw_kid.as_slice().try_into().map_err(|_| {
        code_err(VerifyError::UnknownKid {
            kid: raw_kid.clone(),
        })
    })?);
    let key = trust.find(&kid).ok_or_else(|| {
        code_err(VerifyError::UnknownKid {
            kid: raw_kid.clone(),
        })
    })?;
    let algorithm = check_signature(&parsed, &key.public_key)?;
    let document = parse_claims(&parsed.payload, algorithm, Some(kid))?;
    if document.issuer.as_deref() != Some(trust.issuer.as_str()) {
        return Err(code_err(VerifyError::IssuerMismatch));
    }
    let issued_at = document
        .issued_at
        .ok_or(code_err(VerifyError::WrongType { field: "iat" }))?;
    let expires_at = document
        .expires_at
        .ok_or(code_err(VerifyError::WrongType { field: "exp" }))?;
    if !key.valid_at(issued_at) {
        return Err(code_err(VerifyError::KeyNotValidAtIat { kid }));
    }
    let lifetime = i128::from(expires_at) - i128::from(issued_at);
    if lifetime <= 0 {
        return Err(code_err(VerifyError::WrongType { field: "exp" }));
    }
    if lifetime > i128::from(MAX_DOCUMENT_LIFETIME_SECONDS) {
        return Err(code_err(VerifyError::LifetimeTooLong));
    }
    if let Some(&unread) = document.unread_keys.first() {
        return Err(code_err(VerifyError::AttributeOutsidePurpose {
            attribute: unread.to_string(),
        }));
    }
    check_window(&document, now, policy.max_clock_skew_seconds)?;
    let status_ref = document
        .status
        .clone()
        .ok_or(code_err(VerifyError::WrongType { field: "status" }))?;
    let unknown = |reason, document| DocumentVerifyError::StatusUnknown {
        reason,
        document: Box::new(document),
    };
    let Some(list) = status else {
        return Err(unknown(StatusUnknownReason::NoList, document));
    };
    if list.uri != status_ref.uri {
        return Err(unknown(StatusUnknownReason::OtherList, document));
    }
    if now >= list.expires_at {
        return Err(unknown(StatusUnknownReason::ListExpired, document));
    }
    if now.saturating_sub(list.issued_at) > policy.max_status_age_seconds {
        return Err(unknown(StatusUnknownReason::ListTooOld, document));
    }
    let index = status_ref.index as usize;
    if index >= list.list.len() {
        return Err(unknown(StatusUnknownReason::IndexOutOfRange, document));
    }
    match list.list.get(index) {
        Some(CardStatus::Valid) => Ok(document),
        Some(CardStatus::Revoked) => Err(DocumentVerifyError::Revoked(Box::new(document))),
        Some(CardStatus::Suspended) => Err(DocumentVerifyError::Suspended(Box::new(document))),
        None => Err(unknown(StatusUnknownReason::UnknownValue, document)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_dates() {
        assert!(is_compact_date("19900228"));
        assert!(!is_compact_date("19901301"));
        assert!(!is_compact_date("1990-02-28"));
        assert!(!is_compact_date("1990022"));
    }

    #[test]
    fn photo_formats_are_sniffed_and_coded() {
        assert_eq!(
            PhotoFormat::sniff(&[0xff, 0xd8, 0xff, 0xe0]),
            Some(PhotoFormat::Jpeg)
        );
        assert_eq!(
            PhotoFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(PhotoFormat::Webp)
        );
        assert_eq!(PhotoFormat::sniff(b"\x89PNG\r\n\x1a\n"), None);
        for f in [
            PhotoFormat::Jpeg,
            PhotoFormat::Jpeg2000,
            PhotoFormat::Avif,
            PhotoFormat::Webp,
        ] {
            assert_eq!(PhotoFormat::from_code(f.code().into()), Some(f));
        }
        for g in [Gender::Male, Gender::Female, Gender::Other] {
            assert_eq!(Gender::from_code(g.code().into()), Some(g));
        }
        assert_eq!(Gender::from_code(0), None);
    }
}
