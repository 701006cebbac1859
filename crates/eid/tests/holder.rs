//! Holder-bound codes (`SS2:`): issuance, a device presentation built byte by
//! byte the way crates/web/static/holder.js builds it, the checked-in test
//! vector, the SS2 corpus in tests/corpus/ss2/, arbitrary input and QR size.
//!
//! The corpus files are `<expected code>[.<variant>].txt` as in tests/corpus/
//! and are verified against the same fixtures (`../trust-list.cose`,
//! `../status-list.cose`, `../now.txt`); `no_list` and `expect_<purpose>` mean
//! the same. They are made by `regenerate_ss2_corpus` (ignored), which writes
//! only tests/corpus/ss2/.

mod common;

use ciborium::Value;
use common::*;
use proptest::prelude::*;
use shengshi_eid::testing::{negate_s_p256, sign_payload, split_sign1};
use shengshi_eid::*;
use std::path::{Path, PathBuf};

// ---- the device, as holder.js does it ---------------------------------------

/// The device's secret scalar (the browser's key is non-extractable; this one is fixed).
const DEVICE_SEED: [u8; 32] = [0x77; 32];

fn device_key() -> SoftwareKey {
    SoftwareKey::from_seed(Algorithm::EcdsaP256, &DEVICE_SEED).unwrap()
}

/// The subset of CBOR holder.js writes (its `cbor` function).
#[derive(Clone)]
enum Js {
    Int(i64),
    Bytes(Vec<u8>),
    Text(&'static str),
    Array(Vec<Js>),
    Map(Vec<(Js, Js)>),
    Tag(u64, Box<Js>),
}

fn head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    if n < 24 {
        vec![m | n as u8]
    } else if n < 0x100 {
        vec![m | 24, n as u8]
    } else if n < 0x10000 {
        vec![m | 25, (n >> 8) as u8, n as u8]
    } else if n < 0x1_0000_0000 {
        let mut v = vec![m | 26];
        v.extend_from_slice(&(n as u32).to_be_bytes());
        v
    } else {
        let mut v = vec![m | 27];
        v.extend_from_slice(&n.to_be_bytes());
        v
    }
}

fn js_cbor(value: &Js) -> Vec<u8> {
    match value {
        Js::Int(n) if *n >= 0 => head(0, *n as u64),
        Js::Int(n) => head(1, (-1 - *n) as u64),
        Js::Bytes(b) => [head(2, b.len() as u64), b.clone()].concat(),
        Js::Text(t) => [head(3, t.len() as u64), t.as_bytes().to_vec()].concat(),
        Js::Array(items) => {
            let mut out = head(4, items.len() as u64);
            for i in items {
                out.extend(js_cbor(i));
            }
            out
        }
        Js::Map(entries) => {
            let mut out = head(5, entries.len() as u64);
            for (k, v) in entries {
                out.extend(js_cbor(k));
                out.extend(js_cbor(v));
            }
            out
        }
        Js::Tag(t, v) => [head(6, *t), js_cbor(v)].concat(),
    }
}

