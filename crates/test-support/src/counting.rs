//! A store that counts: it wraps any store and records the name of every
//! method called, in order, so a test can require two code paths to make the
//! same calls (the same database work, hence the same cost), e.g. a login
//! for a phone number with an account and one without.
//!
//! Each storage trait is delegated by one `counted!` block listing its
//! methods. When a trait gains a method, or `Store` gains a supertrait, the
//! compiler points here: copy the new signatures into the matching block (or
//! a new one) — the macro writes the counting and the delegation.

use async_trait::async_trait;
use shengshi_domain::mandate::{Mandate, MandateAction};
use shengshi_domain::{
    AccountId, MandateActionId, MandateId, SecurityEvent, StaffId, SubjectId, Timestamp,
};
use shengshi_store::*;
use std::sync::{Arc, Mutex};

/// Wraps a store; every call is recorded by method name, then delegated.
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn Store>,
    calls: Mutex<Vec<&'static str>>,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn count(&self, method: &'static str) {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(method);
    }

    /// The methods called since the last `take_calls`, in order; starts afresh.
    pub fn take_calls(&self) -> Vec<&'static str> {
        std::mem::take(
            &mut *self
                .calls
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

/// Implements `$trait` for [`CountingStore`]: each method records its name and
/// calls the wrapped store's method of the same name with the same arguments.
macro_rules! counted {
    ($trait:ident { $(async fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;)* }) => {
        #[async_trait]
        impl $trait for CountingStore {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    self.count(stringify!($name));
                    $trait::$name(&*self.inner $(, $arg)*).await
                }
            )*
        }
    };
}

// Hand-written: two methods are not async, and `close` returns nothing.
#[async_trait]
impl AdminStore for CountingStore {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }
    fn pool_stats(&self) -> PoolStats {
        self.inner.pool_stats()
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.count("ping");
        self.inner.ping().await
    }
    async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        self.count("schema_status");
        self.inner.schema_status().await
    }
    async fn migrate(&self) -> Result<SchemaStatus, StoreError> {
        self.count("migrate");
        self.inner.migrate().await
    }
    async fn is_empty(&self) -> Result<bool, StoreError> {
        self.count("is_empty");
        self.inner.is_empty().await
    }
    async fn close(&self) {
        self.count("close");
        self.inner.close().await
    }
}

counted!(InstallationStore {
    async fn installation(&self) -> Result<Option<Installation>, StoreError>;
    async fn create_installation(&self, installation: &Installation) -> Result<(), StoreError>;
    async fn set_kek(&self, kek_id: &str, kek_check: &[u8]) -> Result<(), StoreError>;
});

counted!(SecurityEventStore {
    async fn append_security_events(&self, events: &[SecurityEvent]) -> Result<(), StoreError>;
    async fn security_events(&self, after_seq: i64, limit: u32) -> Result<Vec<LoggedSecurityEvent>, StoreError>;
});

counted!(DataKeyStore {
    async fn insert_data_keys(&self, keys: &[StoredDataKey]) -> Result<(), StoreError>;
    async fn data_key(&self, subject: SubjectId) -> Result<Option<StoredDataKey>, StoreError>;
    async fn data_keys(&self, after: Option<SubjectId>, limit: u32) -> Result<Vec<StoredDataKey>, StoreError>;
    async fn rewrap_data_keys(&self, rewraps: &[DataKeyRewrap]) -> Result<u64, StoreError>;
    async fn destroy_data_key(&self, subject: SubjectId, at: Timestamp) -> Result<bool, StoreError>;
});

counted!(PlatformSecretStore {
    async fn insert_platform_secret(&self, secret: &StoredPlatformSecret) -> Result<StoredPlatformSecret, StoreError>;
    async fn platform_secrets(&self) -> Result<Vec<StoredPlatformSecret>, StoreError>;
    async fn rewrap_platform_secret(&self, name: &str, kek_id: &str, wrapped: &[u8]) -> Result<(), StoreError>;
});

