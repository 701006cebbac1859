//! Holder-bound codes (issue 7): the issuer signs a *holder credential* — salted
//! SHA-256 digests of every attribute and the device's P-256 key (`cnf`) — and
//! the device signs, every 30 s, a short-lived presentation `SS2:` that carries
//! the credential and the disclosure items of one purpose. The format is
//! specified in docs/eid-format.md ("Holder-bound codes (SS2)").

use crate::cbor::{self, Fields, Item, Sign1Error};
use crate::claims::{
    AttributeKey, Attributes, Disclosed, Purpose, Sex, StatusRef, VerifierCategory,
};
use crate::keys::{sign_checked, Algorithm, KeyId, PublicKey, SignatureError, Signer};
use crate::presentation::{
    check_status, decode_text, encode_text_with, is_full_date, need, MintError, PresentationMode,
    VerifiedPresentation, VerifyError, VerifyPolicy, CLAIM_CTI, CLAIM_EXP, CLAIM_IAT, CLAIM_ISS,
    CLAIM_STATUS, MAX_LIFETIME_SECONDS, MAX_TEXT_CHARS,
};
use crate::status::StatusListToken;
use crate::trust::TrustList;
use crate::HolderBinding;
use ciborium::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Every holder-bound code starts with this.
pub const HOLDER_PREFIX: &str = "SS2:";
/// The longest lifetime (`exp - iat`) of a holder credential: 7 days.
pub const MAX_CREDENTIAL_LIFETIME_SECONDS: u32 = 604_800;
/// CWT `cnf` (RFC 8747): `{1: COSE_Key}`.
pub const CLAIM_CNF: i64 = 8;
/// Our private claim in holder credentials: `{1: {attribute key: SHA-256 of its item}}`.
pub const CLAIM_HOLDER_DIGESTS: i64 = -65538;
/// Length of a disclosure item's salt.
pub const SALT_BYTES: usize = 16;

/// The device presentation's payload keys.
const P_CREDENTIAL: i128 = 1;
const P_PURPOSE: i128 = 2;
const P_CATEGORY: i128 = 3;
const P_IAT: i128 = 4;
const P_EXP: i128 = 5;
const P_COUNTER: i128 = 6;
const P_CTI: i128 = 7;
const P_DISCLOSURES: i128 = 8;

/// What the issuer puts in a holder credential.
#[derive(Debug, Clone)]
pub struct HolderCredentialRequest<'a> {
    pub issuer: &'a str,
    /// Unix seconds.
    pub issued_at: i64,
    /// 1..=604 800 (7 days).
    pub lifetime_seconds: u32,
    /// Unique per credential (random).
    pub cti: [u8; 16],
    pub attributes: &'a Attributes,
    pub age_over_60: bool,
    /// The holder device's key; must be ECDSA P-256.
    pub device_key: &'a PublicKey,
    pub status: StatusRef,
}

/// A signed holder credential and the disclosure items the device reveals from.
#[derive(Clone)]
pub struct IssuedHolderCredential {
    /// The COSE_Sign1 bytes.
    pub credential: Vec<u8>,
    /// The item bytes (`[salt, key, value]`), one per attribute, in key order.
    pub items: Vec<(AttributeKey, Vec<u8>)>,
}

