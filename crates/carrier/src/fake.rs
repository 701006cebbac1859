//! A FAKE Alibaba Cloud Dytnsapi `ThreeElementsVerification` endpoint, for tests
//! and demos only. It is **not** the provider and knows nothing about any carrier.
//!
//! It answers `POST /` with `x-acs-action: ThreeElementsVerification` and
//! `x-acs-version: 2020-02-17`, checks each request as the provider's API gateway
//! does with the shared [`shengshi_acs_signature::Verifier`] (key, V3 signature,
//! 15-minute clock window, nonce — the same checks as the SMS fake), then looks the
//! three fields up in a table of registrations that tests and the demo fill with
//! [`FakeThreeElements::register`]:
//!
//! | case | HTTP | answer |
//! |---|---|---|
//! | gateway refusal (unknown key, bad signature, clock, nonce) | 400 | `SignatureDoesNotMatch`, `InvalidAccessKeyId.NotFound`, … |
//! | a parameter missing | 400 | `MissingAuthCode`, `MissingName`, … |
//! | `AuthCode` not the fake's | 400 | `AuthCodeNotExist` |
//! | `Mask` not `SHA256` or `NORMAL` (the fake does not do MD5) | 400 | `EncyrptTypeIllegal` (sic, the provider's spelling) |
//! | number registered to this name and ID number | 200 | `OK`, `IsConsistent: 1` |
//! | number registered, name or ID number differ | 200 | `OK`, `IsConsistent: 0` |
//! | number not registered | 200 | `OK`, `IsConsistent: 2` |
//!
//! Under `Mask=SHA256` it compares lower-case hex SHA-256 values (letters in any
//! case, as the provider allows), under `NORMAL` it hashes the plaintext first:
//! it stores only hashes. It listens on loopback only. Tests can make it answer 503
//! to the next requests ([`FakeThreeElements::fail_next`]), answer a business error
//! such as `OperatorLimit` ([`FakeThreeElements::refuse_next`]), or answer slowly
//! ([`FakeThreeElements::delay_next`]). The codes of cases no test of the client
//! relies on (missing parameters) are its best reading of the documentation.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use secrecy::SecretString;
use serde_json::json;
use shengshi_acs_signature::{ReceivedRequest, Verifier};
use shengshi_domain::{PersonName, PhoneNumber, ResidentIdNumber};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use url::Url;

use crate::client::{
    masked_fields, sha256_field, AliyunThreeElementsConfig, ACTION, MASK, VERSION,
};

/// The `AuthCode` of [`FakeThreeElements::client_config`].
pub const FAKE_AUTH_CODE: &str = "FAKE-AUTH-CODE-0001";

/// A fake ThreeElementsVerification endpoint on `127.0.0.1`, stopped when dropped.
/// See the module docs: it is a fake, not the provider.
pub struct FakeThreeElements {
    endpoint: Url,
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeThreeElements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeThreeElements")
            .field("endpoint", &self.endpoint.as_str())
            .field("verifier", &self.state.verifier)
            .finish_non_exhaustive()
    }
}

/// One registration: hashes only.
#[derive(Clone, PartialEq, Eq)]
struct Holder {
    name: String,
    cert: String,
}

struct FakeState {
    verifier: Verifier,
    auth_code: String,
    /// SHA-256 of the number → SHA-256 of the holder's name and ID number.
    registrations: Mutex<HashMap<String, Holder>>,
    unavailable_next: AtomicUsize,
    business_errors: Mutex<VecDeque<(String, String)>>,
    delay_next: Mutex<(usize, Duration)>,
    requests: AtomicUsize,
    /// The error codes answered, oldest first.
    rejections: Mutex<Vec<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeThreeElements {
    /// Starts a fake that knows one access key and the auth code [`FAKE_AUTH_CODE`],
    /// with no registrations.
    pub async fn start(
        access_key_id: &str,
        access_key_secret: SecretString,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let endpoint = Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)?;
        let state = Arc::new(FakeState {
            verifier: Verifier::new(access_key_id, access_key_secret),
            auth_code: FAKE_AUTH_CODE.to_owned(),
            registrations: Mutex::new(HashMap::new()),
            unavailable_next: AtomicUsize::new(0),
            business_errors: Mutex::new(VecDeque::new()),
            delay_next: Mutex::new((0, Duration::ZERO)),
            requests: AtomicUsize::new(0),
            rejections: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/", any(verify))
            .fallback(not_found)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the fake ThreeElementsVerification endpoint stopped");
            }
        });
        Ok(Self {
            endpoint,
            state,
            task,
        })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn endpoint(&self) -> Url {
        self.endpoint.clone()
    }

    /// A client configuration for this fake: its endpoint, key and auth code.
    pub fn client_config(&self) -> AliyunThreeElementsConfig {
        let mut config = AliyunThreeElementsConfig::new(
            self.state.verifier.access_key_id(),
            self.state.verifier.access_key_secret().clone(),
            self.state.auth_code.clone(),
        );
        config.endpoint = self.endpoint();
        config
    }

