//! A FAKE population registry, for tests and demos only.
//!
//! It answers `POST /v1/identity-checks` exactly as `docs/registry-protocol.md`
//! says a registry must (same JSON, same statuses, bearer token checked) from
//! an in-memory table of **fictional** people that the test fills. It is
//! **not a registry**: it knows nobody real, listens on loopback only, keeps
//! nothing, and exists to exercise clients. Tests queue [`Fault`]s to make the
//! next requests slow, fail, rate-limited, hung past the client's timeout, or
//! answered with malformed bodies.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use shengshi_app::registry::{LifeStatus, RegistryRecord};
use shengshi_domain::{Clock, PersonName, ResidentIdNumber, SystemClock};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use url::Url;

/// How long a hung request sleeps: far past any client's timeout.
const HANG: Duration = Duration::from_secs(3600);
/// A little over the contract's 2 MiB limit.
const OVERSIZED_PHOTO_BYTES: usize = 3 * 1024 * 1024;

/// Something to do to one request instead of (or before) answering it properly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then answer properly.
    Delay(Duration),
    /// Answer with this status and `{"error": "..."}` (no verdict).
    Status(u16),
    /// Answer 429 with this `Retry-After` header value (or none).
    RateLimited { retry_after: Option<String> },
    /// Answer 200 with a body that breaks the contract.
    Malformed(Malformation),
}

/// A 200 answer that breaks the contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Malformation {
    /// The proper answer, cut off in the middle (with a correct Content-Length).
    TruncatedJson,
    /// A match whose fields have the wrong JSON types (birth date a number, sex a boolean).
    WrongTypes,
    /// A match for the asked person with this other `id_number` put in.
    OtherIdNumber(String),
    /// A match over 2 MiB (a huge photo), with its Content-Length.
    Oversized,
    /// The same, sent chunked with no Content-Length.
    OversizedStreamed,
    /// A match with one field of the person replaced by this JSON value.
    Field { name: String, value: Value },
    /// This body, as `application/json`.
    Raw(String),
    /// The proper answer, but labelled `text/html`.
    NotJsonContentType,
}

/// A fake registry on `127.0.0.1`, stopped when dropped. See the module docs.
pub struct FakeRegistry {
    url: Url,
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeRegistry")
            .field("url", &self.url.as_str())
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

struct FakeState {
    token: SecretString,
    clock: Arc<dyn Clock>,
    people: Mutex<HashMap<String, RegistryRecord>>,
    faults: Mutex<VecDeque<Fault>>,
    request_ids: Mutex<Vec<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeRegistry {
    /// Starts a fake with a random token, an empty table and no faults.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    /// The same, reading "today" (for checking ID numbers asked about) from `clock`.
    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let url = Url::parse(&format!("http://{addr}"))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let state = Arc::new(FakeState {
            token: SecretString::from(format!("fake-registry.{}", uuid::Uuid::new_v4().simple())),
            clock,
            people: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            request_ids: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/v1/identity-checks", post(identity_check))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "the FAKE population registry stopped");
            }
        });
        tracing::info!(%url, "FAKE population registry started (tests and demos only; fictional people in memory)");
        Ok(Self { url, state, task })
    }

    /// The base address to give the client (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The only token this fake accepts.
    pub fn token(&self) -> SecretString {
        self.state.token.clone()
    }

    /// Puts a fictional person in the table (replacing one with the same number).
    /// Their `life_status` decides between a match, `deceased` and `emigrated`.
    pub fn insert(&self, person: RegistryRecord) {
        lock(&self.state.people).insert(person.id_number.as_str().to_owned(), person);
    }

    /// Queues `fault` for each of the next `n` requests (after any already queued).
    pub fn inject(&self, n: usize, fault: Fault) {
        let mut faults = lock(&self.state.faults);
        faults.extend(std::iter::repeat_n(fault, n));
    }

    /// The next `n` requests are answered `503`.
    pub fn fail_next(&self, n: usize) {
        self.inject(n, Fault::Status(503));
    }

    /// The next `n` requests are answered `429` with `Retry-After: {seconds}`.
    pub fn rate_limit_next(&self, n: usize, seconds: u64) {
        self.inject(
            n,
            Fault::RateLimited {
                retry_after: Some(seconds.to_string()),
            },
        );
    }

    /// The next `n` requests wait `delay` before being answered.
    pub fn delay_next(&self, n: usize, delay: Duration) {
        self.inject(n, Fault::Delay(delay));
    }

    /// The next `n` requests are never answered in any client's time (an hour's sleep).
    pub fn hang_next(&self, n: usize) {
        self.inject(n, Fault::Delay(HANG));
    }

    /// The next `n` requests are answered 200 with `malformation`.
    pub fn malform_next(&self, n: usize, malformation: Malformation) {
        self.inject(n, Fault::Malformed(malformation));
    }

