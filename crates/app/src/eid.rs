//! The electronic resident ID card, issuer side.
//!
//! - **Issuer keys** are created here, wrapped by the key-encryption key, and
//!   opened only in memory ([`Issuer`]). A key signs only once it appears in a
//!   trust list that the offline trust root signed and an operator published:
//!   verifiers never meet a code signed by a key they cannot know.
//! - **Cards**: an L2+ resident activates a card; its attributes come from the
//!   population registry and are sealed with the resident's data key, so they
//!   open only through the door. Each card has a random place in the status list.
//! - **Presentations**: every code minted opens the card's attributes through
//!   the door, so the resident's access view lists it (purpose, verifier
//!   category, the fields it discloses, its id).
//! - **Status**: suspension (phone lost) and revocation (replaced, deceased,
//!   account closed, evicted) are published in a signed Token Status List.
//!
//! The formats themselves are in the `shengshi-eid` crate and docs/eid-format.md.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::security::{Actor, SecurityEventKind};
use shengshi_domain::{
    AccountId, AssuranceLevel, CardId, CivilDate, PersonName, ResidentIdNumber, Sex, Timestamp,
};
use shengshi_eid as eid;
use shengshi_store::{
    CardStatus, CardStatusReason, StoreError, StoredAccount, StoredCard, StoredIssuerKey,
    StoredTrustList,
};
use time::Duration;
use zeroize::Zeroizing;

use crate::door::{self, AccessRequest};
use crate::registration::{Profile, PROFILE_CONTEXT};
use crate::registry::{PopulationRegistry, RegistryAnswer, RegistryQuery};
use crate::secrets::PlatformSecrets;
use crate::Services;

/// A presentation code lives at most this long (the format's own limit).
pub const PRESENTATION_LIFETIME_SECONDS: u32 = 60;
/// Places in the status list. Indices are drawn at random from all of them,
/// so a card's index says nothing about when it was issued (herd privacy).
pub const STATUS_LIST_CAPACITY: u32 = 1 << 20;
/// How long a new issuer key signs before a rollover is due.
pub const KEY_SIGNING_PERIOD: Duration = Duration::days(365);
/// The longest credential any issuer key signs (holder credentials, 7 days):
/// a retired key stays in trust lists this long after it stops signing.
pub const MAX_CREDENTIAL_LIFETIME: Duration = Duration::days(7);
/// A published status list token expires after this; verifiers refuse older ones.
pub const STATUS_LIST_VALIDITY: Duration = Duration::hours(24);
/// Verifiers should fetch the status list again after this many seconds.
pub const STATUS_LIST_TTL_SECONDS: u32 = 300;
/// The signed status list is rebuilt at least this often, and at once after a
/// status change made by this process.
const STATUS_LIST_REBUILD: Duration = Duration::seconds(60);
/// A resident's codes: at most this many per minute (the card page needs two).
const PRESENTATIONS_PER_MINUTE: usize = 12;

const ATTRIBUTES_CONTEXT: &[u8] = b"eid.card.attributes.v1";
/// The fields a card holds (what activation reads from the registry).
pub(crate) const CARD_FIELDS: [&str; 6] = [
    "name",
    "id_number",
    "sex",
    "birth_date",
    "address",
    "portrait",
];

fn key_context(kid: &str) -> Vec<u8> {
    format!("shengshi eid issuer key v1|{kid}").into_bytes()
}

pub(crate) fn unix_seconds(t: Timestamp) -> i64 {
    t.unix_millis().div_euclid(1000)
}

pub(crate) fn from_unix_seconds(s: i64) -> Result<Timestamp, EidError> {
    s.checked_mul(1000)
        .and_then(Timestamp::from_unix_millis)
        .ok_or_else(|| EidError::TrustList(format!("time {s} is out of range")))
}

