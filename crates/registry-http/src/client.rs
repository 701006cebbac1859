//! The client: [`HttpRegistry`], a [`PopulationRegistry`] over the JSON contract
//! of `docs/registry-protocol.md`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use shengshi_app::registry::{
    LifeStatus, MaritalStatus, PopulationRegistry, RegistryAnswer, RegistryError, RegistryQuery,
    RegistryRecord,
};
use shengshi_domain::identity::Sex;
use shengshi_domain::{CivilDate, Clock, PersonName, ResidentIdNumber};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// How long one attempt may take: connecting, sending, and reading the whole answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one check may take, all attempts and waits between them included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// Retries after the first attempt, for timeouts, connection failures, 5xx and 429.
pub const DEFAULT_RETRIES: u32 = 2;
/// The wait before the first retry; it doubles with each further retry (at most 2 s).
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(200);
/// The longest `Retry-After` the client waits for; a longer one ends the check.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The largest answer body read; a larger one is malformed.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// The endpoint, relative to the base address.
pub const ENDPOINT_PATH: &str = "v1/identity-checks";

const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Longer than any real address; a longer one is not an address.
const MAX_ADDRESS_CHARS: usize = 512;
const EARLIEST_BIRTH_DATE: time::Date = time::macros::date!(1900 - 01 - 01);
const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Settings that cannot work, found before any request is sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("the registry address {0} must be an http or https URL with a host and without user, password, query or fragment")]
    BadAddress(String),
    #[error("the registry address {0} is plain http to a host other than loopback; personal data and the token need https")]
    InsecureAddress(String),
    #[error("the registry token is empty or holds characters a bearer token cannot carry")]
    BadToken,
    #[error("the timeout must be more than zero and no longer than the deadline")]
    BadTimeouts,
    #[error("the registry CA certificate file holds no usable PEM certificate")]
    BadCaCertificate,
    #[error("the client certificate and key (PEM) for mutual TLS are not usable")]
    BadClientIdentity,
    #[error("cannot set up the HTTP client for the registry: {0}")]
    Client(String),
}

/// Builds an [`HttpRegistry`]; see [`HttpRegistry::builder`].
pub struct HttpRegistryBuilder {
    base: Url,
    token: SecretString,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    deadline: Duration,
    retries: u32,
    backoff: Duration,
    max_retry_after: Duration,
    ca_pem: Option<Vec<u8>>,
    identity_pem: Option<SecretString>,
}