/// floor(n / 2) of P-256, big-endian (holder.js: `P256_N >> 1`).
const P256_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// WebCrypto's ECDSA sign (r‖s, possibly high S), then holder.js's `lowS`.
fn webcrypto_sign(seed: &[u8; 32], message: &[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::Signer as _;
    let key = p256::ecdsa::SigningKey::from_slice(seed).unwrap();
    let signature: p256::ecdsa::Signature = key.sign(message);
    let bytes = signature.to_bytes().to_vec();
    if bytes[32..] > P256_HALF_N[..] {
        negate_s_p256(&bytes)
    } else {
        bytes
    }
}

/// What holder.js's `makeCode` produces, with every field settable.
#[derive(Clone)]
struct JsCode {
    credential: Vec<u8>,
    purpose: i64,
    category: i64,
    iat: i64,
    exp: i64,
    counter: i64,
    cti: [u8; 16],
    disclosures: Vec<Vec<u8>>,
    protected: Js,
    seed: [u8; 32],
    /// Applied to the signature after signing.
    signature_fix: fn(Vec<u8>) -> Vec<u8>,
}

impl JsCode {
    fn new(issued: &IssuedHolderCredential, purpose: Purpose, iat: i64) -> JsCode {
        let keys = purpose.attribute_keys();
        JsCode {
            credential: issued.credential.clone(),
            purpose: purpose.code().into(),
            category: category_for(purpose).code().into(),
            iat,
            exp: iat + 60,
            counter: 17,
            cti: [0x3c; 16],
            disclosures: issued
                .items
                .iter()
                .filter(|(k, _)| keys.contains(k))
                .map(|(_, i)| i.clone())
                .collect(),
            protected: Js::Map(vec![(Js::Int(1), Js::Int(-7))]),
            seed: DEVICE_SEED,
            signature_fix: |s| s,
        }
    }

    fn cose(&self) -> Vec<u8> {
        let payload = js_cbor(&Js::Map(vec![
            (Js::Int(1), Js::Bytes(self.credential.clone())),
            (Js::Int(2), Js::Int(self.purpose)),
            (Js::Int(3), Js::Int(self.category)),
            (Js::Int(4), Js::Int(self.iat)),
            (Js::Int(5), Js::Int(self.exp)),
            (Js::Int(6), Js::Int(self.counter)),
            (Js::Int(7), Js::Bytes(self.cti.to_vec())),
            (
                Js::Int(8),
                Js::Array(
                    self.disclosures
                        .iter()
                        .map(|d| Js::Bytes(d.clone()))
                        .collect(),
                ),
            ),
        ]));
        let protected = js_cbor(&self.protected);
        let to_sign = js_cbor(&Js::Array(vec![
            Js::Text("Signature1"),
            Js::Bytes(protected.clone()),
            Js::Bytes(vec![]),
            Js::Bytes(payload.clone()),
        ]));
        let signature = (self.signature_fix)(webcrypto_sign(&self.seed, &to_sign));
        js_cbor(&Js::Tag(
            18,
            Box::new(Js::Array(vec![
                Js::Bytes(protected),
                Js::Map(vec![]),
                Js::Bytes(payload),
                Js::Bytes(signature),
            ])),
        ))
    }

    /// `SS2:` + base45(zlib if shorter).
    fn text(&self) -> String {
        let cose = self.cose();
        let zlib = {
            use std::io::Write;
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&cose).unwrap();
            e.finish().unwrap()
        };
        let body = if zlib.len() < cose.len() { zlib } else { cose };
        format!("SS2:{}", base45::encode(&body))
    }
}

// ---- issuance ----------------------------------------------------------------

/// Deterministic salts (a real issuer draws them at random).
fn salts(start: u8) -> impl FnMut() -> [u8; 16] {
    let mut n = start;
    move || {
        n = n.wrapping_add(1);
        [n; 16]
    }
}

fn issue_with(
    signer: &dyn Signer,
    issued_at: i64,
    lifetime: u32,
    index: u32,
    salt_start: u8,
    attributes: &Attributes,
) -> IssuedHolderCredential {
    issue_holder_credential(
        &HolderCredentialRequest {
            issuer: ISSUER,
            issued_at,
            lifetime_seconds: lifetime,
            cti: [0xc1; 16],
            attributes,
            age_over_60: false,
            device_key: &device_key().public_key(),
            status: StatusRef {
                index,
                uri: STATUS_URI.into(),
            },
        },
        signer,
        &mut salts(salt_start),
    )
    .unwrap()
}

/// Issued a day before NOW for 7 days by the Ed25519 issuer key, index VALID_INDEX.
fn issue() -> IssuedHolderCredential {
    issue_with(
        issuer_key(Algorithm::Ed25519),
        NOW - DAY,
        7 * DAY as u32,
        VALID_INDEX,
        0,
        &resident(),
    )
}

