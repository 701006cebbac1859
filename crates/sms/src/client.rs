//! The SendSms client: [`AliyunSms`] implements [`SmsGateway`].

use secrecy::SecretString;
use serde::Deserialize;
use shengshi_app::sms::{SmsError, SmsGateway, SmsMessage};
use shengshi_domain::PhoneNumber;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;
use url::Url;

use crate::signature::{self, x_acs_date, RpcCall};

/// The public endpoint of Alibaba Cloud Short Message Service.
pub const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com/";
/// The API operation.
pub const ACTION: &str = "SendSms";
/// The API version of SendSms.
pub const VERSION: &str = "2017-05-25";
/// The platform's templates (`SmsMessage::template`) that must each map to an
/// approved Alibaba Cloud template code. Today: the one-time code.
pub const REQUIRED_TEMPLATES: &[&str] = &["SMS_CODE"];
/// The whole-request timeout (connect, send, answer), per attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per message, the first included. Only failures where the provider
/// cannot have accepted the message, or answered 5xx, are tried again.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// The wait before the second attempt; it doubles for each further one.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(200);
/// The longest answer read; SendSms answers are a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Provider texts (error messages) are clipped to this many characters before
/// they go into an error or a log line.
const MAX_PROVIDER_TEXT: usize = 200;

/// What the platform needs to send through Alibaba Cloud SMS.
#[derive(Clone)]
pub struct AliyunSmsConfig {
    /// `https://dysmsapi.aliyuncs.com/` in production. Plain `http` is accepted for
    /// loopback addresses only (the fake). The path must be `/`.
    pub endpoint: Url,
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    /// The approved signature (`SignName`), e.g. the platform's name.
    pub sign_name: String,
    /// Platform template id (`SmsMessage::template`, e.g. `SMS_CODE`) → approved
    /// Alibaba Cloud template code (`TemplateCode`, e.g. `SMS_123456789`).
    pub templates: BTreeMap<String, String>,
}

impl AliyunSmsConfig {
    /// A configuration for the public endpoint with no templates yet.
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: SecretString,
        sign_name: impl Into<String>,
    ) -> Self {
        Self {
            endpoint: Url::parse(DEFAULT_ENDPOINT)
                .unwrap_or_else(|_| unreachable!("the default endpoint is a URL")),
            access_key_id: access_key_id.into(),
            access_key_secret,
            sign_name: sign_name.into(),
            templates: BTreeMap::new(),
        }
    }

    /// Maps platform template `ours` to Alibaba Cloud template code `theirs`.
    pub fn template(mut self, ours: impl Into<String>, theirs: impl Into<String>) -> Self {
        self.templates.insert(ours.into(), theirs.into());
        self
    }
}

impl std::fmt::Debug for AliyunSmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunSmsConfig")
            .field("endpoint", &self.endpoint.as_str())
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .field("sign_name", &self.sign_name)
            .field("templates", &self.templates)
            .finish()
    }
}

/// Timeouts and retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Per attempt, for connecting, sending and reading the answer.
    pub timeout: Duration,
    /// Attempts per message, at least 1.
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

/// A configuration the gateway cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the SMS endpoint {0}")]
    Endpoint(String),
    #[error("the Alibaba Cloud SMS {0} is empty")]
    Empty(&'static str),
    #[error("no Alibaba Cloud template code is configured for the platform template {0:?}")]
    MissingTemplate(String),
    #[error("the SMS gateway needs at least one attempt per message")]
    NoAttempts,
    #[error("the SMS HTTP client could not be built: {0}")]
    Http(String),
}

