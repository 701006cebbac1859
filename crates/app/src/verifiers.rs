//! Verifier organisations and the online verification service (issue 8).
//!
//! - **Organisations** (hotels, stations, airports, banks…) are registered by
//!   an operator with a verifier category and the purposes they may ask for,
//!   each allowed for that category (`shengshi_eid::Purpose::allows`). They
//!   can be suspended and resumed; their category never changes.
//! - **API keys** are `svk_{key id}_{secret}`: the id (32 hex digits) names
//!   the stored row, the secret is 32 random bytes (base64url). Only an
//!   HMAC-SHA256 of both under the platform secret `verifier-key-mac-key` is
//!   stored, compared in constant time. A new key revokes the older ones in
//!   the same transaction. Each key has an in-memory token bucket. The gate
//!   remembers a key that authenticated (its MAC and organisation), so that
//!   a verification reads nothing before its claim; whether the key is still
//!   live and the organisation still active is checked again where it
//!   counts (below).
//! - **Verification**: the code is checked with `shengshi_eid::verify_presentation`
//!   against the issuer's published trust list and current status list, and
//!   against the card's stored status; the code's purpose and category must
//!   be the organisation's; the code's id (`cti`) is claimed by the first
//!   organisation that verifies it (another one is refused, the same one gets
//!   the same answer while the code lives). The claim is settled in the
//!   access log's batch transaction (`door::record_claimed`), which also
//!   checks the key, the organisation and the card's row, and logs the
//!   access only if the claim holds: the resident's access view names the
//!   organisation and the purpose.
//! - **Refusals** disclose nothing of the code and are security events
//!   carrying only the organisation's id and a reason code.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::SecretString;
use sha2::Sha256;
use shengshi_domain::access::{Accessor, Purpose as AccessPurpose};
use shengshi_domain::security::{Actor, SecurityEventKind};
use shengshi_domain::Timestamp;
use shengshi_eid as eid;
use shengshi_store::{
    CardStatus, ClaimOutcome, StoreError, StoredVerifier, StoredVerifierKey, VerificationClaim,
};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::access_log::{ClaimedAccess, ClaimedOutcome};
use crate::door;
use crate::eid::{from_unix_seconds, purpose_fields, unix_seconds, Issuer};
use crate::secrets::PlatformSecrets;
use crate::Services;

/// Every API key starts with this, so that a leaked one is recognisable
/// (secret scanners, logs).
pub const API_KEY_PREFIX: &str = "svk_";
/// The longest organisation name.
pub const MAX_NAME_CHARS: usize = 200;
const KEY_MAC_CONTEXT: &[u8] = b"shengshi verifier api key v1|";
const SECRET_BYTES: usize = 32;
/// Base64url without padding of 32 bytes.
const SECRET_CHARS: usize = 43;

// ---------------------------------------------------------------------------
// Organisations and their keys

/// A verifier organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier {
    pub id: uuid::Uuid,
    pub name: String,
    pub category: eid::VerifierCategory,
    pub purposes: Vec<eid::Purpose>,
    pub active: bool,
    pub created_at: Timestamp,
    pub changed_at: Timestamp,
}

impl Verifier {
    fn from_stored(stored: StoredVerifier) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("verifier {}: {what}", stored.id));
        let category = eid::VerifierCategory::from_name(&stored.category)
            .ok_or_else(|| corrupt("category"))?;
        let purposes = stored
            .purposes
            .iter()
            .map(|p| eid::Purpose::from_name(p).ok_or_else(|| corrupt("purpose")))
            .collect::<Result<Vec<_>, _>>()?;
        let active = match stored.status.as_str() {
            "active" => true,
            "suspended" => false,
            _ => return Err(corrupt("status")),
        };
        Ok(Self {
            id: stored.id,
            name: stored.name,
            category,
            purposes,
            active,
            created_at: stored.created_at,
            changed_at: stored.changed_at,
        })
    }

    /// Whether a code of this purpose and category may be verified here.
    pub fn allows(&self, purpose: eid::Purpose, category: eid::VerifierCategory) -> bool {
        category == self.category && self.purposes.contains(&purpose)
    }
}