impl std::fmt::Debug for IssuedHolderCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The items are personal data.
        f.debug_struct("IssuedHolderCredential")
            .field("credential_bytes", &self.credential.len())
            .field(
                "items",
                &self.items.iter().map(|(k, _)| k.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The value of one attribute as the item carries it; `None` when the issuer
/// does not know it (only the portrait digest can be absent).
fn attribute_value(key: AttributeKey, a: &Attributes, age_over_60: bool) -> Option<Value> {
    Some(match key {
        AttributeKey::Name => Value::from(a.name.as_str()),
        AttributeKey::IdNumber => Value::from(a.id_number.as_str()),
        AttributeKey::Sex => Value::from(a.sex.code()),
        AttributeKey::BirthDate => Value::from(a.birth_date.as_str()),
        AttributeKey::Address => Value::from(a.address.as_str()),
        AttributeKey::PortraitDigest => Value::Bytes(a.portrait_digest?.to_vec()),
        AttributeKey::AgeOver18 => Value::Bool(a.age_over_18),
        AttributeKey::AgeOver60 => Value::Bool(age_over_60),
    })
}

/// The canonical CBOR of the disclosure item `[salt, key, value]`.
fn item_bytes(salt: &[u8; 16], key: AttributeKey, value: Value) -> Vec<u8> {
    cbor::encode(&Value::Array(vec![
        Value::Bytes(salt.to_vec()),
        Value::from(key.code()),
        value,
    ]))
}

/// The COSE_Key (RFC 9052 §7) of a P-256 public key: `{1: 2, -1: 1, -2: x, -3: y}`.
fn cose_key(key: &PublicKey) -> Value {
    let bytes = key.as_bytes();
    Value::Map(vec![
        (Value::from(1), Value::from(2)),
        (Value::from(-1), Value::from(1)),
        (Value::from(-2), Value::Bytes(bytes[1..33].to_vec())),
        (Value::from(-3), Value::Bytes(bytes[33..65].to_vec())),
    ])
}

/// Signs a holder credential for the device key. `salt` is called once per
/// attribute and must return fresh random bytes.
pub fn issue_holder_credential(
    request: &HolderCredentialRequest<'_>,
    signer: &dyn Signer,
    salt: &mut dyn FnMut() -> [u8; 16],
) -> Result<IssuedHolderCredential, MintError> {
    if request.lifetime_seconds == 0 || request.lifetime_seconds > MAX_CREDENTIAL_LIFETIME_SECONDS {
        return Err(MintError::CredentialLifetime);
    }
    if request.device_key.algorithm() != Algorithm::EcdsaP256 {
        return Err(MintError::DeviceKey);
    }
    let Some(expires_at) = request
        .issued_at
        .checked_add(i64::from(request.lifetime_seconds))
    else {
        return Err(MintError::IssuedAt);
    };
    if !is_full_date(&request.attributes.birth_date) {
        return Err(MintError::Attribute("birth_date"));
    }
    let mut items = Vec::new();
    let mut digests = Vec::new();
    for key in AttributeKey::ALL {
        let Some(value) = attribute_value(key, request.attributes, request.age_over_60) else {
            continue;
        };
        let item = item_bytes(&salt(), key, value);
        digests.push((
            Value::from(key.code()),
            Value::Bytes(Sha256::digest(&item).to_vec()),
        ));
        items.push((key, item));
    }
    let claims = Value::Map(vec![
        (Value::from(CLAIM_ISS), Value::from(request.issuer)),
        (Value::from(CLAIM_EXP), Value::from(expires_at)),
        (Value::from(CLAIM_IAT), Value::from(request.issued_at)),
        (Value::from(CLAIM_CTI), Value::Bytes(request.cti.to_vec())),
        (
            Value::from(CLAIM_CNF),
            Value::Map(vec![(Value::from(1), cose_key(request.device_key))]),
        ),
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
            Value::from(CLAIM_HOLDER_DIGESTS),
            Value::Map(vec![(Value::from(1), Value::Map(digests))]),
        ),
    ]);
    let payload = cbor::encode(&claims);
    let protected =
        cbor::protected_header(signer.algorithm().cose_id(), &signer.key_id().0, None, None);
    let signature = sign_checked(signer, &cbor::sig_structure(&protected, &payload))?;
    Ok(IssuedHolderCredential {
        credential: cbor::encode_sign1(&protected, &payload, &signature),
        items,
    })
}

/// What the device puts in one presentation (what holder.js does, in Rust:
/// for tests, benchmarks and native holders).
#[derive(Debug, Clone)]
pub struct HolderPresentationRequest<'a> {
    /// The credential's COSE_Sign1 bytes, exactly as issued.
    pub credential: &'a [u8],
    /// The items from issuance; those of the purpose are disclosed, in this order.
    pub items: &'a [(AttributeKey, Vec<u8>)],
    pub purpose: Purpose,
    pub category: VerifierCategory,
    /// Unix seconds (the device clock corrected by the offset measured at issuance).
    pub issued_at: i64,
    /// 1..=60.
    pub lifetime_seconds: u32,
    pub counter: u64,
    pub cti: [u8; 16],
}

