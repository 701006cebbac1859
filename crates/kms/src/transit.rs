//! The client: a [`KeyEncryptionKey`] whose key lives in a Vault/OpenBao Transit engine.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use reqwest::header::HeaderValue;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shengshi_envelope::{KekError, KeyEncryptionKey};
use std::time::Duration;
use url::Url;
use zeroize::Zeroizing;

/// How long one request may take, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Retries after the first attempt, for 5xx answers, timeouts and refused connections.
pub const DEFAULT_RETRIES: u32 = 2;
/// The wait before the first retry; it doubles with each further retry.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);
/// Where Vault mounts the Transit engine unless told otherwise.
pub const DEFAULT_MOUNT: &str = "transit";

const TOKEN_HEADER: &str = "X-Vault-Token";
/// Every Transit ciphertext starts `vault:v<key version>:`.
const CIPHERTEXT_PREFIX: &str = "vault:v";
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const PROBE_PLAINTEXT: &[u8] = b"shengshi kms probe v1";
const PROBE_CONTEXT: &[u8] = b"shengshi kms probe v1|a";
const PROBE_OTHER_CONTEXT: &[u8] = b"shengshi kms probe v1|b";

/// Settings that cannot work, found before any request is sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("the KMS address {0} must be an http or https URL with a host and without user, password, query or fragment")]
    BadAddress(String),
    #[error("the transit mount {0:?} must be one or more names separated by '/', each of letters, digits, '_', '-' and '.'")]
    BadMount(String),
    #[error("the transit key name {0:?} must be letters, digits, '_', '-' and '.', starting and ending with a letter, digit or '_'")]
    BadKeyName(String),
    #[error("the KMS token is empty or holds characters an HTTP header cannot carry")]
    BadToken,
    #[error("the KMS CA certificate file holds no usable PEM certificate")]
    BadCaCertificate,
    #[error("cannot set up the HTTP client for the KMS: {0}")]
    Client(String),
}

/// Whether `name` can be a transit key name (Vault's own rule: word characters,
/// `-` and `.`, starting and ending with a word character).
pub fn is_valid_key_name(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| word(c) || c == '-' || c == '.')
        && name.starts_with(word)
        && name.ends_with(word)
}

/// Whether `mount` can be the path of a secrets engine: key-like names separated by `/`.
pub fn is_valid_mount(mount: &str) -> bool {
    !mount.is_empty() && mount.len() <= 256 && mount.split('/').all(is_valid_key_name)
}

/// Builds a [`VaultTransitKek`]; see [`VaultTransitKek::builder`].
pub struct VaultTransitBuilder {
    addr: Url,
    mount: String,
    key: String,
    token: SecretString,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for VaultTransitBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultTransitBuilder")
            .field("addr", &self.addr.as_str())
            .field("mount", &self.mount)
            .field("key", &self.key)
            .field("token", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl VaultTransitBuilder {
    /// The time one request may take, connecting included (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries after the first attempt (default 2) and the wait before the first
    /// retry (default 100 ms, doubling, at most 5 s). Only 5xx answers, timeouts
    /// and refused connections are retried; a 4xx answer never is.
    pub fn retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = backoff;
        self
    }

    /// Trusts these PEM certificates (a private CA) besides the public roots.
    pub fn ca_certificates_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca_pem = Some(pem);
        self
    }

