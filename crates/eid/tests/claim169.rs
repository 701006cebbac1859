//! The printable identity document (MOSIP Claim 169): round trips on every
//! algorithm, an independent decode with ciborium and flate2, a published
//! third-party test vector, status and validity, hostile input.

mod common;

use ciborium::Value;
use common::*;
use proptest::prelude::*;
use shengshi_eid::*;
use std::io::Read;

const YEAR: i64 = 365 * DAY;

fn identity() -> Identity {
    Identity {
        id: Some("65010219900307123X".into()),
        version: Some(DOCUMENT_VERSION.into()),
        language: Some("zho".into()),
        full_name: Some("买买提·艾力·阿不都热合曼".into()),
        date_of_birth: Some("19900307".into()),
        gender: Some(Gender::Male),
        address: Some("新疆维吾尔自治区乌鲁木齐市天山区解放南路188号".into()),
        nationality: Some("CHN".into()),
        photo: None,
        photo_format: None,
    }
}

fn request(identity: &Identity, index: u32, lifetime: i64) -> DocumentRequest<'_> {
    DocumentRequest {
        issuer: ISSUER,
        issued_at: NOW,
        expires_at: NOW + lifetime,
        identity,
        status: StatusRef {
            index,
            uri: STATUS_URI.into(),
        },
    }
}

fn mint(identity: &Identity, alg: Algorithm, index: u32) -> String {
    mint_document(&request(identity, index, YEAR), issuer_key(alg)).unwrap()
}

fn verify_at(text: &str, now: i64) -> Result<VerifiedDocument, DocumentVerifyError> {
    verify_document(
        text,
        trust_list(),
        Some(&fresh_status()),
        now,
        &VerifyPolicy::default(),
    )
}