/// The device presentation's payload (deterministic CBOR, keys 1–8).
pub fn holder_payload(request: &HolderPresentationRequest<'_>) -> Vec<u8> {
    let disclosures = request
        .items
        .iter()
        .filter(|(k, _)| request.purpose.attribute_keys().contains(k))
        .map(|(_, item)| Value::Bytes(item.clone()))
        .collect();
    cbor::encode(&Value::Map(vec![
        (Value::from(1), Value::Bytes(request.credential.to_vec())),
        (Value::from(2), Value::from(request.purpose.code())),
        (Value::from(3), Value::from(request.category.code())),
        (Value::from(4), Value::from(request.issued_at)),
        (
            Value::from(5),
            Value::from(request.issued_at + i64::from(request.lifetime_seconds)),
        ),
        (Value::from(6), Value::from(request.counter)),
        (Value::from(7), Value::Bytes(request.cti.to_vec())),
        (Value::from(8), Value::Array(disclosures)),
    ]))
}

/// The device's protected header: `{1: -7}` (no kid).
pub const DEVICE_PROTECTED_HEADER: [u8; 3] = [0xa1, 0x01, 0x26];

/// Signs a presentation with the device key (ES256, low S) and returns the
/// `SS2:` text; zlib only when shorter.
pub fn mint_holder_presentation(
    request: &HolderPresentationRequest<'_>,
    device: &dyn Signer,
) -> Result<String, MintError> {
    if device.algorithm() != Algorithm::EcdsaP256 {
        return Err(MintError::DeviceKey);
    }
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
    let payload = holder_payload(request);
    let signature = sign_checked(
        device,
        &cbor::sig_structure(&DEVICE_PROTECTED_HEADER, &payload),
    )?;
    let cose = cbor::encode_sign1(&DEVICE_PROTECTED_HEADER, &payload, &signature);
    let text = encode_text_with(HOLDER_PREFIX, &cose);
    if text.len() > MAX_TEXT_CHARS {
        return Err(MintError::TooLarge);
    }
    Ok(text)
}

/// A holder credential whose issuer signature verified and whose claims parsed.
#[derive(Debug, Clone)]
struct ParsedCredential {
    issuer_key: PublicKey,
    kid: KeyId,
    algorithm: Algorithm,
    issuer: String,
    issued_at: i64,
    expires_at: i64,
    cti: [u8; 16],
    /// `None` when the `cnf` claim is not a P-256 COSE_Key on the curve
    /// (reported as `cnf_invalid` after the credential's window).
    cnf: Option<PublicKey>,
    digests: Vec<(AttributeKey, [u8; 32])>,
    status: StatusRef,
}

impl ParsedCredential {
    fn digest(&self, key: AttributeKey) -> Option<&[u8; 32]> {
        self.digests.iter().find(|(k, _)| *k == key).map(|(_, d)| d)
    }
}

/// Holder credentials whose issuer signature already verified, keyed by the
/// SHA-256 of their bytes. A hit skips parsing and the issuer signature only:
/// the key must still be in the trust list given, and every claim check
/// (issuer, key validity, window, cnf, digests, status) runs again. Bounded:
/// emptied when full.
#[derive(Debug)]
pub struct CredentialCache {
    entries: Mutex<HashMap<[u8; 32], Arc<ParsedCredential>>>,
    capacity: usize,
}

impl CredentialCache {
    pub fn new(capacity: usize) -> CredentialCache {
        CredentialCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, digest: &[u8; 32]) -> Option<Arc<ParsedCredential>> {
        self.entries.lock().ok()?.get(digest).cloned()
    }

    fn insert(&self, digest: [u8; 32], credential: Arc<ParsedCredential>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.capacity {
                entries.clear();
            }
            entries.insert(digest, credential);
        }
    }
}

