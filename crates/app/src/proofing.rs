//! In-person proofing at a counter: the step to L3, and how a squatter loses
//! an identity they registered first.
//!
//! A public security clerk (holding [`IdentityCheckCap`]) compares the person
//! with their identity card, types the name and number from the card, and the
//! resident reads back a code sent to their phone. Then, for that ID number:
//!
//! - the resident's own account (same phone) is marked as checked in person;
//!   with a passkey it is L3 at once, otherwise when they add one;
//! - no account: one is opened for the resident, already checked in person;
//! - an account on another phone: it was opened with this identity by someone
//!   else. Only when the clerk confirms that the resident did not open it is it
//!   evicted (its sessions and passkeys revoked, in the same transaction that
//!   opens the resident's own account); both events are logged.

use shengshi_domain::phone::CodePurpose;
use shengshi_domain::{
    AccountId, Actor, AssuranceLevel, PersonName, PhoneCode, PhoneNumber, ResidentIdNumber,
    SecurityEventKind,
};
use shengshi_store::StoreError;

use crate::passkeys::{self, PasskeyError};
use crate::phone_codes::{self, VerifyCodeError};
use crate::registration::{id_number_mac, new_account, Identity};
use crate::registry::{PopulationRegistry, RegistryAnswer, RegistryError, RegistryQuery};
use crate::secrets::PlatformSecrets;
use crate::staff::capability::IdentityCheckCap;
use crate::Services;
use shengshi_domain::access::{Accessor, Purpose};

/// What the clerk enters, from the card and the resident.
#[derive(Clone, Debug)]
pub struct CounterCheck {
    pub name: PersonName,
    pub id_number: ResidentIdNumber,
    pub phone: PhoneNumber,
    pub code: PhoneCode,
    /// The clerk confirms that an account on another phone is not the
    /// resident's: evict it. Without this, such an account stops the check.
    pub evict_other_account: bool,
}

/// What the check did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterOutcome {
    /// The resident's own account is now checked in person, at this level.
    Verified {
        account: AccountId,
        level: AssuranceLevel,
    },
    /// Nobody had an account for this identity: the resident has one now.
    Opened { account: AccountId },
    /// Someone else's account held the identity: it is evicted and the
    /// resident has their own.
    SquatterEvicted {
        evicted: AccountId,
        account: AccountId,
    },
}

