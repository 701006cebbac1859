//! The printable identity document (MOSIP Claim 169), at the resident's
//! request (issue 8).
//!
//! - **Opt-in, fields chosen**: the resident picks what goes in (name, date of
//!   birth, sex, ID number, address, nationality, and the portrait if they
//!   want) and how long it lives ([`Validity`], one month to five years). The
//!   document discloses all of it to whoever scans it: it is the one
//!   long-lived, full-disclosure code we issue (docs/eid-format.md).
//! - **Through the door**: every issuance opens the card's attributes with
//!   purpose `eid_document` and exactly the chosen fields, so the access view
//!   lists it.
//! - **Revocable**: each document takes its own random place in the issuer's
//!   status list; the resident can revoke one alone, and a card that is
//!   revoked (replaced, account closed, deceased) or suspended carries its
//!   documents with it (`EidDocumentStore::document_status_entries`).
//! - **Stored**: only what revoking and listing need (id, account, card, index,
//!   signing key id, field names, times), never the identity data.

use rand::Rng;
use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::{PersonName, ResidentIdNumber, Timestamp};
use shengshi_eid as eid;
use shengshi_store::{CardStatus, StoreError, StoredAccount, StoredDocument};
use time::Duration;
use uuid::Uuid;

use crate::eid::{
    from_unix_seconds, internal, open_card_for_signing, require_eligible, unix_seconds, EidError,
    Issuer, OpenedCard, STATUS_LIST_CAPACITY,
};
use crate::registry::{PopulationRegistry, RegistryAnswer, RegistryQuery};
use crate::Services;

/// What a resident may put in a document, in the order the page lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentField {
    Name,
    BirthDate,
    Sex,
    IdNumber,
    Address,
    Nationality,
    Portrait,
}

impl DocumentField {
    pub const ALL: [DocumentField; 7] = [
        Self::Name,
        Self::BirthDate,
        Self::Sex,
        Self::IdNumber,
        Self::Address,
        Self::Nationality,
        Self::Portrait,
    ];

    /// The stable name: form values, the API, the access log's field names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::BirthDate => "birth_date",
            Self::Sex => "sex",
            Self::IdNumber => "id_number",
            Self::Address => "address",
            Self::Nationality => "nationality",
            Self::Portrait => "photo",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// How long a document lives. A fixed menu rather than a free date: a short
/// life is the main limit on a copied document, so one month is the first
/// choice and five years (what a card reader expects of a printed ID) the
/// longest the format allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Validity {
    OneMonth,
    SixMonths,
    OneYear,
    TwoYears,
    FiveYears,
}

impl Validity {
    pub const ALL: [Validity; 5] = [
        Self::OneMonth,
        Self::SixMonths,
        Self::OneYear,
        Self::TwoYears,
        Self::FiveYears,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::OneMonth => "1m",
            Self::SixMonths => "6m",
            Self::OneYear => "1y",
            Self::TwoYears => "2y",
            Self::FiveYears => "5y",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    pub fn duration(self) -> Duration {
        Duration::days(match self {
            Self::OneMonth => 30,
            Self::SixMonths => 183,
            Self::OneYear => 365,
            Self::TwoYears => 730,
            Self::FiveYears => 5 * 365 + 1,
        })
    }
}

/// What the resident asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentRequest {
    pub fields: Vec<DocumentField>,
    pub validity: Validity,
}

impl DocumentRequest {
    /// Parses form or API input: field names (each once) and a validity name.
    pub fn parse<S: AsRef<str>>(fields: &[S], validity: &str) -> Result<Self, DocumentError> {
        let mut chosen = Vec::new();
        for name in fields {
            let field = DocumentField::from_name(name.as_ref()).ok_or_else(|| {
                DocumentError::UnknownField(name.as_ref().chars().take(40).collect())
            })?;
            if !chosen.contains(&field) {
                chosen.push(field);
            }
        }
        if chosen.is_empty() {
            return Err(DocumentError::NoFields);
        }
        let validity = Validity::from_name(validity).ok_or(DocumentError::UnknownValidity)?;
        // Page order, whatever order the input had.
        chosen.sort_by_key(|f| DocumentField::ALL.iter().position(|a| a == f));
        Ok(Self {
            fields: chosen,
            validity,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("choose at least one detail to put in the document")]
    NoFields,
    #[error("{0:?} is not a detail a document can hold")]
    UnknownField(String),
    #[error("the validity must be one of 1m, 6m, 1y, 2y, 5y")]
    UnknownValidity,
    #[error("the registry holds no portrait for this card")]
    NoPortrait,
    #[error(
        "the registry portrait is not JPEG, JPEG 2000, AVIF or WebP, which Claim 169 requires"
    )]
    PortraitFormat,
    #[error("with the portrait the document would not fit in one QR code")]
    TooLarge,
    #[error("the nationality is known only for resident ID numbers")]
    NationalityUnknown,
    #[error("no such document")]
    NotFound,
    #[error(transparent)]
    Eid(#[from] EidError),
}

impl DocumentError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoFields => "eid_document_no_fields",
            Self::UnknownField(_) => "eid_document_unknown_field",
            Self::UnknownValidity => "eid_document_unknown_validity",
            Self::NoPortrait => "eid_document_no_portrait",
            Self::PortraitFormat => "eid_document_portrait_format",
            Self::TooLarge => "eid_document_too_large",
            Self::NationalityUnknown => "eid_document_nationality_unknown",
            Self::NotFound => "eid_document_not_found",
            Self::Eid(e) => e.code(),
        }
    }
}