fn item(issued: &IssuedHolderCredential, key: AttributeKey) -> Vec<u8> {
    issued
        .items
        .iter()
        .find(|(k, _)| *k == key)
        .unwrap()
        .1
        .clone()
}

/// Re-signs the credential after changing its claims.
fn recredential(
    issued: &IssuedHolderCredential,
    signer: &dyn Signer,
    change: impl FnOnce(&mut Vec<(Value, Value)>),
) -> IssuedHolderCredential {
    let (_, payload, _) = split_sign1(&issued.credential).unwrap();
    let Value::Map(mut claims) = ciborium::from_reader(&payload[..]).unwrap() else {
        panic!("claims")
    };
    change(&mut claims);
    let payload = testing::encode_value(&Value::Map(claims));
    IssuedHolderCredential {
        credential: sign_payload(&payload, signer).unwrap(),
        items: issued.items.clone(),
    }
}

fn set_claim(claims: &mut [(Value, Value)], key: i64, value: Value) {
    for (k, v) in claims.iter_mut() {
        if *k == Value::from(key) {
            *v = value;
            return;
        }
    }
    panic!("no claim {key}");
}

fn verify(text: &str) -> Result<VerifiedPresentation, VerifyError> {
    verify_presentation(
        text,
        trust_list(),
        Some(&fresh_status()),
        NOW,
        &VerifyPolicy::default(),
    )
}

// ---- round trips ------------------------------------------------------------

#[test]
fn issuance_digests_every_attribute_and_binds_the_device_key() {
    let issued = issue();
    let keys: Vec<u8> = issued.items.iter().map(|(k, _)| k.code()).collect();
    assert_eq!(keys, [1, 2, 3, 4, 5, 6, 7, 8]);
    // Without a portrait there is no portrait item.
    let mut no_portrait = resident();
    no_portrait.portrait_digest = None;
    let issued2 = issue_with(issuer_key(Algorithm::Ed25519), NOW, 60, 1, 0, &no_portrait);
    assert!(issued2
        .items
        .iter()
        .all(|(k, _)| *k != AttributeKey::PortraitDigest));
    // An item is [bstr 16, key, value].
    let name: Value = ciborium::from_reader(&item(&issued, AttributeKey::Name)[..]).unwrap();
    assert_eq!(
        name,
        Value::Array(vec![
            Value::Bytes(vec![1; 16]),
            Value::from(1),
            Value::from(resident().name.as_str())
        ])
    );
    // Refusals.
    let request = |lifetime, key: &PublicKey| {
        issue_holder_credential(
            &HolderCredentialRequest {
                issuer: ISSUER,
                issued_at: NOW,
                lifetime_seconds: lifetime,
                cti: [0; 16],
                attributes: &resident(),
                age_over_60: true,
                device_key: key,
                status: StatusRef {
                    index: 1,
                    uri: STATUS_URI.into(),
                },
            },
            issuer_key(Algorithm::Ed25519),
            &mut salts(0),
        )
    };
    let device = device_key().public_key();
    assert!(matches!(
        request(0, &device),
        Err(MintError::CredentialLifetime)
    ));
    assert!(matches!(
        request(604_801, &device),
        Err(MintError::CredentialLifetime)
    ));
    assert!(request(604_800, &device).is_ok());
    let ed = issuer_key(Algorithm::Ed25519).public_key();
    assert!(matches!(request(60, &ed), Err(MintError::DeviceKey)));
}

