//! Opening an installation at start-up: the key-encryption key must be the one
//! the installation was enrolled with, checked before any data is touched.

use shengshi_domain::{Actor, Clock, InstallationId, SecurityEventKind};
use shengshi_envelope::{Algorithm, KekError, KeyEncryptionKey};
use shengshi_store::{Installation, Store, StoreError};

use crate::security_log::{SecurityLog, SecurityLogError};

#[derive(Debug, thiserror::Error)]
pub enum InstallationError {
    #[error("the key-encryption key is wrong: this installation's data is wrapped by key {expected}, but only {found} is configured; configure key {expected} (kek_file, or kms_url and kms_key; during a rotation, among previous_kek_files or previous_kms_keys). A new key cannot open existing data: if {expected} is lost, restore it from your key backup")]
    WrongKek { expected: String, found: String },
    #[error("the key-encryption key {kek_id} failed its check: the key (file or KMS key) or the installation record was altered")]
    KekCheckFailed { kek_id: String },
    #[error("the database holds data but no installation record: an import was interrupted; drop the database and import again")]
    IncompleteImport,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kek(#[from] KekError),
    #[error(transparent)]
    Log(#[from] SecurityLogError),
}

/// Checks the KEK against an existing installation. `Ok(None)` when the database
/// has no installation yet (a new one, or not migrated).
pub async fn verify_kek(
    store: &dyn Store,
    kek: &dyn KeyEncryptionKey,
) -> Result<Option<Installation>, InstallationError> {
    let Some(installation) = store.installation().await? else {
        return Ok(None);
    };
    // The installation's key may be the primary or, while a rotation is under
    // way, a previous key of the ring.
    let Some(recorded) = kek.key_with_id(&installation.kek_id) else {
        return Err(InstallationError::WrongKek {
            expected: installation.kek_id,
            found: kek.held_ids().join(", "),
        });
    };
    recorded
        .verify_check_value(&installation.kek_check)
        .await
        .map_err(|e| match e {
            KekError::Unwrap => InstallationError::KekCheckFailed {
                kek_id: installation.kek_id.clone(),
            },
            // An unreachable KMS is not an altered key: say what really failed.
            other => InstallationError::Kek(other),
        })?;
    Ok(Some(installation))
}

/// Returns the installation, enrolling the KEK on first start. Call after migrating.
pub async fn open_or_create(
    store: &dyn Store,
    kek: &dyn KeyEncryptionKey,
    clock: &dyn Clock,
    log: &SecurityLog,
    algorithm: Algorithm,
    demo: bool,
) -> Result<Installation, InstallationError> {
    if let Some(installation) = verify_kek(store, kek).await? {
        log.record(
            Actor::System,
            SecurityEventKind::KeyEncryptionKeyVerified {
                kek_id: installation.kek_id.clone(),
            },
        )
        .await?;
        return Ok(installation);
    }
    if !store.is_empty().await? {
        return Err(InstallationError::IncompleteImport);
    }
    let installation = Installation {
        id: InstallationId::new(),
        created_at: clock.now(),
        kek_id: kek.id().to_owned(),
        kek_check: kek.check_value().await?,
        envelope_algorithm: algorithm.name().to_owned(),
        demo,
    };
    match store.create_installation(&installation).await {
        Ok(()) => {}
        // Another process enrolled at the same moment: use theirs if our key matches.
        Err(StoreError::Conflict(_)) => {
            return verify_kek(store, kek)
                .await?
                .ok_or(InstallationError::IncompleteImport);
        }
        Err(e) => return Err(e.into()),
    }
    log.record(
        Actor::System,
        SecurityEventKind::KeyEncryptionKeyEnrolled {
            kek_id: kek.id().to_owned(),
        },
    )
    .await?;
    Ok(installation)
}
