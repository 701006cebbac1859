//! Organisations apply to verify e-ID codes online; platform operations'
//! administrators decide (issue 8 item 1, issue 9's "verifier registrations"
//! queue).
//!
//! - **Applying** is public: a name, a verifier category, the purposes asked
//!   for (each allowed for the category, `shengshi_eid::Purpose::allows`) and
//!   a contact. At most [`APPLICATIONS_PER_ADDRESS_PER_DAY`] per address, so
//!   that the queue cannot be flooded; the address is kept only as a keyed MAC.
//! - **Deciding** takes a [`VerifierRegistrarCap`]. An approval registers the
//!   organisation through [`verifiers::register`] and hands back its first API
//!   key, once; a refusal needs a reason. Both are security events naming the
//!   staff member. The application is claimed before the organisation is
//!   registered, so two administrators approving at once register it once.
//! - The organisations' own administration (list, rotate a key, suspend,
//!   resume) is [`verifiers`]' functions behind the same capability.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use shengshi_domain::security::{Actor, SecurityEventKind};
use shengshi_domain::Timestamp;
use shengshi_eid as eid;
use shengshi_store::{ApplicationStatus, StoreError, StoredVerifierApplication};
use time::Duration;

use crate::secrets::PlatformSecrets;
use crate::staff::capability::VerifierRegistrarCap;
use crate::verifiers::{self, IssuedKey, NewVerifier, Verifier, VerifierAdminError};
use crate::Services;

/// Applications one address may send in a day.
pub const APPLICATIONS_PER_ADDRESS_PER_DAY: u32 = 3;
/// The longest contact (an office e-mail address or telephone number).
pub const MAX_CONTACT_CHARS: usize = 200;
/// The longest reason for a refusal.
pub const MAX_REASON_CHARS: usize = 500;

/// What an organisation sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApplication {
    pub name: String,
    pub category: eid::VerifierCategory,
    pub purposes: Vec<eid::Purpose>,
    pub contact: String,
}

/// An application, as staff see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub id: uuid::Uuid,
    pub name: String,
    pub category: eid::VerifierCategory,
    pub purposes: Vec<eid::Purpose>,
    pub contact: String,
    pub status: ApplicationStatus,
    pub submitted_at: Timestamp,
    pub reason: Option<String>,
    pub verifier: Option<uuid::Uuid>,
}

impl Application {
    fn from_stored(stored: StoredVerifierApplication) -> Result<Self, StoreError> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("verifier application {}: {what}", stored.id));
        let category = eid::VerifierCategory::from_name(&stored.category)
            .ok_or_else(|| corrupt("category"))?;
        let purposes = stored
            .purposes
            .iter()
            .map(|p| eid::Purpose::from_name(p).ok_or_else(|| corrupt("purpose")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            id: stored.id,
            name: stored.name,
            category,
            purposes,
            contact: stored.contact,
            status: stored.status,
            submitted_at: stored.submitted_at,
            reason: stored.reason,
            verifier: stored.verifier,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("an organisation's name has 1 to 200 characters and no control characters")]
    BadName,
    #[error("choose at least one purpose")]
    NoPurposes,
    #[error("a {category} verifier may not ask for {purpose}")]
    PurposeNotForCategory {
        purpose: &'static str,
        category: &'static str,
    },
    #[error("a contact has 1 to 200 characters and no control characters")]
    BadContact,
    #[error("too many applications from this address today")]
    TooMany,
    #[error("the application could not be stored: {0}")]
    Internal(String),
}

impl ApplyError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadName => "verifier_name",
            Self::NoPurposes => "verifier_purposes",
            Self::PurposeNotForCategory { .. } => "verifier_purpose_not_for_category",
            Self::BadContact => "verifier_contact",
            Self::TooMany => "verifier_applications_too_many",
            Self::Internal(_) => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("no such application")]
    NotFound,
    #[error("the application has already been decided")]
    AlreadyDecided,
    #[error("a refusal needs a reason")]
    NoReason,
    #[error("a reason has at most {MAX_REASON_CHARS} characters")]
    ReasonTooLong,
    #[error(transparent)]
    Register(#[from] VerifierAdminError),
    #[error("the application could not be decided: {0}")]
    Internal(String),
}

impl From<StoreError> for DecideError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

fn clean_text(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    (!text.is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control))
        .then(|| text.to_owned())
}

