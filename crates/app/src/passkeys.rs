//! Passkeys (WebAuthn): the strong login factor for residents and staff.
//!
//! Each ceremony has two requests. The first makes a challenge and keeps the
//! library's state in the database under the SHA-256 of a random ceremony
//! token that the browser carries back; the second takes that state exactly
//! once, so a signed challenge cannot be replayed, and only within
//! [`CEREMONY_TTL`]. Login is discoverable (no username is asked first), so it
//! cannot tell anyone which phone numbers or usernames have passkeys.
//!
//! The relying party is the host of the public origin (`localhost` in
//! development). User verification (PIN or biometrics) is required. The
//! signature counter is checked by the library; a counter that went backwards
//! (a cloned authenticator) refuses the login and is logged.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use shengshi_domain::{AccountId, Actor, AssuranceLevel, SecurityEventKind, Timestamp};
use shengshi_store::{
    CeremonyPurpose, PasskeyOwner, StoreError, StoredAccount, StoredCeremony, StoredPasskey,
};
use time::Duration;
use webauthn_rs::prelude::DiscoverableAuthentication;
use webauthn_rs::prelude::{
    CreationChallengeResponse, CredentialID, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse, Url, Webauthn, WebauthnBuilder,
    WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::login::{self, Device, SessionToken};
use crate::Services;
use shengshi_domain::account::AccountStatus;

/// How long a browser has to answer a challenge.
pub const CEREMONY_TTL: Duration = Duration::minutes(5);
/// Passkeys one person may hold at once (phones, laptops, security keys).
pub const MAX_PASSKEYS: usize = 10;
/// The longest label a passkey may carry.
pub const LABEL_MAX: usize = 60;

/// The WebAuthn relying party: this platform, as browsers know it.
#[derive(Debug)]
pub struct RelyingParty {
    webauthn: Webauthn,
}

#[derive(Debug, thiserror::Error)]
#[error("the public origin {origin} cannot be a WebAuthn relying party: {reason}")]
pub struct RelyingPartyError {
    origin: String,
    reason: String,
}

impl RelyingParty {
    /// `public_origin` is where browsers reach the platform, e.g.
    /// `https://gov.example.cn` or `http://localhost:8080`.
    pub fn new(public_origin: &str) -> Result<Self, RelyingPartyError> {
        let fail = |reason: String| RelyingPartyError {
            origin: public_origin.to_owned(),
            reason,
        };
        let origin = Url::parse(public_origin).map_err(|e| fail(e.to_string()))?;
        let rp_id = origin
            .host_str()
            .ok_or_else(|| fail("it has no host".into()))?
            .to_owned();
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|b| b.rp_name("Shengshi 省事").build())
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self { webauthn })
    }
}

crate::secret_token::secret_token!(
    /// The random token naming a ceremony in progress (held by the browser).
    CeremonyToken
);

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("this passkey request has expired or was already used; start again")]
    UnknownCeremony,
    #[error("the authenticator's answer did not verify: {0}")]
    Rejected(String),
    #[error("this passkey is already registered")]
    AlreadyRegistered,
    #[error("at most {MAX_PASSKEYS} passkeys may be registered; remove one first")]
    TooMany,
    #[error("the label must be 1 to {LABEL_MAX} characters")]
    InvalidLabel,
    #[error("no such passkey")]
    NotFound,
    #[error("the passkey operation failed: {0}")]
    Internal(String),
}

impl PasskeyError {
    /// A stable code for translations and API problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownCeremony => "unknown_ceremony",
            Self::Rejected(_) => "rejected",
            Self::AlreadyRegistered => "already_registered",
            Self::TooMany => "too_many",
            Self::InvalidLabel => "invalid_label",
            Self::NotFound => "not_found",
            Self::Internal(_) => "internal",
        }
    }
}

fn internal(e: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Internal(e.to_string())
}

impl From<StoreError> for PasskeyError {
    fn from(e: StoreError) -> Self {
        internal(e)
    }
}

