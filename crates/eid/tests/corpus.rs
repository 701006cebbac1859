//! The corpus of malformed (and a few valid) codes in tests/corpus/.
//!
//! Each case is one file `<expected code>[.<variant>].txt` holding the QR text.
//! Every case is verified against the checked-in fixtures in the same folder —
//! `trust-root.pub` (the root's public key, `ed25519:<hex>`), `trust-list.cose`
//! (the signed trust list), `status-list.cose` (fresh), `status-list-stale.cose`
//! (within its exp but two days old) and `now.txt` (unix seconds) — with the
//! default policy, except where the variant says otherwise:
//! - `no_list`: no status list is given;
//! - `stale_list`: `status-list-stale.cose` instead of the fresh list;
//! - `expect_<purpose>`: the policy expects that purpose.
//!
//! The files are made by `regenerate_corpus` below (ignored; run it with
//! `cargo test -p shengshi-eid --test corpus -- --ignored`), which documents how
//! each case was built. The test reads the checked-in files, not the generator.

mod common;

use ciborium::Value;
use common::*;
use shengshi_eid::testing::{
    add_l_ed25519, encode_sign1, negate_s_p256, protected_header, sig_structure, split_sign1,
};
use shengshi_eid::*;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

struct Fixtures {
    trust: TrustList,
    fresh: StatusListToken,
    stale: StatusListToken,
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
    let stale = open_status_list(
        &std::fs::read(dir.join("status-list-stale.cose")).unwrap(),
        &trust,
        now,
    )
    .unwrap();
    Fixtures {
        trust,
        fresh,
        stale,
        now,
    }
}

