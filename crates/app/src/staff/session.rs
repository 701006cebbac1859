//! Staff sessions: a password + TOTP login opens one; the browser holds a
//! random token, the database only its SHA-256 (`staff_sessions`, apart from
//! residents' sessions). Staff see residents' data, so their sessions end
//! sooner than residents' ([`IDLE_TIMEOUT`], [`ABSOLUTE_TIMEOUT`]); activity is
//! written at most once a minute per session, as in `login`. Every request
//! re-reads the staff member, so disabling an account stops its sessions at
//! once even before they are revoked.

use secrecy::SecretString;
use shengshi_domain::{Actor, SecurityEventKind, Timestamp};
use shengshi_store::{StoreError, StoredStaffSession};
use time::Duration;

use super::{LoginError, StaffAccounts, StaffMember};
use crate::passkeys::{
    self, CeremonyToken, LoginAudience, LoginRefusal, PasskeyLoginError, RelyingParty,
};
use crate::Services;
use shengshi_store::PasskeyOwner;
use webauthn_rs::prelude::PublicKeyCredential;

/// A staff session ends after this long without activity.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(15);
/// And after this long in any case (a working day).
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(8);
/// Activity is recorded at most this often per session.
pub const TOUCH_INTERVAL: Duration = Duration::seconds(60);

crate::secret_token::secret_token!(
    /// The secret a browser holds for its staff session (the cookie's value).
    StaffSessionToken
);

/// A login that opened a session.
#[derive(Debug)]
pub struct StaffLogin {
    pub token: StaffSessionToken,
    pub member: StaffMember,
    /// When the session ends at the latest.
    pub expires_at: Timestamp,
}

/// Checks password and TOTP code and opens a new session with a fresh token.
/// A session the browser already held (`previous`) is ended, so a token known
/// before the login never becomes a signed-in one.
pub async fn login(
    accounts: &StaffAccounts,
    username: &str,
    password: &SecretString,
    code: &str,
    previous: Option<&StaffSessionToken>,
) -> Result<StaffLogin, LoginError> {
    let member = accounts
        .verify_password_and_totp(username, password, code)
        .await?;
    Ok(open(accounts, member, previous).await?)
}

/// Opens a session with a fresh token for a member who has just proved
/// themselves, ending the one the browser held before.
async fn open(
    accounts: &StaffAccounts,
    member: StaffMember,
    previous: Option<&StaffSessionToken>,
) -> Result<StaffLogin, StoreError> {
    let now = accounts.clock.now();
    if let Some(previous) = previous {
        accounts
            .store
            .revoke_staff_session(&previous.hash(), now)
            .await?;
    }
    let token = StaffSessionToken::generate();
    let expires_at = now.plus(ABSOLUTE_TIMEOUT);
    accounts
        .store
        .create_staff_session(&StoredStaffSession {
            token_hash: token.hash(),
            staff: member.id(),
            created_at: now,
            last_seen_at: now,
            expires_at,
            revoked_at: None,
        })
        .await?;
    Ok(StaffLogin {
        token,
        member,
        expires_at,
    })
}

/// Logs a staff member in with a passkey (the strong factor: no password or
/// code). A disabled member is refused exactly like an unknown passkey.
pub async fn login_with_passkey(
    accounts: &StaffAccounts,
    services: &Services,
    rp: &RelyingParty,
    ceremony: &CeremonyToken,
    credential: &PublicKeyCredential,
    previous: Option<&StaffSessionToken>,
) -> Result<StaffLogin, PasskeyLoginError> {
    let owner =
        passkeys::finish_login(services, rp, LoginAudience::Staff, ceremony, credential).await?;
    let refused = PasskeyLoginError::Refused(LoginRefusal::UnknownPasskey);
    let PasskeyOwner::Staff(id) = owner else {
        return Err(refused);
    };
    let stored = accounts.store.staff(id).await?.ok_or(refused.clone())?;
    if stored.disabled {
        return Err(refused);
    }
    let member = StaffMember::from_stored(&stored)?;
    let login = open(accounts, member, previous).await?;
    accounts
        .log
        .record(
            Actor::Staff { id },
            SecurityEventKind::StaffLoginSucceeded { staff: id },
        )
        .await
        .map_err(|e| PasskeyLoginError::Internal(e.to_string()))?;
    Ok(login)
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StaffSessionError {
    #[error("no such staff session")]
    Unknown,
    #[error("the staff session was ended")]
    Revoked,
    #[error("the staff session expired")]
    Expired,
    #[error("the staff account is disabled")]
    Disabled,
    #[error("staff session storage failed: {0}")]
    Store(String),
    #[error("the security log failed: {0}")]
    Log(String),
}

impl From<StoreError> for StaffSessionError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// A request's verified staff session.
#[derive(Clone, Debug)]
pub struct StaffSession {
    pub member: StaffMember,
    /// When the session ends at the latest (it ends sooner when idle).
    pub expires_at: Timestamp,
    token_hash: Vec<u8>,
}

/// Checks a staff session token; records activity at most once a minute.
pub async fn authenticate(
    services: &Services,
    token: &StaffSessionToken,
) -> Result<StaffSession, StaffSessionError> {
    let hash = token.hash();
    let session = services
        .store
        .staff_session(&hash)
        .await?
        .ok_or(StaffSessionError::Unknown)?;
    let now = services.clock.now();
    if session.revoked_at.is_some() {
        return Err(StaffSessionError::Revoked);
    }
    if now >= session.expires_at || now >= session.last_seen_at.plus(IDLE_TIMEOUT) {
        return Err(StaffSessionError::Expired);
    }
    let stored = services
        .store
        .staff(session.staff)
        .await?
        .ok_or(StaffSessionError::Unknown)?;
    if stored.disabled {
        return Err(StaffSessionError::Disabled);
    }
    let member = StaffMember::from_stored(&stored)?;
    if now >= session.last_seen_at.plus(TOUCH_INTERVAL) {
        services.store.touch_staff_session(&hash, now).await?;
    }
    Ok(StaffSession {
        member,
        expires_at: session.expires_at,
        token_hash: hash,
    })
}

async fn log_logout(
    services: &Services,
    session: &StaffSession,
    everywhere: bool,
    ended: u64,
) -> Result<(), StaffSessionError> {
    let staff = session.member.id();
    services
        .security_log
        .record(
            Actor::Staff { id: staff },
            SecurityEventKind::StaffLoggedOut {
                staff,
                everywhere,
                ended,
            },
        )
        .await
        .map_err(|e| StaffSessionError::Log(e.to_string()))
}

/// Ends this session.
pub async fn logout(services: &Services, session: &StaffSession) -> Result<(), StaffSessionError> {
    let ended = services
        .store
        .revoke_staff_session(&session.token_hash, services.clock.now())
        .await?;
    log_logout(services, session, false, u64::from(ended)).await
}

/// Ends every session of the staff member, this one included; returns how many.
pub async fn logout_everywhere(
    services: &Services,
    session: &StaffSession,
) -> Result<u64, StaffSessionError> {
    let ended = services
        .store
        .revoke_all_staff_sessions(session.member.id(), services.clock.now())
        .await?;
    log_logout(services, session, true, ended).await?;
    Ok(ended)
}