/// How this platform issues: configured once at start-up.
#[derive(Clone, Debug)]
pub struct EidSettings {
    /// The `iss` claim of every code, e.g. `https://shengshi.example.gov.cn`.
    pub issuer: String,
    /// Where verifiers fetch the status list (`…/eid/status/1`).
    pub status_uri: String,
    /// The algorithm of new issuer keys.
    pub algorithm: eid::Algorithm,
    /// The offline trust root's public key; without it no trust list can be
    /// published, and so nothing is signed.
    pub trust_root: Option<eid::PublicKey>,
    /// True when the trust root is the development stand-in whose seed the
    /// database holds (demo and development only; never in production).
    pub development_root: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EidError {
    #[error("the electronic ID card is not available yet: {0}")]
    NotReady(String),
    #[error("an electronic ID card needs a real-name (L2) account")]
    NotEligible,
    #[error("the population registry does not confirm this person ({0})")]
    RegistryRefused(&'static str),
    #[error("the population registry could not be asked: {0}")]
    RegistryUnavailable(String),
    #[error("no electronic ID card has been activated")]
    NoCard,
    #[error("the electronic ID card is suspended (reported lost)")]
    CardSuspended,
    #[error("the card is not suspended")]
    NotSuspended,
    #[error("a {category} verifier may not ask for {purpose}")]
    PurposeNotAllowed {
        purpose: &'static str,
        category: &'static str,
    },
    #[error("too many codes in a minute; wait a little")]
    TooManyPresentations,
    #[error("the trust list was refused: {0}")]
    TrustList(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl EidError {
    /// A stable code for API problems.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotReady(_) => "eid_not_ready",
            Self::NotEligible => "eid_not_eligible",
            Self::RegistryRefused(_) => "eid_registry_refused",
            Self::RegistryUnavailable(_) => "registry_unavailable",
            Self::NoCard => "eid_no_card",
            Self::CardSuspended => "eid_card_suspended",
            Self::NotSuspended => "eid_not_suspended",
            Self::PurposeNotAllowed { .. } => "eid_purpose_not_allowed",
            Self::TooManyPresentations => "eid_too_many_presentations",
            Self::TrustList(_) => "eid_trust_list_refused",
            Self::Internal(_) => "internal",
        }
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> EidError {
    EidError::Internal(e.to_string())
}

impl From<StoreError> for EidError {
    fn from(e: StoreError) -> Self {
        internal(e)
    }
}

// ---------------------------------------------------------------------------
// The issuer: keys in memory, the published trust list, the status list

struct LoadedKey {
    stored: StoredIssuerKey,
    signer: Arc<eid::SoftwareKey>,
}

struct Published {
    stored: StoredTrustList,
    list: Arc<eid::TrustList>,
}

#[derive(Default)]
struct State {
    keys: Vec<LoadedKey>,
    trust_list: Option<Published>,
}

/// The signed status list and the very token it signs, built together, so
/// that the online verification service checks codes against exactly what
/// verifiers download.
struct CachedStatus {
    built_at: Timestamp,
    token: Arc<Vec<u8>>,
    parsed: Arc<eid::StatusListToken>,
}

/// The issuer's keys and published lists, held in memory.
pub struct Issuer {
    pub(crate) settings: EidSettings,
    state: RwLock<State>,
    status: Mutex<Option<CachedStatus>>,
    recent_codes: Mutex<HashMap<AccountId, VecDeque<Timestamp>>>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

/// The algorithm's name as the configuration, the CLI and the store spell it.
pub fn algorithm_name(alg: eid::Algorithm) -> &'static str {
    match alg {
        eid::Algorithm::Ed25519 => "ed25519",
        eid::Algorithm::EcdsaP256 => "p256",
        eid::Algorithm::Sm2 => "sm2",
    }
}

/// Parses an algorithm name as the configuration and the CLI spell it.
pub fn parse_algorithm(name: &str) -> Option<eid::Algorithm> {
    match name {
        "ed25519" => Some(eid::Algorithm::Ed25519),
        "p256" | "es256" => Some(eid::Algorithm::EcdsaP256),
        "sm2" => Some(eid::Algorithm::Sm2),
        _ => None,
    }
}

impl Issuer {
    /// Loads every issuer key (unwrapping it with the key-encryption key) and
    /// the latest published trust list.
    pub async fn load(services: &Services, settings: EidSettings) -> Result<Self, EidError> {
        let issuer = Self {
            settings,
            state: RwLock::new(State::default()),
            status: Mutex::new(None),
            recent_codes: Mutex::new(HashMap::new()),
        };
        issuer.reload(services).await?;
        Ok(issuer)
    }

    pub fn settings(&self) -> &EidSettings {
        &self.settings
    }

    /// Reads keys and the trust list again (after a CLI changed them).
    pub async fn reload(&self, services: &Services) -> Result<(), EidError> {
        let mut keys = Vec::new();
        for stored in services.store.issuer_keys().await? {
            let signer = unwrap_key(services, &stored).await?;
            keys.push(LoadedKey {
                stored,
                signer: Arc::new(signer),
            });
        }
        // A list that no longer opens (expired, or signed by a root that is
        // no longer configured) is as good as none: nothing signs until a
        // list the configured root signed is published.
        let trust_list = match services.store.latest_trust_list().await? {
            Some(stored) => match self.open_trust_list(&stored.signed, services.clock.now()) {
                Ok(list) => Some(Published {
                    stored,
                    list: Arc::new(list),
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "the published e-ID trust list does not open");
                    None
                }
            },
            None => None,
        };
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = State { keys, trust_list };
        self.invalidate_status();
        Ok(())
    }

    fn open_trust_list(&self, signed: &[u8], now: Timestamp) -> Result<eid::TrustList, EidError> {
        let root = self.settings.trust_root.as_ref().ok_or_else(|| {
            EidError::NotReady("no trust root is configured ([eid] trust_root)".into())
        })?;
        eid::open_signed_trust_list(signed, root, unix_seconds(now))
            .map_err(|e| EidError::TrustList(e.to_string()))
    }

    /// The signed trust list as published (COSE_Sign1 bytes), if any.
    pub fn signed_trust_list(&self) -> Option<Vec<u8>> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state.trust_list.as_ref().map(|p| p.stored.signed.clone())
    }

    /// The published trust list as a JWK Set, if any.
    pub fn jwks(&self) -> Option<String> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state.trust_list.as_ref().map(|p| p.list.to_jwks_json())
    }

    /// The published trust list, parsed, for verifying codes online: the same
    /// list verifiers download, refused once it names another issuer or has
    /// expired (as [`Issuer::current_signer`] refuses to sign then).
    pub fn trust_list(&self, now: Timestamp) -> Result<Arc<eid::TrustList>, EidError> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let published = state
            .trust_list
            .as_ref()
            .ok_or_else(|| EidError::NotReady("no trust list has been published".into()))?;
        if published.list.issuer != self.settings.issuer
            || published.list.expires_at <= unix_seconds(now)
        {
            return Err(EidError::NotReady(
                "the published trust list has expired or names another issuer".into(),
            ));
        }
        Ok(published.list.clone())
    }

    /// The key that signs now: the newest key within its signing period that
    /// the published, unexpired trust list names with the same public key.
    pub(crate) fn current_signer(&self, now: Timestamp) -> Result<Arc<eid::SoftwareKey>, EidError> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let published = state
            .trust_list
            .as_ref()
            .ok_or_else(|| EidError::NotReady("no trust list has been published".into()))?;
        let now_s = unix_seconds(now);
        if published.list.issuer != self.settings.issuer {
            return Err(EidError::NotReady(
                "the published trust list names another issuer".into(),
            ));
        }
        if published.list.expires_at <= now_s {
            return Err(EidError::NotReady(
                "the published trust list has expired".into(),
            ));
        }
        state
            .keys
            .iter()
            .filter(|k| k.stored.not_before <= now && now < k.stored.sign_until)
            .filter(|k| {
                let public = k.signer.public_key();
                published.list.find(&public.key_id()).is_some_and(|t| {
                    t.public_key == public && t.not_before <= now_s && now_s <= t.not_after
                })
            })
            .max_by_key(|k| k.stored.not_before)
            .map(|k| k.signer.clone())
            .ok_or_else(|| {
                EidError::NotReady("no issuer key in the published trust list may sign now".into())
            })
    }