fn sign1_error(e: Sign1Error) -> VerifyError {
    match e {
        Sign1Error::Cbor(c) => VerifyError::from(c),
        Sign1Error::WrongType(field) => VerifyError::WrongType { field },
        Sign1Error::UnsupportedAlgorithm(alg) => VerifyError::UnsupportedAlgorithm { alg },
    }
}

/// The device presentation's payload, types checked.
struct DevicePayload<'a> {
    credential: &'a [u8],
    purpose: Purpose,
    category: VerifierCategory,
    issued_at: i64,
    expires_at: i64,
    counter: u64,
    cti: [u8; 16],
    disclosures: Vec<&'a [u8]>,
}

fn parse_device_payload(payload: &[u8]) -> Result<DevicePayload<'_>, VerifyError> {
    let mut p = Fields::from_item(cbor::decode(payload)?, "device_payload")?;
    let credential = cbor::as_bytes(need(p.take_int(P_CREDENTIAL), "credential")?, "credential")?;
    let purpose = u64::try_from(cbor::as_int(
        need(p.take_int(P_PURPOSE), "purpose")?,
        "purpose",
    )?)
    .ok()
    .and_then(Purpose::from_code)
    .ok_or(VerifyError::WrongType { field: "purpose" })?;
    let category = u64::try_from(cbor::as_int(
        need(p.take_int(P_CATEGORY), "category")?,
        "category",
    )?)
    .ok()
    .and_then(VerifierCategory::from_code)
    .ok_or(VerifyError::WrongType { field: "category" })?;
    let issued_at = cbor::as_i64(need(p.take_int(P_IAT), "iat")?, "iat")?;
    let expires_at = cbor::as_i64(need(p.take_int(P_EXP), "exp")?, "exp")?;
    let counter = u64::try_from(cbor::as_int(
        need(p.take_int(P_COUNTER), "counter")?,
        "counter",
    )?)
    .map_err(|_| VerifyError::WrongType { field: "counter" })?;
    let cti: [u8; 16] = cbor::as_bytes(need(p.take_int(P_CTI), "cti")?, "cti")?
        .try_into()
        .map_err(|_| VerifyError::WrongType { field: "cti" })?;
    let Item::Array(items) = need(p.take_int(P_DISCLOSURES), "disclosures")? else {
        return Err(VerifyError::WrongType {
            field: "disclosures",
        });
    };
    let disclosures = items
        .into_iter()
        .map(|i| cbor::as_bytes(i, "disclosures").map_err(VerifyError::from))
        .collect::<Result<Vec<_>, _>>()?;
    if !p.is_empty() {
        return Err(VerifyError::WrongType {
            field: "device_payload",
        });
    }
    Ok(DevicePayload {
        credential,
        purpose,
        category,
        issued_at,
        expires_at,
        counter,
        cti,
        disclosures,
    })
}

/// The `cnf` claim `{1: {1: 2, -1: 1, -2: x, -3: y}}` as a P-256 key, or `None`.
fn parse_cnf(item: Item<'_>) -> Option<PublicKey> {
    let mut cnf = Fields::from_item(item, "cnf").ok()?;
    let mut key = Fields::from_item(cnf.take_int(1)?, "cnf").ok()?;
    if !cnf.is_empty() {
        return None;
    }
    let kty = key.take_int(1)?.as_i128()?;
    let crv = key.take_int(-1)?.as_i128()?;
    let x = cbor::as_bytes(key.take_int(-2)?, "cnf").ok()?;
    let y = cbor::as_bytes(key.take_int(-3)?, "cnf").ok()?;
    if kty != 2 || crv != 1 || x.len() != 32 || y.len() != 32 || !key.is_empty() {
        return None;
    }
    let mut sec1 = [0u8; 65];
    sec1[0] = 0x04;
    sec1[1..33].copy_from_slice(x);
    sec1[33..].copy_from_slice(y);
    PublicKey::from_bytes(Algorithm::EcdsaP256, &sec1).ok()
}