impl CounterOutcome {
    /// The resident's account after the check.
    pub fn account(&self) -> AccountId {
        match *self {
            Self::Verified { account, .. }
            | Self::Opened { account }
            | Self::SquatterEvicted { account, .. } => account,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CounterCheckError {
    #[error(transparent)]
    Code(#[from] VerifyCodeError),
    #[error("the population registry has no person with this ID number")]
    NotInRegistry,
    #[error("the name does not match the population registry for this ID number")]
    NameMismatch,
    #[error("the population registry records this person as deceased")]
    Deceased,
    #[error("the population registry records this person as emigrated")]
    Emigrated,
    #[error("the population registry cannot be reached; nothing was changed")]
    RegistryUnavailable(#[source] RegistryError),
    #[error(
        "an account on another phone number holds this identity; if the resident did not open it, confirm its eviction"
    )]
    OtherAccountExists,
    #[error("the counter check failed: {0}")]
    Internal(String),
}

impl CounterCheckError {
    /// A stable code for translations and API problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Code(_) => "code",
            Self::NotInRegistry => "not_in_registry",
            Self::NameMismatch => "name_mismatch",
            Self::Deceased => "deceased",
            Self::Emigrated => "emigrated",
            Self::RegistryUnavailable(_) => "registry_unavailable",
            Self::OtherAccountExists => "other_account_exists",
            Self::Internal(_) => "internal",
        }
    }
}

fn internal(e: impl std::fmt::Display) -> CounterCheckError {
    CounterCheckError::Internal(e.to_string())
}

impl From<StoreError> for CounterCheckError {
    fn from(e: StoreError) -> Self {
        internal(e)
    }
}

impl From<PasskeyError> for CounterCheckError {
    fn from(e: PasskeyError) -> Self {
        internal(e)
    }
}

/// Runs the check described in the module documentation.
pub async fn complete(
    cap: &IdentityCheckCap,
    services: &Services,
    secrets: &PlatformSecrets,
    registry: &dyn PopulationRegistry,
    check: &CounterCheck,
) -> Result<CounterOutcome, CounterCheckError> {
    match registry
        .check(
            &check.id_number,
            &check.name,
            &RegistryQuery {
                accessor: Accessor::Staff {
                    staff: cap.staff(),
                    department: cap.department(),
                    role: cap.role(),
                },
                purpose: Purpose::CounterCheck,
                reference: None,
            },
        )
        .await
        .map_err(CounterCheckError::RegistryUnavailable)?
    {
        RegistryAnswer::Match(_) => {}
        RegistryAnswer::NameMismatch => return Err(CounterCheckError::NameMismatch),
        RegistryAnswer::NotFound => return Err(CounterCheckError::NotInRegistry),
        RegistryAnswer::Deceased => return Err(CounterCheckError::Deceased),
        RegistryAnswer::Emigrated => return Err(CounterCheckError::Emigrated),
    }

    let staff = cap.staff();
    let now = services.clock.now();
    let phone_mac = phone_codes::phone_mac(secrets, &check.phone);
    let existing = services
        .store
        .active_account_by_id_number(&id_number_mac(secrets, &check.id_number))
        .await?;
    // Decided before the code is used up, so that the clerk can ask the
    // resident and confirm without sending another code.
    let other_phone = existing.as_ref().is_some_and(|a| a.phone_mac != phone_mac);
    if other_phone && !check.evict_other_account {
        return Err(CounterCheckError::OtherAccountExists);
    }
    phone_codes::verify(
        services.store.as_ref(),
        services.clock.as_ref(),
        secrets,
        &check.phone,
        CodePurpose::CounterCheck,
        &check.code,
    )
    .await?;
    let outcome = match existing {
        Some(own) if own.phone_mac == phone_mac => {
            if !services.store.record_in_person_check(own.id, now).await? {
                return Err(internal("the account stopped being active"));
            }
            passkeys::refresh_assurance(services, own.id).await?;
            let level = services
                .store
                .account(own.id)
                .await?
                .and_then(|a| AssuranceLevel::from_number(a.assurance_level))
                .ok_or_else(|| internal("the account vanished"))?;
            CounterOutcome::Verified {
                account: own.id,
                level,
            }
        }
        Some(squatter) => {
            let (account, key) = new_account(
                services,
                secrets,
                identity(check),
                AssuranceLevel::RealName,
                Some(now),
            )
            .await
            .map_err(internal)?;
            services
                .store
                .evict_and_replace(squatter.id, &account, &key, now)
                .await?;
            services
                .security_log
                .record(
                    Actor::Staff { id: staff },
                    SecurityEventKind::AccountEvicted {
                        account: squatter.id,
                        replacement: account.id,
                        staff,
                    },
                )
                .await
                .map_err(internal)?;
            log_opened(services, &account).await?;
            CounterOutcome::SquatterEvicted {
                evicted: squatter.id,
                account: account.id,
            }
        }
        None => {
            let (account, key) = new_account(
                services,
                secrets,
                identity(check),
                AssuranceLevel::RealName,
                Some(now),
            )
            .await
            .map_err(internal)?;
            services.store.create_account(&account, &key).await?;
            log_opened(services, &account).await?;
            CounterOutcome::Opened {
                account: account.id,
            }
        }
    };
    services
        .security_log
        .record(
            Actor::Staff { id: staff },
            SecurityEventKind::CounterVerified {
                account: outcome.account(),
                staff,
            },
        )
        .await
        .map_err(internal)?;
    Ok(outcome)
}

fn identity(check: &CounterCheck) -> Identity<'_> {
    Identity {
        name: &check.name,
        id_number: &check.id_number,
        phone: &check.phone,
    }
}

async fn log_opened(
    services: &Services,
    account: &shengshi_store::StoredAccount,
) -> Result<(), CounterCheckError> {
    services
        .security_log
        .record(
            Actor::Subject {
                id: account.subject,
            },
            SecurityEventKind::AccountRegistered {
                account: account.id,
                level: AssuranceLevel::RealName.number(),
            },
        )
        .await
        .map_err(internal)
}