#[test]
fn every_issuer_algorithm_and_purpose_round_trips_as_holder_js_builds_it() {
    for alg in Algorithm::ALL {
        let issued = issue_with(
            issuer_key(alg),
            NOW - DAY,
            7 * DAY as u32,
            VALID_INDEX,
            0,
            &resident(),
        );
        for purpose in Purpose::ALL {
            let js = JsCode::new(&issued, purpose, NOW - 10);
            let text = js.text();
            let verified = verify(&text).unwrap_or_else(|e| panic!("{alg} {purpose}: {e}"));
            assert_eq!(verified.mode, PresentationMode::Holder);
            assert_eq!(verified.purpose, purpose);
            assert_eq!(verified.algorithm, alg);
            assert_eq!(verified.issued_at, NOW - 10);
            assert_eq!(verified.expires_at, NOW + 50);
            assert_eq!(verified.cti, [0x3c; 16]);
            assert_eq!(
                verified.disclosed,
                Disclosed::for_purpose(purpose, &resident())
            );
            let holder = verified.holder.unwrap();
            assert_eq!(holder.counter, 17);
            assert_eq!(holder.credential_issued_at, NOW - DAY);
            assert_eq!(holder.credential_expires_at, NOW + 6 * DAY);
            assert_eq!(holder.device_key_id, device_key().public_key().key_id());
            assert_eq!(verified.status.index, VALID_INDEX);
            // The crate's own minting gives the same COSE bytes (RFC 6979 is deterministic).
            let minted = mint_holder_presentation(
                &HolderPresentationRequest {
                    credential: &issued.credential,
                    items: &issued.items,
                    purpose,
                    category: category_for(purpose),
                    issued_at: NOW - 10,
                    lifetime_seconds: 60,
                    counter: 17,
                    cti: [0x3c; 16],
                },
                &device_key(),
            )
            .unwrap();
            assert_eq!(decode_text(&minted).unwrap(), js.cose(), "{alg} {purpose}");
            // The cache gives the same answer, and a hit the same again.
            let cache = CredentialCache::new(4);
            for _ in 0..2 {
                let cached = verify_holder_presentation(
                    &text,
                    trust_list(),
                    Some(&fresh_status()),
                    NOW,
                    &VerifyPolicy::default(),
                    Some(&cache),
                )
                .unwrap();
                assert_eq!(cached, verify(&text).unwrap());
            }
            assert_eq!(cache.len(), 1);
        }
    }
}

#[test]
fn the_cache_does_not_outlive_the_trust_list() {
    let issued = issue();
    let text = JsCode::new(&issued, Purpose::HotelCheckin, NOW).text();
    let cache = CredentialCache::new(4);
    let policy = VerifyPolicy::default();
    let status = fresh_status();
    verify_holder_presentation(
        &text,
        trust_list(),
        Some(&status),
        NOW,
        &policy,
        Some(&cache),
    )
    .unwrap();
    // The issuer key leaves the trust list: the cached credential no longer counts.
    let mut smaller = trust_list().clone();
    smaller
        .keys
        .retain(|k| k.public_key.algorithm() != Algorithm::Ed25519);
    let err =
        verify_holder_presentation(&text, &smaller, Some(&status), NOW, &policy, Some(&cache))
            .unwrap_err();
    assert_eq!(err.code(), "unknown_kid");
    // Claims are checked again on a hit: later, the code has expired.
    let err = verify_holder_presentation(
        &text,
        trust_list(),
        Some(&status),
        NOW + 120,
        &policy,
        Some(&cache),
    )
    .unwrap_err();
    assert_eq!(err.code(), "expired");
}

#[test]
fn windows_with_skew() {
    let issued = issue();
    let text = JsCode::new(&issued, Purpose::HotelCheckin, NOW).text();
    let at = |now| {
        verify_presentation(
            &text,
            trust_list(),
            Some(&fresh_status()),
            now,
            &VerifyPolicy::default(),
        )
        .map(|_| ())
        .map_err(|e| e.code())
    };
    assert_eq!(at(NOW - 30), Ok(()));
    assert_eq!(at(NOW - 31), Err("issued_in_future"));
    assert_eq!(at(NOW + 90), Ok(()));
    assert_eq!(at(NOW + 91), Err("expired"));
}

// ---- the test vector ---------------------------------------------------------

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

struct Fixtures {
    trust: TrustList,
    fresh: StatusListToken,
    now: i64,
}

