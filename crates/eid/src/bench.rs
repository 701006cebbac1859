//! `shengshi bench eid` (feature `bench`), on one thread:
//! - mode (a): raw strict signature verifications per second against full
//!   offline verifications per second of a hotel_checkin `SS1` code;
//! - mode (b): the raw rate of the two strict signature checks of a
//!   holder-bound `SS2` code (issuer Ed25519 over the credential + device
//!   ES256 over the presentation) against full `SS2` verifications, without
//!   and (separately) with a cache of already-verified credentials;
//! - payload bytes and QR version per purpose, for both modes.

use crate::*;
use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Full verification must reach this fraction of raw signature verification.
pub const RATIO_LIMIT: f64 = 0.90;

/// One code's size.
#[derive(Debug, Clone)]
pub struct SizeRow {
    pub algorithm: Algorithm,
    pub purpose: Purpose,
    /// The COSE_Sign1 bytes.
    pub cose_bytes: usize,
    /// The QR text (prefix included).
    pub text_chars: usize,
    pub compressed: bool,
    /// QR version at error-correction level M.
    pub qr_version: i16,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Ed25519 `verify_strict` of the code's Sig_structure, per second (median batch).
    pub raw_per_second: f64,
    /// `verify_presentation` of the hotel_checkin code with a status list, per
    /// second (median batch of as many calls, alternating with the raw batches).
    pub full_per_second: f64,
    /// The median of the adjacent batch pairs' full/raw ratios.
    pub ratio: f64,
    pub passed: bool,
    /// Raw verifications per second with the other algorithms (information only).
    pub other_raw_per_second: Vec<(Algorithm, f64)>,
    pub sizes: Vec<SizeRow>,
    /// Mode (b): issuer Ed25519 + device ES256 strict verifications of one
    /// `SS2` code, per second (median batch).
    pub holder_raw_per_second: f64,
    /// `verify_presentation` of the hotel_checkin `SS2` code, no cache.
    pub holder_full_per_second: f64,
    /// `holder_full_per_second / holder_raw_per_second`.
    pub holder_ratio: f64,
    pub holder_passed: bool,
    /// The raw rate measured alongside the cached run (its own pairing).
    pub holder_cached_raw_per_second: f64,
    /// `verify_holder_presentation` with a [`CredentialCache`] holding the
    /// credential (the issuer signature is skipped; every other check runs).
    pub holder_cached_per_second: f64,
    pub holder_cached_ratio: f64,
    /// `SS2` sizes per purpose (Ed25519 issuer, the device's P-256 signature).
    pub holder_sizes: Vec<SizeRow>,
    pub rounds: u32,
    pub round: Duration,
}

