//! Staff accounts: enrolment, login (password + TOTP), and the operations each
//! role may perform, guarded by capability types (see [`capability`]).

pub mod admin;
pub mod capability;
pub mod password;
pub mod session;
pub mod supervisor;
pub mod totp;

use secrecy::{ExposeSecret, SecretString};
use shengshi_domain::{Actor, Clock, Department, Role, SecurityEventKind, StaffId, Timestamp};
use shengshi_store::{Store, StoreError, StoredStaff};
use std::sync::Arc;

use crate::secrets::PlatformSecrets;
use crate::security_log::SecurityLogError;
use crate::{SecurityLog, Services};
pub use password::{PasswordError, PasswordHasher, PasswordRuleError};

/// Failures within [`LOCKOUT_WINDOW`] that lock an account.
pub const MAX_FAILURES: u32 = 5;
/// Failures older than this are forgotten.
pub const LOCKOUT_WINDOW: time::Duration = time::Duration::minutes(15);
/// How long a lockout lasts.
pub const LOCKOUT: time::Duration = time::Duration::minutes(15);

pub const USERNAME_MAX: usize = 64;
pub const DISPLAY_NAME_MAX: usize = 100;

/// A staff member who has just logged in. Only [`StaffAccounts`] makes one, so
/// holding one proves the login happened; [`capability::authorize`] turns it
/// into what the member may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffMember {
    id: StaffId,
    username: String,
    display_name: String,
    department: Department,
    role: Role,
    disabled: bool,
}

impl StaffMember {
    pub(crate) fn new_unchecked(
        id: StaffId,
        username: String,
        display_name: String,
        department: Department,
        role: Role,
        disabled: bool,
    ) -> Self {
        Self {
            id,
            username,
            display_name,
            department,
            role,
            disabled,
        }
    }

    fn from_stored(s: &StoredStaff) -> Result<Self, StoreError> {
        let (department, role) = department_and_role(s)?;
        Ok(Self::new_unchecked(
            s.id,
            s.username.clone(),
            s.display_name.clone(),
            department,
            role,
            s.disabled,
        ))
    }

    pub fn id(&self) -> StaffId {
        self.id
    }
    pub fn username(&self) -> &str {
        &self.username
    }
    pub fn display_name(&self) -> &str {
        &self.display_name
    }
    pub fn department(&self) -> Department {
        self.department
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }
}

fn department_and_role(s: &StoredStaff) -> Result<(Department, Role), StoreError> {
    let department = Department::from_name(&s.department)
        .ok_or_else(|| StoreError::Corrupt(format!("staff department {:?}", s.department)))?;
    let role = Role::from_name(&s.role)
        .ok_or_else(|| StoreError::Corrupt(format!("staff role {:?}", s.role)))?;
    Ok((department, role))
}

/// A staff account to create.
#[derive(Debug)]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub department: Department,
    pub role: Role,
    pub password: SecretString,
}

/// A created account. The provisioning URI holds the TOTP secret: show it once.
#[derive(Debug)]
pub struct Enrolled {
    pub id: StaffId,
    pub username: String,
    pub provisioning_uri: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("the username must be 3 to {USERNAME_MAX} characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")]
    InvalidUsername,
    #[error("the display name must be 1 to {DISPLAY_NAME_MAX} characters")]
    InvalidDisplayName,
    #[error("weak password: {0}")]
    WeakPassword(#[from] PasswordRuleError),
    #[error("the username {0} is already taken")]
    Duplicate(String),
    #[error("no such staff member")]
    NotFound,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Log(#[from] SecurityLogError),
}

impl From<StoreError> for StaffError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Why a login was refused. For logs and tests only: users are told just that
/// the username, password or code is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalReason {
    UnknownUsername,
    WrongPassword,
    WrongCode,
    ReplayedCode,
    Disabled,
}

impl RefusalReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::UnknownUsername => "unknown_username",
            Self::WrongPassword => "wrong_password",
            Self::WrongCode => "wrong_totp",
            Self::ReplayedCode => "replayed_totp",
            Self::Disabled => "disabled",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong username, password or code")]
    Refused(RefusalReason),
    #[error("too many failed logins; try again later")]
    LockedOut { until: Timestamp },
    #[error("a stored TOTP secret did not open")]
    SealedSecret,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Log(#[from] SecurityLogError),
}