/// What an operator registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVerifier {
    pub name: String,
    pub category: eid::VerifierCategory,
    pub purposes: Vec<eid::Purpose>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifierAdminError {
    #[error("a verifier's name has 1 to 200 characters and no control characters")]
    BadName,
    #[error("give at least one purpose")]
    NoPurposes,
    #[error("a {category} verifier may not ask for {purpose}")]
    PurposeNotForCategory {
        purpose: &'static str,
        category: &'static str,
    },
    #[error("no verifier has id {0}")]
    NotFound(uuid::Uuid),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A key just issued: shown once, never stored.
#[derive(Debug)]
pub struct IssuedKey {
    pub verifier: Verifier,
    pub key_id: uuid::Uuid,
    /// The whole key text, `svk_…`.
    pub key: SecretString,
    /// How many older keys stopped working.
    pub revoked: u64,
}

type HmacSha256 = Hmac<Sha256>;

fn key_mac(secrets: &PlatformSecrets, key_id: uuid::Uuid, secret: &str) -> [u8; 32] {
    // HMAC accepts keys of any length; the platform secret is 32 bytes.
    let mut mac = match HmacSha256::new_from_slice(secrets.verifier_key_mac_key()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(KEY_MAC_CONTEXT);
    mac.update(key_id.as_bytes());
    mac.update(b"|");
    mac.update(secret.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Splits `svk_{32 hex}_{43 base64url}` into the key id and the secret part.
fn parse_key(text: &str) -> Option<(uuid::Uuid, &str)> {
    let rest = text.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32
        || !id.bytes().all(|b| b.is_ascii_hexdigit())
        || secret.len() != SECRET_CHARS
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some((uuid::Uuid::try_parse(id).ok()?, secret))
}

/// A fresh key for a verifier: the text to hand over once, and its stored row.
fn new_key(
    secrets: &PlatformSecrets,
    verifier: uuid::Uuid,
    now: Timestamp,
) -> (SecretString, StoredVerifierKey) {
    let id = uuid::Uuid::now_v7();
    let mut raw = Zeroizing::new([0u8; SECRET_BYTES]);
    rand::rngs::OsRng.fill_bytes(raw.as_mut());
    let secret = Zeroizing::new(URL_SAFE_NO_PAD.encode(&raw[..]));
    let stored = StoredVerifierKey {
        id,
        verifier,
        key_mac: key_mac(secrets, id, &secret).to_vec(),
        created_at: now,
        revoked_at: None,
    };
    let text = format!("{API_KEY_PREFIX}{}_{}", id.simple(), secret.as_str());
    (SecretString::from(text), stored)
}

fn check_new(new: &NewVerifier) -> Result<String, VerifierAdminError> {
    let name = new.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(VerifierAdminError::BadName);
    }
    if new.purposes.is_empty() {
        return Err(VerifierAdminError::NoPurposes);
    }
    if let Some(purpose) = new.purposes.iter().find(|p| !p.allows(new.category)) {
        return Err(VerifierAdminError::PurposeNotForCategory {
            purpose: purpose.name(),
            category: new.category.name(),
        });
    }
    Ok(name.to_owned())
}

/// Registers an organisation and issues its first API key. `by` is who the
/// security log names: the operator (CLI) or the staff member who approved.
pub async fn register(
    services: &Services,
    secrets: &PlatformSecrets,
    by: Actor,
    new: NewVerifier,
) -> Result<IssuedKey, VerifierAdminError> {
    let name = check_new(&new)?;
    let now = services.clock.now();
    let mut purposes: Vec<eid::Purpose> = Vec::new();
    for p in new.purposes {
        if !purposes.contains(&p) {
            purposes.push(p);
        }
    }
    let stored = StoredVerifier {
        id: uuid::Uuid::now_v7(),
        name,
        category: new.category.name().to_owned(),
        purposes: purposes.iter().map(|p| p.name().to_owned()).collect(),
        status: "active".to_owned(),
        created_at: now,
        changed_at: now,
    };
    let (key, stored_key) = new_key(secrets, stored.id, now);
    services.store.insert_verifier(&stored, &stored_key).await?;
    let record = |event| services.security_log.record(by.clone(), event);
    record(SecurityEventKind::VerifierRegistered {
        verifier: stored.id,
        category: stored.category.clone(),
        purposes: stored.purposes.clone(),
    })
    .await
    .map_err(|e| VerifierAdminError::Internal(e.to_string()))?;
    record(SecurityEventKind::VerifierKeyIssued {
        verifier: stored.id,
        key: stored_key.id,
        revoked: 0,
    })
    .await
    .map_err(|e| VerifierAdminError::Internal(e.to_string()))?;
    Ok(IssuedKey {
        verifier: Verifier::from_stored(stored)?,
        key_id: stored_key.id,
        key,
        revoked: 0,
    })
}

async fn verifier_or_not_found(
    services: &Services,
    id: uuid::Uuid,
) -> Result<Verifier, VerifierAdminError> {
    let stored = services
        .store
        .verifier(id)
        .await?
        .ok_or(VerifierAdminError::NotFound(id))?;
    Ok(Verifier::from_stored(stored)?)
}

/// Issues a new API key; every older key of the organisation stops working
/// in the same transaction.
pub async fn rotate_key(
    services: &Services,
    secrets: &PlatformSecrets,
    by: Actor,
    id: uuid::Uuid,
) -> Result<IssuedKey, VerifierAdminError> {
    let verifier = verifier_or_not_found(services, id).await?;
    let (key, stored_key) = new_key(secrets, id, services.clock.now());
    let revoked = services.store.replace_verifier_keys(&stored_key).await?;
    services
        .security_log
        .record(
            by,
            SecurityEventKind::VerifierKeyIssued {
                verifier: id,
                key: stored_key.id,
                revoked,
            },
        )
        .await
        .map_err(|e| VerifierAdminError::Internal(e.to_string()))?;
    Ok(IssuedKey {
        verifier,
        key_id: stored_key.id,
        key,
        revoked,
    })
}

/// Every organisation, oldest first.
pub async fn list(services: &Services) -> Result<Vec<Verifier>, VerifierAdminError> {
    services
        .store
        .verifiers()
        .await?
        .into_iter()
        .map(|s| Verifier::from_stored(s).map_err(VerifierAdminError::from))
        .collect()
}

/// Suspends (`active = false`) or resumes an organisation; a suspended one
/// is refused at once, whatever key it uses.
pub async fn set_active(
    services: &Services,
    by: Actor,
    id: uuid::Uuid,
    active: bool,
) -> Result<Verifier, VerifierAdminError> {
    verifier_or_not_found(services, id).await?;
    let status = if active { "active" } else { "suspended" };
    if services
        .store
        .set_verifier_status(id, status, services.clock.now())
        .await?
    {
        services
            .security_log
            .record(
                by,
                SecurityEventKind::VerifierStatusChanged {
                    verifier: id,
                    status: status.to_owned(),
                },
            )
            .await
            .map_err(|e| VerifierAdminError::Internal(e.to_string()))?;
    }
    verifier_or_not_found(services, id).await
}

// ---------------------------------------------------------------------------
// Rate limits, in memory

/// A token bucket per API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests a key may send at once.
    pub burst: u32,
    /// Requests per second a key gets back.
    pub per_second: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            burst: 20,
            per_second: 10,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Timestamp,
}

impl Bucket {
    /// Takes one token, or says in how many seconds one will be there.
    fn take(&mut self, limits: RateLimits, now: Timestamp) -> Result<(), u32> {
        let elapsed_ms = now
            .unix_millis()
            .saturating_sub(self.at.unix_millis())
            .max(0);
        let burst = f64::from(limits.burst.max(1));
        let rate = f64::from(limits.per_second.max(1));
        // Whole milliseconds only, so tests on a fixed clock are exact.
        self.tokens = (self.tokens + elapsed_ms as f64 * rate / 1000.0).min(burst);
        if now > self.at {
            self.at = now;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - self.tokens) / rate).ceil() as u32).max(1))
        }
    }
}