    /// Registers `phone` to the person with this name and ID number (replacing any
    /// earlier holder of the number), as the client would hash them.
    pub fn register(&self, name: &PersonName, id_number: &ResidentIdNumber, phone: &PhoneNumber) {
        let (name, cert, number) = masked_fields(name, id_number, phone);
        lock(&self.state.registrations).insert(number, Holder { name, cert });
    }

    /// Forgets the holder of `phone`: the fake then answers `IsConsistent: 2`.
    pub fn unregister(&self, phone: &PhoneNumber) {
        lock(&self.state.registrations).remove(&sha256_field(phone.as_str()));
    }

    /// Answers the next `n` requests with 503, before any check.
    pub fn fail_next(&self, n: usize) {
        self.state.unavailable_next.store(n, Ordering::SeqCst);
    }

    /// Answers the next authenticated call with this business error (HTTP 200,
    /// `Code` = `code`), e.g. `OperatorLimit`. Calls queue up.
    pub fn refuse_next(&self, code: &str, message: &str) {
        lock(&self.state.business_errors).push_back((code.to_owned(), message.to_owned()));
    }

    /// Waits `delay` before handling each of the next `n` requests.
    pub fn delay_next(&self, n: usize, delay: Duration) {
        *lock(&self.state.delay_next) = (n, delay);
    }

    /// Requests received, whatever became of them.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// The error codes answered so far, oldest first (503s as `ServiceUnavailable`).
    pub fn rejections(&self) -> Vec<String> {
        lock(&self.state.rejections).clone()
    }
}

impl Drop for FakeThreeElements {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4()
        .hyphenated()
        .to_string()
        .to_ascii_uppercase()
}

fn error(state: &FakeState, status: StatusCode, code: &str, message: &str) -> Response {
    lock(&state.rejections).push(code.to_owned());
    let body = json!({
        "RequestId": request_id(),
        "HostId": "dytnsapi.aliyuncs.com",
        "Code": code,
        "Message": message,
    });
    (status, Json(body)).into_response()
}

async fn not_found(State(state): State<Arc<FakeState>>) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    error(
        &state,
        StatusCode::NOT_FOUND,
        "InvalidApi.NotFound",
        "Specified api is not found, please check your url and method.",
    )
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn verify(
    State(state): State<Arc<FakeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let delay = {
        let mut next = lock(&state.delay_next);
        if next.0 > 0 {
            next.0 -= 1;
            Some(next.1)
        } else {
            None
        }
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if state
        .unavailable_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return error(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        );
    }
    let received: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    let request = ReceivedRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or_default(),
        headers: &received,
        body: &body,
    };
    if let Err(refusal) = state
        .verifier
        .check(&request, time::OffsetDateTime::now_utc())
    {
        return error(
            &state,
            StatusCode::BAD_REQUEST,
            refusal.code(),
            refusal.message(),
        );
    }
    if header(&headers, "x-acs-action") != Some(ACTION) {
        return error(
            &state,
            StatusCode::NOT_FOUND,
            "InvalidApi.NotFound",
            "Specified api is not found.",
        );
    }
    if header(&headers, "x-acs-version") != Some(VERSION) {
        return error(
            &state,
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        );
    }
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let mut values = Vec::with_capacity(5);
    for name in ["AuthCode", "Mask", "Name", "CertCode", "InputNumber"] {
        match params.get(name).filter(|v| !v.is_empty()) {
            Some(value) => values.push(value.as_str()),
            None => {
                return error(
                    &state,
                    StatusCode::BAD_REQUEST,
                    &format!("Missing{name}"),
                    &format!("{name} is mandatory for this action."),
                )
            }
        }
    }
    let [auth_code, mask, name, cert, number] = <[&str; 5]>::try_from(values)
        .unwrap_or_else(|_| unreachable!("five required parameters were collected"));
    if auth_code != state.auth_code {
        return error(
            &state,
            StatusCode::BAD_REQUEST,
            "AuthCodeNotExist",
            "The authorization code does not exist.",
        );
    }
    let hashed = |value: &str| {
        if mask == MASK {
            value.to_ascii_lowercase()
        } else {
            sha256_field(value)
        }
    };
    if mask != MASK && mask != "NORMAL" {
        return error(
            &state,
            StatusCode::BAD_REQUEST,
            "EncyrptTypeIllegal",
            "The encryption type is illegal (this fake supports SHA256 and NORMAL).",
        );
    }
    if let Some((code, message)) = lock(&state.business_errors).pop_front() {
        return error(&state, StatusCode::OK, &code, &message);
    }
    let is_consistent = match lock(&state.registrations).get(&hashed(number)) {
        None => 2,
        Some(holder) if holder.name == hashed(name) && holder.cert == hashed(cert) => 1,
        Some(_) => 0,
    };
    let answer = json!({
        "Code": "OK",
        "Message": "OK",
        "RequestId": request_id(),
        "Data": { "IsConsistent": is_consistent, "BasicCarrier": "中国移动" },
    });
    (StatusCode::OK, Json(answer)).into_response()
}
