//! Liveness and readiness.

use shengshi_store::AdminStore;

/// Why the platform is not ready to serve.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("the database is unreachable")]
    DatabaseUnreachable,
    #[error("the database schema is not current ({pending} migrations pending)")]
    MigrationsPending { pending: usize },
    #[error("the database schema is newer than this binary")]
    SchemaTooNew,
}

/// Ready when the database answers and its schema is exactly what this binary expects.
pub async fn readiness(store: &dyn AdminStore) -> Result<(), NotReady> {
    store
        .ping()
        .await
        .map_err(|_| NotReady::DatabaseUnreachable)?;
    match store.schema_status().await {
        Ok(status) if status.is_current() => Ok(()),
        Ok(status) => Err(NotReady::MigrationsPending {
            pending: status.pending,
        }),
        Err(shengshi_store::StoreError::SchemaTooNew { .. }) => Err(NotReady::SchemaTooNew),
        Err(_) => Err(NotReady::DatabaseUnreachable),
    }
}