    /// Reloads keys and the trust list if another process published a new
    /// trust list; returns whether it did.
    pub async fn refresh(&self, services: &Services) -> Result<bool, EidError> {
        let latest = services.store.latest_trust_list().await?;
        let current = self.signed_trust_list();
        if latest.as_ref().map(|l| &l.signed) == current.as_ref() {
            return Ok(false);
        }
        self.reload(services).await?;
        Ok(true)
    }

    /// The key id (hex) of the key that signs now.
    pub fn signing_key(&self, now: Timestamp) -> Result<String, EidError> {
        Ok(hex::encode(
            self.current_signer(now)?.public_key().key_id().0,
        ))
    }

    /// Whether a key may sign now; the error says what is missing.
    pub fn ready(&self, now: Timestamp) -> Result<(), EidError> {
        self.current_signer(now).map(|_| ())
    }

    pub(crate) fn invalidate_status(&self) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Counts a code against the resident's per-minute allowance.
    pub(crate) fn allow_code(&self, account: AccountId, now: Timestamp) -> bool {
        let mut recent = self.recent_codes.lock().unwrap_or_else(|p| p.into_inner());
        let window_start = now.plus(Duration::minutes(-1));
        let times = recent.entry(account).or_default();
        while times.front().is_some_and(|t| *t <= window_start) {
            times.pop_front();
        }
        if times.len() >= PRESENTATIONS_PER_MINUTE {
            return false;
        }
        times.push_back(now);
        // Forget residents who have not asked for a minute, so the map stays small.
        if recent.len() > 10_000 {
            recent.retain(|_, t| t.back().is_some_and(|last| *last > window_start));
        }
        true
    }
}

async fn unwrap_key(
    services: &Services,
    stored: &StoredIssuerKey,
) -> Result<eid::SoftwareKey, EidError> {
    // The primary KEK, or a previous one while a rotation is under way.
    let Some(kek) = services.kek.key_with_id(&stored.kek_id) else {
        return Err(EidError::Internal(format!(
            "issuer key {} is wrapped by key-encryption key {}, which is not configured; configure it among previous_kek_files (or previous_kms_keys) until `shengshi keys rotate` has re-wrapped every key",
            stored.kid, stored.kek_id
        )));
    };
    let algorithm = parse_algorithm(&stored.algorithm)
        .ok_or_else(|| internal(format!("issuer key algorithm {:?}", stored.algorithm)))?;
    let secret = kek
        .unwrap(&stored.wrapped_secret, &key_context(&stored.kid))
        .await
        .map_err(|e| internal(format!("issuer key {} did not unwrap: {e}", stored.kid)))?;
    let key = eid::SoftwareKey::from_secret_bytes(algorithm, &secret).map_err(internal)?;
    if key.public_key().as_bytes() != stored.public_key.as_slice() {
        return Err(internal(format!(
            "issuer key {} does not match its public key",
            stored.kid
        )));
    }
    Ok(key)
}

