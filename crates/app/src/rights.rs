//! The resident's rights under PIPL Arts. 44–47: download everything held
//! about them, ask for a correction, close the account.
//!
//! Each use case opens personal data only through the door, so the resident's
//! own access log shows their export and their reviews like any other access.

use serde::Serialize;
use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::{AccountId, Actor, SecurityEventKind, Timestamp};
use shengshi_store::{PasskeyOwner, StoreError, StoredCorrection};
use zeroize::Zeroizing;

use crate::door::{self, AccessRequest};
use crate::login::{self, Authenticated};
use crate::registration::{self, Profile};
use crate::{access_view, keys, mandates, passkeys, Services};

/// Bumped when a field of [`Export`] changes meaning or disappears.
pub const EXPORT_VERSION: u32 = 1;
pub const EXPORT_FORMAT: &str = "shengshi-subject-export";

pub(crate) const VALUE_CONTEXT: &[u8] = b"correction.value";
pub(crate) const EXPLANATION_CONTEXT: &[u8] = b"correction.explanation";
/// The deciding staff member's note to the resident (`crate::casework`).
pub(crate) const NOTE_CONTEXT: &[u8] = b"correction.note";

/// Limits on a correction request, in characters.
pub const MAX_VALUE_CHARS: usize = 200;
pub const MAX_EXPLANATION_CHARS: usize = 1000;