impl std::fmt::Debug for HttpRegistryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRegistryBuilder")
            .field("base", &self.base.as_str())
            .field("token", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("retries", &self.retries)
            .field(
                "client_identity",
                &self.identity_pem.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl HttpRegistryBuilder {
    /// The time one attempt may take, connecting and reading the answer included (default 3 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time one check may take, every attempt and wait included (default 10 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Retries after the first attempt (default 2) and the wait before the
    /// first retry (default 200 ms, doubling, at most 2 s). Only timeouts,
    /// connection failures, 5xx and 429 are retried; another 4xx never is.
    pub fn retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = backoff;
        self
    }

    /// The longest `Retry-After` honoured (default 5 s). A 429 asking for a
    /// longer wait ends the check as unavailable rather than retrying early.
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// Trusts these PEM certificates (the province's private CA) besides the public roots.
    pub fn ca_certificates_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca_pem = Some(pem);
        self
    }

    /// Presents this client certificate and private key (PEM, concatenated)
    /// for mutual TLS, which the contract recommends in production.
    pub fn client_identity_pem(mut self, pem: SecretString) -> Self {
        self.identity_pem = Some(pem);
        self
    }

    pub fn build(self) -> Result<HttpRegistry, SettingsError> {
        let base = self.base;
        if !matches!(base.scheme(), "http" | "https")
            || base.host().is_none()
            || !base.username().is_empty()
            || base.password().is_some()
            || base.query().is_some()
            || base.fragment().is_some()
        {
            return Err(SettingsError::BadAddress(base.to_string()));
        }
        if base.scheme() == "http" && !is_loopback(&base) {
            return Err(SettingsError::InsecureAddress(base.to_string()));
        }
        let token = self.token.expose_secret();
        let token_ok = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic());
        if !token_ok {
            return Err(SettingsError::BadToken);
        }
        if self.timeout.is_zero() || self.deadline < self.timeout {
            return Err(SettingsError::BadTimeouts);
        }
        let endpoint = Url::parse(&format!(
            "{}/{ENDPOINT_PATH}",
            base.as_str().trim_end_matches('/')
        ))
        .map_err(|_| SettingsError::BadAddress(base.to_string()))?;

        // No redirects: a redirect would carry the token and the person elsewhere.
        let mut client = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "shengshi-registry-http/",
                env!("CARGO_PKG_VERSION")
            ));
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
        if let Some(pem) = &self.identity_pem {
            let identity = reqwest::Identity::from_pem(pem.expose_secret().as_bytes())
                .map_err(|_| SettingsError::BadClientIdentity)?;
            client = client.identity(identity);
        }
        let client = client
            .build()
            .map_err(|e| SettingsError::Client(error_chain(&e)))?;

        Ok(HttpRegistry {
            base,
            endpoint,
            token: self.token,
            clock: self.clock,
            client,
            timeout: self.timeout,
            deadline: self.deadline,
            retries: self.retries,
            backoff: self.backoff,
            max_retry_after: self.max_retry_after,
        })
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A province's population registry, reached over the contract of
/// `docs/registry-protocol.md`. See the crate docs for what it guarantees.
pub struct HttpRegistry {
    base: Url,
    endpoint: Url,
    token: SecretString,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    timeout: Duration,
    deadline: Duration,
    retries: u32,
    backoff: Duration,
    max_retry_after: Duration,
}

impl std::fmt::Debug for HttpRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRegistry")
            .field("endpoint", &self.endpoint.as_str())
            .field("token", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed.
#[derive(Debug)]
enum Failure {
    /// No complete answer within the attempt's time.
    Timeout,
    /// No connection, or the connection broke before the answer was complete.
    Transport(String),
    /// An answer with a status other than 200.
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
    /// A 200 answer that is not an answer of the contract. The text names the
    /// problem and never repeats a value from the body.
    Malformed(String),
}

impl Failure {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout | Self::Transport(_) => true,
            Self::Status { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Self::Malformed(_) => false,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Transport(_) => "transport",
            Self::Status { .. } => "status",
            Self::Malformed(_) => "malformed",
        }
    }
}

#[derive(Serialize)]
struct CheckRequest<'a> {
    id_number: &'a str,
    name: &'a str,
    request_id: String,
}

#[derive(Deserialize)]
struct WireAnswer {
    result: String,
    #[serde(default)]
    person: Option<WirePerson>,
}

#[derive(Deserialize)]
struct WirePerson {
    id_number: String,
    name: String,
    sex: String,
    birth_date: String,
    address: String,
    marital_status: String,
    life_status: String,
    #[serde(default)]
    photo: Option<String>,
}

impl HttpRegistry {
    /// A client for the registry whose contract is served under `base`
    /// (the endpoint is `{base}/v1/identity-checks`). `clock` gives "today"
    /// for validating the ID numbers and birth dates in answers.
    pub fn builder(base: Url, token: SecretString, clock: Arc<dyn Clock>) -> HttpRegistryBuilder {
        HttpRegistryBuilder {
            base,
            token,
            clock,
            timeout: DEFAULT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            retries: DEFAULT_RETRIES,
            backoff: DEFAULT_BACKOFF,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            ca_pem: None,
            identity_pem: None,
        }
    }

