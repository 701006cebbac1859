//! Fixed keys, lists and residents shared by the tests and the corpus generator.
#![allow(dead_code)]

use ciborium::Value;
use shengshi_eid::*;

/// "Now" for every fixture (2026-09-21T13:46:40Z).
pub const NOW: i64 = 1_790_000_000;
pub const ISSUER: &str = "https://id.shengshi.example.gov.cn";
pub const STATUS_URI: &str = "https://id.shengshi.example.gov.cn/eid/status/1";
pub const DAY: i64 = 86_400;
/// Index 7 is revoked, 8 suspended, every other index valid.
pub const REVOKED_INDEX: u32 = 7;
pub const SUSPENDED_INDEX: u32 = 8;
pub const VALID_INDEX: u32 = 42;
pub const STATUS_LIST_LEN: usize = 1024;

/// The issuer keys, made once per test process (EC key set-up is slow unoptimised).
pub fn issuer_key(alg: Algorithm) -> &'static SoftwareKey {
    static KEYS: std::sync::OnceLock<Vec<SoftwareKey>> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(|| Algorithm::ALL.into_iter().map(make_issuer_key).collect());
    &keys[Algorithm::ALL.iter().position(|a| *a == alg).unwrap()]
}

fn make_issuer_key(alg: Algorithm) -> SoftwareKey {
    let seed = match alg {
        Algorithm::Ed25519 => [0x11; 32],
        Algorithm::EcdsaP256 => [0x22; 32],
        Algorithm::Sm2 => [0x33; 32],
    };
    SoftwareKey::from_seed(alg, &seed).unwrap()
}

/// An Ed25519 key that was retired 30 days before NOW (still listed).
pub fn retired_key() -> SoftwareKey {
    SoftwareKey::from_seed(Algorithm::Ed25519, &[0x44; 32]).unwrap()
}

/// A key in no trust list.
pub fn stranger_key() -> SoftwareKey {
    SoftwareKey::from_seed(Algorithm::Ed25519, &[0x66; 32]).unwrap()
}

pub fn root_key() -> SoftwareKey {
    SoftwareKey::from_seed(Algorithm::Ed25519, &[0x55; 32]).unwrap()
}

/// The fixture trust list, made once per test process.
pub fn trust_list() -> &'static TrustList {
    static LIST: std::sync::OnceLock<TrustList> = std::sync::OnceLock::new();
    LIST.get_or_init(make_trust_list)
}

fn make_trust_list() -> TrustList {
    let mut keys: Vec<TrustedKey> = Algorithm::ALL
        .into_iter()
        .map(|a| TrustedKey {
            public_key: issuer_key(a).public_key(),
            not_before: NOW - 365 * DAY,
            not_after: NOW + 365 * DAY,
        })
        .collect();
    keys.push(TrustedKey {
        public_key: retired_key().public_key(),
        not_before: NOW - 400 * DAY,
        not_after: NOW - 30 * DAY,
    });
    TrustList {
        issuer: ISSUER.into(),
        issued_at: NOW - DAY,
        expires_at: NOW + 30 * DAY,
        keys,
    }
}

pub fn status_token(issued_at: i64, expires_at: i64) -> StatusListToken {
    let mut list = StatusList::new(STATUS_LIST_LEN);
    assert!(list.set(REVOKED_INDEX as usize, CardStatus::Revoked));
    assert!(list.set(SUSPENDED_INDEX as usize, CardStatus::Suspended));
    StatusListToken {
        uri: STATUS_URI.into(),
        issued_at,
        expires_at,
        ttl: 3600,
        list,
    }
}

/// Fresh: issued an hour before NOW, valid a day.
pub fn fresh_status() -> StatusListToken {
    status_token(NOW - 3600, NOW + DAY)
}

/// Within its own exp, but older than the default policy's 86 400 s.
pub fn stale_status() -> StatusListToken {
    status_token(NOW - 2 * DAY, NOW + DAY)
}