/// The online service's in-memory state: a token bucket per API key, and
/// one for logging refusals of unknown keys (so that a flood of made-up keys
/// cannot flood the security log; beyond it they go to the trace log only).
#[derive(Debug)]
pub struct VerifierGate {
    limits: RateLimits,
    buckets: Mutex<HashMap<uuid::Uuid, Bucket>>,
    unknown_key_log: Mutex<Option<Bucket>>,
    /// Keys that authenticated, by id: what never changes about them (the
    /// MAC, the organisation's id, name, category and purposes). Whether the
    /// key is still live and the organisation still active is checked again
    /// in the transaction that settles each verification's claim.
    keys: Mutex<HashMap<uuid::Uuid, KnownKey>>,
}

/// A key that authenticated once (see [`VerifierGate`]).
#[derive(Clone, Debug)]
struct KnownKey {
    key_mac: [u8; 32],
    verifier: Verifier,
}

/// Most keys the gate remembers (one per organisation in use); beyond it
/// the memory starts afresh.
const MAX_KNOWN_KEYS: usize = 10_000;

impl Default for VerifierGate {
    fn default() -> Self {
        Self::new(RateLimits::default())
    }
}

const UNKNOWN_KEY_LOG_LIMITS: RateLimits = RateLimits {
    burst: 20,
    per_second: 5,
};

