//! The security event log: what happened to accounts, keys and configuration.
//!
//! Events are typed so that each kind carries exactly the details it needs and
//! never a secret. The log is append-only (enforced by the stores as well).

use crate::{AccountId, EmbargoId, EventId, MandateId, StaffId, SubjectId, Timestamp};
use serde::{Deserialize, Serialize};

/// Who caused an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// The platform itself (start-up, migrations, background jobs).
    System,
    /// An operator at the command line (`shengshi keys rotate`, `shengshi import`).
    Operator,
    /// A data subject acting for themselves.
    Subject { id: SubjectId },
    /// Someone not (yet) identified, such as a failed login.
    Anonymous,
    /// A staff member acting through their own account.
    Staff { id: StaffId },
}

/// What happened. Names are stable: they are stored and exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecurityEventKind {
    ServerStarted {
        version: String,
        mode: String,
    },
    MigrationsApplied {
        from_version: i64,
        to_version: i64,
    },
    /// The key-encryption key was checked against the installation's check value.
    KeyEncryptionKeyVerified {
        kek_id: String,
    },
    /// A new installation recorded which key-encryption key protects it.
    KeyEncryptionKeyEnrolled {
        kek_id: String,
    },
    /// `shengshi keys rotate` re-wrapped the data keys under a new key-encryption key.
    KeyEncryptionKeyRotated {
        from: String,
        to: String,
        rewrapped: u64,
    },
    DataKeyCreated {
        subject: SubjectId,
        algorithm: String,
    },
    /// Destroying a subject's data key erases every ciphertext made with it.
    DataKeyDestroyed {
        subject: SubjectId,
    },
    /// `shengshi registry import` wrote records into the population registry.
    RegistryImported {
        records: u64,
        created: u64,
        updated: u64,
    },
    InstallationExported {
        rows: u64,
    },
    InstallationImported {
        rows: u64,
    },
    /// A resident account was opened at this assurance level.
    AccountRegistered {
        account: AccountId,
        level: u8,
    },
    /// A registration for an ID number that already has an account: nothing was
    /// created and the existing account's phone was told.
    DuplicateRegistration {
        existing: AccountId,
    },
    /// A registration was refused by a check (registry, carrier, expired proof).
    RegistrationRefused {
        reason: String,
    },
    LoginSucceeded {
        method: String,
    },
    LoginFailed {
        method: String,
        reason: String,
    },
    Lockout {
        until: String,
    },
    /// A resident gave another resident a mandate to act for them.
    MandateGranted {
        mandate: MandateId,
        grantor: AccountId,
        grantee: AccountId,
    },
    /// A resident revoked a mandate they had given.
    MandateRevoked {
        mandate: MandateId,
        grantor: AccountId,
    },
    /// A staff account was created (by an administrator or at the command line).
    StaffAdded {
        staff: StaffId,
        department: String,
        role: String,
    },
    /// A staff account was disabled: it can no longer log in.
    StaffDisabled {
        staff: StaffId,
    },
    StaffLoginSucceeded {
        staff: StaffId,
    },
    /// `staff` is `None` when the username is unknown (the name typed is not
    /// logged: it may be a password typed in the wrong field).
    StaffLoginFailed {
        staff: Option<StaffId>,
        reason: String,
    },
    /// Too many failures: logins are refused until `until` (RFC 3339).
    StaffLockedOut {
        staff: StaffId,
        until: String,
    },
    /// A staff member logged out: `everywhere` ends every session they had,
    /// `ended` counts the sessions that ended. (A login's start is
    /// `staff_login_succeeded`.)
    StaffLoggedOut {
        staff: StaffId,
        everywhere: bool,
        ended: u64,
    },
    /// A passkey was registered; `owner` is `resident` or `staff`.
    PasskeyAdded {
        owner: String,
        credential: String,
    },
    /// A passkey was removed by its owner, or revoked by an eviction.
    PasskeyRevoked {
        owner: String,
        credential: String,
    },
    /// Staff compared the resident with their identity card at a counter.
    CounterVerified {
        account: AccountId,
        staff: StaffId,
    },
    /// An account opened with someone else's identity was closed when the real
    /// resident proved themselves at a counter; `replacement` is the resident's
    /// own account. Its sessions and passkeys were revoked with it.
    AccountEvicted {
        account: AccountId,
        replacement: AccountId,
        staff: StaffId,
    },
    /// An account's assurance level changed (a passkey added or removed, or a
    /// counter check completed).
    AssuranceChanged {
        account: AccountId,
        from: u8,
        to: u8,
    },
    /// A clerk asked to withhold accesses from a subject under a cited law,
    /// until `until` (RFC 3339). The subject is in the embargo record.
    EmbargoRequested {
        embargo: EmbargoId,
        staff: StaffId,
        basis: String,
        until: String,
    },
    /// A supervisor of the clerk's department approved an embargo.
    EmbargoApproved {
        embargo: EmbargoId,
        staff: StaffId,
    },
    /// A supervisor of the clerk's department refused an embargo.
    EmbargoRefused {
        embargo: EmbargoId,
        staff: StaffId,
    },
    /// A resident downloaded everything held about them (PIPL Art. 45).
    DataExported {
        account: AccountId,
    },
    /// A resident asked for their record to be corrected (PIPL Art. 46).
    CorrectionRequested {
        account: AccountId,
        correction: uuid::Uuid,
        field: String,
    },
    /// A correction request was assigned to a staff member (`by` is who
    /// assigned it: the same member when they took it themselves).
    CorrectionAssigned {
        correction: uuid::Uuid,
        staff: StaffId,
        by: StaffId,
    },
    /// The assigned staff member decided a correction request (`done` or
    /// `rejected`).
    CorrectionDecided {
        correction: uuid::Uuid,
        staff: StaffId,
        status: String,
    },
    /// A staff member tried to open a resident's record for work not
    /// assigned to them; nothing was opened.
    RecordAccessRefused {
        staff: StaffId,
        reference: String,
    },
    /// A staff member opened a resident's record without assigned work,
    /// with a written justification; the department's supervisors see it in
    /// their queue until one reviews it.
    BreakGlassAccess {
        access: uuid::Uuid,
        staff: StaffId,
        account: AccountId,
    },
    /// A supervisor reviewed a break-glass access (`justified` or `referred`
    /// to the auditors).
    BreakGlassReviewed {
        access: uuid::Uuid,
        staff: StaffId,
        outcome: String,
    },
    /// A resident closed their account (PIPL Art. 47): sessions, passkeys and
    /// the mandates they gave were revoked; the data key is destroyed next.
    AccountClosed {
        account: AccountId,
    },
    /// An e-ID issuer key was created; `not_before` is when it may first sign.
    EidIssuerKeyCreated {
        kid: String,
        algorithm: String,
        #[serde(with = "crate::security::millis")]
        not_before: Timestamp,
    },
    /// A trust list signed by the offline root was published.
    EidTrustListPublished {
        keys: Vec<String>,
        #[serde(with = "crate::security::millis")]
        expires_at: Timestamp,
    },
    /// A resident activated an electronic ID card (replacing any earlier one).
    EidCardActivated {
        account: AccountId,
        card: uuid::Uuid,
    },
    /// A card was suspended, resumed or revoked; `reason` names why.
    EidCardStatusChanged {
        card: uuid::Uuid,
        status: String,
        reason: String,
    },
    /// An operator registered a verifier organisation (hotel, station, bank…)
    /// with the purposes it may ask for; its first API key was issued.
    VerifierRegistered {
        verifier: uuid::Uuid,
        category: String,
        purposes: Vec<String>,
    },
    /// A verifier organisation received a new API key; `revoked` older keys
    /// stopped working at the same moment.
    VerifierKeyIssued {
        verifier: uuid::Uuid,
        key: uuid::Uuid,
        revoked: u64,
    },
    /// Staff approved an organisation's application to verify e-ID codes;
    /// `verifier` is the organisation it registered.
    VerifierApplicationApproved {
        application: uuid::Uuid,
        verifier: uuid::Uuid,
        staff: StaffId,
    },
    /// Staff refused an organisation's application, for `reason`.
    VerifierApplicationRefused {
        application: uuid::Uuid,
        staff: StaffId,
        reason: String,
    },
    /// A verifier organisation was suspended (`suspended`) or resumed (`active`).
    VerifierStatusChanged {
        verifier: uuid::Uuid,
        status: String,
    },
    /// The online verification service refused a request. `verifier` is
    /// `None` when the API key named no live key; `reason` is a stable code
    /// (`unknown_key`, `verifier_suspended`, `purpose_not_allowed`,
    /// `already_used`, or the e-ID verification code such as `expired`).
    /// Never the code itself, nor anything it discloses.
    VerificationRefused {
        verifier: Option<uuid::Uuid>,
        reason: String,
    },
}

