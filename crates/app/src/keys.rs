//! Per-subject data keys: create, load, destroy (erasure), and re-wrap under a
//! new key-encryption key.

use shengshi_domain::{Actor, SecurityEventKind, SubjectId};
use shengshi_envelope::{Algorithm, DataKey, EnvelopeError, KeyEncryptionKey, KeyRef};
use shengshi_store::{
    DataKeyRewrap, DataKeyStore, InstallationStore, PlatformSecretStore, StoreError, StoredDataKey,
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
    #[error("the data key of subject {subject} is wrapped by key-encryption key {kek_id}, which is not configured; configure it among previous_kek_files (or previous_kms_keys) until `shengshi keys rotate` has re-wrapped every key")]
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
    #[error("the rotation stopped: {0}; run it again to finish")]
    Rotation(String),
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
    // The key that wrapped it, by the id stored beside it: the primary, or a
    // previous key while a rotation is under way.
    let Some(kek) = kek.key_with_id(&stored.kek_id) else {
        return Err(KeyError::WrappedByOtherKek {
            subject,
            kek_id: stored.kek_id.clone(),
        });
    };
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

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    pub rewrapped: u64,
    /// Platform secrets (such as the one-time-code MAC key) re-wrapped.
    pub secrets_rewrapped: u64,
    /// e-ID issuer keys re-wrapped.
    pub issuer_keys_rewrapped: u64,
    pub already_done: u64,
    pub destroyed: u64,
    /// Keys destroyed, or re-wrapped by another rotation, between being read
    /// and being written: left as they were.
    pub changed_meanwhile: u64,
    /// Data keys found under another key-encryption key by the final pass,
    /// after the installation already named the new one: a server still
    /// running with the old key as its primary wrapped them. They are
    /// re-wrapped too, but that server must be restarted with the new key.
    pub late: u64,
    /// Batches committed (each one transaction).
    pub batches: u64,
}

/// Data keys re-wrapped per transaction unless told otherwise.
pub const DEFAULT_BATCH: u32 = 500;

/// Re-wraps every data key, platform secret and e-ID issuer key to `to`, then
/// records `to` as the installation's KEK. `from` unwraps: a [`KeyRing`]
/// holding every key that may have wrapped something (each stored wrap is
/// opened with the key its `kek_id` names), or a single old key.
///
/// Runs while servers keep serving, if every server holds `to` (as its
/// primary) and the old keys (as previous keys): batches of data keys commit
/// one transaction each, each write applies only over the wrap it replaces,
/// and the installation names `to` only once nothing is left under another
/// key. Resumable and idempotent: a key already under `to` is skipped, so a
/// rotation stopped by a crash is finished by running it again.
///
/// [`KeyRing`]: shengshi_envelope::KeyRing
pub async fn rotate_kek<
    S: DataKeyStore + InstallationStore + PlatformSecretStore + shengshi_store::EidStore + ?Sized,
>(
    store: &S,
    from: &dyn KeyEncryptionKey,
    to: &dyn KeyEncryptionKey,
) -> Result<RotationReport, KeyError> {
    Rotation::new(store, from, to).finish().await
}

/// A rotation taken one batch at a time (see [`rotate_kek`]): the command line
/// reports progress between batches, and tests stop it half-way.
pub struct Rotation<'a, S: ?Sized> {
    store: &'a S,
    from: &'a dyn KeyEncryptionKey,
    to: &'a dyn KeyEncryptionKey,
    batch_size: u32,
    after: Option<SubjectId>,
    done: bool,
    report: RotationReport,
}

impl<S: ?Sized> std::fmt::Debug for Rotation<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rotation")
            .field("from", &self.from.held_ids())
            .field("to", &self.to.id())
            .field("after", &self.after)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl<'a, S> Rotation<'a, S>
where
    S: DataKeyStore + InstallationStore + PlatformSecretStore + shengshi_store::EidStore + ?Sized,
{
    pub fn new(store: &'a S, from: &'a dyn KeyEncryptionKey, to: &'a dyn KeyEncryptionKey) -> Self {
        Self {
            store,
            from,
            to,
            batch_size: DEFAULT_BATCH,
            after: None,
            done: false,
            report: RotationReport::default(),
        }
    }

    /// Data keys per transaction (at least 1).
    pub fn with_batch_size(mut self, batch_size: u32) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn report(&self) -> &RotationReport {
        &self.report
    }

    /// Re-wraps the next batch of data keys in one transaction. `Ok(false)`
    /// once every data key has been visited.
    pub async fn next_batch(&mut self) -> Result<bool, KeyError> {
        if self.done {
            return Ok(false);
        }
        let more = rewrap_page(
            self.store,
            self.from,
            self.to,
            &mut self.after,
            self.batch_size,
            &mut self.report,
        )
        .await?;
        self.done = !more;
        Ok(more)
    }

    /// Re-wraps what is left, the platform secrets and the issuer keys;
    /// records `to` as the installation's KEK; then checks every data key
    /// once more (see [`RotationReport::late`]).
    pub async fn finish(mut self) -> Result<RotationReport, KeyError> {
        while self.next_batch().await? {}
        self.report.secrets_rewrapped =
            crate::secrets::rewrap_all(self.store, self.from, self.to).await?;
        self.report.issuer_keys_rewrapped =
            crate::eid::rewrap_issuer_keys(self.store, self.from, self.to)
                .await
                .map_err(|e| KeyError::Rotation(e.to_string()))?;
        self.store
            .set_kek(
                self.to.id(),
                &self.to.check_value().await.map_err(EnvelopeError::from)?,
            )
            .await?;
        // The final pass: anything a server with an old primary wrapped after
        // the first pass went by. Its counts are kept apart.
        let mut check = RotationReport::default();
        let mut after = None;
        while rewrap_page(
            self.store,
            self.from,
            self.to,
            &mut after,
            self.batch_size,
            &mut check,
        )
        .await?
        {}
        self.report.late = check.rewrapped;
        self.report.changed_meanwhile += check.changed_meanwhile;
        self.report.batches += check.batches;
        Ok(self.report)
    }
}

/// One page of data keys after `after`: those under another KEK are unwrapped
/// with the key their id names, wrapped with `to`, and written in one
/// transaction. `false` when the page was empty.
async fn rewrap_page<S: DataKeyStore + ?Sized>(
    store: &S,
    from: &dyn KeyEncryptionKey,
    to: &dyn KeyEncryptionKey,
    after: &mut Option<SubjectId>,
    batch_size: u32,
    report: &mut RotationReport,
) -> Result<bool, KeyError> {
    let page = store.data_keys(*after, batch_size).await?;
    let Some(last) = page.last() else {
        return Ok(false);
    };
    *after = Some(last.subject);
    let mut rewraps = Vec::new();
    for stored in &page {
        if stored.wrapped_key.is_none() {
            report.destroyed += 1;
            continue;
        }
        if stored.kek_id == to.id() {
            report.already_done += 1;
            continue;
        }
        let key = unwrap_stored(stored, from).await?;
        rewraps.push(DataKeyRewrap {
            subject: stored.subject,
            from_kek_id: stored.kek_id.clone(),
            kek_id: to.id().to_owned(),
            wrapped_key: key.wrap(to).await?,
        });
    }
    if !rewraps.is_empty() {
        let applied = store.rewrap_data_keys(&rewraps).await?;
        report.rewrapped += applied;
        report.changed_meanwhile += rewraps.len() as u64 - applied;
        report.batches += 1;
    }
    Ok(true)
}