    /// The base address this client talks to.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The full endpoint (`{base}/v1/identity-checks`).
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Sends `body` until an attempt gives a 200 answer, a failure that is not
    /// retried, the retries run out or the deadline passes. Returns the body
    /// of the 200 answer, or the last failure and the number of attempts.
    async fn call(
        &self,
        body: &[u8],
        id_number: &ResidentIdNumber,
    ) -> Result<(Vec<u8>, u32), (Failure, u32)> {
        let deadline = Instant::now() + self.deadline;
        let mut attempt: u32 = 1;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let failure = if remaining.is_zero() {
                Failure::Timeout
            } else {
                let limit = self.timeout.min(remaining);
                match tokio::time::timeout(limit, self.attempt(body)).await {
                    Ok(Ok(answer)) => return Ok((answer, attempt)),
                    Ok(Err(failure)) => failure,
                    Err(_) => Failure::Timeout,
                }
            };
            if !failure.is_retryable() || attempt > self.retries {
                return Err((failure, attempt));
            }
            let exponent = (attempt - 1).min(16);
            let backoff = self
                .backoff
                .saturating_mul(1u32 << exponent)
                .min(MAX_BACKOFF);
            let wait = match &failure {
                Failure::Status {
                    retry_after: Some(asked),
                    ..
                } => {
                    if *asked > self.max_retry_after {
                        // Coming back earlier than asked would defy the registry.
                        return Err((failure, attempt));
                    }
                    backoff.max(*asked)
                }
                _ => backoff,
            };
            if Instant::now() + wait >= deadline {
                return Err((failure, attempt));
            }
            tracing::warn!(
                registry = %self.base.as_str().trim_end_matches('/'),
                id_number = %id_number,
                attempt,
                failure = failure.kind(),
                error = %self.describe(&failure, attempt),
                retry_in_ms = wait.as_millis() as u64,
                "the population registry did not answer; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, body: &[u8]) -> Result<Vec<u8>, Failure> {
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", self.token.expose_secret()))
                .map_err(|_| Failure::Transport(SettingsError::BadToken.to_string()))?;
        authorization.set_sensitive(true);
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                Failure::Timeout
            } else {
                Failure::Transport(error_chain(&e))
            }
        };
        let mut response = self
            .client
            .post(self.endpoint.clone())
            .header(AUTHORIZATION, authorization)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status != StatusCode::OK {
            // The body of an error is not read: it is not needed, and it might hold anything.
            let retry_after = if status == StatusCode::TOO_MANY_REQUESTS {
                retry_after(response.headers())
            } else {
                None
            };
            return Err(Failure::Status {
                status,
                retry_after,
            });
        }
        if !is_json(response.headers()) {
            return Err(Failure::Malformed(
                "a 200 answer that is not application/json".to_owned(),
            ));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(too_big());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_big());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// An error message naming what failed; never the token or a value from an answer.
    fn describe(&self, failure: &Failure, attempts: u32) -> String {
        let tries = if attempts == 1 {
            "1 attempt".to_owned()
        } else {
            format!("{attempts} attempts")
        };
        match failure {
            Failure::Timeout => format!(
                "no answer within the {:?} allowed for an attempt or the {:?} allowed for the check ({tries})",
                self.timeout, self.deadline
            ),
            Failure::Transport(reason) => format!("no answer ({tries}): {reason}"),
            Failure::Malformed(reason) => reason.clone(),
            Failure::Status {
                status,
                retry_after,
            } => {
                let code = status.as_u16();
                match code {
                    401 | 403 => format!(
                        "HTTP {code}: the registry refused our credentials; check the registry token \
                         (and the client certificate, with mutual TLS)"
                    ),
                    429 => match retry_after {
                        Some(wait) if *wait > self.max_retry_after => format!(
                            "HTTP 429: the registry asked us to wait {} s, longer than the {:?} we wait ({tries})",
                            wait.as_secs(),
                            self.max_retry_after
                        ),
                        _ => format!("HTTP 429: the registry is rate-limiting us ({tries})"),
                    },
                    300..=399 => format!(
                        "HTTP {code}: a redirect, which is not followed (it would carry the token and the \
                         person elsewhere); configure the final address"
                    ),
                    404 => format!(
                        "HTTP 404: nothing answers at {}; check the registry address \
                         (this is not an answer about the person)",
                        self.endpoint
                    ),
                    500..=599 => format!("HTTP {code}: the registry failed ({tries})"),
                    _ => format!("HTTP {code}: the registry refused the request"),
                }
            }
        }
    }

