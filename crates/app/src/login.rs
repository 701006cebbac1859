//! SMS-code login (the fallback to passkeys) and server-side sessions.
//!
//! Enumeration-safe: asking for a login code costs the same and answers the
//! same whether or not the number has an account (a code is sent either way);
//! only the holder of the phone learns, after typing the code, that no account
//! uses it. Sessions live in the database: the cookie carries a random token,
//! the table only its SHA-256. Idle and absolute timeouts; activity is written
//! at most once a minute per session, not on every request.

use sha2::{Digest, Sha256};
use shengshi_domain::account::AccountStatus;
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::{AccountId, Actor, PhoneCode, PhoneNumber, SecurityEventKind, Timestamp};
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

crate::secret_token::secret_token!(
    /// The secret a browser holds for its session (the cookie's value).
    SessionToken
);

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

/// What a resident's session list says about a device: browser and system
/// from a fixed vocabulary ("Chrome on Android"), so that nothing the client
/// typed into its User-Agent is ever stored or shown back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device(String);

impl Device {
    /// The longest description (the column's limit).
    pub const MAX_LEN: usize = 64;

    /// `None` when neither browser nor system is recognised.
    pub fn from_user_agent(ua: &str) -> Option<Self> {
        // Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
        let browser = [
            ("MicroMessenger", "WeChat"),
            ("Edg", "Edge"), // Edg/, EdgA/ (Android), EdgiOS/
            ("OPR/", "Opera"),
            ("Firefox/", "Firefox"),
            ("FxiOS/", "Firefox"),
            ("CriOS/", "Chrome"),
            ("Chrome/", "Chrome"),
            ("Chromium/", "Chromium"),
            ("Safari/", "Safari"),
            ("curl/", "curl"),
        ]
        .into_iter()
        .find(|(marker, _)| ua.contains(marker))
        .map(|(_, name)| name);
        // iOS and Android also say "Mac OS X" and "Linux".
        let system = [
            ("HarmonyOS", "HarmonyOS"),
            ("Android", "Android"),
            ("iPhone", "iOS"),
            ("iPad", "iPadOS"),
            ("Windows", "Windows"),
            ("Mac OS X", "macOS"),
            ("CrOS", "ChromeOS"),
            ("Linux", "Linux"),
        ]
        .into_iter()
        .find(|(marker, _)| ua.contains(marker))
        .map(|(_, name)| name);
        let text = match (browser, system) {
            (Some(b), Some(s)) => format!("{b} on {s}"),
            (Some(one), None) | (None, Some(one)) => one.to_owned(),
            (None, None) => return None,
        };
        Some(Self(text.chars().take(Self::MAX_LEN).collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks the login code and opens a new session (never reusing an old one),
/// noting the device it was opened on.
pub async fn login_with_code(
    services: &Services,
    secrets: &PlatformSecrets,
    phone: &PhoneNumber,
    code: &PhoneCode,
    device: Option<Device>,
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
    let token = open_session(services, account, "sms", device)
        .await
        .map_err(LoginError::Internal)?;
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

/// The public name of a session in the resident's list and in URLs: the hex
/// SHA-256 of the stored token hash. It can be neither presented as a cookie
/// nor turned back into the stored hash, and it is derived rather than stored,
/// so sessions opened before it existed need no new column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionHandle(String);

impl SessionHandle {
    fn of(token_hash: &[u8]) -> Self {
        use std::fmt::Write;
        let digest = Sha256::digest(token_hash);
        let mut hex = String::with_capacity(64);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One of the resident's live sessions, as their list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    pub handle: SessionHandle,
    pub device: Option<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The session this request came with.
    pub is_current: bool,
}

/// The account's live sessions (not ended, not expired), newest first.
pub async fn live_sessions(
    services: &Services,
    session: &Authenticated,
) -> Result<Vec<SessionSummary>, StoreError> {
    let now = services.clock.now();
    let idle_cutoff = now.plus(-IDLE_TIMEOUT);
    let sessions = services
        .store
        .live_sessions(session.account.id, now, idle_cutoff)
        .await?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionSummary {
            handle: SessionHandle::of(&s.token_hash),
            is_current: s.token_hash == session.token_hash,
            device: s.device,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
        })
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum EndSessionError {
    /// Also the answer for another account's session: it tells nothing about it.
    #[error("you have no live session with this handle")]
    NotFound,
    #[error("the session could not be ended: {0}")]
    Store(String),
}

impl From<StoreError> for EndSessionError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// Ends one of the resident's own live sessions, named by its handle. Returns
/// whether it was the session of this request (whose cookie is then dead).
pub async fn end_session(
    services: &Services,
    session: &Authenticated,
    handle: &str,
) -> Result<bool, EndSessionError> {
    // Handles are looked up among this account's own sessions only, so another
    // account's handle is simply not found.
    let now = services.clock.now();
    let idle_cutoff = now.plus(-IDLE_TIMEOUT);
    let target = services
        .store
        .live_sessions(session.account.id, now, idle_cutoff)
        .await?
        .into_iter()
        .find(|s| SessionHandle::of(&s.token_hash).as_str() == handle)
        .ok_or(EndSessionError::NotFound)?;
    if !services
        .store
        .revoke_account_session(session.account.id, &target.token_hash, now)
        .await?
    {
        // Ended meanwhile (another tab, "log out everywhere").
        return Err(EndSessionError::NotFound);
    }
    Ok(target.token_hash == session.token_hash)
}

/// Opens a new session for an account that has just proved itself (`method`
/// names how, for the security log) and returns the browser's token.
pub(crate) async fn open_session(
    services: &Services,
    account: &StoredAccount,
    method: &'static str,
    device: Option<Device>,
) -> Result<SessionToken, String> {
    let now = services.clock.now();
    let token = SessionToken::generate();
    let session = StoredSession {
        token_hash: token.hash(),
        account: account.id,
        created_at: now,
        last_seen_at: now,
        expires_at: now.plus(ABSOLUTE_TIMEOUT),
        revoked_at: None,
        device: device.map(|d| d.0),
    };
    services
        .store
        .create_session(&session)
        .await
        .map_err(|e| e.to_string())?;
    services
        .security_log
        .record(
            Actor::Subject {
                id: account.subject,
            },
            SecurityEventKind::LoginSucceeded {
                method: method.into(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::Device;

    #[test]
    fn devices_are_named_from_a_fixed_vocabulary() {
        let named = |ua: &str| Device::from_user_agent(ua).map(|d| d.as_str().to_owned());
        assert_eq!(
            named("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36").as_deref(),
            Some("Chrome on Android")
        );
        assert_eq!(
            named("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1").as_deref(),
            Some("Safari on iOS")
        );
        assert_eq!(
            named("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0").as_deref(),
            Some("Edge on Windows")
        );
        assert_eq!(named("<script>alert(1)</script>"), None);
        assert_eq!(named(""), None);
        let long = format!("Firefox/1 {}", "x".repeat(10_000));
        assert_eq!(named(&long).as_deref(), Some("Firefox"));
    }
}