counted!(PhoneChallengeStore {
    async fn create_phone_challenge(&self, challenge: &StoredPhoneChallenge, caps: &[SendCap], not_since: Timestamp) -> Result<(), ChallengeRefused>;
    async fn latest_phone_challenge(&self, purpose: &str, phone_mac: &[u8]) -> Result<Option<StoredPhoneChallenge>, StoreError>;
    async fn take_phone_attempt(&self, id: uuid::Uuid, max: u32) -> Result<Option<u32>, StoreError>;
    async fn consume_phone_challenge(&self, id: uuid::Uuid, at: Timestamp) -> Result<bool, StoreError>;
});

counted!(AccountStore {
    async fn create_account(&self, account: &StoredAccount, key: &StoredDataKey) -> Result<(), StoreError>;
    async fn account(&self, id: AccountId) -> Result<Option<StoredAccount>, StoreError>;
    async fn active_account_by_id_number(&self, id_number_mac: &[u8]) -> Result<Option<StoredAccount>, StoreError>;
    async fn active_accounts_by_phone(&self, phone_mac: &[u8]) -> Result<Vec<StoredAccount>, StoreError>;
    async fn accounts(&self, after: Option<AccountId>, limit: u32) -> Result<Vec<StoredAccount>, StoreError>;
    async fn insert_accounts(&self, accounts: &[StoredAccount]) -> Result<(), StoreError>;
    async fn record_in_person_check(&self, account: AccountId, at: Timestamp) -> Result<bool, StoreError>;
    async fn set_assurance_level(&self, account: AccountId, level: i64, at: Timestamp) -> Result<(), StoreError>;
    async fn evict_and_replace(&self, squatter: AccountId, replacement: &StoredAccount, key: &StoredDataKey, at: Timestamp) -> Result<(), StoreError>;
    async fn close_account(&self, account: AccountId, at: Timestamp) -> Result<bool, StoreError>;
});

counted!(CorrectionStore {
    async fn insert_correction(&self, correction: &StoredCorrection) -> Result<(), StoreError>;
    async fn corrections_by_account(&self, account: AccountId) -> Result<Vec<StoredCorrection>, StoreError>;
    async fn corrections(&self, after: Option<uuid::Uuid>, limit: u32) -> Result<Vec<StoredCorrection>, StoreError>;
    async fn insert_corrections(&self, corrections: &[StoredCorrection]) -> Result<(), StoreError>;
});

counted!(CaseWorkStore {
    async fn open_correction_cases(&self, limit: u32) -> Result<Vec<CorrectionCase>, StoreError>;
    async fn correction_case(&self, id: uuid::Uuid) -> Result<Option<CorrectionCase>, StoreError>;
    async fn assign_correction(&self, assignment: &StoredAssignment, expected: Option<StaffId>) -> Result<bool, StoreError>;
    async fn decide_correction(&self, id: uuid::Uuid, by: StaffId, status: &str, sealed_note: &[u8], at: Timestamp) -> Result<bool, StoreError>;
    async fn correction_assignments(&self, after: Option<uuid::Uuid>, limit: u32) -> Result<Vec<StoredAssignment>, StoreError>;
    async fn insert_correction_assignments(&self, assignments: &[StoredAssignment]) -> Result<(), StoreError>;
    async fn insert_break_glass(&self, access: &StoredBreakGlass) -> Result<(), StoreError>;
    async fn break_glass(&self, id: uuid::Uuid) -> Result<Option<StoredBreakGlass>, StoreError>;
    async fn department_break_glass(&self, department: shengshi_domain::Department, unreviewed_only: bool, limit: u32) -> Result<Vec<StoredBreakGlass>, StoreError>;
    async fn review_break_glass(&self, id: uuid::Uuid, review: &BreakGlassReview) -> Result<bool, StoreError>;
    async fn break_glass_accesses(&self, after: Option<uuid::Uuid>, limit: u32) -> Result<Vec<StoredBreakGlass>, StoreError>;
    async fn insert_break_glass_accesses(&self, accesses: &[StoredBreakGlass]) -> Result<(), StoreError>;
});

counted!(RegistryStore {
    async fn upsert_registry_records(&self, new_keys: &[StoredDataKey], records: &[StoredRegistryRecord]) -> Result<(), StoreError>;
    async fn registry_record(&self, id_number_mac: &[u8]) -> Result<Option<StoredRegistryRecord>, StoreError>;
    async fn count_registry_records(&self) -> Result<RegistryCount, StoreError>;
    async fn registry_records(&self, after: Option<uuid::Uuid>, limit: u32) -> Result<Vec<StoredRegistryRecord>, StoreError>;
});