fn load_fixtures() -> Fixtures {
    let dir = corpus_dir();
    let now: i64 = std::fs::read_to_string(dir.join("now.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let root = PublicKey::from_text(&std::fs::read_to_string(dir.join("trust-root.pub")).unwrap())
        .unwrap();
    let trust = open_signed_trust_list(
        &std::fs::read(dir.join("trust-list.cose")).unwrap(),
        &root,
        now,
    )
    .unwrap();
    let fresh = open_status_list(
        &std::fs::read(dir.join("status-list.cose")).unwrap(),
        &trust,
        now,
    )
    .unwrap();
    Fixtures { trust, fresh, now }
}

/// tests/corpus/ss2/valid.hotel_checkin.txt is the format's test vector: made
/// by the holder.js-shaped builder above (device key: P-256 secret scalar
/// 0x77…77; credential: Ed25519 issuer seed 0x11…11, salts 0x01…01 to
/// 0x08…08), verified against tests/corpus/trust-list.cose at now.txt. If
/// the format drifts (here or in holder.js) this test or its rebuild fails.
#[test]
fn the_checked_in_vector_verifies_and_is_rebuilt_exactly() {
    let f = load_fixtures();
    let stored = std::fs::read_to_string(corpus_dir().join("ss2/valid.hotel_checkin.txt")).unwrap();
    let verified = verify_presentation(
        &stored,
        &f.trust,
        Some(&f.fresh),
        f.now,
        &VerifyPolicy {
            expected_purpose: Some(Purpose::HotelCheckin),
            ..VerifyPolicy::default()
        },
    )
    .unwrap();
    assert_eq!(verified.mode, PresentationMode::Holder);
    assert_eq!(verified.category, VerifierCategory::Hotel);
    assert_eq!(
        verified.disclosed.name.as_deref(),
        Some(resident().name.as_str())
    );
    assert_eq!(
        verified.disclosed.id_number.as_deref(),
        Some("65010219900307123X")
    );
    assert_eq!(verified.disclosed.portrait_digest, Some([0xab; 32]));
    assert_eq!(verified.holder.as_ref().unwrap().counter, 17);
    assert_eq!(
        verified.kid,
        issuer_key(Algorithm::Ed25519).key_id(),
        "the credential is signed by the Ed25519 fixture key"
    );
    let rebuilt = JsCode::new(&issue(), Purpose::HotelCheckin, NOW).cose();
    assert_eq!(decode_text(&stored).unwrap(), rebuilt);
    // The device payload starts as holder.js writes it: map(8), 1: bstr(credential).
    assert_eq!(&rebuilt[..4], &[0xd2, 0x84, 0x43, 0xa1]);
}

// ---- the SS2 corpus ------------------------------------------------------------

fn ss2_cases() -> Vec<(&'static str, String)> {
    let ed = issuer_key(Algorithm::Ed25519);
    let issued = issue();
    let hotel = JsCode::new(&issued, Purpose::HotelCheckin, NOW);
    let mut c: Vec<(&'static str, String)> = vec![
        ("valid.hotel_checkin", hotel.text()),
        (
            "valid.travel_security",
            JsCode::new(&issued, Purpose::TravelSecurity, NOW - 20).text(),
        ),
        (
            "valid.age_over_18",
            JsCode::new(&issued, Purpose::AgeOver18, NOW).text(),
        ),
        (
            "valid.identity_full",
            JsCode::new(&issued, Purpose::IdentityFull, NOW).text(),
        ),
        (
            "valid.p256_issuer",
            JsCode::new(
                &issue_with(
                    issuer_key(Algorithm::EcdsaP256),
                    NOW - DAY,
                    7 * DAY as u32,
                    VALID_INDEX,
                    0,
                    &resident(),
                ),
                Purpose::HotelCheckin,
                NOW,
            )
            .text(),
        ),
    ];
    let variant = |f: &dyn Fn(&mut JsCode)| {
        let mut js = hotel.clone();
        f(&mut js);
        js.text()
    };

    // Disclosures.
    c.push((
        "digest_mismatch.tampered_disclosure",
        variant(&|js| {
            let name = resident().name;
            let d = &mut js.disclosures[0];
            let at = d
                .windows(name.len())
                .position(|w| w == name.as_bytes())
                .unwrap();
            d[at] ^= 0x01; // another character of the same length
        }),
    ));
    let other = issue_with(ed, NOW - DAY, 7 * DAY as u32, VALID_INDEX, 100, &resident());
    c.push((
        "digest_mismatch.item_from_another_credential",
        variant(&|js| js.disclosures[0] = item(&other, AttributeKey::Name)),
    ));
    c.push((
        "disclosure_outside_purpose.extra_address",
        variant(&|js| js.disclosures.push(item(&issued, AttributeKey::Address))),
    ));
    c.push((
        "disclosure_outside_purpose.age_over_60",
        variant(&|js| js.disclosures.push(item(&issued, AttributeKey::AgeOver60))),
    ));
    c.push((
        "disclosure_missing.id_number",
        variant(&|js| {
            js.disclosures.remove(1);
        }),
    ));
    c.push((
        "disclosure_missing.portrait_digest",
        variant(&|js| {
            js.disclosures.pop();
        }),
    ));
    c.push((
        "disclosure_duplicate.name",
        variant(&|js| {
            let name = js.disclosures[0].clone();
            js.disclosures.insert(1, name);
        }),
    ));
    c.push((
        "disclosure_malformed.short_salt",
        variant(&|js| {
            js.disclosures[0] = testing::encode_value(&Value::Array(vec![
                Value::Bytes(vec![1; 8]),
                Value::from(1),
                Value::from("x"),
            ]))
        }),
    ));
    c.push((
        "disclosure_malformed.unknown_key",
        variant(&|js| {
            js.disclosures[0] = testing::encode_value(&Value::Array(vec![
                Value::Bytes(vec![1; 16]),
                Value::from(42),
                Value::from("x"),
            ]))
        }),
    ));

    // The device signature.
    c.push((
        "device_signature_invalid.wrong_device_key",
        variant(&|js| js.seed = [0x78; 32]),
    ));
    c.push((
        "device_signature_non_canonical.high_s",
        variant(&|js| js.signature_fix = |s| negate_s_p256(&s)),
    ));
    c.push((
        "unsupported_algorithm.device_es384",
        variant(&|js| js.protected = Js::Map(vec![(Js::Int(1), Js::Int(-35))])),
    ));
    c.push((
        "wrong_type.device_kid",
        variant(&|js| {
            js.protected = Js::Map(vec![
                (Js::Int(1), Js::Int(-7)),
                (Js::Int(4), Js::Bytes(vec![1; 8])),
            ])
        }),
    ));
    c.push((
        "wrong_type.counter_negative",
        variant(&|js| js.counter = -1),
    ));

    // The presentation's window and purpose.
    c.push((
        "expired.presentation_older_than_60_s",
        variant(&|js| {
            js.iat = NOW - 100;
            js.exp = NOW - 40;
        }),
    ));
    c.push((
        "issued_in_future.presentation",
        variant(&|js| {
            js.iat = NOW + 120;
            js.exp = NOW + 180;
        }),
    ));
    c.push((
        "lifetime_too_long.presentation_90_s",
        variant(&|js| js.exp = NOW + 90),
    ));
    c.push((
        "purpose_mismatch.expect_hotel_checkin",
        JsCode::new(&issued, Purpose::TravelSecurity, NOW).text(),
    ));
    c.push((
        "purpose_category_not_allowed.hotel_at_retail",
        variant(&|js| js.category = 6),
    ));

    // The credential.
    let with = |cred: &IssuedHolderCredential| JsCode::new(cred, Purpose::HotelCheckin, NOW).text();
    c.push((
        "credential_expired",
        with(&issue_with(
            ed,
            NOW - 7 * DAY - 120,
            7 * DAY as u32,
            VALID_INDEX,
            0,
            &resident(),
        )),
    ));
    c.push((
        "credential_issued_in_future",
        with(&issue_with(
            ed,
            NOW + 120,
            3600,
            VALID_INDEX,
            0,
            &resident(),
        )),
    ));
    c.push((
        "credential_lifetime_too_long",
        with(&recredential(&issued, ed, |claims| {
            set_claim(claims, 4, Value::from(NOW - DAY + 8 * DAY))
        })),
    ));
    c.push((
        "cnf_invalid.point_off_curve",
        with(&recredential(&issued, ed, |claims| {
            let Value::Map(cnf) = &mut claims
                .iter_mut()
                .find(|(k, _)| *k == Value::from(8))
                .unwrap()
                .1
            else {
                panic!()
            };
            let Value::Map(key) = &mut cnf[0].1 else {
                panic!()
            };
            let Value::Bytes(x) = &mut key[2].1 else {
                panic!()
            };
            x[31] ^= 0x01;
        })),
    ));
    c.push((
        "unknown_kid.credential_by_stranger",
        with(&issue_with(
            &stranger_key(),
            NOW - DAY,
            7 * DAY as u32,
            VALID_INDEX,
            0,
            &resident(),
        )),
    ));
    c.push((
        "bad_signature.credential_tampered",
        with(&{
            let (protected, mut payload, signature) = split_sign1(&issued.credential).unwrap();
            let at = payload
                .windows(ISSUER.len())
                .position(|w| w == ISSUER.as_bytes())
                .unwrap();
            payload[at + 8] ^= 0x01;
            IssuedHolderCredential {
                credential: testing::encode_sign1(&protected, &payload, &signature),
                items: issued.items.clone(),
            }
        }),
    ));
    c.push((
        "key_not_valid_at_iat.credential",
        with(&issue_with(
            &retired_key(),
            NOW - DAY,
            7 * DAY as u32,
            VALID_INDEX,
            0,
            &resident(),
        )),
    ));

    // Status (the credential's index).
    c.push((
        "revoked",
        with(&issue_with(
            ed,
            NOW - DAY,
            7 * DAY as u32,
            REVOKED_INDEX,
            0,
            &resident(),
        )),
    ));
    c.push(("status_unknown.no_list", hotel.text()));
    c
}

#[test]
fn every_ss2_corpus_case_gets_its_own_code() {
    let f = load_fixtures();
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut count = 0;
    for entry in std::fs::read_dir(corpus_dir().join("ss2")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let Some(stem) = name.strip_suffix(".txt") else {
            continue;
        };
        count += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("SS2:"), "{stem}");
        let (expected, variant) = stem.split_once('.').unwrap_or((stem, ""));
        let status = (!variant.contains("no_list")).then_some(&f.fresh);
        let mut policy = VerifyPolicy::default();
        if let Some(p) = variant.strip_prefix("expect_") {
            policy.expected_purpose = Some(Purpose::from_name(p).unwrap());
        }
        let got = match verify_presentation(&text, &f.trust, status, f.now, &policy) {
            Ok(_) => "valid",
            Err(e) => e.code(),
        };
        if got != expected {
            failures.push(format!("{stem}: expected {expected}, got {got}"));
        }
        seen.insert(expected.to_owned());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(count, ss2_cases().len(), "regenerate the SS2 corpus");
    for code in [
        "valid",
        "digest_mismatch",
        "disclosure_outside_purpose",
        "disclosure_missing",
        "disclosure_duplicate",
        "disclosure_malformed",
        "device_signature_invalid",
        "device_signature_non_canonical",
        "expired",
        "credential_expired",
        "credential_issued_in_future",
        "credential_lifetime_too_long",
        "cnf_invalid",
        "purpose_mismatch",
        "unknown_kid",
        "revoked",
    ] {
        assert!(seen.contains(code), "the SS2 corpus has no case for {code}");
    }
}

/// The generator and the checked-in files agree (so the corpus cannot be stale).
#[test]
fn the_ss2_corpus_is_what_the_generator_makes() {
    for (stem, text) in ss2_cases() {
        let stored = std::fs::read_to_string(corpus_dir().join(format!("ss2/{stem}.txt")))
            .unwrap_or_else(|_| panic!("missing ss2/{stem}.txt: regenerate the SS2 corpus"));
        assert_eq!(
            decode_text(&stored).unwrap(),
            decode_text(&text).unwrap(),
            "{stem}"
        );
    }
}

#[test]
#[ignore = "writes tests/corpus/ss2/; run by hand after changing the format"]
fn regenerate_ss2_corpus() {
    let dir = corpus_dir().join("ss2");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            std::fs::remove_file(path).unwrap();
        }
    }
    for (stem, text) in ss2_cases() {
        std::fs::write(dir.join(format!("{stem}.txt")), text).unwrap();
    }
}