    /// Reads a 200 answer about `asked` (named `name` by the caller).
    fn interpret(
        &self,
        body: &[u8],
        asked: &ResidentIdNumber,
        name: &PersonName,
    ) -> Result<RegistryAnswer, String> {
        // A JSON object, not an array that serde would also map onto a struct.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err("the answer is not a JSON object".to_owned());
        }
        // serde_json's messages can quote values from the body: only its category and place are kept.
        let wire: WireAnswer = serde_json::from_slice(body).map_err(|e| {
            let category = format!("{:?}", e.classify()).to_lowercase();
            format!(
                "the answer is not the contract's JSON ({category} error at line {} column {})",
                e.line(),
                e.column()
            )
        })?;
        let verdict = match wire.result.as_str() {
            "match" => {
                let Some(person) = wire.person else {
                    return Err("a match answer without a person".to_owned());
                };
                let record = self.person(person, asked)?;
                if !record.name.matches(name) {
                    return Ok(RegistryAnswer::NameMismatch);
                }
                return Ok(RegistryAnswer::Match(Box::new(record)));
            }
            "name_mismatch" => RegistryAnswer::NameMismatch,
            "not_found" => RegistryAnswer::NotFound,
            "deceased" => RegistryAnswer::Deceased,
            "emigrated" => RegistryAnswer::Emigrated,
            _ => return Err("an answer with an unknown result".to_owned()),
        };
        if wire.person.is_some() {
            return Err(format!(
                "a {} answer that carries a person (only a match may)",
                wire.result
            ));
        }
        Ok(verdict)
    }

    fn person(&self, p: WirePerson, asked: &ResidentIdNumber) -> Result<RegistryRecord, String> {
        let today = self.clock.today();
        let field = |name: &str, problem: &str| format!("person.{name}: {problem}");
        let id_number = ResidentIdNumber::parse(&p.id_number, today).map_err(|e| {
            field(
                "id_number",
                &format!("not a valid resident ID number ({})", e.code()),
            )
        })?;
        if id_number.as_str() != p.id_number {
            return Err(field(
                "id_number",
                "not in the 18-character form with an upper-case X",
            ));
        }
        if id_number != *asked {
            return Err(field(
                "id_number",
                "a different person from the one asked about",
            ));
        }
        let name = PersonName::parse(&p.name)
            .map_err(|e| field("name", &format!("not a valid name ({})", e.code())))?;
        let sex = match p.sex.as_str() {
            "male" => Sex::Male,
            "female" => Sex::Female,
            _ => return Err(field("sex", "neither \"male\" nor \"female\"")),
        };
        let birth_date = parse_birth_date(&p.birth_date, today).ok_or_else(|| {
            field(
                "birth_date",
                "not a YYYY-MM-DD date from 1900-01-01 to today",
            )
        })?;
        let address = p.address.trim();
        if address.is_empty()
            || address.chars().count() > MAX_ADDRESS_CHARS
            || address.chars().any(char::is_control)
        {
            return Err(field(
                "address",
                "empty, longer than 512 characters, or holding control characters",
            ));
        }
        let marital_status = MaritalStatus::from_name(&p.marital_status).ok_or_else(|| {
            field(
                "marital_status",
                "not one of unmarried, married, divorced, widowed",
            )
        })?;
        let life_status = LifeStatus::from_name(&p.life_status)
            .ok_or_else(|| field("life_status", "not one of alive, deceased, emigrated"))?;
        if life_status != LifeStatus::Alive {
            return Err(field(
                "life_status",
                "a match must be alive (deceased and emigrated are their own results)",
            ));
        }
        let photo = match p.photo {
            None => None,
            Some(text) => {
                let bytes = BASE64
                    .decode(text.as_bytes())
                    .map_err(|_| field("photo", "not standard base64"))?;
                if !(bytes.starts_with(JPEG_MAGIC) || bytes.starts_with(PNG_MAGIC)) {
                    return Err(field("photo", "neither a JPEG nor a PNG image"));
                }
                Some(bytes)
            }
        };
        Ok(RegistryRecord {
            id_number,
            name,
            sex,
            birth_date,
            address: address.to_owned(),
            marital_status,
            life_status,
            photo,
            // The contract carries no such flag; an external registry holds real people.
            fictional: false,
        })
    }
}

