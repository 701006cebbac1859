//! The one door to personal data. Personal data is stored sealed with its
//! subject's data key; the only way to that key is [`open`], which first makes
//! the access durable in the access log (who, why, for what, which fields) and
//! only then hands out an [`Opened`] capability that can decrypt.
//!
//! Nothing outside this module can make an [`Opened`], and the key loader
//! (`keys::load`) is private to the crate, so code without the capability
//! cannot obtain plaintext:
//!
//! ```compile_fail
//! // The data key loader is not public.
//! async fn sneak(services: &shengshi_app::Services, subject: shengshi_domain::SubjectId) {
//!     let _ = shengshi_app::keys::load(services, subject).await;
//! }
//! ```
//!
//! ```compile_fail
//! // Nor can the capability be forged.
//! fn forge(key: shengshi_envelope::DataKey) -> shengshi_app::door::Opened {
//!     shengshi_app::door::Opened { key, subject: shengshi_domain::SubjectId::new(), leaf_index: 0 }
//! }
//! ```

use shengshi_domain::access::{AccessEntry, Accessor, Embargo, Purpose};
use shengshi_domain::{EventId, SubjectId};
use shengshi_envelope::{DataKey, EnvelopeError, Sealed};
use zeroize::Zeroizing;

use crate::access_log::{AccessLogError, ClaimedAccess, ClaimedOutcome};
use crate::embargo::EmbargoGrant;
use crate::keys::{self, KeyError};
use crate::Services;

/// What an access is, before it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRequest {
    pub subject: SubjectId,
    pub accessor: Accessor,
    pub purpose: Purpose,
    pub reference: Option<String>,
    /// The fields that will be read, e.g. `["name", "phone"]`.
    pub fields: Vec<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum DoorError {
    #[error("the access could not be logged, so the data stays closed: {0}")]
    NotLogged(#[from] AccessLogError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The capability to decrypt one subject's data, minted only after the
/// access is in the log.
#[derive(Debug)]
pub struct Opened {
    key: DataKey,
    subject: SubjectId,
    leaf_index: u64,
}

impl Opened {
    pub fn subject(&self) -> SubjectId {
        self.subject
    }

    /// Where the access stands in the access log.
    pub fn leaf_index(&self) -> u64 {
        self.leaf_index
    }

    /// Decrypts one sealed value of this subject.
    pub fn open(
        &self,
        sealed: &Sealed,
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        self.key.open(sealed, context)
    }

    /// Seals a new value for this subject (replacing a record re-seals it).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Sealed {
        self.key.seal(plaintext, context)
    }
}

/// Logs the access durably, then loads the subject's data key.
pub async fn open(services: &Services, request: AccessRequest) -> Result<Opened, DoorError> {
    open_with(services, request, None).await
}

/// Logs an access in which we decrypt nothing: the personal data reaches
/// the accessor in something the resident handed them, such as an e-ID code
/// checked by the online verification service. The entry is as durable as
/// [`open`]'s, and it is returned only once it is; no key is loaded.
pub async fn record(services: &Services, request: AccessRequest) -> Result<u64, DoorError> {
    Ok(services
        .access_log
        .record(entry(services, request, None))
        .await?)
}

/// Logs an online e-ID verification if, and only if, the code's single-use
/// claim holds for the verifier: the claim is settled and the entry written
/// in one durable transaction (see [`crate::access_log::ClaimedAccess`]).
/// Like [`record`], nothing is decrypted and no key is loaded.
pub async fn record_claimed(
    services: &Services,
    access: ClaimedAccess,
) -> Result<ClaimedOutcome, DoorError> {
    Ok(services.access_log.record_claimed(access).await?)
}

#[derive(Debug, thiserror::Error)]
pub enum EmbargoedOpenError {
    #[error("the embargo was approved for another subject")]
    OtherSubject,
    #[error(transparent)]
    Door(#[from] DoorError),
}

/// Like [`open`], for an access the subject may not be told of yet: the entry
/// is logged (and witnessed) now, carrying the embargo, and the resident's
/// view shows it once the embargo ends. Only an approved embargo of this
/// subject yields a grant (see [`crate::embargo::grant`]).
///
/// A separate function rather than a field of [`AccessRequest`]: the dozen
/// ordinary callers stay unchanged and cannot set an embargo by accident.
pub async fn open_embargoed(
    services: &Services,
    request: AccessRequest,
    grant: &EmbargoGrant,
) -> Result<Opened, EmbargoedOpenError> {
    if grant.subject() != request.subject {
        return Err(EmbargoedOpenError::OtherSubject);
    }
    Ok(open_with(services, request, Some(grant.embargo().clone())).await?)
}

fn entry(services: &Services, request: AccessRequest, embargo: Option<Embargo>) -> AccessEntry {
    AccessEntry {
        id: EventId::new(),
        at: services.clock.now(),
        subject: request.subject,
        accessor: request.accessor,
        purpose: request.purpose,
        reference: request.reference,
        fields: request.fields.iter().map(|f| (*f).to_owned()).collect(),
        embargo,
    }
}

async fn open_with(
    services: &Services,
    request: AccessRequest,
    embargo: Option<Embargo>,
) -> Result<Opened, DoorError> {
    let subject = request.subject;
    let leaf_index = services
        .access_log
        .record(entry(services, request, embargo))
        .await?;
    let key = keys::load(services, subject).await?;
    Ok(Opened {
        key,
        subject,
        leaf_index,
    })
}