impl VerifierGate {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: Mutex::new(HashMap::new()),
            unknown_key_log: Mutex::new(None),
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn known_key(&self, id: uuid::Uuid) -> Option<KnownKey> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.get(&id).cloned()
    }

    fn remember_key(&self, id: uuid::Uuid, key: KnownKey) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= MAX_KNOWN_KEYS {
            keys.clear();
        }
        keys.insert(id, key);
    }

    /// Forgets a key found revoked, or whose organisation was found
    /// suspended: its next use is checked against the store first.
    fn forget_key(&self, id: uuid::Uuid) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.remove(&id);
    }

    fn take(&self, key: uuid::Uuid, now: Timestamp) -> Result<(), u32> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 10_000 {
            // Keys idle long enough to be full again need no bucket.
            let full_after_ms =
                i64::from(self.limits.burst) * 1000 / i64::from(self.limits.per_second.max(1));
            buckets.retain(|_, b| now.unix_millis() - b.at.unix_millis() < full_after_ms);
        }
        let limits = self.limits;
        buckets
            .entry(key)
            .or_insert(Bucket {
                tokens: f64::from(limits.burst),
                at: now,
            })
            .take(limits, now)
    }

    fn may_log_unknown_key(&self, now: Timestamp) -> bool {
        let mut bucket = self
            .unknown_key_log
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        bucket
            .get_or_insert(Bucket {
                tokens: f64::from(UNKNOWN_KEY_LOG_LIMITS.burst),
                at: now,
            })
            .take(UNKNOWN_KEY_LOG_LIMITS, now)
            .is_ok()
    }
}

// ---------------------------------------------------------------------------
// Online verification

/// A code that verified, as the organisation is answered. A repeated scan
/// by the same organisation while the code lives gets the same answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub verifier: uuid::Uuid,
    pub purpose: eid::Purpose,
    pub category: eid::VerifierCategory,
    pub disclosed: eid::Disclosed,
    /// `SS1` (issuer) or `SS2` (holder-bound).
    pub mode: eid::PresentationMode,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// Hex of the code's `cti`, as the resident's access log names it.
    pub id: String,
    /// When this organisation first accepted the code.
    pub verified_at: Timestamp,
    /// The card's place in the status list (names the card to `portrait`).
    pub status_index: u32,
}