/// Re-wraps every issuer key still under `old` with `new` (part of
/// `keys::rotate_kek`); resumable like the rest of the rotation.
pub(crate) async fn rewrap_issuer_keys<S: shengshi_store::EidStore + ?Sized>(
    store: &S,
    old: &dyn shengshi_envelope::KeyEncryptionKey,
    new: &dyn shengshi_envelope::KeyEncryptionKey,
) -> Result<u64, EidError> {
    let mut rewrapped = 0;
    for stored in store.issuer_keys().await? {
        if stored.kek_id == new.id() {
            continue;
        }
        let context = key_context(&stored.kid);
        let secret = old
            .key_with_id(&stored.kek_id)
            .ok_or_else(|| {
                internal(format!(
                    "issuer key {} is wrapped by key-encryption key {}, which is not configured",
                    stored.kid, stored.kek_id
                ))
            })?
            .unwrap(&stored.wrapped_secret, &context)
            .await
            .map_err(|e| internal(format!("issuer key {} did not unwrap: {e}", stored.kid)))?;
        let wrapped = new.wrap(&secret, &context).await.map_err(internal)?;
        if store
            .rewrap_issuer_key(&stored.kid, new.id(), &wrapped)
            .await?
        {
            rewrapped += 1;
        }
    }
    Ok(rewrapped)
}

/// Creates an issuer key that may sign from `not_before` for
/// [`KEY_SIGNING_PERIOD`]. It signs nothing until a trust list naming it is
/// published.
pub async fn create_key(
    services: &Services,
    issuer: &Issuer,
    algorithm: eid::Algorithm,
    not_before: Timestamp,
) -> Result<StoredIssuerKey, EidError> {
    let key = loop {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(seed.as_mut());
        // A seed outside the curve's range is rare; draw again.
        if let Ok(key) = eid::SoftwareKey::from_seed(algorithm, &seed) {
            break key;
        }
    };
    let public = key.public_key();
    let kid = hex::encode(public.key_id().0);
    let wrapped_secret = services
        .kek
        .wrap(&key.secret_bytes(), &key_context(&kid))
        .await
        .map_err(internal)?;
    let stored = StoredIssuerKey {
        kid: kid.clone(),
        algorithm: algorithm_name(algorithm).to_owned(),
        public_key: public.as_bytes().to_vec(),
        wrapped_secret,
        kek_id: services.kek.id().to_owned(),
        not_before,
        sign_until: not_before.plus(KEY_SIGNING_PERIOD),
        created_at: services.clock.now(),
    };
    services.store.insert_issuer_key(&stored).await?;
    services
        .security_log
        .record(
            Actor::Operator,
            SecurityEventKind::EidIssuerKeyCreated {
                kid,
                algorithm: stored.algorithm.clone(),
                not_before,
            },
        )
        .await
        .map_err(internal)?;
    issuer.reload(services).await?;
    Ok(stored)
}

/// Rollover: a new key that signs from `now + overlap`; every older key stops
/// signing then, and stays in trust lists until its last credential expires.
/// Publish a trust list naming the new key before `overlap` runs out.
pub async fn rollover(
    services: &Services,
    issuer: &Issuer,
    algorithm: eid::Algorithm,
    overlap: Duration,
) -> Result<StoredIssuerKey, EidError> {
    let starts = services.clock.now().plus(overlap);
    let older = services.store.issuer_keys().await?;
    let new = create_key(services, issuer, algorithm, starts).await?;
    for key in older {
        services
            .store
            .end_issuer_key_signing(&key.kid, starts)
            .await?;
    }
    issuer.reload(services).await?;
    Ok(new)
}

/// The trust list to take to the offline root: every key whose credentials
/// may still be valid, each with the period in which it signs.
pub async fn trust_list_to_sign(
    services: &Services,
    issuer: &Issuer,
    validity: Duration,
) -> Result<eid::TrustList, EidError> {
    let now = services.clock.now();
    let mut keys = Vec::new();
    // Printable documents live up to five years: their keys stay listed until
    // the last live one expires.
    let document_keys = services.store.live_document_keys(now).await?;
    for stored in services.store.issuer_keys().await? {
        let signs_documents = document_keys.iter().any(|(kid, _)| *kid == stored.kid);
        if stored.sign_until.plus(MAX_CREDENTIAL_LIFETIME) <= now && !signs_documents {
            continue; // retired long enough: nothing it signed is still valid
        }
        let algorithm = parse_algorithm(&stored.algorithm)
            .ok_or_else(|| internal(format!("issuer key algorithm {:?}", stored.algorithm)))?;
        keys.push(eid::TrustedKey {
            public_key: eid::PublicKey::from_bytes(algorithm, &stored.public_key)
                .map_err(internal)?,
            not_before: unix_seconds(stored.not_before),
            not_after: unix_seconds(stored.sign_until),
        });
    }
    if keys.is_empty() {
        return Err(EidError::NotReady(
            "there is no issuer key; create one with `shengshi eid keys create`".into(),
        ));
    }
    Ok(eid::TrustList {
        issuer: issuer.settings.issuer.clone(),
        issued_at: unix_seconds(now),
        expires_at: unix_seconds(now.plus(validity)),
        keys,
    })
}

