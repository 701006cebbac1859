//! Access entries: one record per opening of a resident's personal data, kept
//! in the access log that the resident reads ("who accessed my data").
//!
//! An entry is hashed into the log's Merkle tree over its *entry bytes* (the
//! JSON below, exactly as written when it was logged), never over database
//! columns: the bytes travel unchanged through export and import, so the log
//! verifies on either backend.

use crate::{AccountId, Department, EmbargoId, EventId, Role, StaffId, SubjectId, Timestamp};
use serde::{Deserialize, Serialize};

/// Who opened the data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Accessor {
    /// The resident, looking at their own data.
    Subject,
    /// The platform itself, in an automated step of a journey the resident or
    /// someone else started (a registration check, a notice to their phone).
    Platform,
    /// A staff member. The resident sees the department and role, not the
    /// person's name; the id lets an auditor find who it was.
    Staff {
        staff: StaffId,
        department: Department,
        role: Role,
    },
    /// An operator at the command line (import, maintenance).
    Operator,
    /// Another resident acting under a mandate (亲友代办).
    Delegate { account: AccountId },
    /// A registered verifier organisation (a hotel, a station, a bank) that
    /// checked one of the resident's e-ID codes online. The resident sees
    /// the organisation's name as it was registered at the time.
    Verifier {
        organisation: uuid::Uuid,
        name: String,
    },
}

/// Why the data was opened. A fixed list: the door refuses anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The resident looked at their own account page.
    OwnAccount,
    /// A registration compared a name with the population registry.
    RegistrationCheck,
    /// A registration found the ID number taken: the holder's phone was told.
    DuplicateRegistrationNotice,
    /// Staff checked the resident's identity card at a counter.
    CounterCheck,
    /// The population registry was loaded or corrected at the command line.
    RegistryMaintenance,
    /// An operator checked that data still opens after moving or re-keying
    /// the installation (export and import, key rotation).
    DataMigration,
    /// The resident downloaded everything held about them (PIPL Art. 45).
    SubjectExport,
    /// The resident's correction requests were read back to them.
    CorrectionReview,
    /// The resident activated (or replaced) their electronic ID card: the
    /// registry record was read to fix the card's attributes.
    EidActivation,
    /// An e-ID presentation code was minted for the resident: the reference
    /// names the code (its purpose, verifier category and id), the fields are
    /// the attributes it discloses.
    EidPresentation,
    /// A holder credential was issued to the resident's phone, so that it can
    /// sign codes offline: the card's attributes were opened to issue it.
    EidHolderCredential,
    /// The resident's phone reported a code it signed offline; the reference
    /// names the code (purpose, verifier category, id), the fields are what
    /// it disclosed.
    EidOfflinePresentation,
    /// A verifier organisation checked one of the resident's e-ID codes with
    /// the online verification service; the reference names the code
    /// (`eid-verification:{cti}`), the fields are what it disclosed.
    EidVerification,
    /// A verifier fetched the resident's portrait through the short-lived
    /// link an online verification returned (hotel check-in, travel
    /// security); the reference names the verification (`eid-portrait:{cti}`).
    EidPortrait,
    /// A printable identity document (MOSIP Claim 169) was made at the
    /// resident's request; the fields are the ones they chose to put in it.
    EidDocument,
    /// A staff member opened the resident's record for a case assigned to
    /// them; the reference names the case (e.g. `correction:{id}`).
    CaseWork,
    /// A staff member opened the resident's record without an assigned case
    /// ("break-glass"): they wrote a justification, their supervisor was
    /// alerted, and the resident's view flags the access. The reference names
    /// the alert (`break-glass:{id}`).
    BreakGlass,
}

impl Purpose {
    pub const ALL: [Purpose; 17] = [
        Self::OwnAccount,
        Self::RegistrationCheck,
        Self::DuplicateRegistrationNotice,
        Self::CounterCheck,
        Self::RegistryMaintenance,
        Self::DataMigration,
        Self::SubjectExport,
        Self::CorrectionReview,
        Self::EidActivation,
        Self::EidPresentation,
        Self::EidHolderCredential,
        Self::EidOfflinePresentation,
        Self::EidVerification,
        Self::EidPortrait,
        Self::EidDocument,
        Self::CaseWork,
        Self::BreakGlass,
    ];

    /// The stable snake_case name (also the message-catalog key suffix).
    pub fn name(self) -> &'static str {
        match self {
            Self::OwnAccount => "own_account",
            Self::RegistrationCheck => "registration_check",
            Self::DuplicateRegistrationNotice => "duplicate_registration_notice",
            Self::CounterCheck => "counter_check",
            Self::RegistryMaintenance => "registry_maintenance",
            Self::DataMigration => "data_migration",
            Self::SubjectExport => "subject_export",
            Self::CorrectionReview => "correction_review",
            Self::EidActivation => "eid_activation",
            Self::EidPresentation => "eid_presentation",
            Self::EidHolderCredential => "eid_holder_credential",
            Self::EidOfflinePresentation => "eid_offline_presentation",
            Self::EidVerification => "eid_verification",
            Self::EidPortrait => "eid_portrait",
            Self::EidDocument => "eid_document",
            Self::CaseWork => "case_work",
            Self::BreakGlass => "break_glass",
        }
    }
}