#[async_trait::async_trait]
impl PopulationRegistry for HttpRegistry {
    /// The external registry keeps its own record of who asked; nothing of
    /// ours is opened, so nothing enters our access log here.
    async fn check(
        &self,
        id_number: &ResidentIdNumber,
        name: &PersonName,
        _query: &RegistryQuery,
    ) -> Result<RegistryAnswer, RegistryError> {
        // One request_id for every attempt of this check, so the registry can tie retries together.
        let request_id = uuid::Uuid::new_v4();
        let body = serde_json::to_vec(&CheckRequest {
            id_number: id_number.as_str(),
            name: name.as_str(),
            request_id: request_id.to_string(),
        })
        .map_err(|_| RegistryError::Unavailable("cannot encode the request".to_owned()))?;
        let registry = self.base.as_str().trim_end_matches('/');

        let (answer, attempts) = match self.call(&body, id_number).await {
            Ok(ok) => ok,
            Err((failure, attempts)) => {
                let message = self.describe(&failure, attempts);
                tracing::warn!(
                    registry,
                    %request_id,
                    id_number = %id_number,
                    name = %name,
                    attempts,
                    failure = failure.kind(),
                    error = %message,
                    "the population registry gave no answer; nothing may be decided on this check"
                );
                return Err(match failure {
                    Failure::Timeout => RegistryError::Timeout,
                    Failure::Malformed(_) => RegistryError::Malformed(message),
                    Failure::Transport(_) | Failure::Status { .. } => {
                        RegistryError::Unavailable(message)
                    }
                });
            }
        };
        match self.interpret(&answer, id_number, name) {
            Ok(verdict) => {
                tracing::info!(
                    registry,
                    %request_id,
                    id_number = %id_number,
                    name = %name,
                    attempts,
                    result = result_name(&verdict),
                    "the population registry answered"
                );
                Ok(verdict)
            }
            Err(problem) => {
                tracing::warn!(
                    registry,
                    %request_id,
                    id_number = %id_number,
                    attempts,
                    error = %problem,
                    "the population registry answered something unreadable; nothing may be decided on this check"
                );
                Err(RegistryError::Malformed(problem))
            }
        }
    }
}

fn result_name(answer: &RegistryAnswer) -> &'static str {
    match answer {
        RegistryAnswer::Match(_) => "match",
        RegistryAnswer::NameMismatch => "name_mismatch",
        RegistryAnswer::NotFound => "not_found",
        RegistryAnswer::Deceased => "deceased",
        RegistryAnswer::Emigrated => "emigrated",
    }
}

fn too_big() -> Failure {
    Failure::Malformed(format!(
        "the answer is larger than the {MAX_BODY_BYTES} bytes allowed"
    ))
}

/// Whether the answer says it is JSON (`application/json`, parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// `Retry-After` as delay-seconds, the only form the contract allows; an
/// HTTP-date or anything else counts as absent (the client's own backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().map(Duration::from_secs)
}

/// A strict `YYYY-MM-DD` from 1900-01-01 to `today`.
fn parse_birth_date(text: &str, today: CivilDate) -> Option<CivilDate> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    let year: i32 = text[..4].parse().ok()?;
    let month: u8 = text[5..7].parse().ok()?;
    let day: u8 = text[8..].parse().ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    (EARLIEST_BIRTH_DATE..=today.date())
        .contains(&date)
        .then_some(CivilDate::new(date))
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

