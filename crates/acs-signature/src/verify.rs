//! The gateway side: checking a received request as Alibaba Cloud's API gateway
//! does, for the platform's **fakes** of Alibaba Cloud services. It is not the
//! gateway: the order of the checks and the codes are its best reading of the V3
//! document and the common error table (see the crate docs), not a copy.

use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use time::OffsetDateTime;

use crate::{
    canonical_headers, canonical_query_string, canonical_request, parse_authorization,
    parse_x_acs_date, percent_encode, sha256_hex, string_to_sign, verify, MAX_CLOCK_SKEW,
};

/// The headers every signed RPC call must sign (`sign_rpc` signs exactly these).
pub const REQUIRED_SIGNED_HEADERS: [&str; 6] = [
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
];

/// A request as it arrived, before any decoding.
#[derive(Clone, Copy)]
pub struct ReceivedRequest<'a> {
    pub method: &'a str,
    /// The path, as received (`/` for RPC-style APIs).
    pub path: &'a str,
    /// The raw query string without `?`, as received (empty when there is none).
    pub query: &'a str,
    /// Every header as received: name (any case) and raw value.
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

impl std::fmt::Debug for ReceivedRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The query carries personal data (a phone number, hashed identity data).
        f.debug_struct("ReceivedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Why the gateway refused a request; each answered with HTTP 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong, missing or malformed signature, or one that does not cover every
    /// signed header received, or a payload hash that does not match the body.
    SignatureDoesNotMatch,
    /// The `Credential` is not a known AccessKeyId.
    InvalidAccessKeyId,
    /// `x-acs-date` is not `yyyy-MM-ddTHH:mm:ssZ`.
    TimestampFormat,
    /// `x-acs-date` is more than [`MAX_CLOCK_SKEW`] from the gateway's clock.
    TimestampExpired,
    /// The nonce was seen before (or is empty).
    NonceUsed,
}

impl Refusal {
    /// The provider's `Code`.
    pub fn code(self) -> &'static str {
        match self {
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::InvalidAccessKeyId => "InvalidAccessKeyId.NotFound",
            Self::TimestampFormat => "InvalidTimeStamp.Format",
            Self::TimestampExpired => "InvalidTimeStamp.Expired",
            Self::NonceUsed => "SignatureNonceUsed",
        }
    }

    /// The provider's `Message`.
    pub fn message(self) -> &'static str {
        match self {
            Self::SignatureDoesNotMatch => {
                "Specified signature is not matched with our calculation."
            }
            Self::InvalidAccessKeyId => "Specified access key is not found.",
            Self::TimestampFormat => "Specified time stamp or date value is not well formatted.",
            Self::TimestampExpired => "Specified time stamp or date value is expired.",
            Self::NonceUsed => "Specified signature nonce was used already.",
        }
    }
}