/// Parses and checks the credential's COSE and issuer signature (steps 3–4).
fn open_credential(bytes: &[u8], trust: &TrustList) -> Result<ParsedCredential, VerifyError> {
    let sign1 = cbor::parse_sign1(bytes, &[]).map_err(sign1_error)?;
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
    key.public_key
        .verify(
            &cbor::sig_structure(sign1.protected_bytes, sign1.payload),
            sign1.signature,
        )
        .map_err(|e| match e {
            SignatureError::Bad => VerifyError::BadSignature,
            SignatureError::NonCanonical => VerifyError::NonCanonicalSignature,
        })?;
    let mut claims = Fields::from_item(cbor::decode(sign1.payload)?, "credential_claims")?;
    let issuer = cbor::as_text(
        need(claims.take_int(CLAIM_ISS.into()), "credential_iss")?,
        "credential_iss",
    )?
    .to_owned();
    let expires_at = cbor::as_i64(
        need(claims.take_int(CLAIM_EXP.into()), "credential_exp")?,
        "credential_exp",
    )?;
    let issued_at = cbor::as_i64(
        need(claims.take_int(CLAIM_IAT.into()), "credential_iat")?,
        "credential_iat",
    )?;
    let cti: [u8; 16] = cbor::as_bytes(
        need(claims.take_int(CLAIM_CTI.into()), "credential_cti")?,
        "credential_cti",
    )?
    .try_into()
    .map_err(|_| VerifyError::WrongType {
        field: "credential_cti",
    })?;
    let cnf = parse_cnf(need(claims.take_int(CLAIM_CNF.into()), "cnf")?);
    let mut status = Fields::from_item(
        need(claims.take_int(CLAIM_STATUS.into()), "status")?,
        "status",
    )?;
    let mut status_list = Fields::from_item(
        need(status.take_text_key("status_list"), "status_list")?,
        "status_list",
    )?;
    let index = cbor::as_u32(need(status_list.take_text_key("idx"), "idx")?, "idx")?;
    let uri = cbor::as_text(need(status_list.take_text_key("uri"), "uri")?, "uri")?.to_owned();
    if !status.is_empty() || !status_list.is_empty() {
        return Err(VerifyError::WrongType {
            field: "status_list",
        });
    }
    let mut ours = Fields::from_item(
        need(
            claims.take_int(CLAIM_HOLDER_DIGESTS.into()),
            "credential_digests",
        )?,
        "credential_digests",
    )?;
    let digest_map = Fields::from_item(
        need(ours.take_int(1), "credential_digests")?,
        "credential_digests",
    )?;
    if !ours.is_empty() || !claims.is_empty() {
        return Err(VerifyError::WrongType {
            field: "credential_claims",
        });
    }
    let mut digest_map = digest_map;
    let mut digests = Vec::new();
    for key in AttributeKey::ALL {
        if let Some(d) = digest_map.take_int(key.code().into()) {
            let d: [u8; 32] = cbor::as_bytes(d, "credential_digests")?
                .try_into()
                .map_err(|_| VerifyError::WrongType {
                    field: "credential_digests",
                })?;
            digests.push((key, d));
        }
    }
    if !digest_map.is_empty() {
        return Err(VerifyError::WrongType {
            field: "credential_digests",
        });
    }
    Ok(ParsedCredential {
        issuer_key: key.public_key.clone(),
        kid,
        algorithm,
        issuer,
        issued_at,
        expires_at,
        cti,
        cnf,
        digests,
        status: StatusRef { index, uri },
    })
}