/// Everything held about a resident, as they download it (docs/export-format.md,
/// "Resident data export").
#[derive(Clone, Debug, Serialize)]
pub struct Export {
    pub format: &'static str,
    pub version: u32,
    pub exported_at: String,
    pub profile: Profile,
    pub account: ExportAccount,
    pub sessions: Vec<ExportSession>,
    pub passkeys: Vec<ExportPasskey>,
    pub mandates_given: Vec<ExportMandate>,
    pub mandates_received: Vec<ExportMandate>,
    pub mandate_actions: Vec<ExportMandateAction>,
    pub corrections: Vec<ExportCorrection>,
    pub access_log: Vec<ExportAccess>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportAccount {
    pub id: AccountId,
    pub assurance_level: i64,
    pub status: String,
    pub created_at: String,
    pub in_person_verified_at: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportSession {
    pub device: Option<String>,
    pub created_at: String,
    pub last_seen_at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportPasskey {
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportMandate {
    pub id: String,
    pub grantor: AccountId,
    pub grantee: AccountId,
    pub relationship: &'static str,
    pub services: Vec<String>,
    pub valid_from: String,
    pub valid_until: String,
    pub revoked_at: Option<String>,
    pub status: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportMandateAction {
    pub mandate: String,
    pub actor: AccountId,
    pub service: String,
    pub action: String,
    pub at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportAccess {
    pub leaf_index: u64,
    pub at: String,
    pub accessor: &'static str,
    pub department: Option<&'static str>,
    pub role: Option<&'static str>,
    /// For a verifier organisation: its name as registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    pub purpose: &'static str,
    pub reference: Option<String>,
    pub fields: Vec<String>,
}

/// A correction request as its resident reads it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorrectionView {
    pub id: uuid::Uuid,
    pub field: String,
    pub proposed_value: String,
    pub explanation: String,
    pub status: String,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    /// What the deciding staff member wrote to the resident.
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportCorrection {
    pub id: uuid::Uuid,
    pub field: String,
    pub proposed_value: String,
    pub explanation: String,
    pub status: String,
    pub created_at: String,
    pub decided_at: Option<String>,
    /// The deciding staff member's note to the resident.
    pub note: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the account's data could not be opened: {0}")]
    Door(String),
    #[error("the account's data could not be read: {0}")]
    Store(String),
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// Builds the resident's export. The profile is opened through the door
/// (purpose `subject_export`) before the access log is read, so the export
/// contains its own access.
pub async fn export(services: &Services, session: &Authenticated) -> Result<Export, ExportError> {
    let account = &session.account;
    let store_err = |e: StoreError| ExportError::Store(e.to_string());
    let opened = door::open(
        services,
        AccessRequest {
            subject: account.subject,
            accessor: Accessor::Subject,
            purpose: Purpose::SubjectExport,
            reference: None,
            fields: vec!["name", "id_number", "phone", "corrections"],
        },
    )
    .await
    .map_err(|e| ExportError::Door(e.to_string()))?;
    let profile = open_profile(&opened, account).map_err(ExportError::Door)?;
    let corrections = corrections_with_notes(services, account.id)
        .await
        .map_err(store_err)?
        .iter()
        .map(|(c, note)| {
            view_of(&opened, c, note.as_deref()).map(|v| ExportCorrection {
                id: v.id,
                field: v.field,
                proposed_value: v.proposed_value,
                explanation: v.explanation,
                status: v.status,
                created_at: rfc3339(v.created_at),
                decided_at: v.decided_at.map(rfc3339),
                note: v.note,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ExportError::Door(e.to_string()))?;

    let sessions = login::live_sessions(services, session)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|s| ExportSession {
            device: s.device,
            created_at: rfc3339(s.created_at),
            last_seen_at: rfc3339(s.last_seen_at),
        })
        .collect();
    let passkeys = passkeys::list(services, PasskeyOwner::Resident(account.id))
        .await
        .map_err(|e| ExportError::Store(e.to_string()))?
        .into_iter()
        .map(|p| ExportPasskey {
            label: p.label,
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
        })
        .collect();
    let mandate = |v: mandates::MandateView| ExportMandate {
        id: v.mandate.id().to_string(),
        grantor: v.mandate.grantor(),
        grantee: v.mandate.grantee(),
        relationship: v.mandate.relationship().name(),
        services: v
            .mandate
            .services()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        valid_from: rfc3339(v.mandate.valid_from()),
        valid_until: rfc3339(v.mandate.valid_until()),
        revoked_at: v.mandate.revoked_at().map(rfc3339),
        status: v.status.name(),
    };
    let mandates_given = mandates::list_for_grantor(services, account.id)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(mandate)
        .collect();
    let mandates_received = mandates::list_for_grantee(services, account.id)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(mandate)
        .collect();
    let mandate_actions = mandates::actions_for_grantor(services, account.id)
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|a| ExportMandateAction {
            mandate: a.mandate.to_string(),
            actor: a.actor,
            service: a.service.as_str().to_owned(),
            action: a.action.as_str().to_owned(),
            at: rfc3339(a.at),
        })
        .collect();
    let access_log = access_view::all(services, account.subject)
        .await
        .map_err(|e| ExportError::Store(e.to_string()))?
        .into_iter()
        .map(|r| ExportAccess {
            leaf_index: r.leaf_index,
            at: rfc3339(r.at),
            accessor: r.accessor.name(),
            department: r.department.map(|d| d.name()),
            role: r.role.map(|r| r.name()),
            organisation: r.organisation,
            purpose: r.purpose.name(),
            reference: r.reference,
            fields: r.fields,
        })
        .collect();

    services
        .security_log
        .record(
            Actor::Subject {
                id: account.subject,
            },
            SecurityEventKind::DataExported {
                account: account.id,
            },
        )
        .await
        .map_err(|e| ExportError::Store(e.to_string()))?;
    Ok(Export {
        format: EXPORT_FORMAT,
        version: EXPORT_VERSION,
        exported_at: rfc3339(services.clock.now()),
        profile,
        account: ExportAccount {
            id: account.id,
            assurance_level: account.assurance_level,
            status: account.status.clone(),
            created_at: rfc3339(account.created_at),
            in_person_verified_at: account.in_person_verified_at.map(rfc3339),
        },
        sessions,
        passkeys,
        mandates_given,
        mandates_received,
        mandate_actions,
        corrections,
        access_log,
    })
}

fn open_profile(
    opened: &door::Opened,
    account: &shengshi_store::StoredAccount,
) -> Result<Profile, String> {
    let sealed = shengshi_envelope::Sealed::from_bytes(account.sealed_profile.clone())
        .map_err(|e| e.to_string())?;
    let plain = opened
        .open(&sealed, registration::PROFILE_CONTEXT)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&plain).map_err(|e| e.to_string())
}

/// Which part of the record a correction is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorrectionField {
    Name,
    Phone,
    Address,
    Other,
}

impl CorrectionField {
    pub const ALL: [Self; 4] = [Self::Name, Self::Phone, Self::Address, Self::Other];

    pub fn name(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Phone => "phone",
            Self::Address => "address",
            Self::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CorrectionError {
    #[error("choose name, phone, address or other")]
    UnknownField,
    #[error("the proposed value must be 1 to {MAX_VALUE_CHARS} characters")]
    ValueLength,
    #[error("the explanation must be at most {MAX_EXPLANATION_CHARS} characters")]
    ExplanationLength,
    #[error("the request could not be stored: {0}")]
    Internal(String),
}

impl CorrectionError {
    /// The stable code the API and pages map to a message.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownField => "correction_field",
            Self::ValueLength => "correction_value_length",
            Self::ExplanationLength => "correction_explanation_length",
            Self::Internal(_) => "internal",
        }
    }
}

fn internal(e: impl std::fmt::Display) -> CorrectionError {
    CorrectionError::Internal(e.to_string())
}

/// A resident's correction requests, newest first, each with the sealed
/// note of its decision (if decided).
async fn corrections_with_notes(
    services: &Services,
    account: AccountId,
) -> Result<Vec<(StoredCorrection, Option<Vec<u8>>)>, StoreError> {
    let stored = services.store.corrections_by_account(account).await?;
    let mut out = Vec::with_capacity(stored.len());
    for c in stored {
        let note = if c.status == "open" {
            None
        } else {
            services
                .store
                .correction_case(c.id)
                .await?
                .and_then(|case| case.assignment)
                .and_then(|a| a.sealed_note)
        };
        out.push((c, note));
    }
    Ok(out)
}

fn view_of(
    opened: &door::Opened,
    c: &StoredCorrection,
    sealed_note: Option<&[u8]>,
) -> Result<CorrectionView, shengshi_envelope::EnvelopeError> {
    let open_text = |bytes: &[u8], context: &[u8]| {
        let sealed = shengshi_envelope::Sealed::from_bytes(bytes.to_vec())?;
        let plain = opened.open(&sealed, context)?;
        Ok::<_, shengshi_envelope::EnvelopeError>(String::from_utf8_lossy(&plain).into_owned())
    };
    Ok(CorrectionView {
        id: c.id,
        field: c.field.clone(),
        proposed_value: open_text(&c.sealed_value, VALUE_CONTEXT)?,
        explanation: open_text(&c.sealed_explanation, EXPLANATION_CONTEXT)?,
        status: c.status.clone(),
        created_at: c.created_at,
        decided_at: c.decided_at,
        note: sealed_note
            .map(|n| open_text(n, NOTE_CONTEXT))
            .transpose()?,
    })
}

/// Records a correction request, sealed with the resident's data key.
pub async fn request_correction(
    services: &Services,
    account: AccountId,
    field: &str,
    proposed_value: &str,
    explanation: &str,
) -> Result<CorrectionView, CorrectionError> {
    let field = CorrectionField::from_name(field).ok_or(CorrectionError::UnknownField)?;
    let proposed_value = proposed_value.trim();
    let explanation = explanation.trim();
    let value_chars = proposed_value.chars().count();
    if value_chars == 0 || value_chars > MAX_VALUE_CHARS {
        return Err(CorrectionError::ValueLength);
    }
    if explanation.chars().count() > MAX_EXPLANATION_CHARS {
        return Err(CorrectionError::ExplanationLength);
    }
    let stored_account = services
        .store
        .account(account)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("no such account"))?;
    let id = uuid::Uuid::now_v7();
    // Sealing needs the key, so the door logs it: the resident sees that
    // their correction request was written, and why.
    let opened = door::open(
        services,
        AccessRequest {
            subject: stored_account.subject,
            accessor: Accessor::Subject,
            purpose: Purpose::CorrectionReview,
            reference: Some(format!("correction:{id}")),
            fields: vec!["corrections"],
        },
    )
    .await
    .map_err(internal)?;
    let value = Zeroizing::new(proposed_value.as_bytes().to_vec());
    let stored = StoredCorrection {
        id,
        account,
        field: field.name().to_owned(),
        sealed_value: opened.seal(&value, VALUE_CONTEXT).into_bytes(),
        sealed_explanation: opened
            .seal(explanation.as_bytes(), EXPLANATION_CONTEXT)
            .into_bytes(),
        status: "open".to_owned(),
        created_at: services.clock.now(),
        decided_at: None,
    };
    services
        .store
        .insert_correction(&stored)
        .await
        .map_err(internal)?;
    services
        .security_log
        .record(
            Actor::Subject {
                id: stored_account.subject,
            },
            SecurityEventKind::CorrectionRequested {
                account,
                correction: id,
                field: field.name().to_owned(),
            },
        )
        .await
        .map_err(internal)?;
    view_of(&opened, &stored, None).map_err(internal)
}

/// The resident's correction requests, newest first, opened through the door.
pub async fn corrections(
    services: &Services,
    account: &shengshi_store::StoredAccount,
) -> Result<Vec<CorrectionView>, CorrectionError> {
    let stored = corrections_with_notes(services, account.id)
        .await
        .map_err(internal)?;
    if stored.is_empty() {
        // Nothing sealed to open, so nothing to log.
        return Ok(Vec::new());
    }
    let opened = door::open(
        services,
        AccessRequest {
            subject: account.subject,
            accessor: Accessor::Subject,
            purpose: Purpose::CorrectionReview,
            reference: None,
            fields: vec!["corrections"],
        },
    )
    .await
    .map_err(internal)?;
    stored
        .iter()
        .map(|(c, note)| view_of(&opened, c, note.as_deref()).map_err(internal))
        .collect()
}

/// The word the resident types to confirm closing their account.
pub const CLOSE_CONFIRMATION: &str = "CLOSE";

#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    #[error("type the confirmation word to close the account")]
    NotConfirmed,
    #[error("the account is not active")]
    NotActive,
    #[error("the account could not be closed: {0}")]
    Internal(String),
}

impl CloseError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConfirmed => "close_confirmation",
            Self::NotActive => "account_not_active",
            Self::Internal(_) => "internal",
        }
    }
}

/// Closes the account: revokes its sessions, passkeys and the mandates it
/// gave and marks it closed (one transaction), records `account_closed`, then
/// destroys the data key so the profile and correction requests are erased.
/// The word is accepted in any letter case.
pub async fn close(
    services: &Services,
    account: &shengshi_store::StoredAccount,
    confirmation: &str,
) -> Result<(), CloseError> {
    if !confirmation.trim().eq_ignore_ascii_case(CLOSE_CONFIRMATION) {
        return Err(CloseError::NotConfirmed);
    }
    let at = services.clock.now();
    let closed = services
        .store
        .close_account(account.id, at)
        .await
        .map_err(|e| CloseError::Internal(e.to_string()))?;
    if !closed {
        return Err(CloseError::NotActive);
    }
    services
        .security_log
        .record(
            Actor::Subject {
                id: account.subject,
            },
            SecurityEventKind::AccountClosed {
                account: account.id,
            },
        )
        .await
        .map_err(|e| CloseError::Internal(e.to_string()))?;
    // Last: once the key is gone nothing sealed with it opens again. If this
    // fails the account is already closed and a retry of `keys::destroy`
    // (idempotent) by an operator finishes the erasure.
    keys::destroy(
        services,
        account.subject,
        Actor::Subject {
            id: account.subject,
        },
    )
    .await
    .map_err(|e| CloseError::Internal(e.to_string()))?;
    Ok(())
}
