//! Mandates (亲友代办): a resident authorises a family member or guardian to
//! act for them, for named services, for a bounded time, revocably; every
//! action taken under a mandate is recorded and the resident can read them all.
//!
//! The rules are pure functions in `shengshi_domain::mandate`. Recording an
//! action checks them inside the store's transaction, with the mandate locked
//! against a revocation, so an action is recorded only if the mandate was
//! active when it committed. Grants and revocations go to the security log.

use shengshi_domain::account::AccountStatus;
use shengshi_domain::mandate::{
    ActionCode, Mandate, MandateAction, MandateError, MandateRefusal, MandateRequest,
    MandateStatus, Relationship, ServiceCode, ServiceSet,
};
use shengshi_domain::{
    AccountId, Actor, AssuranceLevel, MandateActionId, MandateId, SecurityEventKind, Timestamp,
};
use shengshi_store::{ActionRefused, Revocation, StoreError, StoredAccount};

use crate::Services;

/// What a resident asks for when granting a mandate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRequest {
    pub grantor: AccountId,
    pub grantee: AccountId,
    pub relationship: Relationship,
    pub services: ServiceSet,
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("your account cannot give mandates")]
    GrantorNotActive,
    #[error("there is no active account to give this mandate to")]
    NoSuchGrantee,
    #[error(transparent)]
    Invalid(#[from] MandateError),
    #[error("the mandate would already have ended")]
    AlreadyEnded,
    #[error("the mandate could not be granted: {0}")]
    Internal(String),
}

impl GrantError {
    /// A stable code for translations and API problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::GrantorNotActive => "grantor_not_active",
            Self::NoSuchGrantee => "no_such_grantee",
            Self::Invalid(e) => e.code(),
            Self::AlreadyEnded => "already_ended",
            Self::Internal(_) => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// Also the answer for someone else's mandate: it tells nothing about it.
    #[error("you gave no such mandate")]
    NotFound,
    #[error("the mandate could not be revoked: {0}")]
    Internal(String),
}

impl RevokeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Internal(_) => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("no such mandate")]
    NoSuchMandate,
    #[error(transparent)]
    Refused(MandateRefusal),
    #[error("the action could not be recorded: {0}")]
    Internal(String),
}

impl ActError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSuchMandate => "no_such_mandate",
            Self::Refused(r) => r.code(),
            Self::Internal(_) => "internal",
        }
    }
}

fn internal<E: std::fmt::Display>(wrap: fn(String) -> E) -> impl Fn(StoreError) -> E {
    move |e| wrap(e.to_string())
}

/// A mandate with where it stands now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MandateView {
    pub mandate: Mandate,
    pub status: MandateStatus,
}

fn is_active(account: &StoredAccount) -> bool {
    AccountStatus::from_name(&account.status) == Some(AccountStatus::Active)
}

/// Grants a mandate from `request.grantor` to `request.grantee`.
pub async fn grant(services: &Services, request: GrantRequest) -> Result<Mandate, GrantError> {
    let store = services.store.as_ref();
    let now = services.clock.now();
    let grantor = store
        .account(request.grantor)
        .await
        .map_err(internal(GrantError::Internal))?
        .filter(is_active)
        .ok_or(GrantError::GrantorNotActive)?;
    let grantee = store
        .account(request.grantee)
        .await
        .map_err(internal(GrantError::Internal))?
        .filter(is_active)
        .ok_or(GrantError::NoSuchGrantee)?;
    let grantee_level = AssuranceLevel::from_number(grantee.assurance_level)
        .ok_or_else(|| GrantError::Internal("the grantee's assurance level is corrupt".into()))?;
    let mandate = Mandate::grant(
        MandateRequest {
            grantor: request.grantor,
            grantee: request.grantee,
            grantee_level,
            relationship: request.relationship,
            services: request.services,
            valid_from: request.valid_from,
            valid_until: request.valid_until,
        },
        now,
    )?;
    if mandate.valid_until() <= now {
        return Err(GrantError::AlreadyEnded);
    }
    store
        .insert_mandate(&mandate)
        .await
        .map_err(internal(GrantError::Internal))?;
    services
        .security_log
        .record(
            Actor::Subject {
                id: grantor.subject,
            },
            SecurityEventKind::MandateGranted {
                mandate: mandate.id(),
                grantor: mandate.grantor(),
                grantee: mandate.grantee(),
            },
        )
        .await
        .map_err(|e| GrantError::Internal(e.to_string()))?;
    Ok(mandate)
}

/// Revokes a mandate; only its grantor may. Revoking it again answers the same
/// and logs nothing more.
pub async fn revoke(
    services: &Services,
    mandate: MandateId,
    by: AccountId,
) -> Result<Mandate, RevokeError> {
    let store = services.store.as_ref();
    let now = services.clock.now();
    match store
        .revoke_mandate(mandate, by, now)
        .await
        .map_err(internal(RevokeError::Internal))?
    {
        Revocation::NotFound => Err(RevokeError::NotFound),
        Revocation::AlreadyRevoked(m) => Ok(m),
        Revocation::Revoked(m) => {
            let subject = store
                .account(by)
                .await
                .map_err(internal(RevokeError::Internal))?
                .map(|a| a.subject);
            let actor = match subject {
                Some(id) => Actor::Subject { id },
                None => Actor::System,
            };
            services
                .security_log
                .record(
                    actor,
                    SecurityEventKind::MandateRevoked {
                        mandate: m.id(),
                        grantor: by,
                    },
                )
                .await
                .map_err(|e| RevokeError::Internal(e.to_string()))?;
            Ok(m)
        }
    }
}

fn views(mandates: Vec<Mandate>, now: Timestamp) -> Vec<MandateView> {
    mandates
        .into_iter()
        .map(|mandate| MandateView {
            status: mandate.status(now),
            mandate,
        })
        .collect()
}

/// The mandates a resident gave, newest first, with their status now.
pub async fn list_for_grantor(
    services: &Services,
    grantor: AccountId,
) -> Result<Vec<MandateView>, StoreError> {
    let mandates = services.store.mandates_by_grantor(grantor).await?;
    Ok(views(mandates, services.clock.now()))
}

/// The mandates given to a resident, newest first, with their status now.
pub async fn list_for_grantee(
    services: &Services,
    grantee: AccountId,
) -> Result<Vec<MandateView>, StoreError> {
    let mandates = services.store.mandates_by_grantee(grantee).await?;
    Ok(views(mandates, services.clock.now()))
}

/// Records that `actor` did `action` in `service` for the mandate's grantor,
/// if the mandate allows it at the moment the record commits.
pub async fn act_under_mandate(
    services: &Services,
    mandate: MandateId,
    actor: AccountId,
    service: ServiceCode,
    action: ActionCode,
) -> Result<MandateAction, ActError> {
    let record = MandateAction {
        id: MandateActionId::new(),
        mandate,
        actor,
        service,
        action,
        at: services.clock.now(),
    };
    match services.store.record_mandate_action(&record).await {
        Ok(()) => Ok(record),
        Err(ActionRefused::NoSuchMandate) => Err(ActError::NoSuchMandate),
        Err(ActionRefused::Refused(r)) => Err(ActError::Refused(r)),
        Err(ActionRefused::Store(e)) => Err(ActError::Internal(e.to_string())),
    }
}

/// Every action taken for a resident under the mandates they gave, oldest first.
pub async fn actions_for_grantor(
    services: &Services,
    grantor: AccountId,
) -> Result<Vec<MandateAction>, StoreError> {
    services.store.mandate_actions_for_grantor(grantor).await
}
