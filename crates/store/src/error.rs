/// What can go wrong in storage, in terms callers can act on. Driver errors are
/// kept as text for the logs and never shown to users.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot reach the database: {0}")]
    Unreachable(String),
    #[error("the database was migrated by a newer version of Shengshi (schema {database}, this binary knows up to {binary}); run the newer version or restore a backup")]
    SchemaTooNew { database: i64, binary: i64 },
    #[error("the database schema is not what this binary expects: {0}")]
    SchemaMismatch(String),
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(String),
}