#[test]
fn every_corpus_case_gets_its_own_code() {
    let fixtures = load_fixtures();
    let mut cases: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if let Some(stem) = name.strip_suffix(".txt") {
            if stem != "now" {
                cases.push((stem.to_owned(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    cases.sort();
    let mut seen_codes = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for (stem, text) in &cases {
        let (expected, variant) = stem.split_once('.').unwrap_or((stem.as_str(), ""));
        let status = if variant.contains("no_list") {
            None
        } else if variant.contains("stale_list") {
            Some(&fixtures.stale)
        } else {
            Some(&fixtures.fresh)
        };
        let mut policy = VerifyPolicy::default();
        if let Some(p) = variant.strip_prefix("expect_") {
            policy.expected_purpose = Some(Purpose::from_name(p).unwrap());
        }
        // The text is used exactly as stored (no trimming): the files have no newline.
        let got = match verify_presentation(text, &fixtures.trust, status, fixtures.now, &policy) {
            Ok(_) => "valid",
            Err(e) => e.code(),
        };
        if got != expected {
            failures.push(format!("{stem}: expected {expected}, got {got}"));
        }
        seen_codes.insert(expected.to_owned());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for code in [
        "bad_prefix",
        "too_large",
        "bad_base45",
        "decompression_bomb",
        "decompression_failed",
        "cbor_malformed",
        "cbor_too_deep",
        "wrong_type",
        "unsupported_algorithm",
        "unknown_kid",
        "key_not_valid_at_iat",
        "bad_signature",
        "non_canonical_signature",
        "issuer_mismatch",
        "lifetime_too_long",
        "expired",
        "issued_in_future",
        "attribute_outside_purpose",
        "purpose_category_not_allowed",
        "purpose_mismatch",
        "revoked",
        "suspended",
        "status_unknown",
        "valid",
    ] {
        assert!(
            seen_codes.contains(code),
            "the corpus has no case for {code}"
        );
    }
}

/// Replaces the payload of a signed code, keeping the signature.
fn with_payload(text: &str, payload: &[u8]) -> String {
    let (protected, _, signature) = split_sign1(&cose_of(text)).unwrap();
    encode_text(&encode_sign1(&protected, payload, &signature))
}

/// Replaces the signature of a signed code.
fn with_signature(text: &str, f: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let (protected, payload, signature) = split_sign1(&cose_of(text)).unwrap();
    encode_text(&encode_sign1(&protected, &payload, &f(&signature)))
}

fn raw(bytes: &[u8]) -> String {
    format!("SS1:{}", base45::encode(bytes))
}

/// Every case: (file stem, QR text).
fn cases() -> Vec<(&'static str, String)> {
    let ed = issuer_key(Algorithm::Ed25519);
    let hotel = mint(Purpose::HotelCheckin, Algorithm::Ed25519, NOW, VALID_INDEX);
    let mut c: Vec<(&'static str, String)> = Vec::new();

    c.push(("valid.ed25519", hotel.clone()));
    c.push((
        "valid.p256",
        mint(
            Purpose::TravelSecurity,
            Algorithm::EcdsaP256,
            NOW,
            VALID_INDEX,
        ),
    ));
    c.push((
        "valid.sm2",
        mint(Purpose::IdentityFull, Algorithm::Sm2, NOW, VALID_INDEX),
    ));
    c.push((
        "valid.age_over_18",
        mint(
            Purpose::AgeOver18,
            Algorithm::Ed25519,
            NOW - 20,
            VALID_INDEX,
        ),
    ));

    // Text level.
    c.push(("bad_prefix", format!("HC1:{}", &hotel[4..])));
    c.push(("bad_prefix.lower_case", format!("ss1:{}", &hotel[4..])));
    c.push(("too_large", format!("SS1:{}", "0".repeat(4100))));
    // ":::" is 44 + 44·45 + 44·45² = 91 124 > 65 535: not a valid triple.
    c.push(("bad_base45", "SS1::::".to_owned()));
    c.push((
        "bad_base45.lower_case",
        hotel.to_lowercase().replacen("ss1:", "SS1:", 1),
    ));
    c.push(("bad_base45.dangling_char", format!("{hotel}A")));
    // 1 MiB of zeros compresses to about a kilobyte.
    let bomb = {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 1 << 20]).unwrap();
        e.finish().unwrap()
    };
    c.push(("decompression_bomb", raw(&bomb)));
    c.push((
        "decompression_failed",
        raw(&[0x78, 0x9c, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]),
    ));
    let cose = cose_of(&hotel);
    let truncated = {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&cose).unwrap();
        let z = e.finish().unwrap();
        z[..z.len() - 4].to_vec()
    };
    c.push(("decompression_failed.truncated", raw(&truncated)));

    // CBOR level.
    let mut deep = vec![0xd2];
    deep.extend(std::iter::repeat_n(0x81, 500));
    deep.push(0x00);
    c.push(("cbor_too_deep", raw(&deep)));
    // Signed claims nesting 40 arrays deep in an attribute.
    let mut nested = Value::from(0);
    for _ in 0..40 {
        nested = Value::Array(vec![nested]);
    }
    let deep_claims = RawClaims {
        extra: vec![(99.into(), nested)],
        ..RawClaims::hotel()
    };
    c.push(("cbor_too_deep.signed_claims", deep_claims.code(ed)));
    // Huge CBOR: a byte string and an array claiming 2^63 - 1 items.
    c.push((
        "cbor_malformed.huge_bstr",
        raw(&[
            0xd2, 0x84, 0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ]),
    ));
    c.push((
        "cbor_malformed.huge_array",
        raw(&[
            0xd2, 0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
        ]),
    ));
    let mut trailing = cose.clone();
    trailing.push(0x00);
    c.push(("cbor_malformed.trailing_bytes", raw(&trailing)));
    c.push(("cbor_malformed.truncated", raw(&cose[..cose.len() - 10])));
    // Duplicate claim key (iat twice), signed.
    let duplicate = RawClaims {
        extra: vec![(6.into(), NOW.into())],
        ..RawClaims::hotel()
    };
    c.push(("cbor_malformed.duplicate_claim", duplicate.code(ed)));

    // Structure and types.
    // Tag 18 around an empty map instead of the four-element array.
    c.push(("wrong_type.tag_around_map", raw(&[0xd2, 0xa0])));
    // The array without its tag (first byte 0x84: refused before CBOR decoding).
    c.push(("wrong_type.untagged", raw(&cose[1..])));
    let (protected, payload, signature) = split_sign1(&cose).unwrap();
    let three = shengshi_eid::testing::encode_value(&Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(protected.clone()),
            Value::Map(vec![]),
            Value::Bytes(payload.clone()),
        ])),
    ));
    c.push(("wrong_type.three_elements", raw(&three)));
    let unprotected_kid = shengshi_eid::testing::encode_value(&Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(protected.clone()),
            Value::Map(vec![(4.into(), Value::Bytes(vec![1; 8]))]),
            Value::Bytes(payload.clone()),
            Value::Bytes(signature.clone()),
        ])),
    ));
    c.push(("wrong_type.unprotected_header", raw(&unprotected_kid)));
    c.push((
        "wrong_type.iat_text",
        RawClaims {
            iat: "2026-09-21".into(),
            ..RawClaims::hotel()
        }
        .code(ed),
    ));
    c.push((
        "wrong_type.cti_short",
        RawClaims {
            cti: Value::Bytes(vec![1; 8]),
            ..RawClaims::hotel()
        }
        .code(ed),
    ));
    c.push((
        "wrong_type.name_bytes",
        RawClaims {
            attributes: vec![
                (1.into(), Value::Bytes(b"name".to_vec())),
                (2.into(), "65010219900307123X".into()),
            ],
            ..RawClaims::hotel()
        }
        .code(ed),
    ));
    c.push((
        "wrong_type.unknown_purpose",
        RawClaims {
            purpose: 9.into(),
            ..RawClaims::hotel()
        }
        .code(ed),
    ));
    c.push((
        "wrong_type.missing_name",
        RawClaims {
            attributes: vec![(2.into(), "65010219900307123X".into())],
            ..RawClaims::hotel()
        }
        .code(ed),
    ));
    c.push((
        "wrong_type.exp_before_iat",
        RawClaims {
            exp: (NOW - 1).into(),
            ..RawClaims::hotel()
        }
        .code(ed),
    ));

    // Algorithm and key.
    let forged_alg = |alg: i64| {
        let protected = protected_header(alg, &ed.key_id().0);
        let signature = ed.sign(&sig_structure(&protected, &payload)).unwrap();
        encode_text(&encode_sign1(&protected, &payload, &signature))
    };
    c.push(("unsupported_algorithm.es384", forged_alg(-35)));
    c.push(("unsupported_algorithm.ed25519_new_id", forged_alg(-19)));
    c.push((
        "unsupported_algorithm.alg_mismatch",
        forged_alg(Algorithm::EcdsaP256.cose_id()),
    ));
    c.push(("unknown_kid", RawClaims::hotel().code(&stranger_key())));
    c.push((
        "key_not_valid_at_iat",
        RawClaims::hotel().code(&retired_key()),
    ));

    // Signatures.
    let tampered_payload = {
        let name = resident().name;
        let mut changed = name.clone().into_bytes();
        changed[0] ^= 0x01; // another character of the same length
        let mut p = payload.clone();
        let at = p
            .windows(name.len())
            .position(|w| w == name.as_bytes())
            .unwrap();
        p[at..at + name.len()].copy_from_slice(&changed);
        p
    };
    c.push((
        "bad_signature.tampered_attribute",
        with_payload(&hotel, &tampered_payload),
    ));
    c.push((
        "bad_signature.zero_signature",
        with_signature(&hotel, |_| vec![0; 64]),
    ));
    c.push((
        "bad_signature.short_signature",
        with_signature(&hotel, |s| s[..63].to_vec()),
    ));
    c.push((
        "non_canonical_signature.ed25519_s_plus_l",
        with_signature(&hotel, add_l_ed25519),
    ));
    let p256_code = mint(
        Purpose::HotelCheckin,
        Algorithm::EcdsaP256,
        NOW,
        VALID_INDEX,
    );
    c.push((
        "non_canonical_signature.p256_high_s",
        with_signature(&p256_code, negate_s_p256),
    ));

    // Claims.
    c.push((
        "issuer_mismatch",
        RawClaims {
            iss: "https://id.elsewhere.example".into(),
            ..RawClaims::hotel()
        }
        .code(ed),
    ));
    c.push((
        "lifetime_too_long",
        RawClaims {
            exp: (NOW + 3600).into(),
            ..RawClaims::hotel()
        }
        .code(ed),
    ));
    c.push((
        "expired",
        mint(
            Purpose::HotelCheckin,
            Algorithm::Ed25519,
            NOW - 120,
            VALID_INDEX,
        ),
    ));
    c.push((
        "issued_in_future",
        mint(
            Purpose::HotelCheckin,
            Algorithm::Ed25519,
            NOW + 120,
            VALID_INDEX,
        ),
    ));
    let mut with_address = RawClaims::hotel();
    with_address
        .attributes
        .push((5.into(), resident().address.as_str().into()));
    c.push((
        "attribute_outside_purpose.address_in_hotel_checkin",
        with_address.code(ed),
    ));
    c.push((
        "attribute_outside_purpose.name_in_age_over_18",
        RawClaims {
            purpose: 3.into(),
            category: 6.into(),
            attributes: vec![
                (7.into(), true.into()),
                (1.into(), resident().name.as_str().into()),
            ],
            ..RawClaims::hotel()
        }
        .code(ed),
    ));
    let mut unknown_attribute = RawClaims::hotel();
    unknown_attribute
        .attributes
        .push((42.into(), "ethnicity".into()));
    c.push((
        "attribute_outside_purpose.unknown_key",
        unknown_attribute.code(ed),
    ));
    c.push((
        "purpose_category_not_allowed",
        RawClaims {
            category: 6.into(),
            ..RawClaims::hotel()
        }
        .code(ed),
    ));
    c.push((
        "purpose_mismatch.expect_hotel_checkin",
        mint(
            Purpose::TravelSecurity,
            Algorithm::Ed25519,
            NOW,
            VALID_INDEX,
        ),
    ));

    // Status.
    c.push((
        "revoked",
        mint(
            Purpose::HotelCheckin,
            Algorithm::Ed25519,
            NOW,
            REVOKED_INDEX,
        ),
    ));
    c.push((
        "suspended",
        mint(
            Purpose::HotelCheckin,
            Algorithm::Ed25519,
            NOW,
            SUSPENDED_INDEX,
        ),
    ));
    c.push(("status_unknown.stale_list", hotel.clone()));
    c.push(("status_unknown.no_list", hotel.clone()));
    c.push((
        "status_unknown.index_outside_list",
        mint(Purpose::HotelCheckin, Algorithm::Ed25519, NOW, 5000),
    ));
    c.push((
        "status_unknown.other_list",
        RawClaims {
            status: status_value(
                VALID_INDEX,
                "https://id.shengshi.example.gov.cn/eid/status/2",
            ),
            ..RawClaims::hotel()
        }
        .code(ed),
    ));
    c
}

#[test]
#[ignore = "writes tests/corpus/; run by hand after changing the format"]
fn regenerate_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|e| e == "txt" || e == "cose" || e == "pub")
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    std::fs::write(dir.join("now.txt"), format!("{NOW}\n")).unwrap();
    std::fs::write(
        dir.join("trust-root.pub"),
        format!("{}\n", root_key().public_key().to_text()),
    )
    .unwrap();
    let json = trust_list().to_jwks_json();
    std::fs::write(dir.join("trust-list.json"), &json).unwrap();
    std::fs::write(
        dir.join("trust-list.cose"),
        sign_trust_list(json.as_bytes(), &root_key()).unwrap(),
    )
    .unwrap();
    let ed = issuer_key(Algorithm::Ed25519);
    std::fs::write(
        dir.join("status-list.cose"),
        sign_status_list(&fresh_status(), ed).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("status-list-stale.cose"),
        sign_status_list(&stale_status(), ed).unwrap(),
    )
    .unwrap();
    for (stem, text) in cases() {
        std::fs::write(dir.join(format!("{stem}.txt")), text).unwrap();
    }
}
