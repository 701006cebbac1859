//! Per-subject data keys: create, load, destroy (erasure), and re-wrap under a
//! new key-encryption key.

use shengshi_domain::{Actor, SecurityEventKind, SubjectId};
use shengshi_envelope::{Algorithm, DataKey, EnvelopeError, KeyEncryptionKey, KeyRef};
use shengshi_store::{
    DataKeyStore, InstallationStore, PlatformSecretStore, StoreError, StoredDataKey,
};

use crate::security_log::SecurityLogError;
use crate::Services;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("subject {0} has no data key")]
    NotFound(SubjectId),
    #[error("subject {0}'s data key was destroyed: the data is erased")]
    Destroyed(SubjectId),
    #[error("subject {0} already has a data key")]
    AlreadyExists(SubjectId),
    #[error("the data key of subject {subject} is wrapped by key-encryption key {kek_id}, not the configured one; finish the rotation with `shengshi keys rotate`")]
    WrappedByOtherKek { subject: SubjectId, kek_id: String },
    #[error("the stored data key uses an unknown algorithm {0}")]
    UnknownAlgorithm(String),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Log(#[from] SecurityLogError),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
}

/// Creates the subject's data key. Each subject has exactly one.
pub async fn create(services: &Services, subject: SubjectId) -> Result<DataKey, KeyError> {
    let key_id = uuid::Uuid::now_v7();
    let key = DataKey::generate(KeyRef(*key_id.as_bytes()), services.envelope_algorithm);
    let stored = StoredDataKey {
        subject,
        key_id,
        algorithm: key.algorithm().name().to_owned(),
        kek_id: services.kek.id().to_owned(),
        wrapped_key: Some(key.wrap(services.kek.as_ref()).await?),
        created_at: services.clock.now(),
        destroyed_at: None,
    };
    services
        .store
        .insert_data_keys(std::slice::from_ref(&stored))
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => KeyError::AlreadyExists(subject),
            other => other.into(),
        })?;
    services
        .security_log
        .record(
            Actor::System,
            SecurityEventKind::DataKeyCreated {
                subject,
                algorithm: key.algorithm().name().to_owned(),
            },
        )
        .await?;
    Ok(key)
}

/// Loads the subject's data key. Only the door (`door::open`) calls this.
pub(crate) async fn load(services: &Services, subject: SubjectId) -> Result<DataKey, KeyError> {
    let stored = services
        .store
        .data_key(subject)
        .await?
        .ok_or(KeyError::NotFound(subject))?;
    unwrap_stored(&stored, services.kek.as_ref()).await
}

async fn unwrap_stored(
    stored: &StoredDataKey,
    kek: &dyn KeyEncryptionKey,
) -> Result<DataKey, KeyError> {
    let subject = stored.subject;
    let wrapped = stored
        .wrapped_key
        .as_deref()
        .ok_or(KeyError::Destroyed(subject))?;
    if stored.kek_id != kek.id() {
        return Err(KeyError::WrappedByOtherKek {
            subject,
            kek_id: stored.kek_id.clone(),
        });
    }
    let algorithm = Algorithm::from_name(&stored.algorithm)
        .ok_or_else(|| KeyError::UnknownAlgorithm(stored.algorithm.clone()))?;
    Ok(DataKey::unwrap(KeyRef(*stored.key_id.as_bytes()), algorithm, wrapped, kek).await?)
}

/// Destroys the subject's key: every ciphertext sealed with it is erased, in
/// every backup. Idempotent.
/// `actor` is who asked: the resident closing their account, or an operator.
pub async fn destroy(
    services: &Services,
    subject: SubjectId,
    actor: Actor,
) -> Result<bool, KeyError> {
    let destroyed = services
        .store
        .destroy_data_key(subject, services.clock.now())
        .await?;
    if destroyed {
        services
            .security_log
            .record(actor, SecurityEventKind::DataKeyDestroyed { subject })
            .await?;
    }
    Ok(destroyed)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    pub rewrapped: u64,
    /// Platform secrets (such as the one-time-code MAC key) re-wrapped.
    pub secrets_rewrapped: u64,
    pub already_done: u64,
    pub destroyed: u64,
}

/// Re-wraps every data key from `old` to `new`, then records `new` as the
/// installation's KEK. Resumable: a key already under `new` is skipped, so a
/// rotation interrupted by a crash is finished by running it again.
pub async fn rotate_kek<S: DataKeyStore + InstallationStore + PlatformSecretStore + ?Sized>(
    store: &S,
    old: &dyn KeyEncryptionKey,
    new: &dyn KeyEncryptionKey,
) -> Result<RotationReport, KeyError> {
    const PAGE: u32 = 500;
    let mut report = RotationReport::default();
    let mut after = None;
    loop {
        let page = store.data_keys(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.subject);
        for stored in &page {
            if stored.wrapped_key.is_none() {
                report.destroyed += 1;
                continue;
            }
            if stored.kek_id == new.id() {
                report.already_done += 1;
                continue;
            }
            let key = unwrap_stored(stored, old).await?;
            if store
                .rewrap_data_key(stored.subject, new.id(), &key.wrap(new).await?)
                .await?
            {
                report.rewrapped += 1;
            } else {
                report.destroyed += 1;
            }
        }
    }
    report.secrets_rewrapped = crate::secrets::rewrap_all(store, old, new).await?;
    store
        .set_kek(
            new.id(),
            &new.check_value().await.map_err(EnvelopeError::from)?,
        )
        .await?;
    Ok(report)
}