/// Why a verification was refused. Each names nothing about the code's holder.
#[derive(Debug, thiserror::Error)]
pub enum VerificationRefused {
    #[error("no live verifier API key")]
    Unauthenticated,
    #[error("too many requests with this key; retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u32 },
    #[error("the verifier organisation is suspended")]
    Suspended,
    #[error("the organisation may not verify {purpose} codes for {category}")]
    PurposeNotAllowed {
        purpose: &'static str,
        category: &'static str,
    },
    #[error("another verifier already accepted this code")]
    AlreadyUsed,
    #[error("the code did not verify: {0}")]
    Invalid(&'static str),
    #[error("online verification is not available: {0}")]
    NotReady(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl VerificationRefused {
    /// The stable reason code of security events.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unknown_key",
            Self::RateLimited { .. } => "rate_limited",
            Self::Suspended => "verifier_suspended",
            Self::PurposeNotAllowed { .. } => "purpose_not_allowed",
            Self::AlreadyUsed => "already_used",
            Self::Invalid(code) => code,
            Self::NotReady(_) => "not_ready",
            Self::Internal(_) => "internal",
        }
    }
}

fn internal(e: impl std::fmt::Display) -> VerificationRefused {
    VerificationRefused::Internal(e.to_string())
}

impl From<StoreError> for VerificationRefused {
    fn from(e: StoreError) -> Self {
        internal(e)
    }
}

impl From<crate::eid::EidError> for VerificationRefused {
    fn from(e: crate::eid::EidError) -> Self {
        match e {
            crate::eid::EidError::NotReady(why) => Self::NotReady(why),
            other => internal(other),
        }
    }
}

/// The policy of the online service: the format's defaults (30 s of clock
/// skew; the status list is the issuer's own, at most a minute old).
fn policy() -> eid::VerifyPolicy {
    eid::VerifyPolicy::default()
}

/// Records a refusal in the security log: the organisation (when the key
/// named one) and the reason, nothing else.
pub(crate) async fn refused(
    services: &Services,
    verifier: Option<uuid::Uuid>,
    refusal: VerificationRefused,
) -> VerificationRefused {
    let result = services
        .security_log
        .record(
            Actor::Anonymous,
            SecurityEventKind::VerificationRefused {
                verifier,
                reason: refusal.reason().to_owned(),
            },
        )
        .await;
    match result {
        Ok(_) => refusal,
        Err(e) => internal(e),
    }
}

/// A key that names no live key: logged, unless such refusals are flooding in.
async fn unknown_key(
    services: &Services,
    gate: &VerifierGate,
    now: Timestamp,
    why: &'static str,
) -> VerificationRefused {
    if gate.may_log_unknown_key(now) {
        refused(services, None, VerificationRefused::Unauthenticated).await
    } else {
        tracing::warn!(
            why,
            "verifier API key refused (security log entries throttled)"
        );
        VerificationRefused::Unauthenticated
    }
}

/// Authenticates the organisation's API key (the `Authorization: Bearer`
/// value): the key's row by the id it carries, its MAC compared in constant
/// time, live, the organisation active, and the key's rate limit. Reads the
/// store every time (for the portrait link, which is no hot path);
/// verifications use [`authenticate_remembered`].
pub(crate) async fn authenticate(
    services: &Services,
    secrets: &PlatformSecrets,
    gate: &VerifierGate,
    api_key: Option<&str>,
) -> Result<Verifier, VerificationRefused> {
    let (key_id, computed) = presented_key(services, secrets, gate, api_key).await?;
    let known = authenticate_stored(services, gate, key_id, &computed, Charge::Yes).await?;
    Ok(known.verifier)
}

/// The presented key's id and its MAC (to compare with the stored one), or
/// the refusal of a key that is not one.
async fn presented_key(
    services: &Services,
    secrets: &PlatformSecrets,
    gate: &VerifierGate,
    api_key: Option<&str>,
) -> Result<(uuid::Uuid, [u8; 32]), VerificationRefused> {
    match api_key.and_then(parse_key) {
        Some((key_id, secret)) => Ok((key_id, key_mac(secrets, key_id, secret))),
        None => Err(unknown_key(services, gate, services.clock.now(), "malformed").await),
    }
}

/// An organisation authenticated for a verification.
struct Authenticated {
    verifier: Verifier,
    key_id: uuid::Uuid,
    key_mac: [u8; 32],
    /// From the gate's memory: not yet checked against the store.
    remembered: bool,
}

/// Like [`authenticate`], but a key that authenticated before is checked
/// against the gate's memory of it (its MAC, in constant time) instead of
/// the store. Whether it is still live and its organisation still active is
/// checked again where it counts: in the transaction that settles the
/// verification's claim ([`shengshi_store::AccessLogStore::commit_access_batch`]),
/// or, for a verification refused before that, by [`recheck`].
async fn authenticate_remembered(
    services: &Services,
    secrets: &PlatformSecrets,
    gate: &VerifierGate,
    api_key: Option<&str>,
) -> Result<Authenticated, VerificationRefused> {
    let now = services.clock.now();
    let (key_id, key_mac) = presented_key(services, secrets, gate, api_key).await?;
    let (known, remembered) = match gate.known_key(key_id) {
        Some(known) => {
            if !bool::from(known.key_mac.as_slice().ct_eq(key_mac.as_slice())) {
                return Err(unknown_key(services, gate, now, "wrong secret").await);
            }
            rate_limit(gate, key_id, known.verifier.id, now)?;
            (known, true)
        }
        None => (
            authenticate_stored(services, gate, key_id, &key_mac, Charge::Yes).await?,
            false,
        ),
    };
    Ok(Authenticated {
        verifier: known.verifier,
        key_id,
        key_mac,
        remembered,
    })
}

/// Before refusing a verification for something other than its key: a key
/// the gate remembered is checked against the store first, so that a
/// rotated-out key or a suspended organisation is told so, as without the
/// memory.
async fn recheck(
    services: &Services,
    gate: &VerifierGate,
    who: &Authenticated,
) -> Result<(), VerificationRefused> {
    if who.remembered {
        if let Err(key_refusal) =
            authenticate_stored(services, gate, who.key_id, &who.key_mac, Charge::No).await
        {
            gate.forget_key(who.key_id);
            return Err(key_refusal);
        }
    }
    Ok(())
}

/// Whether a check of the key takes a token from its rate limit (a recheck
/// within a request already took one).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Charge {
    Yes,
    No,
}

