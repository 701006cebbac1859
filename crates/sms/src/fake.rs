//! A FAKE Alibaba Cloud Short Message Service endpoint, for tests and demos only.
//!
//! It answers `POST /` with `x-acs-action: SendSms` and `x-acs-version: 2017-05-25`
//! as the real endpoint does, and checks each request the way the provider's API
//! gateway does: it recomputes the V3 signature from what it received (method,
//! path, the query re-canonicalised from its decoded parameters, the received
//! `host`/`content-type`/`x-acs-*` headers, the SHA-256 of the received body) with
//! the one access key it knows, and refuses with the provider's codes:
//!
//! | case | HTTP | `Code` |
//! |---|---|---|
//! | unknown AccessKeyId | 400 | `InvalidAccessKeyId.NotFound` |
//! | signature wrong, missing, or not covering every signed header | 400 | `SignatureDoesNotMatch` |
//! | `x-acs-date` not `yyyy-MM-ddTHH:mm:ssZ` | 400 | `InvalidTimeStamp.Format` |
//! | `x-acs-date` more than 15 minutes from now | 400 | `InvalidTimeStamp.Expired` |
//! | nonce seen before (within 15 minutes) | 400 | `SignatureNonceUsed` |
//! | a SendSms parameter missing | 400 | `MissingPhoneNumbers`, … |
//! | number not a mainland mobile | 200 | `isv.MOBILE_NUMBER_ILLEGAL` |
//! | `TemplateParam` not a JSON object of strings | 200 | `isv.INVALID_JSON_PARAM` |
//! | accepted | 200 | `OK`, with `BizId` and `RequestId` |
//!
//! It is **not** the provider: nothing is delivered, messages live in an in-memory
//! outbox that tests read, it listens on loopback only, and it does not know which
//! signatures and templates are approved (it accepts any non-empty one). The order
//! of the checks and the codes of cases no test relies on (action, version, the
//! missing-parameter codes) are its best reading of the documentation, not a copy
//! of the gateway. Tests can make it answer 503 to the next requests, answer a
//! business error such as `isv.BUSINESS_LIMIT_CONTROL`, or answer slowly.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use secrecy::SecretString;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use url::Url;

use crate::client::{AliyunSmsConfig, ACTION, VERSION};
use crate::signature;

/// How far `x-acs-date` may be from the fake's clock, as the provider allows.
pub use crate::signature::MAX_CLOCK_SKEW;

/// The sign name and template code in [`FakeAliyunSms::client_config`].
pub const FAKE_SIGN_NAME: &str = "盛世政务";
pub const FAKE_TEMPLATE_CODE: &str = "SMS_000000001";

/// A message the fake accepted.
#[derive(Clone, PartialEq, Eq)]
pub struct FakeSms {
    /// `PhoneNumbers` as received.
    pub phone_numbers: String,
    pub sign_name: String,
    pub template_code: String,
    /// `TemplateParam`, parsed.
    pub template_param: BTreeMap<String, String>,
    pub biz_id: String,
    pub request_id: String,
    pub received_at: OffsetDateTime,
}

impl FakeSms {
    /// One template parameter, e.g. `code`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.template_param.get(name).map(String::as_str)
    }
}

impl std::fmt::Debug for FakeSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Like the real thing: no full number, no parameter values (the code).
        let masked: Vec<String> = self.phone_numbers.split(',').map(mask).collect();
        f.debug_struct("FakeSms")
            .field("phone_numbers", &masked)
            .field("sign_name", &self.sign_name)
            .field("template_code", &self.template_code)
            .field(
                "template_param",
                &self.template_param.keys().collect::<Vec<_>>(),
            )
            .field("biz_id", &self.biz_id)
            .finish_non_exhaustive()
    }
}

fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// A fake SendSms endpoint on `127.0.0.1`, stopped when dropped. See the module docs.
pub struct FakeAliyunSms {
    endpoint: Url,
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeAliyunSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAliyunSms")
            .field("endpoint", &self.endpoint.as_str())
            .field("access_key_id", &self.state.verifier.access_key_id())
            .finish_non_exhaustive()
    }
}