/// Publishes a trust list the offline root signed. It must verify under the
/// configured root, be unexpired, and name only keys this platform holds
/// (with the same public key and signing period): the server publishes
/// exactly what was signed, and nothing it could not stand behind.
pub async fn publish_trust_list(
    services: &Services,
    issuer: &Issuer,
    signed: &[u8],
) -> Result<eid::TrustList, EidError> {
    let now = services.clock.now();
    let list = issuer.open_trust_list(signed, now)?;
    if list.issuer != issuer.settings.issuer {
        return Err(EidError::TrustList(format!(
            "it names issuer {:?}, but this platform is {:?}",
            list.issuer, issuer.settings.issuer
        )));
    }
    let ours = services.store.issuer_keys().await?;
    for trusted in &list.keys {
        let kid = hex::encode(trusted.public_key.key_id().0);
        let Some(stored) = ours.iter().find(|k| k.kid == kid) else {
            return Err(EidError::TrustList(format!(
                "key {kid} is not an issuer key of this platform"
            )));
        };
        if stored.public_key != trusted.public_key.as_bytes()
            || trusted.not_before < unix_seconds(stored.not_before)
            || trusted.not_after > unix_seconds(stored.sign_until)
        {
            return Err(EidError::TrustList(format!(
                "key {kid} differs from the platform's record of it"
            )));
        }
    }
    let stored = StoredTrustList {
        signed: signed.to_vec(),
        issued_at: from_unix_seconds(list.issued_at)?,
        expires_at: from_unix_seconds(list.expires_at)?,
        published_at: now,
    };
    services.store.insert_trust_list(&stored).await?;
    services
        .security_log
        .record(
            Actor::Operator,
            SecurityEventKind::EidTrustListPublished {
                keys: list
                    .keys
                    .iter()
                    .map(|k| hex::encode(k.public_key.key_id().0))
                    .collect(),
                expires_at: stored.expires_at,
            },
        )
        .await
        .map_err(internal)?;
    issuer.reload(services).await?;
    Ok(list)
}

// ---------------------------------------------------------------------------
// Cards

/// What a card holds, sealed with the holder's data key.
#[derive(Serialize, Deserialize)]
pub(crate) struct CardAttributes {
    name: String,
    id_number: String,
    sex: String,
    birth_date: String,
    address: String,
    /// Hex of the SHA-256 of the registry portrait, if there is one.
    #[serde(default)]
    portrait_sha256: Option<String>,
}

impl CardAttributes {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn id_number(&self) -> &str {
        &self.id_number
    }

    /// Whether `portrait` is the one the card's digest names.
    pub(crate) fn portrait_matches(&self, portrait: &[u8]) -> bool {
        use sha2::Digest;
        self.portrait_sha256.as_deref()
            == Some(hex::encode(sha2::Sha256::digest(portrait)).as_str())
    }

    /// Completed years of age on `today`.
    pub(crate) fn age(&self, today: CivilDate) -> Result<i32, EidError> {
        let birth = time::Date::parse(
            &self.birth_date,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(internal)?;
        Ok(age_on(birth, today.date()))
    }

    pub(crate) fn to_eid(&self, today: CivilDate) -> Result<eid::Attributes, EidError> {
        Ok(eid::Attributes {
            name: self.name.clone(),
            id_number: self.id_number.clone(),
            sex: match self.sex.as_str() {
                "male" => eid::Sex::Male,
                _ => eid::Sex::Female,
            },
            birth_date: self.birth_date.clone(),
            address: self.address.clone(),
            portrait_digest: self
                .portrait_sha256
                .as_deref()
                .and_then(|h| hex::decode(h).ok())
                .and_then(|d| <[u8; 32]>::try_from(d.as_slice()).ok()),
            age_over_18: self.age(today)? >= 18,
        })
    }
}

/// Completed years of age on `today`.
fn age_on(birth: time::Date, today: time::Date) -> i32 {
    let years = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        years - 1
    } else {
        years
    }
}

/// What the card page shows about a card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardSummary {
    pub id: CardId,
    pub status: CardStatus,
    pub reason: CardStatusReason,
    pub activated_at: Timestamp,
}

impl From<&StoredCard> for CardSummary {
    fn from(card: &StoredCard) -> Self {
        Self {
            id: card.id,
            status: card.status,
            reason: card.reason,
            activated_at: card.activated_at,
        }
    }
}

pub(crate) fn require_eligible(account: &StoredAccount) -> Result<(), EidError> {
    if account.status != "active" || account.assurance_level < AssuranceLevel::RealName as i64 {
        return Err(EidError::NotEligible);
    }
    Ok(())
}

/// The account's current card (not revoked), if any.
pub async fn card(
    services: &Services,
    account: AccountId,
) -> Result<Option<CardSummary>, EidError> {
    Ok(services
        .store
        .current_card(account)
        .await?
        .as_ref()
        .map(CardSummary::from))
}