impl SecurityEventKind {
    /// The stable snake_case name stored beside the event.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ServerStarted { .. } => "server_started",
            Self::MigrationsApplied { .. } => "migrations_applied",
            Self::KeyEncryptionKeyVerified { .. } => "key_encryption_key_verified",
            Self::KeyEncryptionKeyEnrolled { .. } => "key_encryption_key_enrolled",
            Self::KeyEncryptionKeyRotated { .. } => "key_encryption_key_rotated",
            Self::DataKeyCreated { .. } => "data_key_created",
            Self::DataKeyDestroyed { .. } => "data_key_destroyed",
            Self::RegistryImported { .. } => "registry_imported",
            Self::InstallationExported { .. } => "installation_exported",
            Self::InstallationImported { .. } => "installation_imported",
            Self::AccountRegistered { .. } => "account_registered",
            Self::DuplicateRegistration { .. } => "duplicate_registration",
            Self::RegistrationRefused { .. } => "registration_refused",
            Self::LoginSucceeded { .. } => "login_succeeded",
            Self::LoginFailed { .. } => "login_failed",
            Self::Lockout { .. } => "lockout",
            Self::MandateGranted { .. } => "mandate_granted",
            Self::MandateRevoked { .. } => "mandate_revoked",
            Self::StaffAdded { .. } => "staff_added",
            Self::StaffDisabled { .. } => "staff_disabled",
            Self::StaffLoginSucceeded { .. } => "staff_login_succeeded",
            Self::StaffLoginFailed { .. } => "staff_login_failed",
            Self::StaffLockedOut { .. } => "staff_locked_out",
            Self::StaffLoggedOut { .. } => "staff_logged_out",
            Self::PasskeyAdded { .. } => "passkey_added",
            Self::PasskeyRevoked { .. } => "passkey_revoked",
            Self::CounterVerified { .. } => "counter_verified",
            Self::AccountEvicted { .. } => "account_evicted",
            Self::AssuranceChanged { .. } => "assurance_changed",
            Self::EmbargoRequested { .. } => "embargo_requested",
            Self::EmbargoApproved { .. } => "embargo_approved",
            Self::EmbargoRefused { .. } => "embargo_refused",
            Self::DataExported { .. } => "data_exported",
            Self::CorrectionRequested { .. } => "correction_requested",
            Self::CorrectionAssigned { .. } => "correction_assigned",
            Self::CorrectionDecided { .. } => "correction_decided",
            Self::RecordAccessRefused { .. } => "record_access_refused",
            Self::BreakGlassAccess { .. } => "break_glass_access",
            Self::BreakGlassReviewed { .. } => "break_glass_reviewed",
            Self::AccountClosed { .. } => "account_closed",
            Self::EidIssuerKeyCreated { .. } => "eid_issuer_key_created",
            Self::EidTrustListPublished { .. } => "eid_trust_list_published",
            Self::EidCardActivated { .. } => "eid_card_activated",
            Self::EidCardStatusChanged { .. } => "eid_card_status_changed",
            Self::VerifierRegistered { .. } => "verifier_registered",
            Self::VerifierKeyIssued { .. } => "verifier_key_issued",
            Self::VerifierApplicationApproved { .. } => "verifier_application_approved",
            Self::VerifierApplicationRefused { .. } => "verifier_application_refused",
            Self::VerifierStatusChanged { .. } => "verifier_status_changed",
            Self::VerificationRefused { .. } => "verification_refused",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvent {
    pub id: EventId,
    #[serde(with = "crate::security::millis")]
    pub at: Timestamp,
    pub actor: Actor,
    pub event: SecurityEventKind,
}

impl SecurityEvent {
    pub fn new(at: Timestamp, actor: Actor, event: SecurityEventKind) -> Self {
        Self {
            id: EventId::new(),
            at,
            actor,
            event,
        }
    }
}

/// Serialises a [`Timestamp`] as milliseconds since the epoch.
pub mod millis {
    use crate::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.unix_millis())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let ms = i64::deserialize(d)?;
        Timestamp::from_unix_millis(ms)
            .ok_or_else(|| serde::de::Error::custom("timestamp out of range"))
    }
}