/// The Alibaba Cloud Short Message Service gateway (SendSms, signature V3).
///
/// Each message is one SendSms call to one number, with the platform template
/// mapped to the configured template code and the parameters as a JSON object of
/// strings. See the crate docs for the protocol, the error mapping and the retry rule.
pub struct AliyunSms {
    config: AliyunSmsConfig,
    options: Options,
    /// The `host` header, as sent and as signed.
    host: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for AliyunSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunSms")
            .field("config", &self.config)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl AliyunSms {
    /// A gateway with the default timeout (5 s) and retries (3 attempts).
    pub fn new(config: AliyunSmsConfig) -> Result<Self, ConfigError> {
        Self::with_options(config, Options::default())
    }

    pub fn with_options(config: AliyunSmsConfig, options: Options) -> Result<Self, ConfigError> {
        let host = check_endpoint(&config.endpoint)?;
        if config.access_key_id.trim().is_empty() {
            return Err(ConfigError::Empty("access key id"));
        }
        if secrecy::ExposeSecret::expose_secret(&config.access_key_secret).is_empty() {
            return Err(ConfigError::Empty("access key secret"));
        }
        if config.sign_name.trim().is_empty() {
            return Err(ConfigError::Empty("sign name"));
        }
        for required in REQUIRED_TEMPLATES {
            if config
                .templates
                .get(*required)
                .is_none_or(|code| code.trim().is_empty())
            {
                return Err(ConfigError::MissingTemplate((*required).to_owned()));
            }
        }
        if let Some((ours, _)) = config
            .templates
            .iter()
            .find(|(_, theirs)| theirs.trim().is_empty())
        {
            return Err(ConfigError::MissingTemplate(ours.clone()));
        }
        if options.max_attempts == 0 {
            return Err(ConfigError::NoAttempts);
        }
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            // The provider never redirects; following one would re-send the signed
            // request (phone number, code) to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shengshi-sms/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        Ok(Self {
            config,
            options,
            host,
            http,
        })
    }

    /// One signed SendSms call. Never logs or returns the URL: its query holds the
    /// phone number and the code.
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
            // Connecting failed (refused, DNS, TLS, connect timeout): the request
            // was never sent, so the provider cannot have accepted it.
            Err(e) if e.is_connect() => {
                return Outcome::Retryable(format!("could not connect: {}", describe(e)))
            }
            // Sent, or partly sent, with no answer in time: the message may have
            // gone out. Not retried (SendSms is not idempotent).
            Err(e) if e.is_timeout() => {
                return Outcome::Failed(format!(
                    "no answer within {:?}; the message may have been sent",
                    self.options.timeout
                ))
            }
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
            Err(e) if status.is_server_error() => {
                return Outcome::Retryable(format!("HTTP {status} ({e})"))
            }
            Err(e) => {
                return Outcome::Failed(format!(
                    "HTTP {status}, and the answer could not be read: {e}"
                ))
            }
        };
        interpret(status, &body)
    }
}

/// The result of one attempt.
#[derive(Debug)]
enum Outcome {
    Accepted {
        biz_id: String,
        request_id: String,
    },
    Refused {
        code: String,
        message: String,
        request_id: String,
    },
    /// Safe to try again: nothing was sent, or the provider answered 5xx.
    Retryable(String),
    /// Not safe to try again, and not a refusal: the message may have been sent.
    Failed(String),
}

/// The JSON answer of SendSms and of the API gateway's errors.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    code: Option<String>,
    message: Option<String>,
    biz_id: Option<String>,
    request_id: Option<String>,
}

fn interpret(status: reqwest::StatusCode, body: &[u8]) -> Outcome {
    let answer: Option<Answer> = serde_json::from_slice(body).ok();
    let code = answer.as_ref().and_then(|a| a.code.as_deref()).map(clip);
    if status.is_server_error() {
        let code = code.map(|c| format!(" {c}")).unwrap_or_default();
        return Outcome::Retryable(format!("HTTP {status}{code}"));
    }
    let request_id = answer
        .as_ref()
        .and_then(|a| a.request_id.as_deref())
        .map(clip)
        .unwrap_or_default();
    match (code, answer) {
        (Some(code), Some(answer)) if code == "OK" && status.is_success() => Outcome::Accepted {
            biz_id: answer.biz_id.as_deref().map(clip).unwrap_or_default(),
            request_id,
        },
        (Some(code), Some(answer)) if code != "OK" => Outcome::Refused {
            code,
            message: answer.message.as_deref().map(clip).unwrap_or_default(),
            request_id,
        },
        // A 2xx we do not understand: the message may have been accepted.
        _ if status.is_success() => Outcome::Failed(format!(
            "HTTP {status} with an answer that is not a SendSms result"
        )),
        _ => Outcome::Refused {
            code: format!("HTTP {status}"),
            message: "no error code in the answer".into(),
            request_id,
        },
    }
}

