//! `shengshi keys rotate`: re-wraps every data key, platform secret and e-ID
//! issuer key under the primary key-encryption key while the servers keep
//! serving (the procedure is in docs/operations.md).

use anyhow::{bail, Result};
use shengshi_app::installation;
use shengshi_app::keys::Rotation;
use shengshi_domain::{Actor, SecurityEventKind, SystemClock};
use shengshi_envelope::{KeyEncryptionKey, KeyRing, LocalKek};
use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::startup::{load_kek, open_store, self_test_every_key};

/// What a rotation did, for the command's output and for tests.
#[derive(Debug)]
pub struct Rotated {
    pub from: String,
    pub to: String,
    pub report: shengshi_app::keys::RotationReport,
    /// `false` when stopped by `stop_after` before the end.
    pub finished: bool,
}

/// Rotates to the configured primary key, unwrapping with the previous keys;
/// or, with `new_kek_file`, to that key with the configured one as the
/// previous key (then every server must be stopped, since they do not hold
/// the new key). `stop_after` stops after that many batches without
/// finishing, as a crash would (for tests; running again finishes).
pub async fn rotate(
    config: &Config,
    new_kek_file: Option<&Path>,
    batch_size: u32,
    stop_after: Option<u64>,
) -> Result<Rotated> {
    let store = open_store(config).await?;
    let status = store.schema_status().await?;
    if !status.is_current() {
        bail!("the database schema is not current ({} migrations pending); start the new server version once first", status.pending);
    }
    let Some(recorded) = store.installation().await? else {
        bail!("the database holds no installation; start the server once first");
    };
    let configured = load_kek(config, Some(&recorded.kek_id))?;
    let ring: Arc<dyn KeyEncryptionKey> = match new_kek_file {
        Some(path) => Arc::new(
            KeyRing::new(Arc::new(LocalKek::load(path)?), vec![configured])
                .map_err(anyhow::Error::msg)?,
        ),
        None => configured,
    };
    // Every check before the first write: the installation's key is held,
    // and every key wraps and unwraps.
    installation::verify_kek(store.as_ref(), ring.as_ref()).await?;
    self_test_every_key(ring.as_ref()).await?;

    let mut rotation =
        Rotation::new(store.as_ref(), ring.as_ref(), ring.as_ref()).with_batch_size(batch_size);
    let mut batches = 0u64;
    while rotation.next_batch().await? {
        batches += 1;
        if batches.is_multiple_of(100) {
            tracing::info!(
                rewrapped = rotation.report().rewrapped,
                "key rotation in progress"
            );
        }
        if stop_after.is_some_and(|n| batches >= n) {
            let rotated = Rotated {
                from: recorded.kek_id,
                to: ring.id().to_owned(),
                report: rotation.report().clone(),
                finished: false,
            };
            store.close().await;
            return Ok(rotated);
        }
    }
    let report = rotation.finish().await?;
    let log = shengshi_app::SecurityLog::start(store.clone(), Arc::new(SystemClock));
    log.record(
        Actor::Operator,
        SecurityEventKind::KeyEncryptionKeyRotated {
            from: recorded.kek_id.clone(),
            to: ring.id().to_owned(),
            rewrapped: report.rewrapped + report.late,
        },
    )
    .await?;
    store.close().await;
    Ok(Rotated {
        from: recorded.kek_id,
        to: ring.id().to_owned(),
        report,
        finished: true,
    })
}
