//! Round trips per algorithm and purpose, the checks one by one, QR codes, and
//! arbitrary input.

mod common;

use common::*;
use proptest::prelude::*;
use shengshi_eid::*;

fn verify(
    text: &str,
    status: Option<&StatusListToken>,
) -> Result<VerifiedPresentation, VerifyError> {
    verify_presentation(text, trust_list(), status, NOW, &VerifyPolicy::default())
}

#[test]
fn every_algorithm_and_purpose_round_trips() {
    let status = fresh_status();
    for alg in Algorithm::ALL {
        for purpose in Purpose::ALL {
            let text = mint(purpose, alg, NOW, VALID_INDEX);
            assert!(text.starts_with("SS1:"));
            let v = verify(&text, Some(&status)).unwrap_or_else(|e| panic!("{alg} {purpose}: {e}"));
            assert_eq!(v.algorithm, alg);
            assert_eq!(v.kid, issuer_key(alg).key_id());
            assert_eq!(v.purpose, purpose);
            assert_eq!(v.category, category_for(purpose));
            assert_eq!(v.issued_at, NOW);
            assert_eq!(v.expires_at, NOW + 60);
            assert_eq!(v.cti, [0x5a; 16]);
            assert_eq!(v.issuer, ISSUER);
            assert_eq!(
                v.status,
                StatusRef {
                    index: VALID_INDEX,
                    uri: STATUS_URI.into()
                }
            );
            assert_eq!(v.disclosed, Disclosed::for_purpose(purpose, &resident()));
        }
    }
}

#[test]
fn age_over_18_carries_nothing_else() {
    let v = verify(
        &mint(Purpose::AgeOver18, Algorithm::Ed25519, NOW, VALID_INDEX),
        Some(&fresh_status()),
    )
    .unwrap();
    assert_eq!(v.disclosed.field_names(), vec!["age_over_18"]);
    assert_eq!(v.disclosed.age_over_18, Some(true));
    assert!(v.disclosed.name.is_none());
}

#[test]
fn no_portrait_means_no_digest() {
    let mut attributes = resident();
    attributes.portrait_digest = None;
    let text = mint_presentation(
        &PresentationRequest {
            issuer: ISSUER,
            issued_at: NOW,
            lifetime_seconds: 30,
            cti: [1; 16],
            purpose: Purpose::TravelSecurity,
            category: VerifierCategory::Airport,
            attributes: &attributes,
            status: StatusRef {
                index: 1,
                uri: STATUS_URI.into(),
            },
        },
        issuer_key(Algorithm::Ed25519),
    )
    .unwrap();
    let v = verify(&text, Some(&fresh_status())).unwrap();
    assert_eq!(v.disclosed.field_names(), vec!["name", "id_number"]);
}

#[test]
fn mint_refuses_bad_requests() {
    let attributes = resident();
    let base = PresentationRequest {
        issuer: ISSUER,
        issued_at: NOW,
        lifetime_seconds: 60,
        cti: [1; 16],
        purpose: Purpose::HotelCheckin,
        category: VerifierCategory::Hotel,
        attributes: &attributes,
        status: StatusRef {
            index: 1,
            uri: STATUS_URI.into(),
        },
    };
    let key = issuer_key(Algorithm::Ed25519);
    for lifetime in [0, 61] {
        let r = PresentationRequest {
            lifetime_seconds: lifetime,
            ..base.clone()
        };
        assert!(matches!(
            mint_presentation(&r, key),
            Err(MintError::Lifetime)
        ));
    }
    let r = PresentationRequest {
        category: VerifierCategory::Bank,
        ..base.clone()
    };
    assert!(matches!(
        mint_presentation(&r, key),
        Err(MintError::PurposeCategoryNotAllowed(..))
    ));
}

#[test]
fn the_validity_window_with_skew() {
    let status = fresh_status();
    let text = mint(Purpose::HotelCheckin, Algorithm::Ed25519, NOW, VALID_INDEX);
    let at = |now: i64| {
        verify_presentation(
            &text,
            trust_list(),
            Some(&status),
            now,
            &VerifyPolicy::default(),
        )
        .map_err(|e| e.code())
    };
    assert_eq!(at(NOW - 30).map(|_| ()), Ok(()));
    assert_eq!(at(NOW - 31).unwrap_err(), "issued_in_future");
    assert_eq!(at(NOW + 89).map(|_| ()), Ok(()));
    assert_eq!(at(NOW + 90).unwrap_err(), "expired");
}