/// The keyed MAC an address is counted under (the address itself is not kept).
fn address_mac(secrets: &PlatformSecrets, address: IpAddr) -> Vec<u8> {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secrets.otp_mac_key()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(b"verifier application address|");
    mac.update(address.to_string().as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Checks an application as `verifiers::register` will check the
/// organisation, so that an approval cannot fail on what was sent.
fn check(new: &NewApplication) -> Result<(String, String, Vec<eid::Purpose>), ApplyError> {
    let name = clean_text(&new.name, verifiers::MAX_NAME_CHARS).ok_or(ApplyError::BadName)?;
    let mut purposes: Vec<eid::Purpose> = Vec::new();
    for p in &new.purposes {
        if !purposes.contains(p) {
            purposes.push(*p);
        }
    }
    if purposes.is_empty() {
        return Err(ApplyError::NoPurposes);
    }
    if let Some(purpose) = purposes.iter().find(|p| !p.allows(new.category)) {
        return Err(ApplyError::PurposeNotForCategory {
            purpose: purpose.name(),
            category: new.category.name(),
        });
    }
    let contact = clean_text(&new.contact, MAX_CONTACT_CHARS).ok_or(ApplyError::BadContact)?;
    Ok((name, contact, purposes))
}

/// An organisation applies; the application waits in the queue.
pub async fn apply(
    services: &Services,
    secrets: &PlatformSecrets,
    new: NewApplication,
    address: IpAddr,
) -> Result<Application, ApplyError> {
    let (name, contact, purposes) = check(&new)?;
    let now = services.clock.now();
    let stored = StoredVerifierApplication {
        id: uuid::Uuid::now_v7(),
        name,
        category: new.category.name().to_owned(),
        purposes: purposes.iter().map(|p| p.name().to_owned()).collect(),
        contact,
        address_mac: address_mac(secrets, address),
        status: ApplicationStatus::Pending,
        submitted_at: now,
        decided_by: None,
        decided_at: None,
        reason: None,
        verifier: None,
    };
    let stored_ok = services
        .store
        .insert_verifier_application(
            &stored,
            APPLICATIONS_PER_ADDRESS_PER_DAY,
            now.plus(-Duration::days(1)),
        )
        .await
        .map_err(|e| ApplyError::Internal(e.to_string()))?;
    if !stored_ok {
        return Err(ApplyError::TooMany);
    }
    Application::from_stored(stored).map_err(|e| ApplyError::Internal(e.to_string()))
}

/// The queue: applications waiting for a decision, oldest first.
pub async fn pending(
    services: &Services,
    _cap: &VerifierRegistrarCap,
) -> Result<Vec<Application>, DecideError> {
    services
        .store
        .pending_verifier_applications()
        .await?
        .into_iter()
        .map(|s| Application::from_stored(s).map_err(DecideError::from))
        .collect()
}

/// One application, decided or not.
pub async fn application(
    services: &Services,
    _cap: &VerifierRegistrarCap,
    id: uuid::Uuid,
) -> Result<Application, DecideError> {
    let stored = services
        .store
        .verifier_application(id)
        .await?
        .ok_or(DecideError::NotFound)?;
    Ok(Application::from_stored(stored)?)
}

async fn pending_application(
    services: &Services,
    id: uuid::Uuid,
) -> Result<Application, DecideError> {
    let stored = services
        .store
        .verifier_application(id)
        .await?
        .ok_or(DecideError::NotFound)?;
    if stored.status != ApplicationStatus::Pending {
        return Err(DecideError::AlreadyDecided);
    }
    Ok(Application::from_stored(stored)?)
}

/// Approves an application: registers the organisation with the purposes it
/// asked for and issues its first API key (shown once, never stored).
pub async fn approve(
    services: &Services,
    secrets: &PlatformSecrets,
    cap: &VerifierRegistrarCap,
    id: uuid::Uuid,
) -> Result<IssuedKey, DecideError> {
    let application = pending_application(services, id).await?;
    let now = services.clock.now();
    // Claimed first: of two administrators approving at once, one registers.
    if !services
        .store
        .decide_verifier_application(id, ApplicationStatus::Approved, cap.staff(), now, None)
        .await?
    {
        return Err(DecideError::AlreadyDecided);
    }
    let issued = verifiers::register(
        services,
        secrets,
        Actor::Staff { id: cap.staff() },
        NewVerifier {
            name: application.name,
            category: application.category,
            purposes: application.purposes,
        },
    )
    .await?;
    services
        .store
        .set_application_verifier(id, issued.verifier.id)
        .await?;
    services
        .security_log
        .record(
            Actor::Staff { id: cap.staff() },
            SecurityEventKind::VerifierApplicationApproved {
                application: id,
                verifier: issued.verifier.id,
                staff: cap.staff(),
            },
        )
        .await
        .map_err(|e| DecideError::Internal(e.to_string()))?;
    Ok(issued)
}

/// Refuses an application, for a reason the organisation can be told.
pub async fn refuse(
    services: &Services,
    cap: &VerifierRegistrarCap,
    id: uuid::Uuid,
    reason: &str,
) -> Result<Application, DecideError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(DecideError::NoReason);
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(DecideError::ReasonTooLong);
    }
    let application = pending_application(services, id).await?;
    let now = services.clock.now();
    if !services
        .store
        .decide_verifier_application(
            id,
            ApplicationStatus::Refused,
            cap.staff(),
            now,
            Some(reason),
        )
        .await?
    {
        return Err(DecideError::AlreadyDecided);
    }
    services
        .security_log
        .record(
            Actor::Staff { id: cap.staff() },
            SecurityEventKind::VerifierApplicationRefused {
                application: id,
                staff: cap.staff(),
                reason: reason.to_owned(),
            },
        )
        .await
        .map_err(|e| DecideError::Internal(e.to_string()))?;
    Ok(Application {
        status: ApplicationStatus::Refused,
        reason: Some(reason.to_owned()),
        ..application
    })
}