impl From<StoreError> for DocumentError {
    fn from(e: StoreError) -> Self {
        Self::Eid(e.into())
    }
}

/// A document just made: the QR text and what it discloses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedDocument {
    pub id: Uuid,
    /// The QR text (base45, no prefix).
    pub text: String,
    /// What the document says, exactly (for the resident's full-disclosure view).
    pub identity: eid::Identity,
    pub fields: Vec<DocumentField>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Where a document stands, for the resident's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentState {
    Valid,
    Expired,
    /// The resident revoked it.
    Revoked,
    /// Its card was revoked (replaced, closed, deceased).
    CardRevoked,
    /// Its card is suspended: verifiers refuse it until the card resumes.
    CardSuspended,
}

impl DocumentState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::CardRevoked => "card_revoked",
            Self::CardSuspended => "card_suspended",
        }
    }
}

/// One of the resident's documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentSummary {
    pub id: Uuid,
    pub fields: Vec<String>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub state: DocumentState,
}

impl DocumentSummary {
    /// Whether revoking it still changes anything.
    pub fn revocable(&self) -> bool {
        matches!(
            self.state,
            DocumentState::Valid | DocumentState::CardSuspended
        )
    }
}

/// The Claim 169 nationality for a resident ID number (GB 11643 numbers are
/// issued to Chinese citizens only).
const NATIONALITY_CHINA: &str = "CHN";
/// The language of the text fields (ISO 639-3 `zho`).
const LANGUAGE: &str = "zho";

