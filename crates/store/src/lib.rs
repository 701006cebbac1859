//! Storage traits. No driver code lives here: each backend crate implements
//! these traits with its own SQL and its own migrations, and one contract suite
//! (crates/tests-store) holds every backend to the same behaviour.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{InstallationId, SecurityEvent, SubjectId, Timestamp};

mod access_log;
mod accounts;
mod casework;
mod corrections;
mod eid;
mod eid_documents;
mod embargoes;
mod error;
mod mandates;
mod passkeys;
mod registry;
mod sessions;
mod staff;
mod staff_sessions;
mod verifier_applications;
mod verifiers;
pub use access_log::{
    claim_outcomes, claim_rows, split_claimed, AccessBatch, AccessLogStore, BuildAccessBatch,
    ClaimCard, ClaimOutcome, ClaimReads, StoredAccessEntry, StoredCheckpoint, VerificationClaim,
};
pub use accounts::{AccountStore, StoredAccount};
pub use casework::{
    BreakGlassOutcome, BreakGlassReview, CaseWorkStore, CorrectionCase, StoredAssignment,
    StoredBreakGlass,
};
pub use corrections::{CorrectionStore, StoredCorrection};
pub use eid::{
    CardStatus, CardStatusEntry, CardStatusReason, DevicePresentation, EidStore, StoredCard,
    StoredIssuerKey, StoredTrustList,
};
pub use eid_documents::{DocumentListing, EidDocumentStore, StoredDocument};
pub use embargoes::{EmbargoStatus, EmbargoStore, StoredEmbargo};
pub use error::StoreError;
pub use mandates::{ActionRefused, MandateStore, Revocation};
pub use passkeys::{CeremonyPurpose, PasskeyOwner, PasskeyStore, StoredCeremony, StoredPasskey};
pub use registry::{RegistryCount, RegistryStore, StoredRegistryRecord};
pub use sessions::{SessionStore, StoredSession};
pub use staff::{StaffFailure, StaffStore, StoredStaff};
pub use staff_sessions::{StaffSessionStore, StoredStaffSession};
pub use verifier_applications::{
    ApplicationStatus, StoredVerifierApplication, VerifierApplicationStore,
};
pub use verifiers::{StoredVerification, StoredVerifier, StoredVerifierKey, VerifierStore};

/// Which database a store talks to; picked once, at start-up, from the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Where the database's schema stands relative to this binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Highest migration applied to the database (0 for an empty database).
    pub applied: i64,
    /// Highest migration this binary knows.
    pub known: i64,
    /// Migrations this binary knows but the database lacks.
    pub pending: usize,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.pending == 0 && self.applied == self.known
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub connections: u32,
    pub idle: u32,
    pub max_connections: u32,
}

/// Facts about this installation, written once by the first start and carried
/// through export and import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installation {
    pub id: InstallationId,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
    /// Name of the key-encryption key that wraps every data key.
    pub kek_id: String,
    /// A value only that key can open; checked at every start.
    #[serde(with = "base64_bytes")]
    pub kek_check: Vec<u8>,
    /// Algorithm for new data keys (`aes-256-gcm` or `sm4-gcm`).
    pub envelope_algorithm: String,
    /// True for a demonstration installation holding fictional data only.
    /// Production refuses to serve one.
    pub demo: bool,
}

/// One subject's data key, as stored: wrapped by the KEK, or destroyed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDataKey {
    pub subject: SubjectId,
    pub key_id: uuid::Uuid,
    pub algorithm: String,
    pub kek_id: String,
    /// `None` once destroyed: the subject's data is then unreadable forever.
    #[serde(with = "base64_bytes_opt")]
    pub wrapped_key: Option<Vec<u8>>,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
    #[serde(with = "millis_opt")]
    pub destroyed_at: Option<Timestamp>,
}

/// A security event with its position in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedSecurityEvent {
    pub seq: i64,
    pub event: SecurityEvent,
}

#[async_trait]
pub trait AdminStore: Send + Sync + std::fmt::Debug {
    fn backend(&self) -> Backend;
    fn pool_stats(&self) -> PoolStats;
    /// A round trip to the database.
    async fn ping(&self) -> Result<(), StoreError>;
    async fn schema_status(&self) -> Result<SchemaStatus, StoreError>;
    /// Applies pending migrations; refuses a database migrated by a newer version.
    async fn migrate(&self) -> Result<SchemaStatus, StoreError>;
    /// True when the database holds no rows in any Shengshi table.
    async fn is_empty(&self) -> Result<bool, StoreError>;
    async fn close(&self);
}