    /// How many requests have arrived, with or without a valid token.
    pub fn requests(&self) -> usize {
        lock(&self.state.request_ids).len()
    }

    /// The `request_id` of each request so far, in order of arrival
    /// (empty for a request whose body could not be read).
    pub fn request_ids(&self) -> Vec<String> {
        lock(&self.state.request_ids).clone()
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    id_number: String,
    name: String,
    request_id: String,
}

fn error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({ "error": code }))).into_response()
}

fn json_body(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The contract's `person` object for `record`.
fn person_json(record: &RegistryRecord) -> Value {
    json!({
        "id_number": record.id_number.as_str(),
        "name": record.name.as_str(),
        "sex": record.sex.code(),
        "birth_date": record.birth_date.to_string(),
        "address": record.address,
        "marital_status": record.marital_status.name(),
        "life_status": record.life_status.name(),
        "photo": record.photo.as_ref().map(|p| BASE64.encode(p)),
    })
}

async fn identity_check(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = serde_json::from_slice::<CheckRequest>(&body).ok();
    lock(&state.request_ids).push(
        request
            .as_ref()
            .map(|r| r.request_id.clone())
            .unwrap_or_default(),
    );
    let mut fault = lock(&state.faults).pop_front();
    if let Some(Fault::Delay(delay)) = fault {
        tokio::time::sleep(delay).await;
        fault = None;
    }
    match &fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, "injected_fault");
        }
        Some(Fault::RateLimited { retry_after }) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
            if let Some(value) = retry_after
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        _ => {}
    }

    let expected = format!("Bearer {}", state.token.expose_secret());
    let authorised = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    if !authorised {
        let mut response = error(StatusCode::UNAUTHORIZED, "unauthorized");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"population-registry\""),
        );
        return response;
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Some(request) = request.filter(|_| is_json) else {
        return error(StatusCode::BAD_REQUEST, "bad_request");
    };
    let today = state.clock.today();
    let (Ok(id_number), Ok(name), Ok(_)) = (
        ResidentIdNumber::parse(&request.id_number, today),
        PersonName::parse(&request.name),
        uuid::Uuid::parse_str(&request.request_id),
    ) else {
        return error(StatusCode::BAD_REQUEST, "bad_request");
    };

    let person = lock(&state.people).get(id_number.as_str()).cloned();
    let proper = match &person {
        None => json!({ "result": "not_found" }),
        Some(p) if !p.name.matches(&name) => json!({ "result": "name_mismatch" }),
        Some(p) => match p.life_status {
            LifeStatus::Deceased => json!({ "result": "deceased" }),
            LifeStatus::Emigrated => json!({ "result": "emigrated" }),
            LifeStatus::Alive => json!({ "result": "match", "person": person_json(p) }),
        },
    };
    let ok = |body: Vec<u8>| json_body(StatusCode::OK, "application/json", body);
    let Some(Fault::Malformed(malformation)) = fault else {
        return ok(proper.to_string().into_bytes());
    };
    // The malformations that rewrite a match need the asked person.
    let matched = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| -> Response {
        let Some(p) = &person else {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "fake_needs_a_known_person",
            );
        };
        let mut fields = match person_json(p) {
            Value::Object(fields) => fields,
            _ => serde_json::Map::new(),
        };
        edit(&mut fields);
        ok(json!({ "result": "match", "person": fields })
            .to_string()
            .into_bytes())
    };
    let huge_photo = || {
        let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
        photo.resize(OVERSIZED_PHOTO_BYTES, 0);
        BASE64.encode(photo)
    };
    match malformation {
        Malformation::TruncatedJson => {
            let text = proper.to_string();
            let cut = text.len() / 2;
            ok(text.as_bytes()[..cut].to_vec())
        }
        Malformation::WrongTypes => matched(&|fields| {
            fields.insert("birth_date".into(), json!(19900307));
            fields.insert("sex".into(), json!(true));
        }),
        Malformation::OtherIdNumber(other) => matched(&|fields| {
            fields.insert("id_number".into(), json!(other));
        }),
        Malformation::Field { name, value } => matched(&|fields| {
            fields.insert(name.clone(), value.clone());
        }),
        Malformation::Oversized => matched(&|fields| {
            fields.insert("photo".into(), json!(huge_photo()));
        }),
        Malformation::OversizedStreamed => {
            let Some(p) = &person else {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "fake_needs_a_known_person",
                );
            };
            let mut fields = person_json(p);
            fields["photo"] = json!(huge_photo());
            let text = json!({ "result": "match", "person": fields }).to_string();
            let chunks: Vec<Result<Bytes, std::io::Error>> = text
                .into_bytes()
                .chunks(64 * 1024)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let mut response = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Malformation::Raw(body) => ok(body.into_bytes()),
        Malformation::NotJsonContentType => json_body(
            StatusCode::OK,
            "text/html; charset=utf-8",
            proper.to_string().into_bytes(),
        ),
    }
}
