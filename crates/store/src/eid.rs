//! Electronic resident ID cards: the issuer's signing keys (wrapped by the
//! key-encryption key), the trust lists an offline root signed for them, and
//! the cards themselves with their place in the status list.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{AccountId, CardId, SubjectId, Timestamp};

use crate::StoreError;

/// An issuer signing key. The secret is wrapped by the key-encryption key and
/// opened only in the server's memory; verifiers learn the public key from a
/// signed trust list.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredIssuerKey {
    /// Hex of the 8-byte COSE key id.
    pub kid: String,
    /// `ed25519`, `p256` or `sm2`.
    pub algorithm: String,
    #[serde(with = "crate::base64_bytes")]
    pub public_key: Vec<u8>,
    #[serde(with = "crate::base64_bytes")]
    pub wrapped_secret: Vec<u8>,
    pub kek_id: String,
    /// The first moment the key may sign.
    #[serde(with = "shengshi_domain::security::millis")]
    pub not_before: Timestamp,
    /// The last moment the key may sign; a rollover brings it forward.
    #[serde(with = "shengshi_domain::security::millis")]
    pub sign_until: Timestamp,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
}

impl std::fmt::Debug for StoredIssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredIssuerKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("not_before", &self.not_before)
            .field("sign_until", &self.sign_until)
            .finish_non_exhaustive()
    }
}

/// A trust list as the offline root signed it (COSE_Sign1 bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTrustList {
    #[serde(with = "crate::base64_bytes")]
    pub signed: Vec<u8>,
    #[serde(with = "shengshi_domain::security::millis")]
    pub issued_at: Timestamp,
    #[serde(with = "shengshi_domain::security::millis")]
    pub expires_at: Timestamp,
    #[serde(with = "shengshi_domain::security::millis")]
    pub published_at: Timestamp,
}

/// Where a card stands. Revocation is final; suspension can be lifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Active,
    Suspended,
    Revoked,
}

impl CardStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// Why a card has its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatusReason {
    Activated,
    /// The resident reported the phone lost (suspended).
    PhoneLost,
    /// The resident lifted a suspension.
    Resumed,
    /// A new card replaced this one.
    Replaced,
    /// The population registry reported the holder's death.
    Deceased,
    /// The account was closed.
    AccountClosed,
    /// A counter check evicted the account that held the card.
    Evicted,
}

impl CardStatusReason {
    pub const ALL: [Self; 7] = [
        Self::Activated,
        Self::PhoneLost,
        Self::Resumed,
        Self::Replaced,
        Self::Deceased,
        Self::AccountClosed,
        Self::Evicted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Activated => "activated",
            Self::PhoneLost => "phone_lost",
            Self::Resumed => "resumed",
            Self::Replaced => "replaced",
            Self::Deceased => "deceased",
            Self::AccountClosed => "account_closed",
            Self::Evicted => "evicted",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// One card. Its attributes are sealed with the holder's data key, so they
/// open only through the door.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCard {
    pub id: CardId,
    pub account: AccountId,
    pub subject: SubjectId,
    /// The card's place in the status list, drawn at random.
    pub status_index: u32,
    pub status: CardStatus,
    pub reason: CardStatusReason,
    #[serde(with = "crate::base64_bytes")]
    pub sealed_attributes: Vec<u8>,
    #[serde(with = "shengshi_domain::security::millis")]
    pub activated_at: Timestamp,
    #[serde(with = "shengshi_domain::security::millis")]
    pub changed_at: Timestamp,
}

impl std::fmt::Debug for StoredCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCard")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("status_index", &self.status_index)
            .field("status", &self.status)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// A card whose status a verifier must learn: suspended or revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardStatusEntry {
    pub status_index: u32,
    pub status: CardStatus,
}

/// A code a phone signed offline, as it reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevicePresentation {
    pub cti: [u8; 16],
    pub issued_at: Timestamp,
}

#[async_trait]
pub trait EidStore: Send + Sync {
    async fn insert_issuer_key(&self, key: &StoredIssuerKey) -> Result<(), StoreError>;
    /// Every issuer key, oldest first.
    async fn issuer_keys(&self) -> Result<Vec<StoredIssuerKey>, StoreError>;
    /// Replaces a key's wrapped secret after a KEK rotation; `Ok(false)` if
    /// no such key.
    async fn rewrap_issuer_key(
        &self,
        kid: &str,
        kek_id: &str,
        wrapped_secret: &[u8],
    ) -> Result<bool, StoreError>;
    /// Brings a key's last signing moment forward (never back); `Ok(false)`
    /// if no such key or it already stops signing earlier.
    async fn end_issuer_key_signing(&self, kid: &str, at: Timestamp) -> Result<bool, StoreError>;

    async fn insert_trust_list(&self, list: &StoredTrustList) -> Result<(), StoreError>;
    /// The most recently published trust list.
    async fn latest_trust_list(&self) -> Result<Option<StoredTrustList>, StoreError>;
    /// Every trust list, oldest first (export).
    async fn trust_lists(&self) -> Result<Vec<StoredTrustList>, StoreError>;

    /// Revokes the account's current card, if any (reason `Replaced`), and
    /// inserts `card` in one transaction. A status index already in use is a
    /// `Conflict` and changes nothing: the caller draws another.
    async fn activate_card(&self, card: &StoredCard) -> Result<(), StoreError>;
    /// The account's card that is not revoked, if any.
    async fn current_card(&self, account: AccountId) -> Result<Option<StoredCard>, StoreError>;
    /// The card at this place in the status list, whatever its status (an
    /// index is never reused, so there is at most one).
    async fn card_by_status_index(&self, index: u32) -> Result<Option<StoredCard>, StoreError>;
    /// Moves a card from `from` to `to`; `Ok(false)` if it was not in `from`
    /// (another request changed it first), in which case nothing changes.
    async fn set_card_status(
        &self,
        card: CardId,
        from: CardStatus,
        to: CardStatus,
        reason: CardStatusReason,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Revokes every card of the account that is not revoked yet; returns how many.
    async fn revoke_account_cards(
        &self,
        account: AccountId,
        reason: CardStatusReason,
        at: Timestamp,
    ) -> Result<u64, StoreError>;
    /// Every suspended or revoked card's index: all others read as valid.
    async fn card_status_entries(&self) -> Result<Vec<CardStatusEntry>, StoreError>;
    /// Remembers codes a card's phone reported signing offline; returns the
    /// ids (`cti`) not reported before, so a re-sent report is logged once.
    async fn record_device_presentations(
        &self,
        card: CardId,
        presentations: &[DevicePresentation],
        at: Timestamp,
    ) -> Result<Vec<[u8; 16]>, StoreError>;
    /// Cards ordered by id, after `after` (exclusive), for export.
    async fn cards(&self, after: Option<CardId>, limit: u32)
        -> Result<Vec<StoredCard>, StoreError>;
    /// Import: issuer keys, trust lists and cards as they are.
    async fn import_eid(
        &self,
        keys: &[StoredIssuerKey],
        lists: &[StoredTrustList],
        cards: &[StoredCard],
    ) -> Result<(), StoreError>;
}