/// A disclosure item `[salt (bstr 16), key, value of the key's type]`, into `disclosed`.
fn read_disclosure(bytes: &[u8], disclosed: &mut Disclosed) -> Result<AttributeKey, VerifyError> {
    let malformed = |_| VerifyError::DisclosureMalformed;
    let Item::Array(parts) = cbor::decode(bytes).map_err(malformed)? else {
        return Err(VerifyError::DisclosureMalformed);
    };
    let [salt, key, value]: [Item<'_>; 3] = parts
        .try_into()
        .map_err(|_| VerifyError::DisclosureMalformed)?;
    if !matches!(salt, Item::Bytes(s) if s.len() == SALT_BYTES) {
        return Err(VerifyError::DisclosureMalformed);
    }
    let key = match key {
        Item::Uint(k) => AttributeKey::from_code(i128::from(k)),
        _ => None,
    }
    .ok_or(VerifyError::DisclosureMalformed)?;
    // The value is recorded even if a later check refuses the code: `disclosed`
    // is only returned when every check passed.
    match (key, value) {
        (AttributeKey::Name, Item::Text(t)) => disclosed.name = Some(t.to_owned()),
        (AttributeKey::IdNumber, Item::Text(t)) => disclosed.id_number = Some(t.to_owned()),
        (AttributeKey::Sex, Item::Uint(c)) => {
            disclosed.sex = Some(Sex::from_code(c).ok_or(VerifyError::DisclosureMalformed)?)
        }
        (AttributeKey::BirthDate, Item::Text(t)) if is_full_date(t) => {
            disclosed.birth_date = Some(t.to_owned())
        }
        (AttributeKey::Address, Item::Text(t)) => disclosed.address = Some(t.to_owned()),
        (AttributeKey::PortraitDigest, Item::Bytes(b)) if b.len() == 32 => {
            disclosed.portrait_digest = b.try_into().ok()
        }
        (AttributeKey::AgeOver18, Item::Bool(b)) => disclosed.age_over_18 = Some(b),
        (AttributeKey::AgeOver60, Item::Bool(_)) => {}
        _ => return Err(VerifyError::DisclosureMalformed),
    }
    Ok(key)
}

/// Verifies a holder-bound `SS2:` code offline, in the order of
/// docs/eid-format.md; the first failure is returned. `Ok` only when the
/// status list says VALID. [`crate::verify_presentation`] calls this for `SS2:`
/// texts (without a cache).
pub fn verify_holder_presentation(
    text: &str,
    trust: &TrustList,
    status: Option<&StatusListToken>,
    now: i64,
    policy: &VerifyPolicy,
    cache: Option<&CredentialCache>,
) -> Result<VerifiedPresentation, VerifyError> {
    // 1. Text, size, base45, bounded inflate.
    if text.len() > MAX_TEXT_CHARS {
        return Err(VerifyError::TooLarge);
    }
    if !text.starts_with(HOLDER_PREFIX) {
        return Err(VerifyError::BadPrefix);
    }
    let cose = decode_text(text)?;
    // 2. The device COSE_Sign1: protected header exactly {1: -7}.
    let device = cbor::parse_sign1_without_kid(&cose).map_err(sign1_error)?;
    if device.alg != Algorithm::EcdsaP256.cose_id() {
        return Err(VerifyError::UnsupportedAlgorithm {
            alg: Some(i128::from(device.alg)),
        });
    }
    // 3. The device payload's structure and types.
    let payload = parse_device_payload(device.payload)?;
    // 4. The credential: algorithm, kid in the trust list, issuer signature (or the cache).
    let credential = match cache {
        None => Arc::new(open_credential(payload.credential, trust)?),
        Some(cache) => {
            let digest: [u8; 32] = Sha256::digest(payload.credential).into();
            match cache.get(&digest) {
                Some(hit)
                    if trust
                        .find(&hit.kid)
                        .is_some_and(|k| k.public_key == hit.issuer_key) =>
                {
                    hit
                }
                _ => {
                    let opened = Arc::new(open_credential(payload.credential, trust)?);
                    cache.insert(digest, opened.clone());
                    opened
                }
            }
        }
    };
    let issuer_key = trust
        .find(&credential.kid)
        .ok_or_else(|| VerifyError::UnknownKid {
            kid: credential.kid.0.to_vec(),
        })?;
    // 5. Issuer, key validity at the credential's iat, the credential's window.
    if credential.issuer != trust.issuer {
        return Err(VerifyError::IssuerMismatch);
    }
    if !issuer_key.valid_at(credential.issued_at) {
        return Err(VerifyError::KeyNotValidAtIat {
            kid: credential.kid,
        });
    }
    let skew = policy.max_clock_skew_seconds.max(0);
    let lifetime = i128::from(credential.expires_at) - i128::from(credential.issued_at);
    if lifetime <= 0 {
        return Err(VerifyError::WrongType {
            field: "credential_exp",
        });
    }
    if lifetime > i128::from(MAX_CREDENTIAL_LIFETIME_SECONDS) {
        return Err(VerifyError::CredentialLifetimeTooLong);
    }
    if credential.issued_at > now.saturating_add(skew) {
        return Err(VerifyError::CredentialIssuedInFuture);
    }
    if now > credential.expires_at.saturating_add(skew) {
        return Err(VerifyError::CredentialExpired);
    }
    // 6. The cnf key, and the device signature with it (strict, low S).
    let device_key = credential.cnf.as_ref().ok_or(VerifyError::CnfInvalid)?;
    device_key
        .verify(
            &cbor::sig_structure(device.protected_bytes, device.payload),
            device.signature,
        )
        .map_err(|e| match e {
            SignatureError::Bad => VerifyError::DeviceSignatureInvalid,
            SignatureError::NonCanonical => VerifyError::DeviceSignatureNonCanonical,
        })?;
    // 7. The presentation's window.
    let lifetime = i128::from(payload.expires_at) - i128::from(payload.issued_at);
    if lifetime <= 0 {
        return Err(VerifyError::WrongType { field: "exp" });
    }
    if lifetime > i128::from(MAX_LIFETIME_SECONDS) {
        return Err(VerifyError::LifetimeTooLong);
    }
    if payload.issued_at > now.saturating_add(skew) {
        return Err(VerifyError::IssuedInFuture);
    }
    if now > payload.expires_at.saturating_add(skew) {
        return Err(VerifyError::Expired);
    }
    // 8. Purpose: allowed for the category, the one expected.
    if !payload.purpose.allows(payload.category) {
        return Err(VerifyError::PurposeCategoryNotAllowed {
            purpose: payload.purpose,
            category: payload.category,
        });
    }
    if let Some(expected) = policy.expected_purpose {
        if expected != payload.purpose {
            return Err(VerifyError::PurposeMismatch {
                expected,
                found: payload.purpose,
            });
        }
    }
    // 9. Disclosures: well-formed, the credential's digest, in the purpose, once each, all present.
    let allowed = payload.purpose.attribute_keys();
    let mut disclosed = Disclosed::default();
    let mut seen: Vec<AttributeKey> = Vec::with_capacity(payload.disclosures.len());
    for item in &payload.disclosures {
        let key = read_disclosure(item, &mut disclosed)?;
        let digest: [u8; 32] = Sha256::digest(item).into();
        if credential.digest(key) != Some(&digest) {
            return Err(VerifyError::DigestMismatch {
                attribute: key.name(),
            });
        }
        if !allowed.contains(&key) {
            return Err(VerifyError::DisclosureOutsidePurpose {
                attribute: key.name(),
            });
        }
        if seen.contains(&key) {
            return Err(VerifyError::DisclosureDuplicate {
                attribute: key.name(),
            });
        }
        seen.push(key);
    }
    for required in allowed {
        let has =
            *required != AttributeKey::PortraitDigest || credential.digest(*required).is_some();
        if has && !seen.contains(required) {
            return Err(VerifyError::DisclosureMissing {
                attribute: required.name(),
            });
        }
    }
    let presentation = VerifiedPresentation {
        issuer: credential.issuer.clone(),
        kid: credential.kid,
        algorithm: credential.algorithm,
        issued_at: payload.issued_at,
        expires_at: payload.expires_at,
        cti: payload.cti,
        purpose: payload.purpose,
        category: payload.category,
        disclosed,
        status: credential.status.clone(),
        mode: PresentationMode::Holder,
        holder: Some(HolderBinding {
            counter: payload.counter,
            credential_issued_at: credential.issued_at,
            credential_expires_at: credential.expires_at,
            credential_cti: credential.cti,
            device_key_id: device_key.key_id(),
        }),
    };
    // 10. Status of the credential's index, as for SS1.
    check_status(presentation, status, now, policy)
}
