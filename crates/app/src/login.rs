//! SMS-code login (the fallback to passkeys) and server-side sessions.
//!
//! Enumeration-safe: asking for a login code costs the same and answers the
//! same whether or not the number has an account (a code is sent either way);
//! only the holder of the phone learns, after typing the code, that no account
//! uses it. Sessions live in the database: the cookie carries a random token,
//! the table only its SHA-256. Idle and absolute timeouts; activity is written
//! at most once a minute per session, not on every request.

use rand::RngCore;
use sha2::{Digest, Sha256};
use shengshi_domain::account::AccountStatus;
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::{AccountId, Actor, PhoneCode, PhoneNumber, SecurityEventKind};
use shengshi_store::{StoreError, StoredAccount, StoredSession};
use time::Duration;

use crate::phone_codes::{self, VerifyCodeError};
use crate::secrets::PlatformSecrets;
use crate::Services;

/// A session ends after this long without activity.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// And after this long in any case.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// Activity is recorded at most this often per session.
pub const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// The secret a browser holds for its session (the cookie's value).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

impl SessionToken {
    fn generate() -> Self {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn from_cookie(value: &str) -> Self {
        Self(value.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Code(#[from] VerifyCodeError),
    #[error("no account uses this phone number")]
    NoAccount,
    #[error("login failed: {0}")]
    Internal(String),
}

fn internal(e: impl std::fmt::Display) -> LoginError {
    LoginError::Internal(e.to_string())
}

/// Checks the login code and opens a new session (never reusing an old one).
pub async fn login_with_code(
    services: &Services,
    secrets: &PlatformSecrets,
    phone: &PhoneNumber,
    code: &PhoneCode,
) -> Result<(SessionToken, AccountId), LoginError> {
    let log_failure = |reason: &'static str| async move {
        let event = SecurityEventKind::LoginFailed {
            method: "sms".into(),
            reason: reason.into(),
        };
        services
            .security_log
            .record(Actor::Anonymous, event)
            .await
            .map_err(internal)
    };
    if let Err(e) = phone_codes::verify(
        services.store.as_ref(),
        services.clock.as_ref(),
        secrets,
        phone,
        CodePurpose::Login,
        code,
    )
    .await
    {
        log_failure("code").await?;
        return Err(e.into());
    }
    let accounts = services
        .store
        .active_accounts_by_phone(&phone_codes::phone_mac(secrets, phone))
        .await
        .map_err(internal)?;
    let Some(account) = accounts.first() else {
        log_failure("no_account").await?;
        return Err(LoginError::NoAccount);
    };
    let now = services.clock.now();
    let token = SessionToken::generate();
    let session = StoredSession {
        token_hash: token.hash(),
        account: account.id,
        created_at: now,
        last_seen_at: now,
        expires_at: now.plus(ABSOLUTE_TIMEOUT),
        revoked_at: None,
    };
    services
        .store
        .create_session(&session)
        .await
        .map_err(internal)?;
    services
        .security_log
        .record(
            Actor::Subject {
                id: account.subject,
            },
            SecurityEventKind::LoginSucceeded {
                method: "sms".into(),
            },
        )
        .await
        .map_err(internal)?;
    Ok((token, account.id))
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("no such session")]
    Unknown,
    #[error("the session was ended")]
    Revoked,
    #[error("the session expired")]
    Expired,
    #[error("the account is no longer active")]
    AccountInactive,
    #[error("session storage failed: {0}")]
    Store(String),
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// A request's verified session.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub account: StoredAccount,
    token_hash: Vec<u8>,
}

/// Checks a session token; records activity at most once a minute.
pub async fn authenticate(
    services: &Services,
    token: &SessionToken,
) -> Result<Authenticated, SessionError> {
    let hash = token.hash();
    let session = services
        .store
        .session(&hash)
        .await?
        .ok_or(SessionError::Unknown)?;
    let now = services.clock.now();
    if session.revoked_at.is_some() {
        return Err(SessionError::Revoked);
    }
    if now >= session.expires_at || now >= session.last_seen_at.plus(IDLE_TIMEOUT) {
        return Err(SessionError::Expired);
    }
    let account = services
        .store
        .account(session.account)
        .await?
        .ok_or(SessionError::Unknown)?;
    if account.status != AccountStatus::Active.name() {
        return Err(SessionError::AccountInactive);
    }
    if now >= session.last_seen_at.plus(TOUCH_INTERVAL) {
        services.store.touch_session(&hash, now).await?;
    }
    Ok(Authenticated {
        account,
        token_hash: hash,
    })
}

/// Ends this session.
pub async fn logout(services: &Services, session: &Authenticated) -> Result<(), SessionError> {
    services
        .store
        .revoke_session(&session.token_hash, services.clock.now())
        .await?;
    Ok(())
}

/// Ends every session of the account, this one included.
pub async fn logout_everywhere(
    services: &Services,
    session: &Authenticated,
) -> Result<u64, SessionError> {
    Ok(services
        .store
        .revoke_account_sessions(session.account.id, services.clock.now())
        .await?)
}