/// Checks requests signed for one access key: key, signature, clock, nonce, in
/// that order. Nonces of authenticated requests are remembered for twice the
/// clock window, so a replay within the window is refused.
pub struct Verifier {
    access_key_id: String,
    access_key_secret: SecretString,
    nonces: Mutex<HashMap<String, OffsetDateTime>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Verifier {
    pub fn new(access_key_id: impl Into<String>, access_key_secret: SecretString) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret,
            nonces: Mutex::new(HashMap::new()),
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret, for a fake that hands out a client configuration.
    pub fn access_key_secret(&self) -> &SecretString {
        &self.access_key_secret
    }

    /// Checks `request` against the clock `now`.
    pub fn check(&self, request: &ReceivedRequest<'_>, now: OffsetDateTime) -> Result<(), Refusal> {
        let mut headers = Vec::with_capacity(request.headers.len());
        for (name, value) in request.headers {
            let value = std::str::from_utf8(value).map_err(|_| Refusal::SignatureDoesNotMatch)?;
            headers.push((*name, value));
        }
        let header = |wanted: &str| {
            headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
                .map(|(_, value)| *value)
        };
        let authorization = header("authorization")
            .and_then(parse_authorization)
            .ok_or(Refusal::SignatureDoesNotMatch)?;
        if authorization.credential != self.access_key_id {
            return Err(Refusal::InvalidAccessKeyId);
        }

        // Recompute from what arrived. Every host, content-type and x-acs-* header
        // received must be signed, and no other.
        let (canonical, signed) = canonical_headers(headers.iter().copied());
        if signed != authorization.signed_headers
            || !REQUIRED_SIGNED_HEADERS
                .iter()
                .all(|required| signed.split(';').any(|h| h == *required))
        {
            return Err(Refusal::SignatureDoesNotMatch);
        }
        let hashed_payload = sha256_hex(request.body);
        if header("x-acs-content-sha256") != Some(hashed_payload.as_str()) {
            return Err(Refusal::SignatureDoesNotMatch);
        }
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(request.query.as_bytes())
            .into_owned()
            .collect();
        let canonical_query =
            canonical_query_string(decoded.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let canonical_uri = request
            .path
            .split('/')
            .map(percent_encode)
            .collect::<Vec<_>>()
            .join("/");
        let canonical_request = canonical_request(
            &request.method.to_ascii_uppercase(),
            &canonical_uri,
            &canonical_query,
            &canonical,
            &signed,
            &hashed_payload,
        );
        if !verify(
            &self.access_key_secret,
            &string_to_sign(&canonical_request),
            authorization.signature,
        ) {
            return Err(Refusal::SignatureDoesNotMatch);
        }

        let date = header("x-acs-date")
            .and_then(parse_x_acs_date)
            .ok_or(Refusal::TimestampFormat)?;
        if (now - date).abs() > MAX_CLOCK_SKEW {
            return Err(Refusal::TimestampExpired);
        }
        let nonce = header("x-acs-signature-nonce").unwrap_or_default();
        let mut nonces = self.nonces.lock().unwrap_or_else(PoisonError::into_inner);
        nonces.retain(|_, seen| now - *seen <= MAX_CLOCK_SKEW * 2);
        if nonce.is_empty() || nonces.insert(nonce.to_owned(), now).is_some() {
            return Err(Refusal::NonceUsed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sign_rpc, x_acs_date, RpcCall};

    const SECRET: &str = "verifier-secret";

    struct Sent {
        query: String,
        headers: Vec<(String, String)>,
    }

    fn sign(secret: &str, date: &str, nonce: &str) -> Sent {
        let call = RpcCall {
            method: "POST",
            host: "127.0.0.1:9",
            action: "Act",
            version: "2020-02-17",
            date,
            nonce,
            params: &[("B", "x y"), ("A", "张")],
            body: b"",
        };
        let signed = sign_rpc(&call, "AK", &SecretString::from(secret.to_owned()));
        let mut headers: Vec<(String, String)> = signed
            .headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect();
        headers.push(("Authorization".into(), signed.authorization));
        headers.push(("accept".into(), "application/json".into()));
        Sent {
            query: signed.query,
            headers,
        }
    }

    fn check(
        verifier: &Verifier,
        sent: &Sent,
        query: &str,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let headers: Vec<(&str, &[u8])> = sent
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        verifier.check(
            &ReceivedRequest {
                method: "POST",
                path: "/",
                query,
                headers: &headers,
                body: b"",
            },
            now,
        )
    }

    #[test]
    fn accepts_once_then_refuses_the_replay() {
        let now = OffsetDateTime::now_utc();
        let verifier = Verifier::new("AK", SecretString::from(SECRET.to_owned()));
        let sent = sign(SECRET, &x_acs_date(now), "n1");
        assert_eq!(check(&verifier, &sent, &sent.query, now), Ok(()));
        assert_eq!(
            check(&verifier, &sent, &sent.query, now),
            Err(Refusal::NonceUsed)
        );
    }

    #[test]
    fn refuses_wrong_secret_tampering_unknown_key_and_old_dates() {
        let now = OffsetDateTime::now_utc();
        let verifier = Verifier::new("AK", SecretString::from(SECRET.to_owned()));
        let sent = sign("wrong", &x_acs_date(now), "n2");
        assert_eq!(
            check(&verifier, &sent, &sent.query, now),
            Err(Refusal::SignatureDoesNotMatch)
        );
        let sent = sign(SECRET, &x_acs_date(now), "n3");
        assert_eq!(
            check(&verifier, &sent, "A=%E5%BC%A0&B=x%20z", now),
            Err(Refusal::SignatureDoesNotMatch)
        );
        let other = Verifier::new("AK2", SecretString::from(SECRET.to_owned()));
        assert_eq!(
            check(&other, &sent, &sent.query, now),
            Err(Refusal::InvalidAccessKeyId)
        );
        let sent = sign(SECRET, &x_acs_date(now - time::Duration::minutes(16)), "n4");
        assert_eq!(
            check(&verifier, &sent, &sent.query, now),
            Err(Refusal::TimestampExpired)
        );
        let sent = sign(SECRET, "2025-01-01 00:00:00", "n5");
        assert_eq!(
            check(&verifier, &sent, &sent.query, now),
            Err(Refusal::TimestampFormat)
        );
        assert!(!format!("{verifier:?}").contains(SECRET));
    }
}
