//! The ThreeElementsVerification client: [`AliyunThreeElements`] implements [`CarrierCheck`].

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shengshi_acs_signature::{self as signature, x_acs_date, RpcCall};
use shengshi_app::carrier::{CarrierCheck, CarrierError, CarrierVerdict};
use shengshi_domain::{PersonName, PhoneNumber, ResidentIdNumber};
use std::net::IpAddr;
use std::time::Duration;
use url::Url;

/// The public endpoint of Alibaba Cloud Cell Phone Number Service (号码百科).
pub const DEFAULT_ENDPOINT: &str = "https://dytnsapi.aliyuncs.com/";
/// The API operation.
pub const ACTION: &str = "ThreeElementsVerification";
/// The API version of Dytnsapi.
pub const VERSION: &str = "2020-02-17";
/// The `Mask` sent: every identifying field is the lower-case hex SHA-256 of its
/// text (see the crate docs for why).
pub const MASK: &str = "SHA256";
/// The whole-request timeout (connect, send, answer), per attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per check, the first included. Only a failure to connect and a 5xx
/// answer are tried again.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// The wait before the second attempt; it doubles for each further one.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(200);
/// The longest answer read; answers are a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Provider texts are clipped to this many characters before they go into an
/// error or a log line.
const MAX_PROVIDER_TEXT: usize = 200;

/// What the platform needs to call ThreeElementsVerification.
#[derive(Clone)]
pub struct AliyunThreeElementsConfig {
    /// `https://dytnsapi.aliyuncs.com/` in production. Plain `http` is accepted for
    /// loopback addresses only (the fake). The path must be `/`.
    pub endpoint: Url,
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    /// `AuthCode`: the authorization ID of the approved tag application, from the
    /// Cell Phone Number Service console (我的申请).
    pub auth_code: String,
}

impl AliyunThreeElementsConfig {
    /// A configuration for the public endpoint.
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: SecretString,
        auth_code: impl Into<String>,
    ) -> Self {
        Self {
            endpoint: Url::parse(DEFAULT_ENDPOINT)
                .unwrap_or_else(|_| unreachable!("the default endpoint is a URL")),
            access_key_id: access_key_id.into(),
            access_key_secret,
            auth_code: auth_code.into(),
        }
    }
}

impl std::fmt::Debug for AliyunThreeElementsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunThreeElementsConfig")
            .field("endpoint", &self.endpoint.as_str())
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .field("auth_code", &self.auth_code)
            .finish()
    }
}

/// Timeouts and retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Per attempt, for connecting, sending and reading the answer.
    pub timeout: Duration,
    /// Attempts per check, at least 1.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles for each further one.
    pub backoff: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff: DEFAULT_BACKOFF,
        }
    }
}

/// A configuration the client cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the carrier-check endpoint {0}")]
    Endpoint(String),
    #[error("the Alibaba Cloud carrier-check {0} is empty")]
    Empty(&'static str),
    #[error("the carrier check needs at least one attempt")]
    NoAttempts,
    #[error("the carrier-check HTTP client could not be built: {0}")]
    Http(String),
}

