//! Applications from organisations that want to verify e-ID codes online:
//! submitted on a public page, decided once by staff (an approval registers
//! the organisation as a verifier).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{StaffId, Timestamp};

use crate::StoreError;

/// Where an application stands. It is decided once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Refused,
}

impl ApplicationStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Refused => "refused",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "refused" => Some(Self::Refused),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVerifierApplication {
    pub id: uuid::Uuid,
    pub name: String,
    /// A verifier category (`hotel`, `railway`, …).
    pub category: String,
    /// The purposes asked for, each allowed for the category.
    pub purposes: Vec<String>,
    /// How the platform reaches the organisation.
    pub contact: String,
    /// A keyed MAC of the address it was sent from (the per-address limit).
    #[serde(with = "crate::base64_bytes")]
    pub address_mac: Vec<u8>,
    pub status: ApplicationStatus,
    #[serde(with = "shengshi_domain::security::millis")]
    pub submitted_at: Timestamp,
    pub decided_by: Option<StaffId>,
    #[serde(with = "crate::millis_opt")]
    pub decided_at: Option<Timestamp>,
    /// Why it was refused (refusals only).
    pub reason: Option<String>,
    /// The verifier an approval registered.
    pub verifier: Option<uuid::Uuid>,
}

#[async_trait]
pub trait VerifierApplicationStore: Send + Sync {
    /// Stores a pending application unless its address already sent `limit`
    /// applications since `since`; `Ok(false)` then, and nothing is stored.
    /// The count and the insert are one transaction.
    async fn insert_verifier_application(
        &self,
        application: &StoredVerifierApplication,
        limit: u32,
        since: Timestamp,
    ) -> Result<bool, StoreError>;
    async fn verifier_application(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<StoredVerifierApplication>, StoreError>;
    /// Pending applications, oldest first.
    async fn pending_verifier_applications(
        &self,
    ) -> Result<Vec<StoredVerifierApplication>, StoreError>;
    /// Decides a pending application (`Approved` or `Refused`, with a reason
    /// for a refusal); `Ok(false)` if it was already decided or is absent,
    /// and nothing changes.
    async fn decide_verifier_application(
        &self,
        id: uuid::Uuid,
        status: ApplicationStatus,
        decided_by: StaffId,
        at: Timestamp,
        reason: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Applications ordered by id, after `after` (exclusive), for export.
    async fn verifier_applications(
        &self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredVerifierApplication>, StoreError>;
    /// Import: applications as they are (after the verifiers they name).
    async fn insert_verifier_applications(
        &self,
        applications: &[StoredVerifierApplication],
    ) -> Result<(), StoreError>;
    /// Names the verifier an approved application registered, once;
    /// `Ok(false)` if the application is not approved or already names one.
    async fn set_application_verifier(
        &self,
        id: uuid::Uuid,
        verifier: uuid::Uuid,
    ) -> Result<bool, StoreError>;
}
