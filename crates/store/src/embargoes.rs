//! Embargoes on telling a subject about accesses to their data (deferred
//! disclosure). A clerk requests one; a supervisor of the same department
//! approves or refuses it, once. Accesses made under an approved embargo carry
//! it in their access log entry (see `shengshi_domain::access::Embargo`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{Department, EmbargoId, StaffId, SubjectId, Timestamp};

use crate::StoreError;

/// Where an embargo stands. It is decided once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbargoStatus {
    Requested,
    Approved,
    Refused,
}

impl EmbargoStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Refused => "refused",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "requested" => Some(Self::Requested),
            "approved" => Some(Self::Approved),
            "refused" => Some(Self::Refused),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEmbargo {
    pub id: EmbargoId,
    pub subject: SubjectId,
    pub requested_by: StaffId,
    pub department: Department,
    /// The cited law and article.
    pub legal_basis: String,
    #[serde(with = "shengshi_domain::security::millis")]
    pub until: Timestamp,
    pub status: EmbargoStatus,
    pub approved_by: Option<StaffId>,
    #[serde(with = "crate::millis_opt")]
    pub decided_at: Option<Timestamp>,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
}

#[async_trait]
pub trait EmbargoStore: Send + Sync {
    async fn insert_embargo(&self, embargo: &StoredEmbargo) -> Result<(), StoreError>;
    async fn embargo(&self, id: EmbargoId) -> Result<Option<StoredEmbargo>, StoreError>;
    /// Records the decision on a requested embargo; `Ok(false)` if it was
    /// already decided (or is absent), in which case nothing changes.
    async fn decide_embargo(
        &self,
        id: EmbargoId,
        status: EmbargoStatus,
        decided_by: StaffId,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// A department's embargoes still waiting for a supervisor, oldest first.
    async fn embargoes_awaiting_decision(
        &self,
        department: Department,
    ) -> Result<Vec<StoredEmbargo>, StoreError>;
    /// Embargoes ordered by id, after `after` (exclusive), for export.
    async fn embargoes(
        &self,
        after: Option<EmbargoId>,
        limit: u32,
    ) -> Result<Vec<StoredEmbargo>, StoreError>;
    /// Import: embargoes as they are.
    async fn insert_embargoes(&self, embargoes: &[StoredEmbargo]) -> Result<(), StoreError>;
}