/// Makes a document for the resident's current card: the attributes open
/// through the door with the chosen fields; the portrait, if chosen, comes
/// from the registry and must be the one the card's digest names.
pub async fn issue(
    services: &Services,
    issuer: &Issuer,
    registry: Option<&dyn PopulationRegistry>,
    account: &StoredAccount,
    request: &DocumentRequest,
) -> Result<IssuedDocument, DocumentError> {
    require_eligible(account)?;
    let fields: Vec<&'static str> = request.fields.iter().map(|f| f.name()).collect();
    // Time-ordered, so the resident's list is in order; the access log names it.
    let id = Uuid::now_v7();
    let OpenedCard {
        card,
        attributes,
        signer,
        now,
        cti: _,
    } = open_card_for_signing(
        services,
        issuer,
        account,
        Purpose::EidDocument,
        |_| format!("eid-document:{id}"),
        &fields,
    )
    .await?;
    let today = services.clock.today();
    let card_attributes = attributes.to_eid(today)?;
    let chosen = |f| request.fields.contains(&f);
    let mut identity = eid::Identity {
        version: Some(eid::DOCUMENT_VERSION.into()),
        language: Some(LANGUAGE.into()),
        ..eid::Identity::default()
    };
    if chosen(DocumentField::Name) {
        identity.full_name = Some(card_attributes.name.clone());
    }
    if chosen(DocumentField::BirthDate) {
        identity.date_of_birth = Some(card_attributes.birth_date.replace('-', ""));
    }
    if chosen(DocumentField::Sex) {
        identity.gender = Some(match card_attributes.sex {
            eid::Sex::Male => eid::Gender::Male,
            eid::Sex::Female => eid::Gender::Female,
        });
    }
    if chosen(DocumentField::IdNumber) {
        identity.id = Some(card_attributes.id_number.clone());
    }
    if chosen(DocumentField::Address) {
        identity.address = Some(card_attributes.address.clone());
    }
    if chosen(DocumentField::Nationality) {
        if ResidentIdNumber::parse(&card_attributes.id_number, today).is_err() {
            return Err(DocumentError::NationalityUnknown);
        }
        identity.nationality = Some(NATIONALITY_CHINA.into());
    }
    if chosen(DocumentField::Portrait) {
        let registry = registry.ok_or(DocumentError::NoPortrait)?;
        let id_number =
            ResidentIdNumber::parse(&card_attributes.id_number, today).map_err(internal)?;
        let name = PersonName::parse(&card_attributes.name).map_err(internal)?;
        let answer = registry
            .check(
                &id_number,
                &name,
                &RegistryQuery {
                    accessor: Accessor::Platform,
                    purpose: Purpose::EidDocument,
                    reference: Some(format!("eid-document:{id}")),
                },
            )
            .await
            .map_err(|e| EidError::RegistryUnavailable(e.to_string()))?;
        let photo = match answer {
            RegistryAnswer::Match(record) => record.photo,
            _ => None,
        };
        // Only the portrait the card vouches for, never a newer one.
        let photo = photo
            .filter(|p| attributes.portrait_matches(p))
            .ok_or(DocumentError::NoPortrait)?;
        identity.photo_format =
            Some(eid::PhotoFormat::sniff(&photo).ok_or(DocumentError::PortraitFormat)?);
        identity.photo = Some(photo);
    }
    let issued_at = unix_seconds(now);
    let expires_at = unix_seconds(now.plus(request.validity.duration()));
    // A drawn index may be taken (by a card or a document); draw again.
    let mut last_conflict = None;
    for _ in 0..8 {
        let status_index = rand::thread_rng().gen_range(0..STATUS_LIST_CAPACITY);
        let text = eid::mint_document(
            &eid::DocumentRequest {
                issuer: &issuer.settings.issuer,
                issued_at,
                expires_at,
                identity: &identity,
                status: eid::StatusRef {
                    index: status_index,
                    uri: issuer.settings.status_uri.clone(),
                },
            },
            signer.as_ref(),
        )
        .map_err(|e| match e {
            eid::DocumentError::TooLarge => DocumentError::TooLarge,
            other => DocumentError::Eid(internal(other)),
        })?;
        let stored = StoredDocument {
            id,
            account: account.id,
            card: card.id,
            status_index,
            kid: eid::Signer::key_id(signer.as_ref()).to_hex(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            issued_at: from_unix_seconds(issued_at)?,
            expires_at: from_unix_seconds(expires_at)?,
            revoked_at: None,
        };
        match services.store.insert_document(&stored).await {
            Ok(()) => {
                return Ok(IssuedDocument {
                    id,
                    text,
                    identity,
                    fields: request.fields.clone(),
                    issued_at: stored.issued_at,
                    expires_at: stored.expires_at,
                })
            }
            Err(StoreError::Conflict(e)) => last_conflict = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(internal(format!(
        "no free status list index after 8 draws: {}",
        last_conflict.unwrap_or_default()
    ))
    .into())
}

/// The resident's documents, newest first.
pub async fn list(
    services: &Services,
    account: &StoredAccount,
) -> Result<Vec<DocumentSummary>, DocumentError> {
    let now = services.clock.now();
    Ok(services
        .store
        .account_documents(account.id)
        .await?
        .into_iter()
        .map(|l| {
            let d = l.document;
            let state = if d.revoked_at.is_some() {
                DocumentState::Revoked
            } else if l.card_status == CardStatus::Revoked {
                DocumentState::CardRevoked
            } else if d.expires_at <= now {
                DocumentState::Expired
            } else if l.card_status == CardStatus::Suspended {
                DocumentState::CardSuspended
            } else {
                DocumentState::Valid
            };
            DocumentSummary {
                id: d.id,
                fields: d.fields,
                issued_at: d.issued_at,
                expires_at: d.expires_at,
                revoked_at: d.revoked_at,
                state,
            }
        })
        .collect())
}

/// The resident revokes one of their documents: verifiers see it in the next
/// status list (rebuilt at once). Revoking one revoked already, or someone
/// else's, is `NotFound` and changes nothing.
pub async fn revoke(
    services: &Services,
    issuer: &Issuer,
    account: &StoredAccount,
    document: Uuid,
) -> Result<(), DocumentError> {
    if !services
        .store
        .revoke_document(account.id, document, services.clock.now())
        .await?
    {
        return Err(DocumentError::NotFound);
    }
    issuer.invalidate_status();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_strictly() {
        let r = DocumentRequest::parse(&["sex", "name", "sex"], "1y").unwrap();
        assert_eq!(r.fields, vec![DocumentField::Name, DocumentField::Sex]);
        assert_eq!(r.validity, Validity::OneYear);
        assert!(matches!(
            DocumentRequest::parse::<&str>(&[], "1y"),
            Err(DocumentError::NoFields)
        ));
        assert!(matches!(
            DocumentRequest::parse(&["name", "phone"], "1y"),
            Err(DocumentError::UnknownField(f)) if f == "phone"
        ));
        assert!(matches!(
            DocumentRequest::parse(&["name"], "10y"),
            Err(DocumentError::UnknownValidity)
        ));
    }

    #[test]
    fn every_validity_fits_the_format() {
        for v in Validity::ALL {
            assert_eq!(Validity::from_name(v.name()), Some(v));
            let seconds = v.duration().whole_seconds();
            assert!(seconds > 0 && seconds <= eid::MAX_DOCUMENT_LIFETIME_SECONDS);
        }
        assert!(Validity::OneMonth.duration() >= Duration::days(28));
    }
}