/// One access to one subject's personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    pub id: EventId,
    #[serde(with = "crate::security::millis")]
    pub at: Timestamp,
    pub subject: SubjectId,
    pub accessor: Accessor,
    pub purpose: Purpose,
    /// What the access was for, when there is a thing to point at: a case, a
    /// verification, a counter visit, a mandate.
    pub reference: Option<String>,
    /// Which fields were opened (e.g. `name`, `id_number`, `phone`).
    pub fields: Vec<String>,
    /// Set when the law forbids telling the subject yet: the entry is logged
    /// (and witnessed) now, and shown to the subject once `until` has passed.
    /// Absent from the bytes when `None`, so older entries hash as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embargo: Option<Embargo>,
}

/// Why, and until when, an access is withheld from its subject (PIPL Arts. 18
/// and 35: telling them would impede an investigation the law protects).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Embargo {
    /// The cited law and article, e.g. `刑事诉讼法第152条` or `PIPL Art. 18(1)`.
    pub basis: String,
    #[serde(with = "crate::security::millis")]
    pub until: Timestamp,
    /// The supervisor who approved the embargo.
    pub approved_by: StaffId,
    /// The approved embargo record.
    pub approval: EmbargoId,
}

impl AccessEntry {
    /// True while an embargo hides this entry from its subject.
    pub fn is_embargoed_at(&self, now: Timestamp) -> bool {
        self.embargo.as_ref().is_some_and(|e| now < e.until)
    }
}

impl AccessEntry {
    /// The entry bytes: what the log stores, exports and hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising this struct cannot fail: every field is a plain value.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads entry bytes back.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_bytes_round_trip_and_name_the_purpose() {
        let entry = AccessEntry {
            id: EventId::new(),
            at: Timestamp::from_unix_millis(1_700_000_000_123).unwrap(),
            subject: SubjectId::new(),
            accessor: Accessor::Staff {
                staff: StaffId::new(),
                department: Department::PublicSecurity,
                role: Role::Clerk,
            },
            purpose: Purpose::CounterCheck,
            reference: Some("counter-visit".into()),
            fields: vec!["name".into(), "id_number".into()],
            embargo: None,
        };
        let bytes = entry.to_bytes();
        assert_eq!(AccessEntry::from_bytes(&bytes).unwrap(), entry);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(r#""purpose":"counter_check""#), "{text}");
        assert!(text.contains(r#""department":"public_security""#), "{text}");
        for purpose in Purpose::ALL {
            let json = serde_json::to_string(&purpose).unwrap();
            assert_eq!(json, format!("\"{}\"", purpose.name()));
        }
    }

    #[test]
    fn an_entry_without_embargo_serialises_exactly_as_before() {
        // Bytes of an entry written before embargoes existed: they must still
        // parse, and re-serialise to the very same bytes (same leaf hash).
        let before = r#"{"id":"0190f1c2-7a1b-7c3d-8e4f-0123456789ab","at":1700000000123,"subject":"0190f1c2-7a1b-7c3d-8e4f-0123456789ac","accessor":{"type":"platform"},"purpose":"registration_check","reference":null,"fields":["name"]}"#;
        let entry = AccessEntry::from_bytes(before.as_bytes()).unwrap();
        assert_eq!(entry.embargo, None);
        assert_eq!(entry.to_bytes(), before.as_bytes());
    }

    #[test]
    fn a_verifier_entry_names_the_organisation() {
        let organisation = uuid::Uuid::now_v7();
        let entry = AccessEntry {
            id: EventId::new(),
            at: Timestamp::from_unix_millis(1_700_000_000_000).unwrap(),
            subject: SubjectId::new(),
            accessor: Accessor::Verifier {
                organisation,
                name: "西湖大酒店".into(),
            },
            purpose: Purpose::EidVerification,
            reference: Some("eid-verification:00".into()),
            fields: vec!["name".into()],
            embargo: None,
        };
        let bytes = entry.to_bytes();
        assert_eq!(AccessEntry::from_bytes(&bytes).unwrap(), entry);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains(&format!(
                r#""accessor":{{"type":"verifier","organisation":"{organisation}","name":"西湖大酒店"}}"#
            )),
            "{text}"
        );
        assert!(text.contains(r#""purpose":"eid_verification""#), "{text}");
    }

    #[test]
    fn an_embargo_travels_in_the_bytes_and_ends_at_its_date() {
        let until = Timestamp::from_unix_millis(1_800_000_000_000).unwrap();
        let entry = AccessEntry {
            id: EventId::new(),
            at: Timestamp::from_unix_millis(1_700_000_000_000).unwrap(),
            subject: SubjectId::new(),
            accessor: Accessor::Platform,
            purpose: Purpose::CounterCheck,
            reference: None,
            fields: vec![],
            embargo: Some(Embargo {
                basis: "PIPL Art. 18(1)".into(),
                until,
                approved_by: StaffId::new(),
                approval: EmbargoId::new(),
            }),
        };
        let bytes = entry.to_bytes();
        assert_eq!(AccessEntry::from_bytes(&bytes).unwrap(), entry);
        assert!(entry.is_embargoed_at(entry.at));
        assert!(!entry.is_embargoed_at(until));
    }
}