struct FakeState {
    /// The one access key, and the nonces of authenticated requests.
    verifier: signature::Verifier,
    outbox: Mutex<Vec<FakeSms>>,
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

impl FakeAliyunSms {
    /// Starts a fake that knows one access key.
    pub async fn start(
        access_key_id: &str,
        access_key_secret: SecretString,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let endpoint = Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)?;
        let state = Arc::new(FakeState {
            verifier: signature::Verifier::new(access_key_id, access_key_secret),
            outbox: Mutex::new(Vec::new()),
            unavailable_next: AtomicUsize::new(0),
            business_errors: Mutex::new(VecDeque::new()),
            delay_next: Mutex::new((0, Duration::ZERO)),
            requests: AtomicUsize::new(0),
            rejections: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/", any(send_sms))
            .fallback(not_found)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the fake Alibaba Cloud SMS endpoint stopped");
            }
        });
        Ok(Self {
            endpoint,
            state,
            task,
        })
    }

    /// The endpoint to put in [`AliyunSmsConfig::endpoint`]: `http://127.0.0.1:PORT/`.
    pub fn endpoint(&self) -> Url {
        self.endpoint.clone()
    }

    /// A client configuration for this fake: its endpoint and key, sign name
    /// [`FAKE_SIGN_NAME`], and `SMS_CODE` → [`FAKE_TEMPLATE_CODE`].
    pub fn client_config(&self) -> AliyunSmsConfig {
        let mut config = AliyunSmsConfig::new(
            self.state.verifier.access_key_id(),
            self.state.verifier.access_key_secret().clone(),
            FAKE_SIGN_NAME,
        )
        .template("SMS_CODE", FAKE_TEMPLATE_CODE);
        config.endpoint = self.endpoint();
        config
    }

    /// The accepted messages, oldest first.
    pub fn outbox(&self) -> Vec<FakeSms> {
        lock(&self.state.outbox).clone()
    }

    /// The newest message accepted for `phone` (as sent in `PhoneNumbers`).
    pub fn last_to(&self, phone: &str) -> Option<FakeSms> {
        lock(&self.state.outbox)
            .iter()
            .rev()
            .find(|m| m.phone_numbers.split(',').any(|p| p == phone))
            .cloned()
    }

    /// Answers the next `n` requests with 503, before any check (the front end is down).
    pub fn fail_next(&self, n: usize) {
        self.state.unavailable_next.store(n, Ordering::SeqCst);
    }

    /// Answers the next authenticated SendSms with this business error (HTTP 200,
    /// `Code` = `code`), e.g. `isv.BUSINESS_LIMIT_CONTROL`. Calls queue up.
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

impl Drop for FakeAliyunSms {
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
        "HostId": "dysmsapi.aliyuncs.com",
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

async fn send_sms(
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
    if let Err(refusal) = authenticate(&state, &method, &uri, &headers, &body) {
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
    let mut required = Vec::new();
    for name in ["PhoneNumbers", "SignName", "TemplateCode"] {
        match params.get(name).filter(|v| !v.is_empty()) {
            Some(value) => required.push(value.clone()),
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
    let [phone_numbers, sign_name, template_code] = <[String; 3]>::try_from(required)
        .unwrap_or_else(|_| unreachable!("three required parameters were collected"));
    if let Some((code, message)) = lock(&state.business_errors).pop_front() {
        return error(&state, StatusCode::OK, &code, &message);
    }
    if !phone_numbers.split(',').all(is_mainland_mobile) {
        return error(
            &state,
            StatusCode::OK,
            "isv.MOBILE_NUMBER_ILLEGAL",
            "invalid mobile number",
        );
    }
    let template_param = match params.get("TemplateParam") {
        None => BTreeMap::new(),
        Some(text) => match serde_json::from_str::<BTreeMap<String, String>>(text) {
            Ok(map) => map,
            Err(_) => {
                return error(
                    &state,
                    StatusCode::OK,
                    "isv.INVALID_JSON_PARAM",
                    "JSON参数不合法，只接受字符串值",
                )
            }
        },
    };
    let message = FakeSms {
        phone_numbers,
        sign_name,
        template_code,
        template_param,
        biz_id: format!("{}^0", uuid::Uuid::new_v4().as_u128() % 10u128.pow(18)),
        request_id: request_id(),
        received_at: OffsetDateTime::now_utc(),
    };
    let answer = json!({ "Code": "OK", "Message": "OK", "BizId": message.biz_id, "RequestId": message.request_id });
    lock(&state.outbox).push(message);
    (StatusCode::OK, Json(answer)).into_response()
}

/// The provider's gateway checks (key, signature, clock, nonce), shared with the
/// other fakes through [`signature::Verifier`].
fn authenticate(
    state: &FakeState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), signature::Refusal> {
    let received: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    state.verifier.check(
        &signature::ReceivedRequest {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query().unwrap_or_default(),
            headers: &received,
            body,
        },
        OffsetDateTime::now_utc(),
    )
}

/// A mainland mobile number as SendSms takes it: 11 digits starting 13–19,
/// optionally after `+86`, `0086` or `86`.
fn is_mainland_mobile(number: &str) -> bool {
    let national = ["+86", "0086", "86"]
        .iter()
        .find_map(|prefix| number.strip_prefix(prefix).filter(|rest| rest.len() == 11))
        .unwrap_or(number);
    let bytes = national.as_bytes();
    bytes.len() == 11
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert!(is_mainland_mobile("13800138000"));
        assert!(is_mainland_mobile("+8613800138000"));
        assert!(is_mainland_mobile("008613800138000"));
        assert!(!is_mainland_mobile("12800138000"));
        assert!(!is_mainland_mobile("1380013800"));
        assert!(!is_mainland_mobile("85200001234"));
    }

    #[test]
    fn debug_masks() {
        let sms = FakeSms {
            phone_numbers: "13800138000".into(),
            sign_name: "s".into(),
            template_code: "t".into(),
            template_param: [("code".to_owned(), "123456".to_owned())].into(),
            biz_id: "1^0".into(),
            request_id: "R".into(),
            received_at: OffsetDateTime::UNIX_EPOCH,
        };
        let text = format!("{sms:?}");
        assert!(
            text.contains("138****8000")
                && !text.contains("13800138000")
                && !text.contains("123456"),
            "{text}"
        );
    }
}