/// The key's row and its organisation, read from the store and checked;
/// remembered by the gate when they pass. The rate limit is taken before the
/// organisation is read, so a suspended organisation's flood is answered
/// 429 without a read or a security event each.
async fn authenticate_stored(
    services: &Services,
    gate: &VerifierGate,
    key_id: uuid::Uuid,
    computed: &[u8; 32],
    charge: Charge,
) -> Result<KnownKey, VerificationRefused> {
    let now = services.clock.now();
    let Some(stored) = services.store.verifier_key(key_id).await? else {
        return Err(unknown_key(services, gate, now, "no such key").await);
    };
    if !bool::from(stored.key_mac.as_slice().ct_eq(computed.as_slice())) {
        return Err(unknown_key(services, gate, now, "wrong secret").await);
    }
    if stored.revoked_at.is_some() {
        return Err(revoked_key(services, stored.verifier).await);
    }
    if charge == Charge::Yes {
        rate_limit(gate, key_id, stored.verifier, now)?;
    }
    let verifier = services
        .store
        .verifier(stored.verifier)
        .await?
        .ok_or_else(|| internal(format!("key {key_id} names no verifier")))?;
    let verifier = Verifier::from_stored(verifier)?;
    if !verifier.active {
        return Err(refused(services, Some(verifier.id), VerificationRefused::Suspended).await);
    }
    let known = KnownKey {
        key_mac: *computed,
        verifier,
    };
    gate.remember_key(key_id, known.clone());
    Ok(known)
}

/// A rotated-out key: its holder is the organisation (or whoever kept its
/// old key), worth the organisation's id in the log.
async fn revoked_key(services: &Services, verifier: uuid::Uuid) -> VerificationRefused {
    let event = SecurityEventKind::VerificationRefused {
        verifier: Some(verifier),
        reason: "revoked_key".to_owned(),
    };
    match services.security_log.record(Actor::Anonymous, event).await {
        Ok(_) => VerificationRefused::Unauthenticated,
        Err(e) => internal(e),
    }
}