/// Activates a card for an L2+ resident, replacing (revoking) any earlier
/// card. The attributes are read from the population registry now, through
/// the door, and sealed with the resident's data key.
pub async fn activate(
    services: &Services,
    issuer: &Issuer,
    registry: &dyn PopulationRegistry,
    account: &StoredAccount,
) -> Result<CardSummary, EidError> {
    require_eligible(account)?;
    let card_id = CardId::new();
    let reference = Some(format!("eid-card:{card_id}"));
    let opened = door::open(
        services,
        AccessRequest {
            subject: account.subject,
            accessor: Accessor::Subject,
            purpose: Purpose::EidActivation,
            reference: reference.clone(),
            fields: CARD_FIELDS.to_vec(),
        },
    )
    .await
    .map_err(internal)?;
    let sealed =
        shengshi_envelope::Sealed::from_bytes(account.sealed_profile.clone()).map_err(internal)?;
    let profile: Profile =
        serde_json::from_slice(&opened.open(&sealed, PROFILE_CONTEXT).map_err(internal)?)
            .map_err(internal)?;
    let today = services.clock.today();
    let id_number = ResidentIdNumber::parse(&profile.id_number, today).map_err(internal)?;
    let name = PersonName::parse(&profile.name).map_err(internal)?;
    let answer = registry
        .check(
            &id_number,
            &name,
            &RegistryQuery {
                accessor: Accessor::Platform,
                purpose: Purpose::EidActivation,
                reference,
            },
        )
        .await
        .map_err(|e| EidError::RegistryUnavailable(e.to_string()))?;
    let record = match answer {
        RegistryAnswer::Match(record) => record,
        RegistryAnswer::NameMismatch => return Err(EidError::RegistryRefused("name_mismatch")),
        RegistryAnswer::NotFound => return Err(EidError::RegistryRefused("not_found")),
        RegistryAnswer::Deceased => return Err(EidError::RegistryRefused("deceased")),
        RegistryAnswer::Emigrated => return Err(EidError::RegistryRefused("emigrated")),
    };
    let attributes = CardAttributes {
        name: record.name.as_str().to_owned(),
        id_number: record.id_number.as_str().to_owned(),
        sex: match record.sex {
            Sex::Male => "male",
            Sex::Female => "female",
        }
        .to_owned(),
        birth_date: record.birth_date.to_string(),
        address: record.address.clone(),
        portrait_sha256: record.photo.as_deref().map(|p| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(p))
        }),
    };
    let plain = Zeroizing::new(serde_json::to_vec(&attributes).map_err(internal)?);
    let sealed_attributes = opened
        .seal(&plain, &attributes_context(card_id))
        .into_bytes();
    let now = services.clock.now();
    // A drawn index may be taken; draw again (a handful of tries is plenty
    // while the list is far from full).
    let mut last_conflict = None;
    for _ in 0..8 {
        let card = StoredCard {
            id: card_id,
            account: account.id,
            subject: account.subject,
            status_index: rand::thread_rng().gen_range(0..STATUS_LIST_CAPACITY),
            status: CardStatus::Active,
            reason: CardStatusReason::Activated,
            sealed_attributes: sealed_attributes.clone(),
            activated_at: now,
            changed_at: now,
        };
        match services.store.activate_card(&card).await {
            Ok(()) => {
                // A replaced card was revoked: the next status list says so.
                issuer.invalidate_status();
                services
                    .security_log
                    .record(
                        Actor::Subject {
                            id: account.subject,
                        },
                        SecurityEventKind::EidCardActivated {
                            account: account.id,
                            card: card_id.as_uuid(),
                        },
                    )
                    .await
                    .map_err(internal)?;
                return Ok(CardSummary::from(&card));
            }
            Err(StoreError::Conflict(e)) => last_conflict = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(internal(format!(
        "no free status list index after 8 draws: {}",
        last_conflict.unwrap_or_default()
    )))
}

pub(crate) fn attributes_context(card: CardId) -> Vec<u8> {
    let mut context = ATTRIBUTES_CONTEXT.to_vec();
    context.push(b'|');
    context.extend_from_slice(card.as_uuid().as_bytes());
    context
}

/// A resident's active card, opened to sign something for them.
pub(crate) struct OpenedCard {
    pub(crate) card: StoredCard,
    pub(crate) attributes: CardAttributes,
    pub(crate) signer: Arc<eid::SoftwareKey>,
    pub(crate) now: Timestamp,
    /// A fresh random id for what is signed.
    pub(crate) cti: [u8; 16],
}

/// The steps every signing for a resident shares: the card must be current
/// and not suspended, a key must be able to sign, the resident must be within
/// the per-minute allowance; then the card's attributes open through the door
/// under `purpose`, the access naming what is signed (`reference` gets the hex
/// of the new id) and the `fields` it uses.
pub(crate) async fn open_card_for_signing(
    services: &Services,
    issuer: &Issuer,
    account: &StoredAccount,
    purpose: Purpose,
    reference: impl FnOnce(&str) -> String,
    fields: &[&'static str],
) -> Result<OpenedCard, EidError> {
    let card = services
        .store
        .current_card(account.id)
        .await?
        .ok_or(EidError::NoCard)?;
    if card.status == CardStatus::Suspended {
        return Err(EidError::CardSuspended);
    }
    let now = services.clock.now();
    let signer = issuer.current_signer(now)?;
    if !issuer.allow_code(account.id, now) {
        return Err(EidError::TooManyPresentations);
    }
    let mut cti = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut cti);
    let opened = door::open(
        services,
        AccessRequest {
            subject: account.subject,
            accessor: Accessor::Subject,
            purpose,
            reference: Some(reference(&hex::encode(cti))),
            fields: fields.to_vec(),
        },
    )
    .await
    .map_err(internal)?;
    let sealed =
        shengshi_envelope::Sealed::from_bytes(card.sealed_attributes.clone()).map_err(internal)?;
    let plain = opened
        .open(&sealed, &attributes_context(card.id))
        .map_err(internal)?;
    let attributes = serde_json::from_slice(&plain).map_err(internal)?;
    Ok(OpenedCard {
        card,
        attributes,
        signer,
        now,
        cti,
    })
}

/// A presentation code minted for the resident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presentation {
    /// The QR text (`SS1:` + base45).
    pub text: String,
    pub purpose: eid::Purpose,
    pub category: eid::VerifierCategory,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// The code's unique id (hex of the 16-byte `cti`).
    pub id: String,
}