/// A fictional resident with a long name and address (the worst case for QR size).
pub fn resident() -> Attributes {
    Attributes {
        name: "买买提·艾力·阿不都热合曼".into(),
        id_number: "65010219900307123X".into(),
        sex: Sex::Male,
        birth_date: "1990-03-07".into(),
        address: "新疆维吾尔自治区乌鲁木齐市天山区解放南路街道光明路社区幸福家园小区188号院3号楼2单元1501室".into(),
        portrait_digest: Some([0xab; 32]),
        age_over_18: true,
    }
}

pub fn category_for(purpose: Purpose) -> VerifierCategory {
    match purpose {
        Purpose::HotelCheckin => VerifierCategory::Hotel,
        Purpose::TravelSecurity => VerifierCategory::Railway,
        Purpose::AgeOver18 => VerifierCategory::Retail,
        Purpose::IdentityFull => VerifierCategory::Bank,
    }
}

pub fn mint(purpose: Purpose, alg: Algorithm, issued_at: i64, index: u32) -> String {
    let attributes = resident();
    mint_presentation(
        &PresentationRequest {
            issuer: ISSUER,
            issued_at,
            lifetime_seconds: 60,
            cti: [0x5a; 16],
            purpose,
            category: category_for(purpose),
            attributes: &attributes,
            status: StatusRef {
                index,
                uri: STATUS_URI.into(),
            },
        },
        issuer_key(alg),
    )
    .unwrap()
}

/// Hand-built claims, for codes that `mint_presentation` refuses to make.
#[derive(Clone)]
pub struct RawClaims {
    pub iss: Value,
    pub iat: Value,
    pub exp: Value,
    pub cti: Value,
    pub status: Value,
    pub purpose: Value,
    pub category: Value,
    pub attributes: Vec<(Value, Value)>,
    pub extra: Vec<(Value, Value)>,
}

impl RawClaims {
    /// A hotel_checkin presentation issued at NOW for a hotel, index VALID_INDEX.
    pub fn hotel() -> RawClaims {
        let r = resident();
        RawClaims {
            iss: ISSUER.into(),
            iat: NOW.into(),
            exp: (NOW + 60).into(),
            cti: Value::Bytes(vec![0x5a; 16]),
            status: status_value(VALID_INDEX, STATUS_URI),
            purpose: 1.into(),
            category: 1.into(),
            attributes: vec![
                (1.into(), r.name.as_str().into()),
                (2.into(), r.id_number.as_str().into()),
                (6.into(), Value::Bytes(r.portrait_digest.unwrap().to_vec())),
            ],
            extra: vec![],
        }
    }

    pub fn value(&self) -> Value {
        let mut entries = vec![
            (1.into(), self.iss.clone()),
            (4.into(), self.exp.clone()),
            (6.into(), self.iat.clone()),
            (7.into(), self.cti.clone()),
            (65535.into(), self.status.clone()),
            (
                (-65537).into(),
                Value::Map(vec![
                    (1.into(), self.purpose.clone()),
                    (2.into(), self.category.clone()),
                    (3.into(), Value::Map(self.attributes.clone())),
                ]),
            ),
        ];
        entries.extend(self.extra.iter().cloned());
        Value::Map(entries)
    }

    pub fn payload(&self) -> Vec<u8> {
        shengshi_eid::testing::encode_value(&self.value())
    }

    /// Signed by `signer` and encoded as a code.
    pub fn code(&self, signer: &dyn Signer) -> String {
        let cose = shengshi_eid::testing::sign_payload(&self.payload(), signer).unwrap();
        encode_text(&cose)
    }
}

pub fn status_value(index: u32, uri: &str) -> Value {
    Value::Map(vec![(
        "status_list".into(),
        Value::Map(vec![
            ("idx".into(), index.into()),
            ("uri".into(), uri.into()),
        ]),
    )])
}

/// The COSE bytes inside a code.
pub fn cose_of(text: &str) -> Vec<u8> {
    decode_text(text).unwrap()
}