/// Every registered organisation, oldest first.
pub async fn organisations(
    services: &Services,
    _cap: &VerifierRegistrarCap,
) -> Result<Vec<Verifier>, VerifierAdminError> {
    verifiers::list(services).await
}

/// A new API key for an organisation; its older keys stop working.
pub async fn rotate_key(
    services: &Services,
    secrets: &PlatformSecrets,
    cap: &VerifierRegistrarCap,
    id: uuid::Uuid,
) -> Result<IssuedKey, VerifierAdminError> {
    verifiers::rotate_key(services, secrets, Actor::Staff { id: cap.staff() }, id).await
}

/// Suspends (`active = false`) or resumes an organisation.
pub async fn set_active(
    services: &Services,
    cap: &VerifierRegistrarCap,
    id: uuid::Uuid,
    active: bool,
) -> Result<Verifier, VerifierAdminError> {
    verifiers::set_active(services, Actor::Staff { id: cap.staff() }, id, active).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use eid::{Purpose, VerifierCategory};

    fn new(category: VerifierCategory, purposes: &[Purpose]) -> NewApplication {
        NewApplication {
            name: " 西湖大酒店 ".into(),
            category,
            purposes: purposes.to_vec(),
            contact: "frontdesk@xihu-hotel.example".into(),
        }
    }

    #[test]
    fn an_application_asks_only_for_what_its_category_allows() {
        let (name, _, purposes) = check(&new(
            VerifierCategory::Hotel,
            &[
                Purpose::HotelCheckin,
                Purpose::AgeOver18,
                Purpose::HotelCheckin,
            ],
        ))
        .unwrap();
        assert_eq!(name, "西湖大酒店");
        assert_eq!(purposes, vec![Purpose::HotelCheckin, Purpose::AgeOver18]);
        assert!(matches!(
            check(&new(VerifierCategory::Retail, &[Purpose::IdentityFull])),
            Err(ApplyError::PurposeNotForCategory {
                purpose: "identity_full",
                category: "retail"
            })
        ));
        assert!(matches!(
            check(&new(VerifierCategory::Bank, &[])),
            Err(ApplyError::NoPurposes)
        ));
    }

    #[test]
    fn name_and_contact_are_checked() {
        let mut bad = new(VerifierCategory::Hotel, &[Purpose::HotelCheckin]);
        bad.name = "  ".into();
        assert!(matches!(check(&bad), Err(ApplyError::BadName)));
        let mut bad = new(VerifierCategory::Hotel, &[Purpose::HotelCheckin]);
        bad.contact = "a\u{7}b".into();
        assert!(matches!(check(&bad), Err(ApplyError::BadContact)));
        bad.contact = "x".repeat(MAX_CONTACT_CHARS + 1);
        assert!(matches!(check(&bad), Err(ApplyError::BadContact)));
    }
}