#[async_trait::async_trait]
impl SmsGateway for AliyunSms {
    async fn send(&self, to: &PhoneNumber, message: &SmsMessage) -> Result<(), SmsError> {
        let Some(template_code) = self.config.templates.get(message.template) else {
            tracing::error!(
                template = message.template,
                "no Alibaba Cloud template code is configured for this template"
            );
            return Err(SmsError::Refused(format!(
                "no Alibaba Cloud template code is configured for the template {}",
                message.template
            )));
        };
        let template_param = template_param(message);
        let params = [
            ("PhoneNumbers", to.as_str()),
            ("SignName", self.config.sign_name.as_str()),
            ("TemplateCode", template_code.as_str()),
            ("TemplateParam", template_param.as_str()),
        ];
        let mut attempt = 1;
        loop {
            match self.attempt(&params).await {
                Outcome::Accepted { biz_id, request_id } => {
                    tracing::info!(
                        to = %to.masked(), template = message.template, attempt, biz_id, request_id,
                        "Alibaba Cloud SMS accepted the message"
                    );
                    return Ok(());
                }
                Outcome::Refused {
                    code,
                    message: text,
                    request_id,
                } => {
                    tracing::warn!(
                        to = %to.masked(), template = message.template, attempt, code, message = text, request_id,
                        "Alibaba Cloud SMS refused the message"
                    );
                    return Err(SmsError::Refused(format!("{code}: {text}")));
                }
                Outcome::Failed(reason) => {
                    tracing::warn!(to = %to.masked(), template = message.template, attempt, reason, "SMS send failed");
                    return Err(SmsError::Unreachable(reason));
                }
                Outcome::Retryable(reason) if attempt >= self.options.max_attempts => {
                    tracing::warn!(to = %to.masked(), template = message.template, attempt, reason, "SMS send failed; giving up");
                    return Err(SmsError::Unreachable(format!(
                        "{reason} (gave up after {attempt} attempts)"
                    )));
                }
                Outcome::Retryable(reason) => {
                    let wait = self
                        .options
                        .backoff
                        .saturating_mul(1 << (attempt - 1).min(16));
                    tracing::warn!(
                        to = %to.masked(), template = message.template, attempt, reason,
                        retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "SMS send failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// `TemplateParam`: a JSON object whose values are all strings (the provider
/// refuses numbers with `isv.INVALID_JSON_PARAM`), e.g. `{"code":"123456"}`.
fn template_param(message: &SmsMessage) -> String {
    let object: serde_json::Map<String, serde_json::Value> = message
        .params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), serde_json::Value::String(value.clone())))
        .collect();
    serde_json::Value::Object(object).to_string()
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

/// A reqwest error without its URL (which holds the phone number and the code),
/// with its causes.
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

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer is longer than {MAX_ANSWER_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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

    fn config(endpoint: &str) -> AliyunSmsConfig {
        let mut config = AliyunSmsConfig::new(
            "LTAI-test",
            SecretString::from("s3cr3t-value".to_owned()),
            "盛世政务",
        )
        .template("SMS_CODE", "SMS_123456789");
        config.endpoint = Url::parse(endpoint).unwrap();
        config
    }

    #[test]
    fn endpoint_rules() {
        assert_eq!(
            AliyunSms::new(config("https://dysmsapi.aliyuncs.com"))
                .unwrap()
                .host,
            "dysmsapi.aliyuncs.com"
        );
        assert_eq!(
            AliyunSms::new(config("https://dysmsapi.aliyuncs.com:443/"))
                .unwrap()
                .host,
            "dysmsapi.aliyuncs.com"
        );
        assert_eq!(
            AliyunSms::new(config("http://127.0.0.1:8080/"))
                .unwrap()
                .host,
            "127.0.0.1:8080"
        );
        assert_eq!(
            AliyunSms::new(config("http://[::1]:9/")).unwrap().host,
            "[::1]:9"
        );
        for bad in [
            "http://dysmsapi.aliyuncs.com/",
            "https://dysmsapi.aliyuncs.com/x",
            "https://h/?a=b",
            "ftp://h/",
        ] {
            assert!(
                matches!(AliyunSms::new(config(bad)), Err(ConfigError::Endpoint(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn config_must_be_complete() {
        let mut c = config(DEFAULT_ENDPOINT);
        c.templates.clear();
        assert_eq!(
            AliyunSms::new(c).unwrap_err(),
            ConfigError::MissingTemplate("SMS_CODE".into())
        );
        let mut c = config(DEFAULT_ENDPOINT);
        c.sign_name = " ".into();
        assert_eq!(
            AliyunSms::new(c).unwrap_err(),
            ConfigError::Empty("sign name")
        );
        let mut c = config(DEFAULT_ENDPOINT);
        c.access_key_secret = SecretString::from(String::new());
        assert_eq!(
            AliyunSms::new(c).unwrap_err(),
            ConfigError::Empty("access key secret")
        );
        let options = Options {
            max_attempts: 0,
            ..Options::default()
        };
        assert_eq!(
            AliyunSms::with_options(config(DEFAULT_ENDPOINT), options).unwrap_err(),
            ConfigError::NoAttempts
        );
    }

    #[test]
    fn template_param_is_an_object_of_strings() {
        let message = SmsMessage {
            template: "SMS_CODE",
            params: vec![("code", "012345".into())],
            text: String::new(),
        };
        assert_eq!(template_param(&message), r#"{"code":"012345"}"#);
    }

    #[test]
    fn answers_are_classified() {
        use reqwest::StatusCode as S;
        let ok = br#"{"Code":"OK","Message":"OK","BizId":"9006197469364984400^0","RequestId":"F655A8D5"}"#;
        assert!(
            matches!(interpret(S::OK, ok), Outcome::Accepted { ref biz_id, .. } if biz_id == "9006197469364984400^0")
        );
        let limit = br#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"limit","RequestId":"R"}"#;
        assert!(
            matches!(interpret(S::OK, limit), Outcome::Refused { ref code, .. } if code == "isv.BUSINESS_LIMIT_CONTROL")
        );
        let sig = br#"{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation.","RequestId":"R"}"#;
        assert!(
            matches!(interpret(S::BAD_REQUEST, sig), Outcome::Refused { ref code, .. } if code == "SignatureDoesNotMatch")
        );
        assert!(matches!(
            interpret(S::SERVICE_UNAVAILABLE, b"<html>"),
            Outcome::Retryable(_)
        ));
        assert!(
            matches!(interpret(S::INTERNAL_SERVER_ERROR, br#"{"Code":"InternalError"}"#), Outcome::Retryable(ref r) if r.contains("InternalError"))
        );
        assert!(matches!(interpret(S::OK, b"not json"), Outcome::Failed(_)));
        assert!(
            matches!(interpret(S::FORBIDDEN, b"<html>"), Outcome::Refused { ref code, .. } if code == "HTTP 403 Forbidden")
        );
    }

    #[test]
    fn debug_redacts_the_secret() {
        let gateway = AliyunSms::new(config(DEFAULT_ENDPOINT)).unwrap();
        for text in [
            format!("{gateway:?}"),
            format!("{:?}", config(DEFAULT_ENDPOINT)),
            format!("{gateway:#?}"),
        ] {
            assert!(!text.contains("s3cr3t-value"), "{text}");
            assert!(text.contains("[redacted]"), "{text}");
        }
    }
}