/// base45 → zlib → bytes, with flate2 directly (not the crate's bounded inflate).
fn inflate(text: &str) -> Vec<u8> {
    let compressed = base45::decode(text).unwrap();
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn round_trip_on_every_algorithm() {
    let id = identity();
    for alg in Algorithm::ALL {
        let text = mint(&id, alg, VALID_INDEX);
        let doc = verify_at(&text, NOW + 10).unwrap();
        assert_eq!(doc.identity, id, "{alg:?}");
        assert_eq!(doc.algorithm, alg);
        assert_eq!(doc.issuer.as_deref(), Some(ISSUER));
        assert_eq!(doc.issued_at, Some(NOW));
        assert_eq!(doc.not_before, Some(NOW));
        assert_eq!(doc.expires_at, Some(NOW + YEAR));
        assert_eq!(doc.kid, Some(issuer_key(alg).key_id()));
        assert_eq!(
            doc.status,
            Some(StatusRef {
                index: VALID_INDEX,
                uri: STATUS_URI.into()
            })
        );
        // The same document verifies with the bare key, as a third party would.
        let bare = verify_document_with_key(&text, &issuer_key(alg).public_key(), NOW, 0).unwrap();
        assert_eq!(bare.identity, id);
    }
}

#[test]
fn the_text_is_plain_base45_of_zlib_with_no_prefix() {
    let text = mint(&identity(), Algorithm::Ed25519, VALID_INDEX);
    assert!(text
        .chars()
        .all(|c| "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(c)));
    let raw = base45::decode(&text).unwrap();
    assert_eq!(raw[0], 0x78, "a zlib header");
    assert!(!text.starts_with("SS1:") && !text.starts_with("HC1:"));
}

/// A second decoding path: flate2 + ciborium's Value, reading the integer keys
/// of the specification by hand.
#[test]
fn an_independent_decoder_reads_the_specification_keys() {
    let mut id = identity();
    id.photo = Some(vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    id.photo_format = Some(PhotoFormat::Jpeg);
    let text = mint(&id, Algorithm::EcdsaP256, VALID_INDEX);
    let cose: Value = ciborium::de::from_reader(inflate(&text).as_slice()).unwrap();
    let Value::Tag(18, inner) = cose else {
        panic!("not a tagged COSE_Sign1: {cose:?}")
    };
    let Value::Array(parts) = *inner else {
        panic!()
    };
    assert_eq!(parts.len(), 4);
    let protected: Value =
        ciborium::de::from_reader(parts[0].as_bytes().unwrap().as_slice()).unwrap();
    let get = |map: &Value, k: i64| -> Value {
        map.as_map()
            .unwrap()
            .iter()
            .find(|(key, _)| key.as_integer() == Some(k.into()))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no key {k}"))
    };
    assert_eq!(get(&protected, 1), Value::from(-7), "ES256");
    assert_eq!(
        get(&protected, 4),
        Value::Bytes(issuer_key(Algorithm::EcdsaP256).key_id().0.to_vec())
    );
    let claims: Value = ciborium::de::from_reader(parts[2].as_bytes().unwrap().as_slice()).unwrap();
    assert_eq!(get(&claims, 1), Value::from(ISSUER));
    assert_eq!(get(&claims, 4), Value::from(NOW + YEAR));
    assert_eq!(get(&claims, 5), Value::from(NOW));
    assert_eq!(get(&claims, 6), Value::from(NOW));
    let data = get(&claims, 169);
    assert_eq!(get(&data, 1), Value::from("65010219900307123X"));
    assert_eq!(get(&data, 2), Value::from("1.0"));
    assert_eq!(get(&data, 3), Value::from("zho"));
    assert_eq!(get(&data, 4), Value::from("买买提·艾力·阿不都热合曼"));
    assert_eq!(get(&data, 8), Value::from("19900307"));
    assert_eq!(get(&data, 9), Value::from(1), "1 = male");
    assert!(get(&data, 10).as_text().unwrap().starts_with("新疆"));
    assert_eq!(get(&data, 13), Value::from("CHN"));
    assert_eq!(
        get(&data, 16),
        Value::Bytes(vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])
    );
    assert_eq!(get(&data, 17), Value::from(1), "1 = JPEG");
    assert_eq!(data.as_map().unwrap().len(), 10);
    let status = get(&claims, 65535);
    let list = &status.as_map().unwrap()[0];
    assert_eq!(list.0, Value::from("status_list"));
    // The signature covers the Sig_structure with the protected bytes.
    let sig_structure = Value::Array(vec![
        Value::from("Signature1"),
        parts[0].clone(),
        Value::Bytes(vec![]),
        parts[2].clone(),
    ]);
    let mut message = Vec::new();
    ciborium::ser::into_writer(&sig_structure, &mut message).unwrap();
    issuer_key(Algorithm::EcdsaP256)
        .public_key()
        .verify(&message, parts[3].as_bytes().unwrap())
        .unwrap();
}

/// The Ed25519 test vector published with the open-source `claim169` decoder
/// library (its test-vectors/valid/ed25519-signed.json, quoted in that
/// project's getting-started guide); the key is RFC 8032's test 1 key.
/// MOSIP's own specification publishes no signed vector.
#[test]
fn a_published_vector_decodes() {
    const QR: &str = "6BF590B20FFWJWG.FKJ05H7B0XKA8FA9DIWENPEJ/5P$DPQE88EB$CBECP9ERZC04E21DDF3/E96007F3ORAO001KL580 B9%W5*B9C+9%R8646%86HKESED1/DRTC5UA QE$345$CVQEX.DX88WBK0NG8PB4 O/38TL6XDALLKLPQATHO.3ZPJMUAVQFSB1:+B*21V FWMC6SU439YU774475LJ2U5T02$VBSIMLQ3:6J.E1-1STM$4";
    let key = PublicKey::from_bytes(
        Algorithm::Ed25519,
        &hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").unwrap(),
    )
    .unwrap();
    let doc = verify_document_with_key(QR, &key, 1_700_000_100, 0).unwrap();
    assert_eq!(doc.identity.id.as_deref(), Some("ID-SIGNED-001"));
    assert_eq!(
        doc.identity.full_name.as_deref(),
        Some("Signed Test Person")
    );
    assert_eq!(doc.issuer.as_deref(), Some("https://mosip.example.org"));
    assert_eq!(doc.issued_at, Some(1_700_000_000));
    assert_eq!(doc.kid, None);
    // Another key refuses it; so does its own expiry.
    let other = issuer_key(Algorithm::Ed25519).public_key();
    assert_eq!(
        verify_document_with_key(QR, &other, 1_700_000_100, 0)
            .unwrap_err()
            .code(),
        "bad_signature"
    );
    let exp = doc.expires_at.unwrap();
    assert_eq!(
        verify_document_with_key(QR, &key, exp, 0)
            .unwrap_err()
            .code(),
        "expired"
    );
    // No kid and not our issuer: our trust-list path refuses it.
    assert_eq!(
        verify_at(QR, 1_700_000_100).unwrap_err().code(),
        "wrong_type"
    );
}

#[test]
fn status_decides_last() {
    let id = identity();
    let revoked = mint(&id, Algorithm::Ed25519, REVOKED_INDEX);
    let err = verify_at(&revoked, NOW + 10).unwrap_err();
    assert_eq!(err.code(), "revoked");
    assert_eq!(err.document().unwrap().identity, id);
    let suspended = mint(&id, Algorithm::Ed25519, SUSPENDED_INDEX);
    assert_eq!(
        verify_at(&suspended, NOW + 10).unwrap_err().code(),
        "suspended"
    );
    let valid = mint(&id, Algorithm::Ed25519, VALID_INDEX);
    let no_list = verify_document(&valid, trust_list(), None, NOW, &VerifyPolicy::default());
    assert_eq!(no_list.unwrap_err().code(), "status_unknown");
    let stale = verify_document(
        &valid,
        trust_list(),
        Some(&stale_status()),
        NOW,
        &VerifyPolicy::default(),
    );
    assert_eq!(stale.unwrap_err().code(), "status_unknown");
    let outside = mint(&id, Algorithm::Ed25519, STATUS_LIST_LEN as u32 + 5);
    assert_eq!(
        verify_at(&outside, NOW).unwrap_err().code(),
        "status_unknown"
    );
}

#[test]
fn validity_window_and_issuer() {
    let id = identity();
    let text = mint(&id, Algorithm::Ed25519, VALID_INDEX);
    assert_eq!(
        verify_at(&text, NOW + YEAR + 60).unwrap_err().code(),
        "expired"
    );
    assert_eq!(
        verify_at(&text, NOW - 3600).unwrap_err().code(),
        "issued_in_future"
    );
    // Lifetimes: at most five years, never zero.
    for lifetime in [0, -1, MAX_DOCUMENT_LIFETIME_SECONDS + 1] {
        assert!(matches!(
            mint_document(
                &request(&id, VALID_INDEX, lifetime),
                issuer_key(Algorithm::Ed25519)
            ),
            Err(DocumentError::Lifetime)
        ));
    }
    assert!(mint_document(
        &request(&id, VALID_INDEX, MAX_DOCUMENT_LIFETIME_SECONDS),
        issuer_key(Algorithm::Ed25519)
    )
    .is_ok());
    // Signed by a key in no trust list; by another issuer.
    let stranger = mint_document(&request(&id, VALID_INDEX, YEAR), &stranger_key()).unwrap();
    assert_eq!(verify_at(&stranger, NOW).unwrap_err().code(), "unknown_kid");
    let mut other = request(&id, VALID_INDEX, YEAR);
    other.issuer = "https://elsewhere.example";
    let other = mint_document(&other, issuer_key(Algorithm::Ed25519)).unwrap();
    assert_eq!(
        verify_at(&other, NOW).unwrap_err().code(),
        "issuer_mismatch"
    );
    // The retired key may not sign at NOW.
    let late = mint_document(&request(&id, VALID_INDEX, YEAR), &retired_key()).unwrap();
    assert_eq!(
        verify_at(&late, NOW).unwrap_err().code(),
        "key_not_valid_at_iat"
    );
}

#[test]
fn bad_fields_are_refused_at_minting() {
    let key = issuer_key(Algorithm::Ed25519);
    let mut bad_date = identity();
    bad_date.date_of_birth = Some("1990-03-07".into());
    assert!(matches!(
        mint_document(&request(&bad_date, 1, YEAR), key),
        Err(DocumentError::Field("date_of_birth"))
    ));
    let mut photo_without_format = identity();
    photo_without_format.photo = Some(vec![1, 2, 3]);
    assert!(matches!(
        mint_document(&request(&photo_without_format, 1, YEAR), key),
        Err(DocumentError::Field("photo"))
    ));
    let nothing = Identity {
        version: Some(DOCUMENT_VERSION.into()),
        ..Identity::default()
    };
    assert!(matches!(
        mint_document(&request(&nothing, 1, YEAR), key),
        Err(DocumentError::Empty)
    ));
    // A photo no QR code can hold.
    let mut huge = identity();
    let mut x: u32 = 0x9e37_79b9;
    huge.photo = Some(
        (0..6000)
            .map(|_| {
                // xorshift: bytes zlib cannot shrink.
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect(),
    );
    huge.photo_format = Some(PhotoFormat::Jpeg);
    assert!(matches!(
        mint_document(&request(&huge, 1, YEAR), key),
        Err(DocumentError::TooLarge)
    ));
}

/// Re-signs a hand-made claims map with the fixture key, compressed as Claim 169 is.
fn signed_claims(claims: &Value) -> String {
    let payload = testing::encode_value(claims);
    let cose = testing::sign_payload(&payload, issuer_key(Algorithm::Ed25519)).unwrap();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &cose).unwrap();
    base45::encode(&z.finish().unwrap())
}

fn claims_with(identity: Value) -> Value {
    Value::Map(vec![
        (Value::from(1), Value::from(ISSUER)),
        (Value::from(4), Value::from(NOW + YEAR)),
        (Value::from(6), Value::from(NOW)),
        (Value::from(169), identity),
        (
            Value::from(65535),
            Value::Map(vec![(
                Value::from("status_list"),
                Value::Map(vec![
                    (Value::from("idx"), Value::from(VALID_INDEX)),
                    (Value::from("uri"), Value::from(STATUS_URI)),
                ]),
            )]),
        ),
    ])
}

#[test]
fn signed_but_malformed_identity_data_is_refused() {
    let cases = [
        (vec![(Value::from(9), Value::from(4))], "wrong_type"),
        (
            vec![(Value::from(8), Value::from("07/03/1990"))],
            "wrong_type",
        ),
        (vec![(Value::from(4), Value::Bytes(vec![1]))], "wrong_type"),
        (vec![(Value::from(17), Value::from(9))], "wrong_type"),
        (vec![(Value::from("name"), Value::from("x"))], "wrong_type"),
        // A key we never issue (e-mail): our verifier refuses what it would not show.
        (
            vec![
                (Value::from(4), Value::from("A")),
                (Value::from(11), Value::from("a@example.org")),
            ],
            "attribute_outside_purpose",
        ),
    ];
    for (map, code) in cases {
        let text = signed_claims(&claims_with(Value::Map(map.clone())));
        assert_eq!(verify_at(&text, NOW).unwrap_err().code(), code, "{map:?}");
    }
    // The well-formed control case verifies.
    let ok = signed_claims(&claims_with(Value::Map(vec![(
        Value::from(4),
        Value::from("A"),
    )])));
    assert_eq!(
        verify_at(&ok, NOW).unwrap().identity.full_name.as_deref(),
        Some("A")
    );
}

#[test]
fn hostile_texts_get_their_codes() {
    assert_eq!(verify_at("abc", NOW).unwrap_err().code(), "bad_base45");
    assert_eq!(
        verify_at(&"A".repeat(MAX_DOCUMENT_TEXT_CHARS + 3), NOW)
            .unwrap_err()
            .code(),
        "too_large"
    );
    // Uncompressed COSE: Claim 169 is always zlib.
    let text = mint(&identity(), Algorithm::Ed25519, VALID_INDEX);
    let raw = base45::encode(&inflate(&text));
    assert_eq!(
        verify_at(&raw, NOW).unwrap_err().code(),
        "decompression_failed"
    );
    // A bomb: 1 MiB of zeros compresses to a few hundred bytes.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &vec![0u8; 1 << 20]).unwrap();
    let bomb = base45::encode(&z.finish().unwrap());
    assert_eq!(
        verify_at(&bomb, NOW).unwrap_err().code(),
        "decompression_bomb"
    );
}

fn any_document_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(|b| base45::encode(&b)),
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(|mut b| {
            b.splice(0..0, [0x78, 0x9c]);
            base45::encode(&b)
        }),
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(|b| {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut z, &[&[0xd2, 0x84][..], &b].concat()).unwrap();
            base45::encode(&z.finish().unwrap())
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoding_never_panics(text in any_document_text()) {
        let _ = verify_at(&text, NOW);
        let _ = verify_document_with_key(&text, &issuer_key(Algorithm::Ed25519).public_key(), NOW, 0);
    }

    #[test]
    fn a_mutated_document_never_verifies(position in any::<usize>(), bit in 0u8..8) {
        let text = mint(&identity(), Algorithm::Ed25519, VALID_INDEX);
        let mut cose = inflate(&text);
        let i = position % cose.len();
        cose[i] ^= 1 << bit;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &cose).unwrap();
        let mutated = base45::encode(&z.finish().unwrap());
        prop_assert!(verify_at(&mutated, NOW + 10).is_err());
    }

    #[test]
    fn any_chosen_fields_round_trip(
        name in proptest::option::of("\\PC{1,40}"),
        id in proptest::option::of("[0-9X]{18}"),
        year in 1900u32..2026, month in 1u32..=12, day in 1u32..=28,
        with_date in any::<bool>(),
        gender in proptest::option::of(prop_oneof![Just(Gender::Male), Just(Gender::Female), Just(Gender::Other)]),
    ) {
        let identity = Identity {
            id,
            full_name: name,
            date_of_birth: with_date.then(|| format!("{year:04}{month:02}{day:02}")),
            gender,
            nationality: Some("CHN".into()),
            ..Identity::default()
        };
        let text = mint(&identity, Algorithm::Ed25519, VALID_INDEX);
        prop_assert_eq!(verify_at(&text, NOW).unwrap().identity, identity);
    }
}
