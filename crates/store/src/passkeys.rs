//! Passkeys (WebAuthn credentials) of residents and staff, and the state of
//! WebAuthn ceremonies between their two requests.
//!
//! A passkey is not personal data (a public key and a counter), so it is stored
//! as the WebAuthn library's JSON. A ceremony's state holds the challenge the
//! browser must sign; it lives a few minutes and is taken exactly once.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{AccountId, StaffId, Timestamp};

use crate::StoreError;

/// Whose passkey it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum PasskeyOwner {
    Resident(AccountId),
    Staff(StaffId),
}

impl PasskeyOwner {
    /// `resident` or `staff`, as stored.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Resident(_) => "resident",
            Self::Staff(_) => "staff",
        }
    }

    pub fn uuid(self) -> uuid::Uuid {
        match self {
            Self::Resident(id) => id.as_uuid(),
            Self::Staff(id) => id.as_uuid(),
        }
    }

    /// Rebuilds an owner from its stored columns.
    pub fn from_parts(kind: &str, id: uuid::Uuid) -> Result<Self, StoreError> {
        match kind {
            "resident" => Ok(Self::Resident(AccountId::from_uuid(id))),
            "staff" => Ok(Self::Staff(StaffId::from_uuid(id))),
            other => Err(StoreError::Corrupt(format!("passkey owner kind {other:?}"))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPasskey {
    /// The credential id the authenticator chose; unique across the platform.
    #[serde(with = "crate::base64_bytes")]
    pub credential_id: Vec<u8>,
    pub owner: PasskeyOwner,
    /// What the owner called it ("my phone").
    pub label: String,
    /// The WebAuthn library's `Passkey` as JSON: public key, algorithm, counter.
    pub passkey: String,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
    #[serde(with = "crate::millis_opt")]
    pub last_used_at: Option<Timestamp>,
    #[serde(with = "crate::millis_opt")]
    pub revoked_at: Option<Timestamp>,
}

/// What a ceremony is for; a state is only accepted back for the same purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyPurpose {
    ResidentRegistration,
    ResidentLogin,
    StaffRegistration,
    StaffLogin,
}

impl CeremonyPurpose {
    pub fn name(self) -> &'static str {
        match self {
            Self::ResidentRegistration => "resident_registration",
            Self::ResidentLogin => "resident_login",
            Self::StaffRegistration => "staff_registration",
            Self::StaffLogin => "staff_login",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCeremony {
    /// SHA-256 of the ceremony token the browser holds.
    pub id_hash: Vec<u8>,
    pub purpose: CeremonyPurpose,
    /// Whose passkey is being registered (`None` for a login).
    pub owner: Option<PasskeyOwner>,
    /// The WebAuthn library's ceremony state as JSON.
    pub state: String,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Stores a new passkey; [`StoreError::Conflict`] (and nothing written) when
    /// its credential id is already known.
    async fn insert_passkey(&self, passkey: &StoredPasskey) -> Result<(), StoreError>;
    /// A live (not revoked) passkey by credential id.
    async fn live_passkey(&self, credential_id: &[u8])
        -> Result<Option<StoredPasskey>, StoreError>;
    /// The owner's live passkeys, oldest first.
    async fn owner_passkeys(&self, owner: PasskeyOwner) -> Result<Vec<StoredPasskey>, StoreError>;
    /// Records a use: the updated library JSON (new counter) and the time.
    /// `false` when the passkey was revoked meanwhile.
    async fn record_passkey_use(
        &self,
        credential_id: &[u8],
        passkey: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Revokes one of the owner's passkeys; `false` if it is not theirs or not live.
    async fn revoke_passkey(
        &self,
        owner: PasskeyOwner,
        credential_id: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// All passkeys (revoked ones too) ordered by credential id, after `after`, for export.
    async fn passkeys(
        &self,
        after: Option<&[u8]>,
        limit: u32,
    ) -> Result<Vec<StoredPasskey>, StoreError>;
    /// Inserts passkeys as they are (import).
    async fn insert_passkeys(&self, passkeys: &[StoredPasskey]) -> Result<(), StoreError>;

    /// Saves a ceremony's state, deleting expired ones on the way so that
    /// abandoned ceremonies do not pile up.
    async fn create_ceremony(
        &self,
        ceremony: &StoredCeremony,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Takes (deletes and returns) an unexpired ceremony of this purpose. A
    /// second take of the same ceremony finds nothing: a signed challenge can be
    /// used once.
    async fn take_ceremony(
        &self,
        id_hash: &[u8],
        purpose: CeremonyPurpose,
        now: Timestamp,
    ) -> Result<Option<StoredCeremony>, StoreError>;
}