fn rate_limit(
    gate: &VerifierGate,
    key_id: uuid::Uuid,
    verifier: uuid::Uuid,
    now: Timestamp,
) -> Result<(), VerificationRefused> {
    gate.take(key_id, now).map_err(|retry_after_seconds| {
        // Not a security event each time: a busy desk is not an attack, and
        // a flood would flood the log.
        tracing::warn!(%verifier, "verifier rate limit reached");
        VerificationRefused::RateLimited {
            retry_after_seconds,
        }
    })
}

/// Verifies a presentation code for the organisation whose API key this is.
pub async fn verify(
    services: &Services,
    issuer: &Issuer,
    secrets: &PlatformSecrets,
    gate: &VerifierGate,
    api_key: Option<&str>,
    code: &str,
) -> Result<Verification, VerificationRefused> {
    let who = authenticate_remembered(services, secrets, gate, api_key).await?;
    let verifier = &who.verifier;
    let org = Some(verifier.id);
    let now = services.clock.now();
    let lists = async {
        let trust = issuer.trust_list(now)?;
        let status = crate::eid::status_list_token(services, issuer).await?;
        Ok::<_, crate::eid::EidError>((trust, status))
    };
    let (trust, status) = match lists.await {
        Ok(lists) => lists,
        Err(e) => {
            recheck(services, gate, &who).await?;
            return Err(e.into());
        }
    };
    let verified = match eid::verify_presentation(
        code,
        &trust,
        Some(&*status),
        unix_seconds(now),
        &policy(),
    ) {
        Ok(verified) => verified,
        Err(e) => {
            recheck(services, gate, &who).await?;
            let refusal = VerificationRefused::Invalid(e.code());
            return Err(refused(services, org, refusal).await);
        }
    };
    let id = hex::encode(verified.cti);
    // Checked before claiming: an organisation may not spend a code it may
    // not read. A code another organisation accepted is refused as spent
    // first (a replay is what the refusal should name).
    if !verifier.allows(verified.purpose, verified.category) {
        recheck(services, gate, &who).await?;
        let spent = services.store.verification(&id).await?;
        let refusal = match spent {
            Some(held) if held.verifier != verifier.id => VerificationRefused::AlreadyUsed,
            _ => VerificationRefused::PurposeNotAllowed {
                purpose: verified.purpose.name(),
                category: verified.category.name(),
            },
        };
        return Err(refused(services, org, refusal).await);
    }
    let expires_at = from_unix_seconds(verified.expires_at).map_err(internal)?;
    let issued_at = from_unix_seconds(verified.issued_at).map_err(internal)?;
    // Every answer, a repeated scan too, is an access the resident reads.
    let disclosed = verified.disclosed.field_names();
    let fields = purpose_fields(verified.purpose)
        .iter()
        .filter(|f| disclosed.contains(f))
        .map(|f| (*f).to_owned())
        .collect();
    // One transaction settles the claim — the key still live, the
    // organisation still active, the card (the status list may be a minute
    // old, the card's row is not) active, and the code not another
    // organisation's — and logs the access if it holds. Nothing is
    // decrypted here (the code carries what it discloses), so no key is
    // loaded.
    let access = ClaimedAccess {
        claim: VerificationClaim {
            cti: id.clone(),
            verifier: verifier.id,
            key: who.key_id,
            status_index: verified.status.index,
            verified_at: now,
            expires_at,
        },
        at: now,
        accessor: Accessor::Verifier {
            organisation: verifier.id,
            name: verifier.name.clone(),
        },
        purpose: AccessPurpose::EidVerification,
        reference: Some(format!("eid-verification:{id}")),
        fields,
    };
    let holder = match door::record_claimed(services, access)
        .await
        .map_err(internal)?
    {
        ClaimedOutcome::Logged { holder, .. } => holder,
        ClaimedOutcome::NotLogged(outcome) => {
            let refusal = match outcome {
                ClaimOutcome::KeyNotLive => {
                    gate.forget_key(who.key_id);
                    return Err(revoked_key(services, verifier.id).await);
                }
                ClaimOutcome::VerifierSuspended => {
                    gate.forget_key(who.key_id);
                    VerificationRefused::Suspended
                }
                ClaimOutcome::NoCard => VerificationRefused::Invalid("status_unknown"),
                ClaimOutcome::CardNotActive(CardStatus::Suspended) => {
                    VerificationRefused::Invalid("suspended")
                }
                ClaimOutcome::CardNotActive(_) => VerificationRefused::Invalid("revoked"),
                ClaimOutcome::Held { .. } => VerificationRefused::AlreadyUsed,
            };
            return Err(refused(services, org, refusal).await);
        }
    };
    Ok(Verification {
        verifier: verifier.id,
        purpose: verified.purpose,
        category: verified.category,
        disclosed: verified.disclosed,
        mode: verified.mode,
        issued_at,
        expires_at,
        id,
        verified_at: holder.verified_at,
        status_index: verified.status.index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_has_a_recognisable_prefix_and_parses_back() {
        let secrets = PlatformSecrets::for_tests(&[1; 32]);
        let now = Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
        let verifier = uuid::Uuid::now_v7();
        let (text, stored) = new_key(&secrets, verifier, now);
        let text = secrecy::ExposeSecret::expose_secret(&text).to_owned();
        assert!(text.starts_with("svk_"), "{text}");
        assert_eq!(text.len(), 4 + 32 + 1 + 43);
        let (id, secret) = parse_key(&text).unwrap();
        assert_eq!(id, stored.id);
        assert_eq!(key_mac(&secrets, id, secret).to_vec(), stored.key_mac);
        // Another platform secret gives another MAC.
        let other = PlatformSecrets::for_tests(&[2; 32]);
        assert_ne!(key_mac(&other, id, secret).to_vec(), stored.key_mac);
        for bad in [
            "",
            "svk_",
            &text[..text.len() - 1],
            text.replacen("svk_", "sk_", 1).as_str(),
            format!("{text}x").as_str(),
            text.replace('_', "-").as_str(),
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_bucket_refills_at_its_rate_and_says_when_to_retry() {
        let limits = RateLimits {
            burst: 3,
            per_second: 2,
        };
        let t0 = Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
        let mut bucket = Bucket {
            tokens: 3.0,
            at: t0,
        };
        for _ in 0..3 {
            assert_eq!(bucket.take(limits, t0), Ok(()));
        }
        assert_eq!(bucket.take(limits, t0), Err(1));
        let half = Timestamp::from_unix_millis(1_800_000_000_500).unwrap();
        assert_eq!(bucket.take(limits, half), Ok(()));
        assert!(bucket.take(limits, half).is_err());
        // Never above the burst, however long it waited.
        let later = Timestamp::from_unix_millis(1_800_001_000_000).unwrap();
        for _ in 0..3 {
            assert_eq!(bucket.take(limits, later), Ok(()));
        }
        assert!(bucket.take(limits, later).is_err());
    }

    #[test]
    fn purposes_must_suit_the_category() {
        let new = NewVerifier {
            name: "西湖大酒店".into(),
            category: eid::VerifierCategory::Hotel,
            purposes: vec![eid::Purpose::HotelCheckin, eid::Purpose::IdentityFull],
        };
        assert!(matches!(
            check_new(&new),
            Err(VerifierAdminError::PurposeNotForCategory {
                purpose: "identity_full",
                category: "hotel"
            })
        ));
        let ok = NewVerifier {
            purposes: vec![eid::Purpose::HotelCheckin, eid::Purpose::AgeOver18],
            ..new.clone()
        };
        assert_eq!(check_new(&ok).unwrap(), "西湖大酒店");
        for name in ["", "  ", "a\nb"] {
            let bad = NewVerifier {
                name: name.into(),
                ..ok.clone()
            };
            assert!(matches!(check_new(&bad), Err(VerifierAdminError::BadName)));
        }
        let none = NewVerifier {
            purposes: vec![],
            ..ok
        };
        assert!(matches!(
            check_new(&none),
            Err(VerifierAdminError::NoPurposes)
        ));
    }
}