/// What the owner sees of a passkey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeySummary {
    /// The credential id, base64url (how the API names a passkey).
    pub id: String,
    pub label: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl PasskeySummary {
    fn from_stored(p: &StoredPasskey) -> Self {
        Self {
            id: URL_SAFE_NO_PAD.encode(&p.credential_id),
            label: p.label.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// Decodes a passkey id as the API shows it.
pub fn parse_passkey_id(id: &str) -> Result<Vec<u8>, PasskeyError> {
    URL_SAFE_NO_PAD
        .decode(id.trim())
        .map_err(|_| PasskeyError::NotFound)
}

fn registration_purpose(owner: PasskeyOwner) -> CeremonyPurpose {
    match owner {
        PasskeyOwner::Resident(_) => CeremonyPurpose::ResidentRegistration,
        PasskeyOwner::Staff(_) => CeremonyPurpose::StaffRegistration,
    }
}

fn decode_passkey(p: &StoredPasskey) -> Result<Passkey, PasskeyError> {
    serde_json::from_str(&p.passkey).map_err(|e| internal(format!("a stored passkey: {e}")))
}

async fn save_ceremony(
    services: &Services,
    purpose: CeremonyPurpose,
    owner: Option<PasskeyOwner>,
    state: &impl serde::Serialize,
) -> Result<CeremonyToken, PasskeyError> {
    let token = CeremonyToken::generate();
    let now = services.clock.now();
    let ceremony = StoredCeremony {
        id_hash: token.hash(),
        purpose,
        owner,
        state: serde_json::to_string(state).map_err(internal)?,
        expires_at: now.plus(CEREMONY_TTL),
    };
    services.store.create_ceremony(&ceremony, now).await?;
    Ok(token)
}

async fn take_ceremony(
    services: &Services,
    token: &CeremonyToken,
    purpose: CeremonyPurpose,
) -> Result<StoredCeremony, PasskeyError> {
    services
        .store
        .take_ceremony(&token.hash(), purpose, services.clock.now())
        .await?
        .ok_or(PasskeyError::UnknownCeremony)
}

/// Starts registering a passkey for `owner`. `user_name` and `display_name`
/// are what the authenticator shows when the owner picks a passkey; they must
/// not be personal data beyond what the owner's device already knows.
pub async fn begin_registration(
    services: &Services,
    rp: &RelyingParty,
    owner: PasskeyOwner,
    user_name: &str,
    display_name: &str,
) -> Result<(CeremonyToken, CreationChallengeResponse), PasskeyError> {
    let existing = services.store.owner_passkeys(owner).await?;
    if existing.len() >= MAX_PASSKEYS {
        return Err(PasskeyError::TooMany);
    }
    let exclude: Vec<CredentialID> = existing
        .iter()
        .map(|p| CredentialID::from(p.credential_id.clone()))
        .collect();
    let (mut challenge, state) = rp
        .webauthn
        .start_passkey_registration(owner.uuid(), user_name, display_name, Some(exclude))
        .map_err(internal)?;
    // Login names nobody first (discoverable credentials), so the passkey must
    // be stored on the authenticator. The library leaves this to the caller.
    if let Some(selection) = challenge.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    let token = save_ceremony(services, registration_purpose(owner), Some(owner), &state).await?;
    Ok((token, challenge))
}

/// Finishes registering: verifies the authenticator's answer and stores the
/// passkey. A resident who has passed a counter check reaches L3 here.
pub async fn finish_registration(
    services: &Services,
    rp: &RelyingParty,
    owner: PasskeyOwner,
    token: &CeremonyToken,
    credential: &RegisterPublicKeyCredential,
    label: &str,
) -> Result<PasskeySummary, PasskeyError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > LABEL_MAX {
        return Err(PasskeyError::InvalidLabel);
    }
    let ceremony = take_ceremony(services, token, registration_purpose(owner)).await?;
    if ceremony.owner != Some(owner) {
        // Someone else's ceremony: as if it did not exist.
        return Err(PasskeyError::UnknownCeremony);
    }
    let state: PasskeyRegistration = serde_json::from_str(&ceremony.state).map_err(internal)?;
    let passkey = rp
        .webauthn
        .finish_passkey_registration(credential, &state)
        .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
    let now = services.clock.now();
    let stored = StoredPasskey {
        credential_id: passkey.cred_id().to_vec(),
        owner,
        label: label.to_owned(),
        passkey: serde_json::to_string(&passkey).map_err(internal)?,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    match services.store.insert_passkey(&stored).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(PasskeyError::AlreadyRegistered),
        Err(e) => return Err(e.into()),
    }
    let summary = PasskeySummary::from_stored(&stored);
    services
        .security_log
        .record(
            actor_of(services, owner).await?,
            SecurityEventKind::PasskeyAdded {
                owner: owner.kind().to_owned(),
                credential: summary.id.clone(),
            },
        )
        .await
        .map_err(internal)?;
    if let PasskeyOwner::Resident(account) = owner {
        refresh_assurance(services, account).await?;
    }
    Ok(summary)
}

/// The owner's live passkeys, oldest first.
pub async fn list(
    services: &Services,
    owner: PasskeyOwner,
) -> Result<Vec<PasskeySummary>, PasskeyError> {
    Ok(services
        .store
        .owner_passkeys(owner)
        .await?
        .iter()
        .map(PasskeySummary::from_stored)
        .collect())
}

/// Removes one of the owner's passkeys. A resident at L3 whose last passkey
/// goes drops to L2.
pub async fn remove(
    services: &Services,
    owner: PasskeyOwner,
    id: &str,
) -> Result<(), PasskeyError> {
    let credential_id = parse_passkey_id(id)?;
    let now = services.clock.now();
    if !services
        .store
        .revoke_passkey(owner, &credential_id, now)
        .await?
    {
        return Err(PasskeyError::NotFound);
    }
    services
        .security_log
        .record(
            actor_of(services, owner).await?,
            SecurityEventKind::PasskeyRevoked {
                owner: owner.kind().to_owned(),
                credential: URL_SAFE_NO_PAD.encode(&credential_id),
            },
        )
        .await
        .map_err(internal)?;
    if let PasskeyOwner::Resident(account) = owner {
        refresh_assurance(services, account).await?;
    }
    Ok(())
}

async fn actor_of(services: &Services, owner: PasskeyOwner) -> Result<Actor, PasskeyError> {
    Ok(match owner {
        PasskeyOwner::Resident(id) => match services.store.account(id).await? {
            Some(account) => Actor::Subject {
                id: account.subject,
            },
            None => Actor::Anonymous,
        },
        PasskeyOwner::Staff(id) => Actor::Staff { id },
    })
}

/// Sets the account's level to what its evidence now supports (real-name
/// match, counter check, passkeys) and logs a change.
pub(crate) async fn refresh_assurance(
    services: &Services,
    account: AccountId,
) -> Result<(), PasskeyError> {
    let Some(stored) = services.store.account(account).await? else {
        return Err(PasskeyError::NotFound);
    };
    let has_passkey = !services
        .store
        .owner_passkeys(PasskeyOwner::Resident(account))
        .await?
        .is_empty();
    let level = AssuranceLevel::from_evidence(
        stored.id_number_mac.is_some(),
        stored.in_person_verified_at.is_some(),
        has_passkey,
    );
    let new = i64::from(level.number());
    if new == stored.assurance_level {
        return Ok(());
    }
    services
        .store
        .set_assurance_level(account, new, services.clock.now())
        .await?;
    services
        .security_log
        .record(
            Actor::Subject { id: stored.subject },
            SecurityEventKind::AssuranceChanged {
                account,
                from: u8::try_from(stored.assurance_level).unwrap_or(0),
                to: level.number(),
            },
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// Who is logging in with a passkey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginAudience {
    Resident,
    Staff,
}

impl LoginAudience {
    fn purpose(self) -> CeremonyPurpose {
        match self {
            Self::Resident => CeremonyPurpose::ResidentLogin,
            Self::Staff => CeremonyPurpose::StaffLogin,
        }
    }
}

/// Starts a passkey login. Nobody is named: the browser offers whichever of
/// this site's passkeys the device holds.
pub async fn begin_login(
    services: &Services,
    rp: &RelyingParty,
    audience: LoginAudience,
) -> Result<(CeremonyToken, RequestChallengeResponse), PasskeyError> {
    let (mut challenge, state) = rp
        .webauthn
        .start_discoverable_authentication()
        .map_err(internal)?;
    // The library asks for autofill ("conditional") mediation; our pages start
    // the login from a button, which needs the ordinary modal prompt.
    challenge.mediation = None;
    let token = save_ceremony(services, audience.purpose(), None, &state).await?;
    Ok((token, challenge))
}

/// Why a passkey login failed. For logs and tests; people are told only that
/// the passkey was not accepted (or that the request expired).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginRefusal {
    /// The ceremony expired, was used, or never existed.
    UnknownCeremony,
    /// No live passkey has this credential id (or it belongs to someone else).
    UnknownPasskey,
    /// The signature, origin, challenge or user verification did not check out.
    BadSignature,
    /// The signature counter went backwards: the authenticator may be cloned.
    CounterRegressed,
}

impl LoginRefusal {
    pub fn name(self) -> &'static str {
        match self {
            Self::UnknownCeremony => "unknown_ceremony",
            Self::UnknownPasskey => "unknown_passkey",
            Self::BadSignature => "bad_signature",
            Self::CounterRegressed => "counter_regressed",
        }
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum PasskeyLoginError {
    #[error("the passkey was not accepted")]
    Refused(LoginRefusal),
    #[error("the passkey login failed: {0}")]
    Internal(String),
}

impl From<StoreError> for PasskeyLoginError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// Verifies a passkey login's answer and returns whose passkey signed it.
/// The caller opens the session (residents and staff have their own).
pub async fn finish_login(
    services: &Services,
    rp: &RelyingParty,
    audience: LoginAudience,
    token: &CeremonyToken,
    credential: &PublicKeyCredential,
) -> Result<PasskeyOwner, PasskeyLoginError> {
    let refused = |reason: LoginRefusal| async move {
        let method = match audience {
            LoginAudience::Resident => "passkey",
            LoginAudience::Staff => "staff_passkey",
        };
        services
            .security_log
            .record(
                Actor::Anonymous,
                SecurityEventKind::LoginFailed {
                    method: method.into(),
                    reason: reason.name().into(),
                },
            )
            .await
            .map_err(|e| PasskeyLoginError::Internal(e.to_string()))?;
        Err(PasskeyLoginError::Refused(reason))
    };
    let Some(ceremony) = services
        .store
        .take_ceremony(&token.hash(), audience.purpose(), services.clock.now())
        .await?
    else {
        return refused(LoginRefusal::UnknownCeremony).await;
    };
    let state: DiscoverableAuthentication = serde_json::from_str(&ceremony.state)
        .map_err(|e| PasskeyLoginError::Internal(e.to_string()))?;
    let Ok((user_handle, credential_id)) =
        rp.webauthn.identify_discoverable_authentication(credential)
    else {
        return refused(LoginRefusal::UnknownPasskey).await;
    };
    let Some(stored) = services.store.live_passkey(credential_id).await? else {
        return refused(LoginRefusal::UnknownPasskey).await;
    };
    let owner_matches = match (audience, stored.owner) {
        (LoginAudience::Resident, PasskeyOwner::Resident(_))
        | (LoginAudience::Staff, PasskeyOwner::Staff(_)) => stored.owner.uuid() == user_handle,
        _ => false,
    };
    if !owner_matches {
        return refused(LoginRefusal::UnknownPasskey).await;
    }
    let mut passkey =
        decode_passkey(&stored).map_err(|e| PasskeyLoginError::Internal(e.to_string()))?;
    let result = match rp
        .webauthn
        .finish_discoverable_authentication_v2(credential, state, &passkey)
    {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            return refused(LoginRefusal::CounterRegressed).await
        }
        Err(_) => return refused(LoginRefusal::BadSignature).await,
    };
    passkey.update_credential(&result);
    let json =
        serde_json::to_string(&passkey).map_err(|e| PasskeyLoginError::Internal(e.to_string()))?;
    if !services
        .store
        .record_passkey_use(&stored.credential_id, &json, services.clock.now())
        .await?
    {
        // Revoked between the lookup and now.
        return refused(LoginRefusal::UnknownPasskey).await;
    }
    Ok(stored.owner)
}

/// A resident's passkey login: verifies the answer and opens a new session.
pub async fn resident_login(
    services: &Services,
    rp: &RelyingParty,
    token: &CeremonyToken,
    credential: &PublicKeyCredential,
    device: Option<Device>,
) -> Result<(SessionToken, StoredAccount), PasskeyLoginError> {
    let owner = finish_login(services, rp, LoginAudience::Resident, token, credential).await?;
    let PasskeyOwner::Resident(id) = owner else {
        return Err(PasskeyLoginError::Refused(LoginRefusal::UnknownPasskey));
    };
    // An evicted account's passkeys are revoked with it; this is the backstop.
    let account = services
        .store
        .account(id)
        .await?
        .filter(|a| a.status == AccountStatus::Active.name())
        .ok_or(PasskeyLoginError::Refused(LoginRefusal::UnknownPasskey))?;
    let token = login::open_session(services, &account, "passkey", device)
        .await
        .map_err(PasskeyLoginError::Internal)?;
    Ok((token, account))
}