#[async_trait]
pub trait InstallationStore: Send + Sync {
    async fn installation(&self) -> Result<Option<Installation>, StoreError>;
    /// Fails with [`StoreError::Conflict`] if one is already recorded.
    async fn create_installation(&self, installation: &Installation) -> Result<(), StoreError>;
    /// Replaces the key-encryption key fields (used by key rotation).
    async fn set_kek(&self, kek_id: &str, kek_check: &[u8]) -> Result<(), StoreError>;
}

#[async_trait]
pub trait SecurityEventStore: Send + Sync {
    /// Appends events in one transaction, in order. The log is append-only:
    /// the stores refuse updates and deletes.
    async fn append_security_events(&self, events: &[SecurityEvent]) -> Result<(), StoreError>;
    /// Events after position `after_seq` (exclusive), oldest first.
    async fn security_events(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<LoggedSecurityEvent>, StoreError>;
}

/// One data key's new wrapping, applied only over the wrapping it replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataKeyRewrap {
    pub subject: SubjectId,
    /// The key-encryption key that wraps the stored key now.
    pub from_kek_id: String,
    pub kek_id: String,
    pub wrapped_key: Vec<u8>,
}

#[async_trait]
pub trait DataKeyStore: Send + Sync {
    /// Inserts keys in one transaction; fails whole with [`StoreError::Conflict`]
    /// if any subject already has a key.
    async fn insert_data_keys(&self, keys: &[StoredDataKey]) -> Result<(), StoreError>;
    async fn data_key(&self, subject: SubjectId) -> Result<Option<StoredDataKey>, StoreError>;
    /// Keys ordered by subject, after `after` (exclusive), for export and rotation.
    async fn data_keys(
        &self,
        after: Option<SubjectId>,
        limit: u32,
    ) -> Result<Vec<StoredDataKey>, StoreError>;
    /// Replaces wrapped keys (key rotation), all in one transaction. Each
    /// replacement applies only if the key is still live and still wrapped by
    /// `from_kek_id`; returns how many applied (the others were destroyed or
    /// re-wrapped by someone else meanwhile).
    async fn rewrap_data_keys(&self, rewraps: &[DataKeyRewrap]) -> Result<u64, StoreError>;
    /// Erases the key's material for good; `Ok(false)` if already destroyed or absent.
    async fn destroy_data_key(&self, subject: SubjectId, at: Timestamp)
        -> Result<bool, StoreError>;
}

/// A platform-wide secret (such as the key of the one-time-code MACs), wrapped
/// by the key-encryption key like a data key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPlatformSecret {
    pub name: String,
    pub kek_id: String,
    #[serde(with = "base64_bytes")]
    pub wrapped: Vec<u8>,
    #[serde(with = "shengshi_domain::security::millis")]
    pub created_at: Timestamp,
}

#[async_trait]
pub trait PlatformSecretStore: Send + Sync {
    /// Inserts unless a secret of that name exists; returns the one stored
    /// (ours, or the one another process stored first).
    async fn insert_platform_secret(
        &self,
        secret: &StoredPlatformSecret,
    ) -> Result<StoredPlatformSecret, StoreError>;
    async fn platform_secrets(&self) -> Result<Vec<StoredPlatformSecret>, StoreError>;
    /// Replaces the wrapping (key rotation).
    async fn rewrap_platform_secret(
        &self,
        name: &str,
        kek_id: &str,
        wrapped: &[u8],
    ) -> Result<(), StoreError>;
}

/// A one-time code challenge as stored. Neither the phone number nor the code
/// is stored: only keyed MACs of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPhoneChallenge {
    pub id: uuid::Uuid,
    pub purpose: String,
    pub phone_mac: Vec<u8>,
    pub code_mac: Vec<u8>,
    pub created_at: Timestamp,
    pub attempts: u32,
    pub consumed_at: Option<Timestamp>,
}

/// A daily sending cap, counted per scope ("phone", "ip", "global") and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendCap {
    pub scope: &'static str,
    /// A MAC of the phone number or address; empty for the global cap.
    pub key: Vec<u8>,
    /// The civil date (Asia/Shanghai) the count belongs to, `YYYY-MM-DD`.
    pub day: String,
    pub limit: u32,
}