/// Lower-cases and checks a username.
pub fn normalise_username(username: &str) -> Result<String, StaffError> {
    let username = username.trim().to_lowercase();
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    let starts_well = username
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if (3..=USERNAME_MAX).contains(&username.len()) && starts_well && username.chars().all(allowed)
    {
        Ok(username)
    } else {
        Err(StaffError::InvalidUsername)
    }
}

fn totp_purpose(id: StaffId) -> Vec<u8> {
    format!("shengshi staff totp v1|{id}").into_bytes()
}

/// Staff enrolment and login, built once at start-up.
#[derive(Clone, Debug)]
pub struct StaffAccounts {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    log: SecurityLog,
    secrets: Arc<PlatformSecrets>,
    hasher: PasswordHasher,
}

impl StaffAccounts {
    pub fn new(services: &Services, secrets: Arc<PlatformSecrets>) -> Self {
        Self {
            store: services.store.clone(),
            clock: services.clock.clone(),
            log: services.security_log.clone(),
            secrets,
            hasher: PasswordHasher::new(),
        }
    }

    /// The hasher, whose count of Argon2 computations tests read.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Creates an account on an operator's word (`shengshi staff add`): whoever
    /// runs the command line holds the installation's keys anyway. Staff
    /// administrators use [`admin::add_staff`].
    pub async fn add_by_operator(&self, new: NewStaff) -> Result<Enrolled, StaffError> {
        self.add(Actor::Operator, new).await
    }

    pub(crate) async fn add(&self, actor: Actor, new: NewStaff) -> Result<Enrolled, StaffError> {
        let username = normalise_username(&new.username)?;
        let display_name = new.display_name.trim().to_owned();
        if display_name.is_empty() || display_name.chars().count() > DISPLAY_NAME_MAX {
            return Err(StaffError::InvalidDisplayName);
        }
        password::check_rules(new.password.expose_secret())?;
        // Checked before the costly hash; the unique index decides races.
        if self.store.staff_by_username(&username).await?.is_some() {
            return Err(StaffError::Duplicate(username));
        }
        let password_hash = self.hasher.hash(&new.password).await?;
        let id = StaffId::new();
        let secret = totp::generate_secret();
        let stored = StoredStaff {
            id,
            username: username.clone(),
            display_name,
            department: new.department.name().to_owned(),
            role: new.role.name().to_owned(),
            password_hash,
            sealed_totp_secret: self
                .secrets
                .staff_totp_key()
                .seal(&secret, &totp_purpose(id)),
            disabled: false,
            failed_logins: 0,
            first_failed_at: None,
            locked_until: None,
            last_totp_step: None,
            created_at: self.clock.now(),
        };
        match self.store.insert_staff(&stored).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(StaffError::Duplicate(username)),
            Err(e) => return Err(e.into()),
        }
        self.log
            .record(
                actor,
                SecurityEventKind::StaffAdded {
                    staff: id,
                    department: new.department.name().to_owned(),
                    role: new.role.name().to_owned(),
                },
            )
            .await?;
        Ok(Enrolled {
            id,
            provisioning_uri: SecretString::from(totp::provisioning_uri(&username, &secret)),
            username,
        })
    }

    /// Checks a password and a TOTP code. Exactly one Argon2 computation is made
    /// whether or not the username exists (an unknown one is checked against a
    /// dummy hash), so response times do not tell which usernames exist.
    /// Failures are counted: the [`MAX_FAILURES`]-th within [`LOCKOUT_WINDOW`]
    /// locks the account for [`LOCKOUT`].
    pub async fn verify_password_and_totp(
        &self,
        username: &str,
        password: &SecretString,
        code: &str,
    ) -> Result<StaffMember, LoginError> {
        let found = match normalise_username(username) {
            Ok(username) => self.store.staff_by_username(&username).await?,
            Err(_) => None,
        };
        let phc = found
            .as_ref()
            .map_or(password::DUMMY_HASH, |s| s.password_hash.as_str());
        let password_ok = self.hasher.verify(password, phc).await?;
        let now = self.clock.now();
        let Some(staff) = found else {
            self.log_failure(None, RefusalReason::UnknownUsername)
                .await?;
            return Err(LoginError::Refused(RefusalReason::UnknownUsername));
        };
        if let Some(until) = staff.locked_until.filter(|until| *until > now) {
            self.log
                .record(
                    Actor::Anonymous,
                    SecurityEventKind::StaffLoginFailed {
                        staff: Some(staff.id),
                        reason: "locked_out".to_owned(),
                    },
                )
                .await?;
            return Err(LoginError::LockedOut { until });
        }
        if !password_ok {
            return Err(self.fail(&staff, now, RefusalReason::WrongPassword).await);
        }
        if staff.disabled {
            // After the password check, so that a guess learns nothing.
            self.log_failure(Some(staff.id), RefusalReason::Disabled)
                .await?;
            return Err(LoginError::Refused(RefusalReason::Disabled));
        }
        let secret = self
            .secrets
            .staff_totp_key()
            .open(&staff.sealed_totp_secret, &totp_purpose(staff.id))
            .map(zeroize::Zeroizing::new)
            .ok_or(LoginError::SealedSecret)?;
        let seconds = now.unix_millis().div_euclid(1000);
        let Some(step) = totp::matching_step(&secret, code, seconds) else {
            return Err(self.fail(&staff, now, RefusalReason::WrongCode).await);
        };
        if !self.store.record_staff_success(staff.id, step).await? {
            return Err(self.fail(&staff, now, RefusalReason::ReplayedCode).await);
        }
        self.log
            .record(
                Actor::Staff { id: staff.id },
                SecurityEventKind::StaffLoginSucceeded { staff: staff.id },
            )
            .await?;
        Ok(StaffMember::from_stored(&staff)?)
    }

    async fn log_failure(
        &self,
        staff: Option<StaffId>,
        reason: RefusalReason,
    ) -> Result<(), SecurityLogError> {
        self.log
            .record(
                Actor::Anonymous,
                SecurityEventKind::StaffLoginFailed {
                    staff,
                    reason: reason.name().to_owned(),
                },
            )
            .await
    }

    /// Counts a failure (and maybe starts a lockout); returns the error to give.
    async fn fail(&self, staff: &StoredStaff, now: Timestamp, reason: RefusalReason) -> LoginError {
        let counted = self
            .store
            .record_staff_failure(
                staff.id,
                now,
                now.plus(-LOCKOUT_WINDOW),
                MAX_FAILURES,
                now.plus(LOCKOUT),
            )
            .await;
        let failure = match counted {
            Ok(failure) => failure,
            Err(e) => return e.into(),
        };
        if let Err(e) = self.log_failure(Some(staff.id), reason).await {
            return e.into();
        }
        if let Some(until) = failure.locked_until {
            if let Err(e) = self
                .log
                .record(
                    Actor::Anonymous,
                    SecurityEventKind::StaffLockedOut {
                        staff: staff.id,
                        until: until.to_rfc3339(),
                    },
                )
                .await
            {
                return e.into();
            }
        }
        LoginError::Refused(reason)
    }
}

