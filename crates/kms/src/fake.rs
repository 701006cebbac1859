//! A FAKE Vault/OpenBao Transit server, for tests and demos only.
//!
//! It answers exactly `POST /v1/{mount}/encrypt/{key}` and
//! `POST /v1/{mount}/decrypt/{key}` as Transit does (same JSON, same
//! `vault:v1:` ciphertexts, same `{"errors": [...]}` shape), checks the
//! `X-Vault-Token` header, and seals with AES-256-GCM under an in-memory key per
//! transit key, the context bound as associated data. It is **not a KMS**: its
//! keys die with it, it listens on loopback only, and it keeps no audit log.
//! Tests can make it fail the next requests with 503 or answer slowly.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use url::Url;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const PREFIX: &str = "vault:v1:";

/// A fake Transit server on `127.0.0.1`, stopped when dropped. See the module docs.
pub struct FakeVaultTransit {
    url: Url,
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeVaultTransit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeVaultTransit")
            .field("url", &self.url.as_str())
            .field("mount", &self.state.mount)
            .finish_non_exhaustive()
    }
}

struct FakeKey {
    key: Zeroizing<[u8; 32]>,
    /// Whether the context is bound (Transit's `derived=true`).
    derived: bool,
}

struct FakeState {
    token: SecretString,
    mount: String,
    keys: Mutex<HashMap<String, FakeKey>>,
    fail_next: AtomicUsize,
    delay_next: Mutex<(usize, Duration)>,
    requests: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeVaultTransit {
    /// Starts a fake with the engine at mount `transit`, a random token and no keys.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with_mount(crate::DEFAULT_MOUNT).await
    }

    pub async fn start_with_mount(mount: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let url = Url::parse(&format!("http://{addr}"))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut token = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut token);
        let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
        let state = Arc::new(FakeState {
            token: SecretString::from(format!("fake.{token}")),
            mount: mount.trim_matches('/').to_owned(),
            keys: Mutex::new(HashMap::new()),
            fail_next: AtomicUsize::new(0),
            delay_next: Mutex::new((0, Duration::ZERO)),
            requests: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/v1/{*path}", post(handle))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "the FAKE Vault transit server stopped");
            }
        });
        tracing::info!(%url, mount = %state.mount, "FAKE Vault transit server started (tests and demos only; keys live in memory and die with it)");
        Ok(Self { url, state, task })
    }

    /// The address to give the client (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The only token this fake accepts.
    pub fn token(&self) -> SecretString {
        self.state.token.clone()
    }

    pub fn mount(&self) -> &str {
        &self.state.mount
    }

    /// Creates a transit key as `vault write -f {mount}/keys/{name} derived=true`
    /// would. An existing key is kept.
    pub fn create_key(&self, name: &str) {
        self.insert_key(name, true);
    }

    /// Creates a key that ignores the context, as Transit does for a key
    /// created without `derived=true`. For testing that such a key is refused.
    pub fn create_key_without_derivation(&self, name: &str) {
        self.insert_key(name, false);
    }

    fn insert_key(&self, name: &str, derived: bool) {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        lock(&self.state.keys)
            .entry(name.to_owned())
            .or_insert(FakeKey { key, derived });
    }

    /// Answers the next `n` requests with `503 {"errors":["Vault is sealed"]}`.
    pub fn fail_next(&self, n: usize) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    /// Holds each of the next `n` requests for `delay` before answering.
    pub fn delay_next(&self, n: usize, delay: Duration) {
        *lock(&self.state.delay_next) = (n, delay);
    }

    /// How many requests have arrived so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FakeVaultTransit {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn vault_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "errors": [message] }))).into_response()
}

fn bad_request(message: &str) -> Response {
    vault_error(StatusCode::BAD_REQUEST, message)
}

#[derive(Deserialize)]
struct TransitRequest {
    plaintext: Option<String>,
    ciphertext: Option<String>,
    context: Option<String>,
}

async fn handle(
    State(state): State<Arc<FakeState>>,
    Path(path): Path<String>,
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
    let failing = state
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return vault_error(StatusCode::SERVICE_UNAVAILABLE, "Vault is sealed");
    }
    let authorised = headers
        .get("x-vault-token")
        .is_some_and(|token| token.as_bytes() == state.token.expose_secret().as_bytes());
    if !authorised {
        return vault_error(StatusCode::FORBIDDEN, "permission denied");
    }

    // {mount}/{operation}/{key}, where the mount may itself hold slashes.
    let route = path.rsplitn(3, '/').collect::<Vec<_>>();
    let (key_name, operation, mount) = match route.as_slice() {
        [key, operation, mount] => (*key, *operation, *mount),
        _ => ("", "", ""),
    };
    if mount != state.mount || !matches!(operation, "encrypt" | "decrypt") {
        return vault_error(
            StatusCode::NOT_FOUND,
            &format!("no handler for route \"{path}\". route entry not found."),
        );
    }
    let Ok(request) = serde_json::from_slice::<TransitRequest>(&body) else {
        return bad_request("failed to parse JSON input");
    };
    let keys = lock(&state.keys);
    let Some(key) = keys.get(key_name) else {
        return bad_request("encryption key not found");
    };
    let context = match request.context.as_deref().map(|c| BASE64.decode(c)) {
        Some(Ok(context)) => context,
        Some(Err(_)) => return bad_request("failed to base64-decode context"),
        None => Vec::new(),
    };
    if key.derived && context.is_empty() {
        return bad_request("missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key");
    }
    // A key without derivation ignores the context, as Transit does.
    let aad: &[u8] = if key.derived { &context } else { &[] };
    let Ok(cipher) = Aes256Gcm::new_from_slice(key.key.as_ref()) else {
        return vault_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    };

    if operation == "encrypt" {
        let Some(plaintext) = request.plaintext else {
            return bad_request("missing plaintext to encrypt");
        };
        let Ok(plaintext) = BASE64.decode(plaintext).map(Zeroizing::new) else {
            return bad_request("failed to base64-decode plaintext");
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let Ok(sealed) = cipher.encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad,
            },
        ) else {
            return vault_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        };
        let ciphertext = format!("{PREFIX}{}", BASE64.encode([&nonce[..], &sealed].concat()));
        return Json(json!({ "data": { "ciphertext": ciphertext, "key_version": 1 } }))
            .into_response();
    }

    let Some(ciphertext) = request.ciphertext else {
        return bad_request("missing ciphertext to decrypt");
    };
    let Some(rest) = ciphertext.strip_prefix("vault:") else {
        return bad_request("invalid ciphertext: no prefix");
    };
    let Some(encoded) = rest.strip_prefix("v1:") else {
        return bad_request("invalid ciphertext: version is too new");
    };
    let Ok(raw) = BASE64.decode(encoded) else {
        return bad_request("invalid ciphertext: could not decode base64");
    };
    if raw.len() < NONCE_LEN + TAG_LEN {
        return bad_request("invalid ciphertext length");
    }
    let (nonce, sealed) = raw.split_at(NONCE_LEN);
    match cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad }) {
        Ok(plaintext) => {
            let plaintext = Zeroizing::new(plaintext);
            Json(json!({ "data": { "plaintext": BASE64.encode(plaintext.as_slice()) } }))
                .into_response()
        }
        Err(_) => bad_request("cipher: message authentication failed"),
    }
}