    pub fn build(self) -> Result<VaultTransitKek, SettingsError> {
        let addr = self.addr;
        if !matches!(addr.scheme(), "http" | "https")
            || addr.host().is_none()
            || !addr.username().is_empty()
            || addr.password().is_some()
            || addr.query().is_some()
            || addr.fragment().is_some()
        {
            return Err(SettingsError::BadAddress(addr.to_string()));
        }
        let mount = self.mount.trim_matches('/').to_owned();
        if !is_valid_mount(&mount) {
            return Err(SettingsError::BadMount(self.mount));
        }
        if !is_valid_key_name(&self.key) {
            return Err(SettingsError::BadKeyName(self.key));
        }
        let token = self.token.expose_secret();
        if token.is_empty() || HeaderValue::from_str(token).is_err() {
            return Err(SettingsError::BadToken);
        }
        let endpoint = |operation: &str| {
            let base = addr.as_str().trim_end_matches('/');
            Url::parse(&format!(
                "{base}/v1/{mount}/{operation}/{key}",
                key = self.key
            ))
            .map_err(|_| SettingsError::BadAddress(addr.to_string()))
        };
        let encrypt_url = endpoint("encrypt")?;
        let decrypt_url = endpoint("decrypt")?;

        // No redirects: a redirect would carry the token to wherever it points.
        let mut client = reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shengshi-kms/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &self.ca_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|_| SettingsError::BadCaCertificate)?;
            if certificates.is_empty() {
                return Err(SettingsError::BadCaCertificate);
            }
            for certificate in certificates {
                client = client.add_root_certificate(certificate);
            }
        }
        let client = client
            .build()
            .map_err(|e| SettingsError::Client(error_chain(&e)))?;

        Ok(VaultTransitKek {
            id: format!("vault:{mount}/{}", self.key),
            addr,
            mount,
            key: self.key,
            encrypt_url,
            decrypt_url,
            token: self.token,
            client,
            timeout: self.timeout,
            retries: self.retries,
            backoff: self.backoff,
        })
    }
}

/// The key-encryption key as a named key in a Vault/OpenBao Transit engine.
///
/// A wrapped key is stored as the bytes of the Transit ciphertext string
/// (`vault:v1:…`); the context travels as Transit's key-derivation context, so
/// the transit key must be created with `derived=true` (checked by
/// [`self_test`]).
pub struct VaultTransitKek {
    id: String,
    addr: Url,
    mount: String,
    key: String,
    encrypt_url: Url,
    decrypt_url: Url,
    token: SecretString,
    client: reqwest::Client,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
}

impl std::fmt::Debug for VaultTransitKek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultTransitKek")
            .field("id", &self.id)
            .field("addr", &self.addr.as_str())
            .field("token", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Encrypt,
    Decrypt,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
        }
    }
}

/// Why a call failed, after any retries.
#[derive(Debug)]
enum CallError {
    /// Vault answered with a status other than success.
    Status {
        status: StatusCode,
        errors: Vec<String>,
        attempts: u32,
    },
    /// No answer in time.
    Timeout { attempts: u32 },
    /// No connection.
    Connect { reason: String, attempts: u32 },
    /// Anything else: a broken connection, or an answer that is not Transit's.
    Other { reason: String },
}

impl CallError {
    fn is_retryable(&self, operation: Operation) -> bool {
        match self {
            Self::Status { status, errors, .. } => {
                // Vault 1.5–1.6 answered a failed authentication with 500; it is a refusal, not an outage.
                status.is_server_error()
                    && !(operation == Operation::Decrypt && refuses_ciphertext(errors))
            }
            Self::Timeout { .. } | Self::Connect { .. } => true,
            Self::Other { .. } => false,
        }
    }

    fn set_attempts(&mut self, n: u32) {
        match self {
            Self::Status { attempts, .. }
            | Self::Timeout { attempts }
            | Self::Connect { attempts, .. } => *attempts = n,
            Self::Other { .. } => {}
        }
    }
}

/// Whether Vault refused a decryption because the ciphertext does not open
/// under this key and context (wrong key, wrong context, or altered).
fn refuses_ciphertext(errors: &[String]) -> bool {
    errors
        .iter()
        .any(|e| e.contains("message authentication failed") || e.contains("invalid ciphertext"))
}

#[derive(Serialize)]
struct EncryptRequest<'a> {
    plaintext: &'a str,
    context: &'a str,
}

#[derive(Serialize)]
struct DecryptRequest<'a> {
    ciphertext: &'a str,
    context: &'a str,
}

#[derive(Deserialize)]
struct Answer<T> {
    data: T,
}

#[derive(Deserialize)]
struct EncryptAnswer {
    ciphertext: String,
}

#[derive(Deserialize)]
struct DecryptAnswer {
    plaintext: SecretString,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    errors: Vec<String>,
}

