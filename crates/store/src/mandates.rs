//! Mandates (亲友代办) and the actions taken under them.
//!
//! The actions are append-only: the stores refuse to update or delete one.
//! Recording an action checks the mandate inside the same transaction, with the
//! mandate row locked against a concurrent revocation, so an action is recorded
//! only if the mandate was active when it committed.

use async_trait::async_trait;
use shengshi_domain::mandate::{Mandate, MandateAction, MandateRefusal};
use shengshi_domain::{AccountId, MandateActionId, MandateId, Timestamp};

use crate::StoreError;

/// What a revocation found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// Revoked now; the mandate as stored after the revocation.
    Revoked(Mandate),
    /// It already was revoked (a repeat is not an error); the mandate as stored.
    AlreadyRevoked(Mandate),
    /// No mandate with that id was given by that grantor.
    NotFound,
}

/// Why an action was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ActionRefused {
    #[error("no such mandate")]
    NoSuchMandate,
    #[error(transparent)]
    Refused(#[from] MandateRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait MandateStore: Send + Sync {
    /// Stores a new mandate. Both accounts must exist.
    async fn insert_mandate(&self, mandate: &Mandate) -> Result<(), StoreError>;
    async fn mandate(&self, id: MandateId) -> Result<Option<Mandate>, StoreError>;
    /// Mandates a resident gave, newest first.
    async fn mandates_by_grantor(&self, grantor: AccountId) -> Result<Vec<Mandate>, StoreError>;
    /// Mandates given to a resident, newest first.
    async fn mandates_by_grantee(&self, grantee: AccountId) -> Result<Vec<Mandate>, StoreError>;
    /// Revokes a mandate given by `grantor`, in one transaction; idempotent.
    async fn revoke_mandate(
        &self,
        id: MandateId,
        grantor: AccountId,
        at: Timestamp,
    ) -> Result<Revocation, StoreError>;
    /// In one transaction: reads the mandate (locked against revocation),
    /// checks [`shengshi_domain::mandate::can_act`] at `action.at`, and records
    /// the action only if it passes.
    async fn record_mandate_action(&self, action: &MandateAction) -> Result<(), ActionRefused>;
    /// Actions taken under the mandates a resident gave, oldest first.
    async fn mandate_actions_for_grantor(
        &self,
        grantor: AccountId,
    ) -> Result<Vec<MandateAction>, StoreError>;
    /// Mandates ordered by id, after `after` (exclusive), for export.
    async fn mandates(
        &self,
        after: Option<MandateId>,
        limit: u32,
    ) -> Result<Vec<Mandate>, StoreError>;
    /// Actions ordered by id, after `after` (exclusive), for export.
    async fn mandate_actions(
        &self,
        after: Option<MandateActionId>,
        limit: u32,
    ) -> Result<Vec<MandateAction>, StoreError>;
    /// Inserts mandates as they are, revoked or not (import).
    async fn insert_mandates(&self, mandates: &[Mandate]) -> Result<(), StoreError>;
    /// Inserts actions as they are, without checking their mandates (import).
    async fn insert_mandate_actions(&self, actions: &[MandateAction]) -> Result<(), StoreError>;
}