/// Why a new challenge was not created.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeRefused {
    #[error("the daily sending cap for {0} is reached")]
    CapReached(&'static str),
    #[error("a code was sent to this number less than the resend interval ago")]
    TooSoon,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait PhoneChallengeStore: Send + Sync {
    /// In one transaction: counts the send against every cap (refusing when one
    /// is reached), refuses if the same number got a code for the same purpose
    /// after `not_since`,
    /// and stores the challenge. A refusal changes nothing.
    async fn create_phone_challenge(
        &self,
        challenge: &StoredPhoneChallenge,
        caps: &[SendCap],
        not_since: Timestamp,
    ) -> Result<(), ChallengeRefused>;
    /// The newest challenge for this number and purpose.
    async fn latest_phone_challenge(
        &self,
        purpose: &str,
        phone_mac: &[u8],
    ) -> Result<Option<StoredPhoneChallenge>, StoreError>;
    /// Reserves one attempt, atomically, while fewer than `max` were made and the
    /// challenge is unconsumed; returns the attempts now used, or `None`.
    async fn take_phone_attempt(&self, id: uuid::Uuid, max: u32)
        -> Result<Option<u32>, StoreError>;
    /// Marks the challenge used; `false` if it already was (a replay or a race).
    async fn consume_phone_challenge(
        &self,
        id: uuid::Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
}

/// Everything a backend provides.
pub trait Store:
    AdminStore
    + InstallationStore
    + SecurityEventStore
    + DataKeyStore
    + PlatformSecretStore
    + PhoneChallengeStore
    + AccountStore
    + RegistryStore
    + MandateStore
    + StaffStore
    + SessionStore
    + StaffSessionStore
    + PasskeyStore
    + AccessLogStore
    + CorrectionStore
    + CaseWorkStore
    + EmbargoStore
    + EidStore
    + EidDocumentStore
    + VerifierStore
    + VerifierApplicationStore
{
}
impl<T> Store for T where
    T: AdminStore
        + InstallationStore
        + SecurityEventStore
        + DataKeyStore
        + PlatformSecretStore
        + PhoneChallengeStore
        + AccountStore
        + RegistryStore
        + MandateStore
        + StaffStore
        + SessionStore
        + StaffSessionStore
        + PasskeyStore
        + AccessLogStore
        + CorrectionStore
        + CaseWorkStore
        + EmbargoStore
        + EidStore
        + EidDocumentStore
        + VerifierStore
        + VerifierApplicationStore
{
}

mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};
    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        B64.decode(String::deserialize(d)?)
            .map_err(serde::de::Error::custom)
    }
}

mod base64_bytes_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => super::base64_bytes::serialize(bytes, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        use base64::Engine;
        match Option::<String>::deserialize(d)? {
            Some(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

mod millis_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use shengshi_domain::Timestamp;

    pub fn serialize<S: Serializer>(v: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.serialize_some(&t.unix_millis()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        match Option::<i64>::deserialize(d)? {
            Some(ms) => Timestamp::from_unix_millis(ms)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("timestamp out of range")),
            None => Ok(None),
        }
    }
}

/// Compares the migrations a binary knows with those applied to a database.
/// A database with a migration this binary does not know was migrated by a
/// newer version, and is refused.
pub fn schema_status(known: &[i64], applied: &[i64]) -> Result<SchemaStatus, StoreError> {
    let known_max = known.iter().copied().max().unwrap_or(0);
    let applied_max = applied.iter().copied().max().unwrap_or(0);
    if applied.iter().any(|v| !known.contains(v)) {
        return Err(StoreError::SchemaTooNew {
            database: applied_max,
            binary: known_max,
        });
    }
    Ok(SchemaStatus {
        applied: applied_max,
        known: known_max,
        pending: known.iter().filter(|v| !applied.contains(v)).count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_status_tells_current_pending_and_too_new_apart() {
        assert!(schema_status(&[1, 2], &[1, 2]).unwrap().is_current());
        let pending = schema_status(&[1, 2], &[1]).unwrap();
        assert_eq!((pending.applied, pending.pending), (1, 1));
        assert_eq!(schema_status(&[1, 2], &[]).unwrap().pending, 2);
        assert!(matches!(
            schema_status(&[1, 2], &[1, 2, 3]),
            Err(StoreError::SchemaTooNew {
                database: 3,
                binary: 2
            })
        ));
    }
}