impl VaultTransitKek {
    /// A client for transit key `key` on the engine mounted at `mount` (usually
    /// [`DEFAULT_MOUNT`]) of the Vault or OpenBao server at `addr`.
    pub fn builder(addr: Url, mount: &str, key: &str, token: SecretString) -> VaultTransitBuilder {
        VaultTransitBuilder {
            addr,
            mount: mount.to_owned(),
            key: key.to_owned(),
            token,
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            backoff: DEFAULT_BACKOFF,
            ca_pem: None,
        }
    }

    /// The server this client talks to.
    pub fn addr(&self) -> &Url {
        &self.addr
    }

    fn service(&self, operation: Operation, problem: &str) -> KekError {
        KekError::Service(format!(
            "Vault transit {op} with key {mount}/{key} at {addr}: {problem}",
            op = operation.name(),
            mount = self.mount,
            key = self.key,
            addr = self.addr.as_str().trim_end_matches('/'),
        ))
    }

    /// An error message naming what failed and what to do; never the token or any plaintext.
    fn describe(&self, operation: Operation, error: &CallError) -> KekError {
        let tries = |n: u32| {
            if n == 1 {
                "1 attempt".to_owned()
            } else {
                format!("{n} attempts")
            }
        };
        let problem = match error {
            CallError::Status {
                status,
                errors,
                attempts,
            } => {
                let said = if errors.is_empty() {
                    format!("HTTP {}", status.as_u16())
                } else {
                    format!("HTTP {}: {}", status.as_u16(), errors.join("; "))
                };
                match status.as_u16() {
                    401 | 403 => format!(
                        "the token was refused ({said}); check the KMS token (kms_token_file) and that its policy grants \
                         update on {m}/encrypt/{k} and {m}/decrypt/{k}",
                        m = self.mount,
                        k = self.key
                    ),
                    400 if errors.iter().any(|e| e.contains("key not found")) => format!(
                        "the transit key does not exist ({said}); create it with \
                         `vault write -f {m}/keys/{k} derived=true`",
                        m = self.mount,
                        k = self.key
                    ),
                    404 => format!(
                        "no transit engine answers at mount {m} ({said}); check kms_mount",
                        m = self.mount
                    ),
                    300..=399 => format!(
                        "{said} redirect, which is not followed (it would carry the token elsewhere); \
                         point kms_url at the active node or its load balancer"
                    ),
                    500..=599 => format!("the KMS failed ({said}) after {}", tries(*attempts)),
                    _ => format!("refused ({said})"),
                }
            }
            CallError::Timeout { attempts } => {
                format!("no answer within {:?} ({})", self.timeout, tries(*attempts))
            }
            CallError::Connect { reason, attempts } => {
                format!("cannot connect ({}): {reason}", tries(*attempts))
            }
            CallError::Other { reason } => reason.clone(),
        };
        self.service(operation, &problem)
    }

    /// Posts `body` to the operation's endpoint, retrying 5xx answers, timeouts
    /// and refused connections (never a 4xx answer) with doubling waits.
    async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        operation: Operation,
        body: &B,
    ) -> Result<R, CallError> {
        let mut attempt = 1;
        loop {
            let mut error = match self.attempt(operation, body).await {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            error.set_attempts(attempt);
            if attempt > self.retries || !error.is_retryable(operation) {
                return Err(error);
            }
            let wait = self
                .backoff
                .saturating_mul(2u32.saturating_pow(attempt - 1))
                .min(MAX_BACKOFF);
            tracing::warn!(
                kek = %self.id,
                operation = operation.name(),
                attempt,
                retry_in_ms = wait.as_millis() as u64,
                error = %self.describe(operation, &error),
                "the KMS did not answer; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt<B: Serialize, R: DeserializeOwned>(
        &self,
        operation: Operation,
        body: &B,
    ) -> Result<R, CallError> {
        let url = match operation {
            Operation::Encrypt => &self.encrypt_url,
            Operation::Decrypt => &self.decrypt_url,
        };
        let mut token =
            HeaderValue::from_str(self.token.expose_secret()).map_err(|_| CallError::Other {
                reason: SettingsError::BadToken.to_string(),
            })?;
        token.set_sensitive(true);
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                CallError::Timeout { attempts: 1 }
            } else if e.is_connect() {
                CallError::Connect {
                    reason: error_chain(&e),
                    attempts: 1,
                }
            } else {
                CallError::Other {
                    reason: error_chain(&e),
                }
            }
        };
        let response = self
            .client
            .post(url.clone())
            .header(TOKEN_HEADER, token)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let bytes = Zeroizing::new(response.bytes().await.map_err(transport)?.to_vec());
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|_| CallError::Other {
                reason: format!(
                    "HTTP {} with a body that is not a Transit answer; is kms_url a Vault or OpenBao server?",
                    status.as_u16()
                ),
            })
        } else {
            let errors = serde_json::from_slice::<ErrorAnswer>(&bytes)
                .map(|answer| answer.errors.iter().take(3).map(|e| one_line(e)).collect())
                .unwrap_or_default();
            Err(CallError::Status {
                status,
                errors,
                attempts: 1,
            })
        }
    }
}