/// Mints a presentation code for the resident's active card: the attributes
/// open through the door, so the access view lists this code with the fields
/// it discloses.
pub async fn present(
    services: &Services,
    issuer: &Issuer,
    account: &StoredAccount,
    purpose: eid::Purpose,
    category: eid::VerifierCategory,
) -> Result<Presentation, EidError> {
    require_eligible(account)?;
    if !purpose.allows(category) {
        return Err(EidError::PurposeNotAllowed {
            purpose: purpose.name(),
            category: category.name(),
        });
    }
    let OpenedCard {
        card,
        attributes,
        signer,
        now,
        cti,
    } = open_card_for_signing(
        services,
        issuer,
        account,
        Purpose::EidPresentation,
        |id| {
            format!(
                "eid-presentation:{}:{}:{id}",
                purpose.name(),
                category.name()
            )
        },
        purpose_fields(purpose),
    )
    .await?;
    let id = hex::encode(cti);
    let attributes = attributes.to_eid(services.clock.today())?;
    let issued_at = unix_seconds(now);
    let text = eid::mint_presentation(
        &eid::PresentationRequest {
            issuer: &issuer.settings.issuer,
            issued_at,
            lifetime_seconds: PRESENTATION_LIFETIME_SECONDS,
            cti,
            purpose,
            category,
            attributes: &attributes,
            status: eid::StatusRef {
                index: card.status_index,
                uri: issuer.settings.status_uri.clone(),
            },
        },
        signer.as_ref(),
    )
    .map_err(internal)?;
    Ok(Presentation {
        text,
        purpose,
        category,
        issued_at: from_unix_seconds(issued_at)?,
        expires_at: from_unix_seconds(issued_at + i64::from(PRESENTATION_LIFETIME_SECONDS))?,
        id,
    })
}

/// The attributes a purpose discloses, as the access log names them.
pub fn purpose_fields(purpose: eid::Purpose) -> &'static [&'static str] {
    match purpose {
        eid::Purpose::HotelCheckin | eid::Purpose::TravelSecurity => {
            &["name", "id_number", "portrait_digest"]
        }
        eid::Purpose::AgeOver18 => &["age_over_18"],
        eid::Purpose::IdentityFull => &[
            "name",
            "id_number",
            "sex",
            "birth_date",
            "address",
            "portrait_digest",
        ],
    }
}

async fn change_status(
    services: &Services,
    issuer: &Issuer,
    actor: Actor,
    card: &StoredCard,
    to: CardStatus,
    reason: CardStatusReason,
) -> Result<bool, EidError> {
    let changed = services
        .store
        .set_card_status(card.id, card.status, to, reason, services.clock.now())
        .await?;
    if changed {
        issuer.invalidate_status();
        services
            .security_log
            .record(
                actor,
                SecurityEventKind::EidCardStatusChanged {
                    card: card.id.as_uuid(),
                    status: to.name().to_owned(),
                    reason: reason.name().to_owned(),
                },
            )
            .await
            .map_err(internal)?;
    }
    Ok(changed)
}

/// The resident reports the phone lost: the card is suspended at once, and
/// verifiers see it in the next status list.
pub async fn report_lost(
    services: &Services,
    issuer: &Issuer,
    account: &StoredAccount,
) -> Result<CardSummary, EidError> {
    let card = services
        .store
        .current_card(account.id)
        .await?
        .ok_or(EidError::NoCard)?;
    if card.status == CardStatus::Active {
        change_status(
            services,
            issuer,
            Actor::Subject {
                id: account.subject,
            },
            &card,
            CardStatus::Suspended,
            CardStatusReason::PhoneLost,
        )
        .await?;
    }
    card_or_gone(services, account.id).await
}

/// The resident, signed in again, lifts a suspension.
pub async fn resume(
    services: &Services,
    issuer: &Issuer,
    account: &StoredAccount,
) -> Result<CardSummary, EidError> {
    require_eligible(account)?;
    let card = services
        .store
        .current_card(account.id)
        .await?
        .ok_or(EidError::NoCard)?;
    if card.status != CardStatus::Suspended {
        return Err(EidError::NotSuspended);
    }
    change_status(
        services,
        issuer,
        Actor::Subject {
            id: account.subject,
        },
        &card,
        CardStatus::Active,
        CardStatusReason::Resumed,
    )
    .await?;
    card_or_gone(services, account.id).await
}

async fn card_or_gone(services: &Services, account: AccountId) -> Result<CardSummary, EidError> {
    card(services, account).await?.ok_or(EidError::NoCard)
}