/// What a list of staff shows: never a secret or a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffSummary {
    pub id: StaffId,
    pub username: String,
    pub display_name: String,
    pub department: Department,
    pub role: Role,
    pub disabled: bool,
}

impl StaffSummary {
    fn from_stored(s: &StoredStaff) -> Result<Self, StoreError> {
        let (department, role) = department_and_role(s)?;
        Ok(Self {
            id: s.id,
            username: s.username.clone(),
            display_name: s.display_name.clone(),
            department,
            role,
            disabled: s.disabled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn departments_and_roles_are_named_in_both_catalogs() {
        use shengshi_i18n::{t, Lang};
        for d in Department::ALL {
            assert_eq!(t(Lang::ZhCn, &d.display_key()), d.display_zh());
            assert_eq!(t(Lang::En, &d.display_key()), d.display_en());
        }
        for r in Role::ALL {
            assert_eq!(t(Lang::ZhCn, &r.display_key()), r.display_zh());
            assert_eq!(t(Lang::En, &r.display_key()), r.display_en());
        }
    }

    #[test]
    fn usernames_are_lower_cased_and_restricted() {
        assert_eq!(
            normalise_username(" Li.Wei ").ok(),
            Some("li.wei".to_owned())
        );
        assert!(normalise_username("ab").is_err());
        assert!(normalise_username(".hidden").is_err());
        assert!(normalise_username("li wei").is_err());
        assert!(normalise_username("李伟").is_err());
        assert!(normalise_username(&"a".repeat(65)).is_err());
    }
}