counted!(MandateStore {
    async fn insert_mandate(&self, mandate: &Mandate) -> Result<(), StoreError>;
    async fn mandate(&self, id: MandateId) -> Result<Option<Mandate>, StoreError>;
    async fn mandates_by_grantor(&self, grantor: AccountId) -> Result<Vec<Mandate>, StoreError>;
    async fn mandates_by_grantee(&self, grantee: AccountId) -> Result<Vec<Mandate>, StoreError>;
    async fn revoke_mandate(&self, id: MandateId, grantor: AccountId, at: Timestamp) -> Result<Revocation, StoreError>;
    async fn record_mandate_action(&self, action: &MandateAction) -> Result<(), ActionRefused>;
    async fn mandate_actions_for_grantor(&self, grantor: AccountId) -> Result<Vec<MandateAction>, StoreError>;
    async fn mandates(&self, after: Option<MandateId>, limit: u32) -> Result<Vec<Mandate>, StoreError>;
    async fn mandate_actions(&self, after: Option<MandateActionId>, limit: u32) -> Result<Vec<MandateAction>, StoreError>;
    async fn insert_mandates(&self, mandates: &[Mandate]) -> Result<(), StoreError>;
    async fn insert_mandate_actions(&self, actions: &[MandateAction]) -> Result<(), StoreError>;
});

counted!(StaffStore {
    async fn insert_staff(&self, staff: &StoredStaff) -> Result<(), StoreError>;
    async fn staff(&self, id: StaffId) -> Result<Option<StoredStaff>, StoreError>;
    async fn staff_by_username(&self, username: &str) -> Result<Option<StoredStaff>, StoreError>;
    async fn staff_in_department(&self, department: &str) -> Result<Vec<StoredStaff>, StoreError>;
    async fn set_staff_disabled(&self, id: StaffId, disabled: bool) -> Result<bool, StoreError>;
    async fn record_staff_failure(&self, id: StaffId, at: Timestamp, window_start: Timestamp, max: u32, lock_until: Timestamp) -> Result<StaffFailure, StoreError>;
    async fn record_staff_success(&self, id: StaffId, step: i64) -> Result<bool, StoreError>;
    async fn staff_page(&self, after: Option<StaffId>, limit: u32) -> Result<Vec<StoredStaff>, StoreError>;
    async fn insert_staff_many(&self, staff: &[StoredStaff]) -> Result<(), StoreError>;
});

counted!(SessionStore {
    async fn create_session(&self, session: &StoredSession) -> Result<(), StoreError>;
    async fn session(&self, token_hash: &[u8]) -> Result<Option<StoredSession>, StoreError>;
    async fn touch_session(&self, token_hash: &[u8], at: Timestamp) -> Result<(), StoreError>;
    async fn revoke_session(&self, token_hash: &[u8], at: Timestamp) -> Result<bool, StoreError>;
    async fn live_sessions(&self, account: AccountId, now: Timestamp, idle_cutoff: Timestamp) -> Result<Vec<StoredSession>, StoreError>;
    async fn revoke_account_session(&self, account: AccountId, token_hash: &[u8], at: Timestamp) -> Result<bool, StoreError>;
    async fn revoke_account_sessions(&self, account: AccountId, at: Timestamp) -> Result<u64, StoreError>;
});

counted!(StaffSessionStore {
    async fn create_staff_session(&self, session: &StoredStaffSession) -> Result<(), StoreError>;
    async fn staff_session(&self, token_hash: &[u8]) -> Result<Option<StoredStaffSession>, StoreError>;
    async fn touch_staff_session(&self, token_hash: &[u8], at: Timestamp) -> Result<(), StoreError>;
    async fn revoke_staff_session(&self, token_hash: &[u8], at: Timestamp) -> Result<bool, StoreError>;
    async fn revoke_all_staff_sessions(&self, staff: StaffId, at: Timestamp) -> Result<u64, StoreError>;
});