/// Operations per second of `f`, from the whole round (for information).
fn rate(round: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < round {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// How many calls of `f` take about `target`.
fn calibrate(target: Duration, mut f: impl FnMut()) -> u32 {
    let mut batch = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        if start.elapsed() >= target || batch >= 1 << 20 {
            return batch;
        }
        batch *= 2;
    }
}

/// Alternates small batches of `a` and `b` (the same number of calls each,
/// about 0.5 ms) for `total`, after a warm-up, and returns the rates
/// (operations per second) of the median batch of each and the median of
/// the pairs' ratios b/a. Each pair is two adjacent batches (a first, then b
/// first, in turn), run at the same machine speed: a virtual machine's speed
/// drifts by more than the difference measured, so the batches are compared
/// pair by pair, and the median ignores the pairs another process disturbed.
fn paired_batches(total: Duration, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64, f64) {
    let batch = calibrate(Duration::from_micros(500), &mut a);
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        t.elapsed().as_secs_f64().max(1e-12)
    };
    let warm_up = Instant::now();
    while warm_up.elapsed() < Duration::from_millis(200) {
        time(&mut a);
        time(&mut b);
    }
    let mut pairs: Vec<(f64, f64)> = Vec::new();
    let start = Instant::now();
    while start.elapsed() < total || pairs.is_empty() {
        let pair = if pairs.len().is_multiple_of(2) {
            let t_a = time(&mut a);
            (t_a, time(&mut b))
        } else {
            let t_b = time(&mut b);
            (time(&mut a), t_b)
        };
        pairs.push(pair);
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let ratio = median(pairs.iter().map(|(t_a, t_b)| t_a / t_b).collect());
    let rate = |times: Vec<f64>| f64::from(batch) / median(times);
    let rate_a = rate(pairs.iter().map(|p| p.0).collect());
    let rate_b = rate(pairs.iter().map(|p| p.1).collect());
    (rate_a, rate_b, ratio)
}

fn resident() -> Attributes {
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

const NOW: i64 = 1_790_000_000;
const ISSUER: &str = "https://id.shengshi.example.gov.cn";
const STATUS_URI: &str = "https://id.shengshi.example.gov.cn/eid/status/1";

fn category(purpose: Purpose) -> VerifierCategory {
    match purpose {
        Purpose::HotelCheckin => VerifierCategory::Hotel,
        Purpose::TravelSecurity => VerifierCategory::Railway,
        Purpose::AgeOver18 => VerifierCategory::Retail,
        Purpose::IdentityFull => VerifierCategory::Bank,
    }
}

fn mint(key: &SoftwareKey, purpose: Purpose, attributes: &Attributes) -> String {
    mint_presentation(
        &PresentationRequest {
            issuer: ISSUER,
            issued_at: NOW,
            lifetime_seconds: 60,
            cti: [0x5a; 16],
            purpose,
            category: category(purpose),
            attributes,
            status: StatusRef {
                index: 424_242,
                uri: STATUS_URI.into(),
            },
        },
        key,
    )
    .expect("minting the benchmark code")
}

/// Strict Ed25519 verifications per second on one thread: the same raw
/// check as mode (a) (`PublicKey::verify` of a hotel_checkin code's
/// Sig_structure), the fastest of ~0.5 ms batches over `total` after a
/// warm-up. `shengshi bench verify` compares the online service with it.
pub fn raw_eddsa_per_second(total: Duration) -> Result<f64, String> {
    let key = SoftwareKey::from_seed(Algorithm::Ed25519, &[0x42; 32]).map_err(|e| e.to_string())?;
    let text = mint(&key, Purpose::HotelCheckin, &resident());
    let cose = decode_text(&text).map_err(|e| e.to_string())?;
    let (protected, payload, signature) =
        testing::split_sign1(&cose).ok_or("the code is not a COSE_Sign1")?;
    let message = testing::sig_structure(&protected, &payload);
    let public = key.public_key();
    public
        .verify(&message, &signature)
        .map_err(|e| format!("{e:?}"))?;
    let mut verify = || {
        black_box(public.verify(black_box(&message), black_box(&signature))).ok();
    };
    let batch = calibrate(Duration::from_micros(500), &mut verify);
    let mut best = f64::MAX;
    let start = Instant::now();
    while start.elapsed() < total || best == f64::MAX {
        let t = Instant::now();
        for _ in 0..batch {
            verify();
        }
        best = best.min(t.elapsed().as_secs_f64().max(1e-12));
    }
    Ok(f64::from(batch) / best)
}

/// Runs the benchmark: raw and full verification alternate in batches of about
/// 0.5 ms for `rounds × round × 2` (after 200 ms of warm-up); the median of
/// the adjacent pairs' ratios counts (see `paired_batches`). The other algorithms' raw rates are measured for `round` each.
pub fn run(rounds: u32, round: Duration) -> Result<BenchReport, String> {
    let attributes = resident();
    let keys: Vec<SoftwareKey> = Algorithm::ALL
        .into_iter()
        .map(|a| SoftwareKey::from_seed(a, &[0x42; 32]).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let trust = TrustList {
        issuer: ISSUER.into(),
        issued_at: NOW - 86_400,
        expires_at: NOW + 86_400,
        keys: keys
            .iter()
            .map(|k| TrustedKey {
                public_key: k.public_key(),
                not_before: NOW - 86_400,
                not_after: NOW + 86_400,
            })
            .collect(),
    };
    // A list of a million cards, a few revoked, signed and opened as a verifier would.
    let mut list = StatusList::new(1_000_000);
    for i in (0..1_000_000).step_by(997) {
        list.set(i, CardStatus::Revoked);
    }
    let token = StatusListToken {
        uri: STATUS_URI.into(),
        issued_at: NOW - 600,
        expires_at: NOW + 86_400,
        ttl: 3600,
        list,
    };
    let signed = sign_status_list(&token, &keys[0]).map_err(|e| e.to_string())?;
    let status = open_status_list(&signed, &trust, NOW).map_err(|e| e.to_string())?;

    let hotel = mint(&keys[0], Purpose::HotelCheckin, &attributes);
    let policy = VerifyPolicy {
        expected_purpose: Some(Purpose::HotelCheckin),
        ..VerifyPolicy::default()
    };
    verify_presentation(&hotel, &trust, Some(&status), NOW, &policy)
        .map_err(|e| format!("the benchmark code does not verify: {e}"))?;
    let message_of = |text: &str| -> Result<(Vec<u8>, Vec<u8>), String> {
        let cose = decode_text(text).map_err(|e| e.to_string())?;
        let (protected, payload, signature) =
            testing::split_sign1(&cose).ok_or("the code is not a COSE_Sign1")?;
        Ok((testing::sig_structure(&protected, &payload), signature))
    };
    let (message, signature) = message_of(&hotel)?;
    let public = keys[0].public_key();
    public
        .verify(&message, &signature)
        .map_err(|e| format!("{e:?}"))?;

    let (raw_best, full_best, ratio) = paired_batches(
        round * rounds.max(1) * 2,
        || {
            black_box(public.verify(black_box(&message), black_box(&signature))).ok();
        },
        || {
            black_box(verify_presentation(
                black_box(&hotel),
                &trust,
                Some(&status),
                NOW,
                &policy,
            ))
            .ok();
        },
    );

    let mut other_raw_per_second = Vec::new();
    for key in &keys[1..] {
        let text = mint(key, Purpose::HotelCheckin, &attributes);
        let (message, signature) = message_of(&text)?;
        let public = key.public_key();
        other_raw_per_second.push((
            key.algorithm(),
            rate(round, || {
                black_box(public.verify(black_box(&message), black_box(&signature))).ok();
            }),
        ));
    }

    let mut sizes = Vec::new();
    for key in &keys {
        for purpose in Purpose::ALL {
            let text = mint(key, purpose, &attributes);
            let raw = base45::decode(&text[PREFIX.len()..]).map_err(|e| e.to_string())?;
            let cose = decode_text(&text).map_err(|e| e.to_string())?;
            sizes.push(SizeRow {
                algorithm: key.algorithm(),
                purpose,
                cose_bytes: cose.len(),
                text_chars: text.len(),
                compressed: raw.first() == Some(&0x78),
                qr_version: qr_version(&text).map_err(|e| e.to_string())?,
            });
        }
    }
    // Mode (b): holder-bound codes.
    let device =
        SoftwareKey::from_seed(Algorithm::EcdsaP256, &[0x77; 32]).map_err(|e| e.to_string())?;
    let mut salt_counter = 0u8;
    let issued = issue_holder_credential(
        &HolderCredentialRequest {
            issuer: ISSUER,
            issued_at: NOW - 86_400,
            lifetime_seconds: 7 * 86_400,
            cti: [0xc1; 16],
            attributes: &attributes,
            age_over_60: false,
            device_key: &device.public_key(),
            status: StatusRef {
                index: 424_242,
                uri: STATUS_URI.into(),
            },
        },
        &keys[0],
        &mut || {
            salt_counter = salt_counter.wrapping_add(1);
            [salt_counter; 16]
        },
    )
    .map_err(|e| e.to_string())?;
    let holder_code = |purpose: Purpose| {
        mint_holder_presentation(
            &HolderPresentationRequest {
                credential: &issued.credential,
                items: &issued.items,
                purpose,
                category: category(purpose),
                issued_at: NOW,
                lifetime_seconds: 60,
                counter: 1,
                cti: [0x3c; 16],
            },
            &device,
        )
        .map_err(|e| e.to_string())
    };
    let holder = holder_code(Purpose::HotelCheckin)?;
    verify_presentation(&holder, &trust, Some(&status), NOW, &policy)
        .map_err(|e| format!("the benchmark SS2 code does not verify: {e}"))?;
    let (credential_message, credential_signature) = {
        let (protected, payload, signature) =
            testing::split_sign1(&issued.credential).ok_or("the credential is not a COSE_Sign1")?;
        (testing::sig_structure(&protected, &payload), signature)
    };
    let (device_message, device_signature) = {
        let cose = decode_text(&holder).map_err(|e| e.to_string())?;
        let (protected, payload, signature) =
            testing::split_device_sign1(&cose).ok_or("the SS2 code is not a COSE_Sign1")?;
        (testing::sig_structure(&protected, &payload), signature)
    };
    let device_public = device.public_key();
    let mut holder_raw = || {
        black_box(public.verify(
            black_box(&credential_message),
            black_box(&credential_signature),
        ))
        .ok();
        black_box(device_public.verify(black_box(&device_message), black_box(&device_signature)))
            .ok();
    };
    let (holder_raw_best, holder_full_best, holder_ratio) =
        paired_batches(round * rounds.max(1) * 2, &mut holder_raw, || {
            black_box(verify_presentation(
                black_box(&holder),
                &trust,
                Some(&status),
                NOW,
                &policy,
            ))
            .ok();
        });
    let cache = CredentialCache::new(1024);
    let (holder_cached_raw, holder_cached_best, holder_cached_ratio) =
        paired_batches(round * rounds.max(1), &mut holder_raw, || {
            black_box(verify_holder_presentation(
                black_box(&holder),
                &trust,
                Some(&status),
                NOW,
                &policy,
                Some(&cache),
            ))
            .ok();
        });
    let mut holder_sizes = Vec::new();
    for purpose in Purpose::ALL {
        let text = holder_code(purpose)?;
        let raw = base45::decode(&text[HOLDER_PREFIX.len()..]).map_err(|e| e.to_string())?;
        let cose = decode_text(&text).map_err(|e| e.to_string())?;
        holder_sizes.push(SizeRow {
            algorithm: Algorithm::Ed25519,
            purpose,
            cose_bytes: cose.len(),
            text_chars: text.len(),
            compressed: raw.first() == Some(&0x78),
            qr_version: qr_version(&text).map_err(|e| e.to_string())?,
        });
    }

    Ok(BenchReport {
        raw_per_second: raw_best,
        full_per_second: full_best,
        ratio,
        passed: ratio >= RATIO_LIMIT && holder_ratio >= RATIO_LIMIT,
        other_raw_per_second,
        sizes,
        holder_raw_per_second: holder_raw_best,
        holder_full_per_second: holder_full_best,
        holder_ratio,
        holder_passed: holder_ratio >= RATIO_LIMIT,
        holder_cached_raw_per_second: holder_cached_raw,
        holder_cached_per_second: holder_cached_best,
        holder_cached_ratio,
        holder_sizes,
        rounds,
        round,
    })
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "e-ID verification on one thread: raw and full alternate in ~0.5 ms batches for {} ms; median of the adjacent pairs:",
            (self.round * self.rounds.max(1) * 2).as_millis()
        )?;
        writeln!(
            f,
            "  raw Ed25519 verify_strict (PublicKey::verify):        {:>10.0} /s",
            self.raw_per_second
        )?;
        writeln!(
            f,
            "  full verify_presentation, hotel_checkin + status:     {:>10.0} /s",
            self.full_per_second
        )?;
        writeln!(
            f,
            "  ratio full/raw: {:.3} (limit {:.2}): {}",
            self.ratio,
            RATIO_LIMIT,
            if self.ratio >= RATIO_LIMIT {
                "PASS"
            } else {
                "FAIL"
            }
        )?;
        for (alg, r) in &self.other_raw_per_second {
            writeln!(f, "  raw {alg} verify (information): {r:>10.0} /s")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "  {:<8} {:<16} {:>10} {:>10} {:>10} {:>10}",
            "alg", "purpose", "COSE bytes", "QR chars", "zlib", "QR (EC M)"
        )?;
        for row in &self.sizes {
            writeln!(
                f,
                "  {:<8} {:<16} {:>10} {:>10} {:>10} {:>10}",
                row.algorithm.name(),
                row.purpose.name(),
                row.cose_bytes,
                row.text_chars,
                if row.compressed { "yes" } else { "no" },
                row.qr_version
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "mode (b), holder-bound SS2 hotel_checkin code (Ed25519 credential, ES256 device signature):"
        )?;
        writeln!(
            f,
            "  raw Ed25519 + ES256 verify (both strict signature checks): {:>10.0} /s",
            self.holder_raw_per_second
        )?;
        writeln!(
            f,
            "  full verify_presentation, SS2 + status, no cache:          {:>10.0} /s",
            self.holder_full_per_second
        )?;
        writeln!(
            f,
            "  ratio full/raw: {:.3} (limit {:.2}): {}",
            self.holder_ratio,
            RATIO_LIMIT,
            if self.holder_passed { "PASS" } else { "FAIL" }
        )?;
        writeln!(
            f,
            "  with the credential cache (issuer signature skipped; information): {:>10.0} /s against raw {:>10.0} /s, ratio {:.3}",
            self.holder_cached_per_second, self.holder_cached_raw_per_second, self.holder_cached_ratio
        )?;
        writeln!(
            f,
            "  {:<8} {:<16} {:>10} {:>10} {:>10} {:>10}",
            "issuer", "purpose", "COSE bytes", "QR chars", "zlib", "QR (EC M)"
        )?;
        for row in &self.holder_sizes {
            writeln!(
                f,
                "  {:<8} {:<16} {:>10} {:>10} {:>10} {:>10}",
                row.algorithm.name(),
                row.purpose.name(),
                row.cose_bytes,
                row.text_chars,
                if row.compressed { "yes" } else { "no" },
                row.qr_version
            )?;
        }
        Ok(())
    }
}