#[async_trait::async_trait]
impl KeyEncryptionKey for VaultTransitKek {
    fn id(&self) -> &str {
        &self.id
    }

    async fn wrap(&self, key: &[u8], context: &[u8]) -> Result<Vec<u8>, KekError> {
        let plaintext = Zeroizing::new(BASE64.encode(key));
        let context = BASE64.encode(context);
        let answer: Answer<EncryptAnswer> = self
            .call(
                Operation::Encrypt,
                &EncryptRequest {
                    plaintext: &plaintext,
                    context: &context,
                },
            )
            .await
            .map_err(|e| self.describe(Operation::Encrypt, &e))?;
        let ciphertext = answer.data.ciphertext;
        if !ciphertext.starts_with(CIPHERTEXT_PREFIX) {
            return Err(self.service(
                Operation::Encrypt,
                "the answer holds no Transit ciphertext (vault:v…)",
            ));
        }
        Ok(ciphertext.into_bytes())
    }

    async fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError> {
        // Not a Transit ciphertext (say, one wrapped by a key file): no key here opens it.
        let Ok(ciphertext) = std::str::from_utf8(wrapped) else {
            return Err(KekError::Unwrap);
        };
        if !ciphertext.starts_with(CIPHERTEXT_PREFIX) {
            return Err(KekError::Unwrap);
        }
        let context = BASE64.encode(context);
        let answer: Answer<DecryptAnswer> = match self
            .call(
                Operation::Decrypt,
                &DecryptRequest {
                    ciphertext,
                    context: &context,
                },
            )
            .await
        {
            Ok(answer) => answer,
            Err(CallError::Status { errors, .. }) if refuses_ciphertext(&errors) => {
                return Err(KekError::Unwrap)
            }
            Err(e) => return Err(self.describe(Operation::Decrypt, &e)),
        };
        BASE64
            .decode(answer.data.plaintext.expose_secret())
            .map(Zeroizing::new)
            .map_err(|_| self.service(Operation::Decrypt, "the answer's plaintext is not base64"))
    }
}

/// Checks, before a key-encryption key is trusted with anything, that it wraps
/// and unwraps, and that it binds the context: a Vault transit key created
/// without `derived=true` ignores the context, and is refused. With a KMS this
/// also proves it answers and that the token may both encrypt and decrypt.
pub async fn self_test(kek: &dyn KeyEncryptionKey) -> Result<(), KekError> {
    let wrapped = kek.wrap(PROBE_PLAINTEXT, PROBE_CONTEXT).await?;
    match kek.unwrap(&wrapped, PROBE_OTHER_CONTEXT).await {
        Err(KekError::Unwrap) => {}
        Err(e) => return Err(e),
        Ok(_) => {
            return Err(KekError::Service(format!(
                "the key-encryption key {} opens a wrapped key under any context, so it does not bind a \
                 wrapped key to its data key. A Vault or OpenBao transit key must be created with derived=true: \
                 create a new one (`vault write -f MOUNT/keys/NEW-NAME derived=true`) and configure it",
                kek.id()
            )))
        }
    }
    let opened = kek.unwrap(&wrapped, PROBE_CONTEXT).await?;
    if opened.as_slice() != PROBE_PLAINTEXT {
        return Err(KekError::Service(format!(
            "the key-encryption key {} unwrapped a probe to something other than what it wrapped",
            kek.id()
        )));
    }
    Ok(())
}