#[test]
fn status_outcomes() {
    let fresh = fresh_status();
    let revoked = verify(
        &mint(
            Purpose::HotelCheckin,
            Algorithm::Ed25519,
            NOW,
            REVOKED_INDEX,
        ),
        Some(&fresh),
    )
    .unwrap_err();
    assert_eq!(revoked.code(), "revoked");
    assert!(revoked.presentation().is_some());
    let suspended = verify(
        &mint(
            Purpose::HotelCheckin,
            Algorithm::EcdsaP256,
            NOW,
            SUSPENDED_INDEX,
        ),
        Some(&fresh),
    )
    .unwrap_err();
    assert_eq!(suspended.code(), "suspended");
    let valid = mint(Purpose::HotelCheckin, Algorithm::Sm2, NOW, VALID_INDEX);
    let reason = |r: Result<VerifiedPresentation, VerifyError>| match r {
        Err(VerifyError::StatusUnknown {
            reason,
            presentation,
        }) => {
            assert_eq!(presentation.purpose, Purpose::HotelCheckin);
            reason
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(reason(verify(&valid, None)), StatusUnknownReason::NoList);
    assert_eq!(
        reason(verify(&valid, Some(&stale_status()))),
        StatusUnknownReason::ListTooOld
    );
    assert_eq!(
        reason(verify(&valid, Some(&status_token(NOW - 100, NOW - 1)))),
        StatusUnknownReason::ListExpired
    );
    let mut other = fresh.clone();
    other.uri = "https://elsewhere.example/status".into();
    assert_eq!(
        reason(verify(&valid, Some(&other))),
        StatusUnknownReason::OtherList
    );
    let outside = mint(
        Purpose::HotelCheckin,
        Algorithm::Ed25519,
        NOW,
        STATUS_LIST_LEN as u32,
    );
    assert_eq!(
        reason(verify(&outside, Some(&fresh))),
        StatusUnknownReason::IndexOutOfRange
    );
    // A longer policy accepts the older list.
    let lenient = VerifyPolicy {
        max_status_age_seconds: 3 * DAY,
        ..VerifyPolicy::default()
    };
    verify_presentation(&valid, trust_list(), Some(&stale_status()), NOW, &lenient).unwrap();
}

#[test]
fn purpose_policy() {
    let text = mint(
        Purpose::TravelSecurity,
        Algorithm::Ed25519,
        NOW,
        VALID_INDEX,
    );
    let policy = VerifyPolicy {
        expected_purpose: Some(Purpose::HotelCheckin),
        ..VerifyPolicy::default()
    };
    let e =
        verify_presentation(&text, trust_list(), Some(&fresh_status()), NOW, &policy).unwrap_err();
    assert_eq!(e.code(), "purpose_mismatch");
    let policy = VerifyPolicy {
        expected_purpose: Some(Purpose::TravelSecurity),
        ..VerifyPolicy::default()
    };
    verify_presentation(&text, trust_list(), Some(&fresh_status()), NOW, &policy).unwrap();
}

#[test]
fn retired_keys_verify_what_they_signed_while_valid() {
    let old = RawClaims {
        iat: (NOW - 31 * DAY).into(),
        exp: (NOW - 31 * DAY + 60).into(),
        ..RawClaims::hotel()
    };
    let text = old.code(&retired_key());
    let status = status_token(NOW - 31 * DAY, NOW - 30 * DAY);
    verify_presentation(
        &text,
        trust_list(),
        Some(&status),
        NOW - 31 * DAY,
        &VerifyPolicy::default(),
    )
    .unwrap();
    let now_signed = RawClaims::hotel().code(&retired_key());
    assert_eq!(
        verify(&now_signed, Some(&fresh_status()))
            .unwrap_err()
            .code(),
        "key_not_valid_at_iat"
    );
}

#[test]
fn compression_is_used_only_when_shorter() {
    // Mostly random bytes (signature, digest, cti): typically not compressed; either way it verifies.
    for purpose in Purpose::ALL {
        let text = mint(purpose, Algorithm::Ed25519, NOW, VALID_INDEX);
        let raw = base45::decode(&text[4..]).unwrap();
        let cose = decode_text(&text).unwrap();
        if raw[0] == 0x78 {
            assert!(raw.len() < cose.len());
        } else {
            assert_eq!(raw, cose);
            assert_eq!(raw[0], 0xd2);
        }
    }
    // A payload with a lot of repetition gets compressed.
    let mut attributes = resident();
    attributes.address = "光明路".repeat(100);
    let text = mint_presentation(
        &PresentationRequest {
            issuer: ISSUER,
            issued_at: NOW,
            lifetime_seconds: 60,
            cti: [1; 16],
            purpose: Purpose::IdentityFull,
            category: VerifierCategory::Government,
            attributes: &attributes,
            status: StatusRef {
                index: 1,
                uri: STATUS_URI.into(),
            },
        },
        issuer_key(Algorithm::Ed25519),
    )
    .unwrap();
    assert_eq!(base45::decode(&text[4..]).unwrap()[0], 0x78);
    verify(&text, Some(&fresh_status())).unwrap();
}

#[test]
fn signed_trust_and_status_lists_round_trip() {
    let root = root_key();
    let json = trust_list().to_jwks_json();
    let signed = sign_trust_list(json.as_bytes(), &root).unwrap();
    let trust = open_signed_trust_list(&signed, &root.public_key(), NOW).unwrap();
    assert_eq!(&trust, trust_list());
    for alg in Algorithm::ALL {
        let signed = sign_status_list(&fresh_status(), issuer_key(alg)).unwrap();
        assert_eq!(
            open_status_list(&signed, &trust, NOW).unwrap(),
            fresh_status()
        );
    }
    // A retired key may not sign a new status list.
    let signed = sign_status_list(&fresh_status(), &retired_key()).unwrap();
    assert_eq!(
        open_status_list(&signed, &trust, NOW).unwrap_err(),
        StatusListError::KeyNotValidAtIat
    );
}

/// Renders the QR code as a greyscale image (4-module quiet zone, 3 px per
/// module) and reads it back with rqrr, an independent decoder.
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
fn every_purpose_renders_as_a_qr_code_that_an_independent_decoder_reads_back() {
    for alg in Algorithm::ALL {
        for purpose in Purpose::ALL {
            let text = mint(purpose, alg, NOW, VALID_INDEX);
            let (version, decoded) = render_and_decode(&text);
            assert_eq!(decoded, text);
            verify(&decoded, Some(&fresh_status())).unwrap();
            if purpose == Purpose::HotelCheckin {
                assert!(
                    version <= 15,
                    "hotel_checkin with {alg} needs QR version {version}"
                );
            }
            eprintln!(
                "{alg} {purpose}: {} chars, QR version {version}",
                text.len()
            );
        }
    }
}

fn any_code_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        any::<String>().prop_map(|s| format!("SS1:{s}")),
        proptest::collection::vec(any::<u8>(), 0..600)
            .prop_map(|b| format!("SS1:{}", base45::encode(&b))),
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(|mut b| {
            b.insert(0, 0xd2);
            format!("SS1:{}", base45::encode(&b))
        }),
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(|mut b| {
            b.splice(0..0, [0x78, 0x9c]);
            format!("SS1:{}", base45::encode(&b))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn verify_never_panics(text in any_code_text()) {
        let _ = verify(&text, Some(&fresh_status()));
    }

    #[test]
    fn a_mutated_code_never_verifies(position in any::<usize>(), bit in 0u8..8) {
        let text = mint(Purpose::HotelCheckin, Algorithm::Ed25519, NOW, VALID_INDEX);
        let mut cose = cose_of(&text);
        let i = position % cose.len();
        cose[i] ^= 1 << bit;
        let mutated = format!("SS1:{}", base45::encode(&cose));
        prop_assert!(verify(&mutated, Some(&fresh_status())).is_err());
    }

    #[test]
    fn opening_lists_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000), tagged in any::<bool>()) {
        let mut bytes = bytes;
        if tagged {
            bytes.insert(0, 0xd2);
        }
        let _ = open_status_list(&bytes, trust_list(), NOW);
        let _ = open_signed_trust_list(&bytes, &root_key().public_key(), NOW);
        let _ = TrustList::from_jwks_json(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn a_mutated_status_list_never_opens(position in any::<usize>(), bit in 0u8..8) {
        let mut signed = sign_status_list(&fresh_status(), issuer_key(Algorithm::Ed25519)).unwrap();
        let i = position % signed.len();
        signed[i] ^= 1 << bit;
        prop_assert!(open_status_list(&signed, trust_list(), NOW).is_err());
    }
}

/// Known answer: Ed25519 and our CBOR encoding are deterministic, so minting the
/// corpus's hotel_checkin code again gives the same COSE bytes (compared after
/// inflating, so a different zlib build does not matter).
#[test]
fn minting_reproduces_the_corpus_code() {
    let stored = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/valid.ed25519.txt"),
    )
    .unwrap();
    let minted = mint(Purpose::HotelCheckin, Algorithm::Ed25519, NOW, VALID_INDEX);
    assert_eq!(decode_text(&minted).unwrap(), decode_text(&stored).unwrap());
    let cose = decode_text(&stored).unwrap();
    // Tag 18, array of 4, protected header {1: -8, 4: kid}.
    let kid = issuer_key(Algorithm::Ed25519).key_id().0;
    let mut prefix = vec![0xd2, 0x84, 0x4d, 0xa2, 0x01, 0x27, 0x04, 0x48];
    prefix.extend_from_slice(&kid);
    prefix.extend_from_slice(&[0xa0]);
    assert!(cose.starts_with(&prefix));
}
