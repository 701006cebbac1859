//! Time-based one-time passwords (RFC 6238): HMAC-SHA-1, 6 digits, 30-second
//! steps, a code accepted one step either side of now. Replay protection (a
//! step used once is refused afterwards) lives with the stored staff record.

use hmac::{Hmac, Mac};
use rand::RngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one (clock drift, typing time).
pub const SKEW_STEPS: i64 = 1;
/// 160 bits, the length RFC 4226 recommends for HMAC-SHA-1.
pub const SECRET_LEN: usize = 20;

/// A new random secret.
pub fn generate_secret() -> Zeroizing<Vec<u8>> {
    let mut secret = Zeroizing::new(vec![0u8; SECRET_LEN]);
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// The time-step a Unix time (seconds) falls in.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// HOTP (RFC 4226) for one counter value, with `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The code for a time-step, zero-padded.
pub fn code_for_step(secret: &[u8], step: i64, digits: u32) -> String {
    let value = hotp(secret, u64::try_from(step).unwrap_or(0), digits);
    format!("{value:0width$}", width = digits as usize)
}

/// The step whose 6-digit code `code` is, among the steps around
/// `unix_seconds`; the latest if several match. Compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, unix_seconds: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_seconds);
    let mut found = None;
    for step in (now - SKEW_STEPS)..=(now + SKEW_STEPS) {
        if step < 0 {
            continue;
        }
        let expected = code_for_step(secret, step, DIGITS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The `otpauth://` URI an authenticator app scans. Usernames are restricted to
/// `[a-z0-9._-]`, so they need no escaping.
pub fn provisioning_uri(username: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/Shengshi:{username}?secret={}&issuer=Shengshi&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        base32(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits, seed "12345678901234567890").
    #[test]
    fn rfc_6238_test_vectors() {
        let seed = b"12345678901234567890";
        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_for_step(seed, step_at(time), 8), expected, "T={time}");
        }
    }

    /// RFC 4226 appendix D (6 digits).
    #[test]
    fn rfc_4226_test_vectors() {
        let seed = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(seed, counter as u64, 6), value);
        }
    }

    #[test]
    fn codes_match_within_one_step_only() {
        let seed = b"12345678901234567890";
        let t = 1_234_567_890;
        let code = code_for_step(seed, step_at(t), DIGITS);
        assert_eq!(matching_step(seed, &code, t), Some(step_at(t)));
        assert_eq!(matching_step(seed, &code, t + 30), Some(step_at(t)));
        assert_eq!(matching_step(seed, &code, t - 30), Some(step_at(t)));
        assert_eq!(matching_step(seed, &code, t + 90), None);
        assert_eq!(matching_step(seed, "12345", t), None);
        assert_eq!(matching_step(seed, "abcdef", t), None);
    }

    #[test]
    fn base32_follows_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let uri = provisioning_uri("li.wei", b"12345678901234567890");
        assert!(uri.starts_with(
            "otpauth://totp/Shengshi:li.wei?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Shengshi"
        ));
    }
}