/// The three-factor check through Alibaba Cloud Dytnsapi `ThreeElementsVerification`
/// (signature V3, `Mask=SHA256`). See the crate docs for the protocol, the error
/// mapping and the retry rule.
pub struct AliyunThreeElements {
    config: AliyunThreeElementsConfig,
    options: Options,
    /// The `host` header, as sent and as signed.
    host: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for AliyunThreeElements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunThreeElements")
            .field("config", &self.config)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Lower-case hex SHA-256 of the UTF-8 text: the form of `Name`, `CertCode` and
/// `InputNumber` under `Mask=SHA256`. The fake hashes its registrations the same way.
pub fn sha256_field(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The three identifying parameters as sent: `(Name, CertCode, InputNumber)`.
///
/// The name is the platform's normal form (NFC, one space, U+00B7 middle dot);
/// the ID number the 18-character form with an upper-case `X`; the phone number the
/// 11 national digits.
pub fn masked_fields(
    name: &PersonName,
    id_number: &ResidentIdNumber,
    phone: &PhoneNumber,
) -> (String, String, String) {
    (
        sha256_field(name.as_str()),
        sha256_field(id_number.as_str()),
        sha256_field(phone.as_str()),
    )
}

impl AliyunThreeElements {
    /// A client with the default timeout (5 s) and retries (3 attempts).
    pub fn new(config: AliyunThreeElementsConfig) -> Result<Self, ConfigError> {
        Self::with_options(config, Options::default())
    }

    pub fn with_options(
        config: AliyunThreeElementsConfig,
        options: Options,
    ) -> Result<Self, ConfigError> {
        let host = check_endpoint(&config.endpoint)?;
        if config.access_key_id.trim().is_empty() {
            return Err(ConfigError::Empty("access key id"));
        }
        if config.access_key_secret.expose_secret().is_empty() {
            return Err(ConfigError::Empty("access key secret"));
        }
        if config.auth_code.trim().is_empty() {
            return Err(ConfigError::Empty("auth code"));
        }
        if options.max_attempts == 0 {
            return Err(ConfigError::NoAttempts);
        }
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            // The provider never redirects; following one would re-send the signed
            // request (hashed identity data) to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shengshi-carrier/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        Ok(Self {
            config,
            options,
            host,
            http,
        })
    }

    /// One signed call. Never logs or returns the URL: its query holds the hashes.
    async fn attempt(&self, params: &[(&str, &str)]) -> Outcome {
        let date = x_acs_date(time::OffsetDateTime::now_utc());
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let call = RpcCall {
            method: "POST",
            host: &self.host,
            action: ACTION,
            version: VERSION,
            date: &date,
            nonce: &nonce,
            params,
            body: b"",
        };
        let signed = signature::sign_rpc(
            &call,
            &self.config.access_key_id,
            &self.config.access_key_secret,
        );
        let mut url = self.config.endpoint.clone();
        url.set_query(Some(&signed.query));
        let mut request = self.http.post(url);
        for (name, value) in &signed.headers {
            request = request.header(*name, value);
        }
        request = request
            .header(reqwest::header::AUTHORIZATION, &signed.authorization)
            .header(reqwest::header::ACCEPT, "application/json");

        let response = match request.send().await {
            Ok(response) => response,
            // Connecting failed (refused, DNS, TLS, connect timeout): nothing was sent.
            Err(e) if e.is_connect() => {
                return Outcome::Retryable(format!("could not connect: {}", describe(e)))
            }
            Err(e) if e.is_timeout() => return Outcome::TimedOut,
            Err(e) => {
                return Outcome::Failed(format!(
                    "the request failed after it was sent: {}",
                    describe(e)
                ))
            }
        };
        let status = response.status();
        let body = match read_limited(response).await {
            Ok(body) => body,
            Err(Unread::TimedOut) => return Outcome::TimedOut,
            Err(Unread::Other(e)) if status.is_server_error() => {
                return Outcome::Retryable(format!("HTTP {status} ({e})"))
            }
            Err(Unread::Other(e)) => {
                return Outcome::Failed(format!(
                    "HTTP {status}, and the answer could not be read: {e}"
                ))
            }
        };
        interpret(status, &body)
    }
}

/// The result of one attempt.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Verdict {
        verdict: CarrierVerdict,
        basic_carrier: String,
        request_id: String,
    },
    Refused {
        code: String,
        message: String,
        request_id: String,
    },
    /// Safe and useful to try again: nothing was sent, or the provider answered 5xx.
    Retryable(String),
    /// No answer within the timeout.
    TimedOut,
    /// Not retried and not a refusal: an answer we cannot read as a result.
    Failed(String),
}