counted!(PasskeyStore {
    async fn insert_passkey(&self, passkey: &StoredPasskey) -> Result<(), StoreError>;
    async fn live_passkey(&self, credential_id: &[u8]) -> Result<Option<StoredPasskey>, StoreError>;
    async fn owner_passkeys(&self, owner: PasskeyOwner) -> Result<Vec<StoredPasskey>, StoreError>;
    async fn record_passkey_use(&self, credential_id: &[u8], passkey: &str, at: Timestamp) -> Result<bool, StoreError>;
    async fn revoke_passkey(&self, owner: PasskeyOwner, credential_id: &[u8], at: Timestamp) -> Result<bool, StoreError>;
    async fn passkeys(&self, after: Option<&[u8]>, limit: u32) -> Result<Vec<StoredPasskey>, StoreError>;
    async fn insert_passkeys(&self, passkeys: &[StoredPasskey]) -> Result<(), StoreError>;
    async fn create_ceremony(&self, ceremony: &StoredCeremony, now: Timestamp) -> Result<(), StoreError>;
    async fn take_ceremony(&self, id_hash: &[u8], purpose: CeremonyPurpose, now: Timestamp) -> Result<Option<StoredCeremony>, StoreError>;
});

counted!(AccessLogStore {
    async fn commit_access_batch(&self, claims: &[VerificationClaim], build: &mut BuildAccessBatch<'_>) -> Result<Vec<ClaimOutcome>, StoreError>;
    async fn latest_access_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    async fn access_checkpoints(&self, after_size: u64, limit: u32) -> Result<Vec<StoredCheckpoint>, StoreError>;
    async fn access_checkpoint(&self, tree_size: u64) -> Result<Option<StoredCheckpoint>, StoreError>;
    async fn access_entries(&self, from_index: u64, limit: u32) -> Result<Vec<StoredAccessEntry>, StoreError>;
    async fn subject_access_entries(&self, subject: SubjectId, before_index: Option<u64>, limit: u32) -> Result<Vec<StoredAccessEntry>, StoreError>;
    async fn add_checkpoint_cosignature(&self, tree_size: u64, note: &str) -> Result<bool, StoreError>;
    async fn insert_access_log(&self, entries: &[StoredAccessEntry], checkpoints: &[StoredCheckpoint]) -> Result<(), StoreError>;
});

counted!(EmbargoStore {
    async fn insert_embargo(&self, embargo: &StoredEmbargo) -> Result<(), StoreError>;
    async fn embargo(&self, id: shengshi_domain::EmbargoId) -> Result<Option<StoredEmbargo>, StoreError>;
    async fn decide_embargo(&self, id: shengshi_domain::EmbargoId, status: EmbargoStatus, decided_by: StaffId, at: Timestamp) -> Result<bool, StoreError>;
    async fn embargoes_awaiting_decision(&self, department: shengshi_domain::Department) -> Result<Vec<StoredEmbargo>, StoreError>;
    async fn embargoes(&self, after: Option<shengshi_domain::EmbargoId>, limit: u32) -> Result<Vec<StoredEmbargo>, StoreError>;
    async fn insert_embargoes(&self, embargoes: &[StoredEmbargo]) -> Result<(), StoreError>;
});

counted!(EidStore {
    async fn insert_issuer_key(&self, key: &StoredIssuerKey) -> Result<(), StoreError>;
    async fn issuer_keys(&self) -> Result<Vec<StoredIssuerKey>, StoreError>;
    async fn rewrap_issuer_key(&self, kid: &str, kek_id: &str, wrapped_secret: &[u8]) -> Result<bool, StoreError>;
    async fn end_issuer_key_signing(&self, kid: &str, at: Timestamp) -> Result<bool, StoreError>;
    async fn insert_trust_list(&self, list: &StoredTrustList) -> Result<(), StoreError>;
    async fn latest_trust_list(&self) -> Result<Option<StoredTrustList>, StoreError>;
    async fn trust_lists(&self) -> Result<Vec<StoredTrustList>, StoreError>;
    async fn activate_card(&self, card: &StoredCard) -> Result<(), StoreError>;
    async fn current_card(&self, account: AccountId) -> Result<Option<StoredCard>, StoreError>;
    async fn card_by_status_index(&self, index: u32) -> Result<Option<StoredCard>, StoreError>;
    async fn set_card_status(&self, card: shengshi_domain::CardId, from: CardStatus, to: CardStatus, reason: CardStatusReason, at: Timestamp) -> Result<bool, StoreError>;
    async fn revoke_account_cards(&self, account: AccountId, reason: CardStatusReason, at: Timestamp) -> Result<u64, StoreError>;
    async fn card_status_entries(&self) -> Result<Vec<CardStatusEntry>, StoreError>;
    async fn record_device_presentations(&self, card: shengshi_domain::CardId, presentations: &[DevicePresentation], at: Timestamp) -> Result<Vec<[u8; 16]>, StoreError>;
    async fn cards(&self, after: Option<shengshi_domain::CardId>, limit: u32) -> Result<Vec<StoredCard>, StoreError>;
    async fn import_eid(&self, keys: &[StoredIssuerKey], lists: &[StoredTrustList], cards: &[StoredCard]) -> Result<(), StoreError>;
});

counted!(EidDocumentStore {
    async fn insert_document(&self, document: &StoredDocument) -> Result<(), StoreError>;
    async fn account_documents(&self, account: AccountId) -> Result<Vec<DocumentListing>, StoreError>;
    async fn revoke_document(&self, account: AccountId, document: uuid::Uuid, at: Timestamp) -> Result<bool, StoreError>;
    async fn document_status_entries(&self) -> Result<Vec<CardStatusEntry>, StoreError>;
    async fn live_document_keys(&self, now: Timestamp) -> Result<Vec<(String, Timestamp)>, StoreError>;
    async fn documents(&self, after: Option<uuid::Uuid>, limit: u32) -> Result<Vec<StoredDocument>, StoreError>;
    async fn import_documents(&self, documents: &[StoredDocument]) -> Result<(), StoreError>;
});

counted!(VerifierApplicationStore {
    async fn insert_verifier_application(&self, application: &StoredVerifierApplication, limit: u32, since: Timestamp) -> Result<bool, StoreError>;
    async fn verifier_application(&self, id: uuid::Uuid) -> Result<Option<StoredVerifierApplication>, StoreError>;
    async fn pending_verifier_applications(&self) -> Result<Vec<StoredVerifierApplication>, StoreError>;
    async fn decide_verifier_application(&self, id: uuid::Uuid, status: ApplicationStatus, decided_by: StaffId, at: Timestamp, reason: Option<&str>) -> Result<bool, StoreError>;
    async fn set_application_verifier(&self, id: uuid::Uuid, verifier: uuid::Uuid) -> Result<bool, StoreError>;
    async fn verifier_applications(&self, after: Option<uuid::Uuid>, limit: u32) -> Result<Vec<StoredVerifierApplication>, StoreError>;
    async fn insert_verifier_applications(&self, applications: &[StoredVerifierApplication]) -> Result<(), StoreError>;
});

counted!(VerifierStore {
    async fn insert_verifier(&self, verifier: &StoredVerifier, key: &StoredVerifierKey) -> Result<(), StoreError>;
    async fn verifier(&self, id: uuid::Uuid) -> Result<Option<StoredVerifier>, StoreError>;
    async fn verifiers(&self) -> Result<Vec<StoredVerifier>, StoreError>;
    async fn set_verifier_status(&self, id: uuid::Uuid, status: &str, at: Timestamp) -> Result<bool, StoreError>;
    async fn verifier_key(&self, id: uuid::Uuid) -> Result<Option<StoredVerifierKey>, StoreError>;
    async fn replace_verifier_keys(&self, key: &StoredVerifierKey) -> Result<u64, StoreError>;
    async fn verifier_keys(&self) -> Result<Vec<StoredVerifierKey>, StoreError>;
    async fn verification(&self, cti: &str) -> Result<Option<StoredVerification>, StoreError>;
    async fn verifications(&self, after: Option<&str>, limit: u32) -> Result<Vec<StoredVerification>, StoreError>;
    async fn import_verifiers(&self, verifiers: &[StoredVerifier], keys: &[StoredVerifierKey], verifications: &[StoredVerification]) -> Result<(), StoreError>;
});