/// An error and its causes on one line ("a: b: c"), without repeats.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    one_line(&parts.join(": "))
}

/// Text from the other side, made safe for one log line: no control
/// characters, collapsed spaces, at most 200 characters.
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut line = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 200 {
        line = line.chars().take(200).collect::<String>() + "…";
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder(addr: &str, mount: &str, key: &str) -> VaultTransitBuilder {
        VaultTransitKek::builder(
            Url::parse(addr).unwrap(),
            mount,
            key,
            SecretString::from("s.token"),
        )
    }

    #[test]
    fn names_follow_vaults_rules() {
        for good in ["shengshi", "shengshi-kek", "kek_2024.v1", "a"] {
            assert!(is_valid_key_name(good), "{good}");
        }
        for bad in ["", "-a", "a-", ".", "..", "a/b", "a b", "密钥", "a?x"] {
            assert!(!is_valid_key_name(bad), "{bad}");
        }
        assert!(is_valid_mount("transit"));
        assert!(is_valid_mount("data-protection/transit"));
        assert!(!is_valid_mount("transit//x"));
        assert!(!is_valid_mount("../sys"));
    }

    #[test]
    fn settings_are_checked_before_any_request() {
        let err = |b: VaultTransitBuilder| b.build().unwrap_err();
        assert!(matches!(
            err(builder("ftp://vault", "transit", "k")),
            SettingsError::BadAddress(_)
        ));
        assert!(matches!(
            err(builder("https://user:pw@vault", "transit", "k")),
            SettingsError::BadAddress(_)
        ));
        assert!(matches!(
            err(builder("https://vault", "tr ansit", "k")),
            SettingsError::BadMount(_)
        ));
        assert!(matches!(
            err(builder("https://vault", "transit", "../k")),
            SettingsError::BadKeyName(_)
        ));
        let no_token = VaultTransitKek::builder(
            Url::parse("https://vault").unwrap(),
            "transit",
            "k",
            SecretString::from("bad\ntoken"),
        );
        assert_eq!(err(no_token), SettingsError::BadToken);
        assert_eq!(
            err(builder("https://vault", "transit", "k").ca_certificates_pem(b"not pem".to_vec())),
            SettingsError::BadCaCertificate
        );
    }

    #[test]
    fn endpoints_and_id_follow_the_transit_api() {
        let kek = builder("https://vault.internal:8200/", "/transit/", "shengshi-kek")
            .build()
            .unwrap();
        assert_eq!(kek.id(), "vault:transit/shengshi-kek");
        assert_eq!(
            kek.encrypt_url.as_str(),
            "https://vault.internal:8200/v1/transit/encrypt/shengshi-kek"
        );
        assert_eq!(
            kek.decrypt_url.as_str(),
            "https://vault.internal:8200/v1/transit/decrypt/shengshi-kek"
        );
    }

    #[test]
    fn text_from_the_other_side_is_one_short_line() {
        assert_eq!(
            one_line("1 error occurred:\n\t* permission denied\n\n"),
            "1 error occurred: * permission denied"
        );
        assert_eq!(one_line(&"x".repeat(500)).chars().count(), 201);
    }

    #[test]
    fn only_outages_are_retried() {
        let status = |code: u16, error: &str| CallError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            errors: vec![error.to_owned()],
            attempts: 1,
        };
        assert!(status(503, "Vault is sealed").is_retryable(Operation::Encrypt));
        assert!(!status(403, "permission denied").is_retryable(Operation::Encrypt));
        assert!(!status(429, "rate limited").is_retryable(Operation::Decrypt));
        assert!(
            !status(500, "cipher: message authentication failed").is_retryable(Operation::Decrypt),
            "old Vaults answer a wrong context with 500"
        );
        assert!(CallError::Timeout { attempts: 1 }.is_retryable(Operation::Decrypt));
    }
}