/// The JSON answer of ThreeElementsVerification and of the API gateway's errors.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
    data: Option<AnswerData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AnswerData {
    /// A number in the SDK models (`Integer isConsistent`); accepted as a string too.
    is_consistent: Option<serde_json::Value>,
    basic_carrier: Option<String>,
}

fn is_consistent(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn interpret(status: reqwest::StatusCode, body: &[u8]) -> Outcome {
    let answer: Option<Answer> = serde_json::from_slice(body).ok();
    let code = answer.as_ref().and_then(|a| a.code.as_deref()).map(clip);
    if status.is_server_error() {
        let code = code.map(|c| format!(" {c}")).unwrap_or_default();
        return Outcome::Retryable(format!("HTTP {status}{code}"));
    }
    let Some(answer) = answer else {
        return if status.is_success() {
            Outcome::Failed(format!(
                "HTTP {status} with an answer that is not a ThreeElementsVerification result"
            ))
        } else {
            Outcome::Refused {
                code: format!("HTTP {status}"),
                message: "no error code in the answer".into(),
                request_id: String::new(),
            }
        };
    };
    let request_id = answer.request_id.as_deref().map(clip).unwrap_or_default();
    match code {
        Some(code) if code == "OK" && status.is_success() => {
            let data = answer.data.as_ref();
            let verdict = match data
                .and_then(|d| d.is_consistent.as_ref())
                .and_then(is_consistent)
            {
                Some(1) => CarrierVerdict::Consistent,
                Some(0) => CarrierVerdict::Inconsistent,
                Some(2) => CarrierVerdict::NoRecord,
                other => {
                    return Outcome::Failed(format!(
                        "Code OK with IsConsistent {other:?}, which is not 0, 1 or 2 (RequestId {request_id})"
                    ))
                }
            };
            Outcome::Verdict {
                verdict,
                basic_carrier: data
                    .and_then(|d| d.basic_carrier.as_deref())
                    .map(clip)
                    .unwrap_or_default(),
                request_id,
            }
        }
        Some(code) if code != "OK" => Outcome::Refused {
            code,
            message: answer.message.as_deref().map(clip).unwrap_or_default(),
            request_id,
        },
        _ if status.is_success() => Outcome::Failed(format!(
            "HTTP {status} with an answer that is not a ThreeElementsVerification result"
        )),
        _ => Outcome::Refused {
            code: format!("HTTP {status}"),
            message: "no error code in the answer".into(),
            request_id,
        },
    }
}

#[async_trait::async_trait]
impl CarrierCheck for AliyunThreeElements {
    async fn three_factor(
        &self,
        name: &PersonName,
        id_number: &ResidentIdNumber,
        phone: &PhoneNumber,
    ) -> Result<CarrierVerdict, CarrierError> {
        let (name_hash, cert_hash, number_hash) = masked_fields(name, id_number, phone);
        let params = [
            ("AuthCode", self.config.auth_code.as_str()),
            ("CertCode", cert_hash.as_str()),
            ("InputNumber", number_hash.as_str()),
            ("Mask", MASK),
            ("Name", name_hash.as_str()),
        ];
        // Only masked forms reach the logs.
        let (who, id, to) = (name.masked(), id_number.masked(), phone.masked());
        let mut attempt = 1;
        loop {
            match self.attempt(&params).await {
                Outcome::Verdict {
                    verdict,
                    basic_carrier,
                    request_id,
                } => {
                    tracing::info!(
                        name = %who, id_number = %id, phone = %to, attempt, ?verdict,
                        basic_carrier, request_id, "carrier three-factor check answered"
                    );
                    return Ok(verdict);
                }
                Outcome::Refused {
                    code,
                    message,
                    request_id,
                } => {
                    tracing::warn!(
                        name = %who, id_number = %id, phone = %to, attempt, code, message,
                        request_id, "carrier three-factor check refused"
                    );
                    return Err(CarrierError::Refused(format!("{code}: {message}")));
                }
                Outcome::TimedOut => {
                    tracing::warn!(
                        name = %who, id_number = %id, phone = %to, attempt,
                        timeout_ms = u64::try_from(self.options.timeout.as_millis()).unwrap_or(u64::MAX),
                        "carrier three-factor check timed out"
                    );
                    return Err(CarrierError::Timeout);
                }
                Outcome::Failed(reason) => {
                    tracing::warn!(
                        name = %who, id_number = %id, phone = %to, attempt, reason,
                        "carrier three-factor check failed"
                    );
                    return Err(CarrierError::Unavailable(reason));
                }
                Outcome::Retryable(reason) if attempt >= self.options.max_attempts => {
                    tracing::warn!(
                        name = %who, id_number = %id, phone = %to, attempt, reason,
                        "carrier three-factor check failed; giving up"
                    );
                    return Err(CarrierError::Unavailable(format!(
                        "{reason} (gave up after {attempt} attempts)"
                    )));
                }
                Outcome::Retryable(reason) => {
                    let wait = self
                        .options
                        .backoff
                        .saturating_mul(1 << (attempt - 1).min(16));
                    tracing::warn!(
                        name = %who, id_number = %id, phone = %to, attempt, reason,
                        retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "carrier three-factor check failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// Checks the endpoint and returns the `host` header for it.
fn check_endpoint(endpoint: &Url) -> Result<String, ConfigError> {
    let Some(host) = endpoint.host_str().filter(|h| !h.is_empty()) else {
        return Err(ConfigError::Endpoint(format!("{endpoint} has no host")));
    };
    match endpoint.scheme() {
        "https" => {}
        "http" if is_loopback(endpoint) => {}
        "http" => {
            return Err(ConfigError::Endpoint(format!(
                "{endpoint} must use https (http only on loopback)"
            )))
        }
        other => {
            return Err(ConfigError::Endpoint(format!(
                "{endpoint} has the scheme {other}, not https"
            )))
        }
    }
    if endpoint.path() != "/" || endpoint.query().is_some() || endpoint.fragment().is_some() {
        return Err(ConfigError::Endpoint(format!(
            "{endpoint} must have the path / and no query (an RPC-style API)"
        )));
    }
    if !endpoint.username().is_empty() || endpoint.password().is_some() {
        return Err(ConfigError::Endpoint("must not carry credentials".into()));
    }
    // `port()` is None for the scheme's default port, which is exactly when the
    // HTTP client leaves it out of the Host header.
    Ok(match endpoint.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

fn is_loopback(endpoint: &Url) -> bool {
    match endpoint.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// A reqwest error without its URL (which holds the hashes), with its causes.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    clip(&text)
}

enum Unread {
    TimedOut,
    Other(String),
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, Unread> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(Unread::Other(format!(
                        "the answer is longer than {MAX_ANSWER_BYTES} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err(Unread::TimedOut),
            Err(e) => return Err(Unread::Other(describe(e))),
        }
    }
}

/// Provider text, clipped and without control characters, for errors and logs.
fn clip(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_PROVIDER_TEXT)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode as S;

    fn config(endpoint: &str) -> AliyunThreeElementsConfig {
        let mut config = AliyunThreeElementsConfig::new(
            "LTAI-test",
            SecretString::from("s3cr3t-value".to_owned()),
            "AUTH-0001",
        );
        config.endpoint = Url::parse(endpoint).unwrap();
        config
    }

    #[test]
    fn endpoint_rules() {
        let host = |e: &str| AliyunThreeElements::new(config(e)).map(|c| c.host);
        assert_eq!(
            host("https://dytnsapi.aliyuncs.com").unwrap(),
            "dytnsapi.aliyuncs.com"
        );
        assert_eq!(host("http://127.0.0.1:8080/").unwrap(), "127.0.0.1:8080");
        for bad in [
            "http://dytnsapi.aliyuncs.com/",
            "https://dytnsapi.aliyuncs.com/x",
            "https://h/?a=b",
            "ftp://h/",
        ] {
            assert!(matches!(host(bad), Err(ConfigError::Endpoint(_))), "{bad}");
        }
    }

    #[test]
    fn config_must_be_complete() {
        let mut c = config(DEFAULT_ENDPOINT);
        c.auth_code = " ".into();
        assert_eq!(
            AliyunThreeElements::new(c).unwrap_err(),
            ConfigError::Empty("auth code")
        );
        let mut c = config(DEFAULT_ENDPOINT);
        c.access_key_secret = SecretString::from(String::new());
        assert_eq!(
            AliyunThreeElements::new(c).unwrap_err(),
            ConfigError::Empty("access key secret")
        );
        let options = Options {
            max_attempts: 0,
            ..Options::default()
        };
        assert_eq!(
            AliyunThreeElements::with_options(config(DEFAULT_ENDPOINT), options).unwrap_err(),
            ConfigError::NoAttempts
        );
    }

    #[test]
    fn sha256_fields_are_lower_case_hex() {
        // Computed independently: printf '13800138000' | sha256sum
        assert_eq!(
            sha256_field("13800138000"),
            "a6942f9771d67f34034d2f1926988ed3fad3bf1b4e7cedb9a31f31398dea43bc"
        );
        // printf '张三' | sha256sum: the UTF-8 bytes of the name.
        assert_eq!(
            sha256_field("张三"),
            "1d841bc0ee98309cb7916670b7f0fdef5f4c35150711a41405ef3633b56322cf"
        );
    }

    #[test]
    fn answers_are_classified() {
        let verdict = |body: &str| match interpret(S::OK, body.as_bytes()) {
            Outcome::Verdict { verdict, .. } => Some(verdict),
            _ => None,
        };
        assert_eq!(
            verdict(
                r#"{"Code":"OK","Message":"OK","RequestId":"R","Data":{"IsConsistent":1,"BasicCarrier":"中国移动"}}"#
            ),
            Some(CarrierVerdict::Consistent)
        );
        assert_eq!(
            verdict(r#"{"Code":"OK","Data":{"IsConsistent":0}}"#),
            Some(CarrierVerdict::Inconsistent)
        );
        assert_eq!(
            verdict(r#"{"Code":"OK","Data":{"IsConsistent":"2"}}"#),
            Some(CarrierVerdict::NoRecord)
        );
        assert!(matches!(
            interpret(S::OK, br#"{"Code":"OK","Data":{"IsConsistent":3}}"#),
            Outcome::Failed(_)
        ));
        assert!(matches!(
            interpret(S::OK, br#"{"Code":"OK"}"#),
            Outcome::Failed(_)
        ));
        assert!(
            matches!(interpret(S::OK, br#"{"Code":"OperatorLimit","Message":"The number is limited by the operator.","RequestId":"R"}"#),
                Outcome::Refused { ref code, .. } if code == "OperatorLimit")
        );
        assert!(
            matches!(interpret(S::BAD_REQUEST, br#"{"Code":"AuthCodeNotExist","Message":"x"}"#),
                Outcome::Refused { ref code, .. } if code == "AuthCodeNotExist")
        );
        assert!(matches!(
            interpret(S::SERVICE_UNAVAILABLE, b"<html>"),
            Outcome::Retryable(_)
        ));
        assert!(matches!(interpret(S::OK, b"not json"), Outcome::Failed(_)));
        assert!(
            matches!(interpret(S::FORBIDDEN, b"<html>"), Outcome::Refused { ref code, .. } if code == "HTTP 403 Forbidden")
        );
    }

    #[test]
    fn debug_redacts_the_secret() {
        let client = AliyunThreeElements::new(config(DEFAULT_ENDPOINT)).unwrap();
        for text in [
            format!("{client:?}"),
            format!("{client:#?}"),
            format!("{:?}", config(DEFAULT_ENDPOINT)),
        ] {
            assert!(!text.contains("s3cr3t-value"), "{text}");
            assert!(text.contains("[redacted]"), "{text}");
        }
    }
}