// ---- size -----------------------------------------------------------------

/// Renders the QR code (EC level M) and reads it back with rqrr.
fn render_and_decode(text: &str) -> (i16, String) {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).unwrap();
    let version = match code.version() {
        qrcode::Version::Normal(v) => v,
        qrcode::Version::Micro(v) => -v,
    };
    let width = code.width();
    let colors = code.to_colors();
    let (quiet, scale) = (4usize, 3usize);
    let side = (width + 2 * quiet) * scale;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        if mx < quiet || my < quiet || mx >= width + quiet || my >= width + quiet {
            return 255;
        }
        match colors[(my - quiet) * width + (mx - quiet)] {
            qrcode::Color::Dark => 0,
            qrcode::Color::Light => 255,
        }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (meta, content) = grids[0].decode().unwrap();
    assert_eq!(i16::try_from(meta.version.0).unwrap(), version);
    assert_eq!(meta.ecc_level, 0, "rqrr reports EC level M as 0");
    (version, content)
}

#[test]
fn a_hotel_checkin_holder_code_fits_qr_version_25_at_level_m() {
    for alg in Algorithm::ALL {
        let issued = issue_with(
            issuer_key(alg),
            NOW - DAY,
            7 * DAY as u32,
            VALID_INDEX,
            0,
            &resident(),
        );
        for purpose in Purpose::ALL {
            let text = JsCode::new(&issued, purpose, NOW).text();
            let (version, decoded) = render_and_decode(&text);
            assert_eq!(decoded, text);
            verify(&decoded).unwrap();
            eprintln!(
                "SS2 {alg} {purpose}: {} COSE bytes, {} chars, QR version {version} (EC M)",
                decode_text(&text).unwrap().len(),
                text.len()
            );
            if purpose == Purpose::HotelCheckin {
                assert!(
                    version <= 25,
                    "hotel_checkin with a {alg} credential needs QR version {version}"
                );
            }
        }
    }
}

// ---- arbitrary input --------------------------------------------------------

fn any_ss2_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| format!("SS2:{s}")),
        proptest::collection::vec(any::<u8>(), 0..1200)
            .prop_map(|b| format!("SS2:{}", base45::encode(&b))),
        proptest::collection::vec(any::<u8>(), 0..1200).prop_map(|mut b| {
            b.insert(0, 0xd2);
            format!("SS2:{}", base45::encode(&b))
        }),
        proptest::collection::vec(any::<u8>(), 0..1200).prop_map(|mut b| {
            b.splice(0..0, [0x78, 0x9c]);
            format!("SS2:{}", base45::encode(&b))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn verifying_arbitrary_ss2_text_never_panics(text in any_ss2_text()) {
        let _ = verify(&text);
    }

    #[test]
    fn a_mutated_holder_code_never_verifies(position in any::<usize>(), bit in 0u8..8) {
        static COSE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let cose = COSE.get_or_init(|| JsCode::new(&issue(), Purpose::HotelCheckin, NOW).cose());
        let mut cose = cose.clone();
        let i = position % cose.len();
        cose[i] ^= 1 << bit;
        let mutated = format!("SS2:{}", base45::encode(&cose));
        prop_assert!(verify(&mutated).is_err());
    }
}