/// Text made safe for one log line: no control characters, collapsed spaces,
/// at most 200 characters.
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
    use shengshi_domain::{SystemClock, Timestamp};

    fn builder(base: &str) -> HttpRegistryBuilder {
        HttpRegistry::builder(
            Url::parse(base).unwrap(),
            SecretString::from("token-1"),
            Arc::new(SystemClock),
        )
    }

    #[test]
    fn settings_are_checked_before_any_request() {
        let err = |b: HttpRegistryBuilder| b.build().unwrap_err();
        assert!(matches!(
            err(builder("ftp://registry")),
            SettingsError::BadAddress(_)
        ));
        assert!(matches!(
            err(builder("https://u:p@registry")),
            SettingsError::BadAddress(_)
        ));
        assert!(matches!(
            err(builder("https://registry/?x=1")),
            SettingsError::BadAddress(_)
        ));
        assert!(matches!(
            err(builder("http://registry.gd.example")),
            SettingsError::InsecureAddress(_)
        ));
        assert_eq!(
            err(builder("https://registry").timeout(Duration::ZERO)),
            SettingsError::BadTimeouts
        );
        assert_eq!(
            err(builder("https://registry")
                .timeout(Duration::from_secs(5))
                .deadline(Duration::from_secs(1))),
            SettingsError::BadTimeouts
        );
        for token in ["", "two words", "line\nbreak", "令牌"] {
            let b = HttpRegistry::builder(
                Url::parse("https://registry").unwrap(),
                SecretString::from(token),
                Arc::new(SystemClock),
            );
            assert_eq!(err(b), SettingsError::BadToken, "{token:?}");
        }
        assert_eq!(
            err(builder("https://registry").ca_certificates_pem(b"not pem".to_vec())),
            SettingsError::BadCaCertificate
        );
        assert_eq!(
            err(builder("https://registry").client_identity_pem(SecretString::from("not pem"))),
            SettingsError::BadClientIdentity
        );
    }

    #[test]
    fn the_endpoint_sits_under_the_base_and_debug_hides_the_token() {
        let registry = builder("https://gw.gd.example/population/")
            .build()
            .unwrap();
        assert_eq!(
            registry.endpoint().as_str(),
            "https://gw.gd.example/population/v1/identity-checks"
        );
        let local = builder("http://127.0.0.1:8080").build().unwrap();
        assert_eq!(
            local.endpoint().as_str(),
            "http://127.0.0.1:8080/v1/identity-checks"
        );
        let debug = format!("{registry:?} {:?}", builder("https://x"));
        assert!(!debug.contains("token-1"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
    }

    #[test]
    fn retry_after_is_delay_seconds_only() {
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            h
        };
        assert_eq!(retry_after(&headers("3")), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&headers(" 0 ")), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(&headers("-1")), None);
        assert_eq!(retry_after(&headers("99999999999")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn birth_dates_are_strict() {
        let today = Timestamp::from_unix_millis(1_750_000_000_000)
            .unwrap()
            .civil_date(); // 2025-06-15
        let ok = |s: &str| parse_birth_date(s, today).map(|d| d.to_string());
        assert_eq!(ok("1990-03-07").as_deref(), Some("1990-03-07"));
        assert_eq!(ok("1900-01-01").as_deref(), Some("1900-01-01"));
        for bad in [
            "1990-3-07",
            "19900307",
            "1990-02-30",
            "1899-12-31",
            "2030-01-01",
            "+990-03-07",
            "1990-03-07T00:00",
            "１990-03-07",
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_outages_are_retried() {
        let status = |code: u16| Failure::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
        };
        assert!(status(500).is_retryable());
        assert!(status(503).is_retryable());
        assert!(status(429).is_retryable());
        for code in [400, 401, 403, 404, 409, 413, 301] {
            assert!(!status(code).is_retryable(), "{code}");
        }
        assert!(Failure::Timeout.is_retryable());
        assert!(Failure::Transport("reset".into()).is_retryable());
        assert!(!Failure::Malformed("x".into()).is_retryable());
    }

    #[test]
    fn json_content_types() {
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(is_json(&headers("application/json")));
        assert!(is_json(&headers("Application/JSON; charset=utf-8")));
        assert!(!is_json(&headers("text/html")));
        assert!(!is_json(&headers("application/jsonp")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