/// The registry reported a death: the person's cards are revoked.
pub async fn revoke_for_death(
    services: &Services,
    issuer: Option<&Issuer>,
    secrets: &PlatformSecrets,
    id_number: &ResidentIdNumber,
) -> Result<u64, EidError> {
    let mac = crate::registration::id_number_mac(secrets, id_number);
    let Some(account) = services.store.active_account_by_id_number(&mac).await? else {
        return Ok(0);
    };
    // At most one card is not revoked yet: name it in the security log.
    let Some(card) = services.store.current_card(account.id).await? else {
        return Ok(0);
    };
    let revoked = services
        .store
        .revoke_account_cards(account.id, CardStatusReason::Deceased, services.clock.now())
        .await?;
    if revoked > 0 {
        if let Some(issuer) = issuer {
            issuer.invalidate_status();
        }
        services
            .security_log
            .record(
                Actor::System,
                SecurityEventKind::EidCardStatusChanged {
                    card: card.id.as_uuid(),
                    status: CardStatus::Revoked.name().to_owned(),
                    reason: CardStatusReason::Deceased.name().to_owned(),
                },
            )
            .await
            .map_err(internal)?;
    }
    Ok(revoked)
}

/// The signed status list (Token Status List, CWT), rebuilt from the cards at
/// most [`STATUS_LIST_REBUILD`] after the last build, and at once after a
/// change made here (suspension, resumption, replacement, death). Account
/// closure and eviction revoke cards in the store's own transaction and reach
/// the list at the next rebuild, within a minute.
pub async fn status_list(services: &Services, issuer: &Issuer) -> Result<Arc<Vec<u8>>, EidError> {
    Ok(cached_status(services, issuer).await?.0)
}

/// The status list token that [`status_list`] publishes signed, parsed: the
/// online verification service checks codes against it. Both come from one
/// cache entry, so they always agree.
pub async fn status_list_token(
    services: &Services,
    issuer: &Issuer,
) -> Result<Arc<eid::StatusListToken>, EidError> {
    Ok(cached_status(services, issuer).await?.1)
}

async fn cached_status(
    services: &Services,
    issuer: &Issuer,
) -> Result<(Arc<Vec<u8>>, Arc<eid::StatusListToken>), EidError> {
    let now = services.clock.now();
    if let Some(cached) = issuer
        .status
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
    {
        if now < cached.built_at.plus(STATUS_LIST_REBUILD) && cached.built_at <= now {
            return Ok((cached.token.clone(), cached.parsed.clone()));
        }
    }
    let signer = issuer.current_signer(now)?;
    let mut list = eid::StatusList::new(STATUS_LIST_CAPACITY as usize);
    for entry in services.store.card_status_entries().await? {
        let status = match entry.status {
            CardStatus::Active => continue,
            CardStatus::Suspended => eid::CardStatus::Suspended,
            CardStatus::Revoked => eid::CardStatus::Revoked,
        };
        list.set(entry.status_index as usize, status);
    }
    // Documents (Claim 169) have their own indices, revoked alone or with their card.
    for entry in services.store.document_status_entries().await? {
        let status = match entry.status {
            CardStatus::Active => continue,
            CardStatus::Suspended => eid::CardStatus::Suspended,
            CardStatus::Revoked => eid::CardStatus::Revoked,
        };
        list.set(entry.status_index as usize, status);
    }
    let parsed = eid::StatusListToken {
        uri: issuer.settings.status_uri.clone(),
        issued_at: unix_seconds(now),
        expires_at: unix_seconds(now.plus(STATUS_LIST_VALIDITY)),
        ttl: STATUS_LIST_TTL_SECONDS,
        list,
    };
    let token = Arc::new(eid::sign_status_list(&parsed, signer.as_ref()).map_err(internal)?);
    let parsed = Arc::new(parsed);
    *issuer.status.lock().unwrap_or_else(|p| p.into_inner()) = Some(CachedStatus {
        built_at: now,
        token: token.clone(),
        parsed: parsed.clone(),
    });
    Ok((token, parsed))
}

/// Demo and development only: an issuer key and a trust list signed by a
/// demo trust root whose seed the caller holds (in production the root stays
/// offline and `shengshi eid trust-list sign` signs). Does nothing when a
/// published trust list already lets a key sign.
pub async fn bootstrap_demo(
    services: &Services,
    issuer: &Issuer,
    demo_root: &eid::SoftwareKey,
) -> Result<(), EidError> {
    let now = services.clock.now();
    if issuer.current_signer(now).is_ok() {
        return Ok(());
    }
    let has_signing_key = services
        .store
        .issuer_keys()
        .await?
        .iter()
        .any(|k| k.not_before <= now && now < k.sign_until);
    if !has_signing_key {
        create_key(
            services,
            issuer,
            issuer.settings.algorithm,
            now.plus(Duration::minutes(-1)),
        )
        .await?;
    }
    let list = trust_list_to_sign(services, issuer, Duration::days(365)).await?;
    let signed =
        eid::sign_trust_list(list.to_jwks_json().as_bytes(), demo_root).map_err(internal)?;
    publish_trust_list(services, issuer, &signed).await?;
    Ok(())
}
