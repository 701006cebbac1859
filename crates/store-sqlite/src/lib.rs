//! The SQLite store: the embedded default.
//!
//! Durability: WAL with `synchronous=FULL`, so an acknowledged write survives
//! power loss. Every write starts with `BEGIN IMMEDIATE`, which takes the
//! write lock up front (a deferred transaction that later writes gets
//! SQLITE_BUSY whatever the busy timeout). Writes go through one sqlx writer
//! connection, except the access log's (its batches, an imported log), which
//! have a connection of their own (`direct`); the two take turns through
//! [`SqliteStore::write_turn`], and other processes' writers through SQLite's
//! write lock. Reads use a separate pool and never block a writer.

use async_trait::async_trait;
use shengshi_domain::{AccountId, InstallationId, SecurityEvent, SubjectId, Timestamp};
use shengshi_store::{
    AccountStore, AdminStore, Backend, CardStatusReason, ChallengeRefused, DataKeyRewrap,
    DataKeyStore, Installation, InstallationStore, LoggedSecurityEvent, PhoneChallengeStore,
    PlatformSecretStore, PoolStats, SchemaStatus, SecurityEventStore, SendCap, StoreError,
    StoredAccount, StoredDataKey, StoredPhoneChallenge, StoredPlatformSecret,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

mod access_log;
mod casework;
mod corrections;
mod direct;
mod eid;
mod eid_documents;
mod embargoes;
mod mandates;
mod passkeys;
mod registry;
mod sessions;
mod staff;
mod staff_sessions;
mod verifier_applications;
mod verifiers;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

const READ_CONNECTIONS: u32 = 4;
/// How long a writer waits for another's transaction (this process's other
/// writer, or another process) before it gives up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements the writer keeps (the default is 100).
const WRITER_STATEMENTS: usize = 2_000;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// The access log's writer connection (see `direct`).
    direct: Arc<Mutex<Option<rusqlite::Connection>>>,
    /// Whose turn it is to write (see [`SqliteStore::write_turn`]).
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite:` URL.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unreachable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Statement journals (a multi-row insert keeps one to undo itself)
            // stay in memory instead of spilling to a temporary file.
            .pragma("temp_store", "memory")
            .pragma("wal_autocheckpoint", "10000")
            .busy_timeout(BUSY_TIMEOUT);
        // A connection to a local file does not go stale: no ping (a round
        // trip to the connection's thread) before each use. The writer's
        // batched statements (a row per batched item) have as many shapes as
        // there are batch sizes: it keeps them all prepared.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone().statement_cache_capacity(WRITER_STATEMENTS))
            .await
            .map_err(unreachable)?;
        let read = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(unreachable)?;
        let direct = direct::open(options.get_filename())?;
        Ok(Self {
            read,
            write,
            direct: Arc::new(Mutex::new(Some(direct))),
            turn: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Waits for this writer's turn. The process's writers (sqlx's writer
    /// connection and the access log's own) take turns in the order they
    /// asked: SQLite itself only polls a busy database, so a writer that
    /// commits back to back (the access log under load) could otherwise keep
    /// another waiting until its busy timeout.
    pub(crate) async fn write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE`) on sqlx's writer
    /// connection, in turn. Keep the turn until the transaction ends.
    async fn begin_write(
        &self,
    ) -> Result<
        (
            tokio::sync::MutexGuard<'_, ()>,
            Transaction<'static, Sqlite>,
        ),
        StoreError,
    > {
        let turn = self.write_turn().await;
        let tx = self.write.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        Ok((turn, tx))
    }

    async fn applied_versions(&self) -> Result<Vec<i64>, StoreError> {
        let exists: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&self.read)
        .await
        .map_err(db)?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&self.read)
            .await
            .map_err(db)
    }
}

fn unreachable(e: sqlx::Error) -> StoreError {
    StoreError::Unreachable(e.to_string())
}

fn db(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(d.message().to_owned())
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unreachable(e.to_string())
        }
        _ => StoreError::Database(e.to_string()),
    }
}

fn corrupt(what: &str) -> impl Fn(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn timestamp(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_unix_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

#[async_trait]
impl AdminStore for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            connections: self.read.size() + self.write.size(),
            idle: (self.read.num_idle() + self.write.num_idle()) as u32,
            max_connections: READ_CONNECTIONS + 1,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map_err(unreachable)?;
        Ok(())
    }

    async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let known: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        shengshi_store::schema_status(&known, &self.applied_versions().await?)
    }

    async fn migrate(&self) -> Result<SchemaStatus, StoreError> {
        self.schema_status().await?; // refuses a newer schema before touching anything
        let _turn = self.write_turn().await;
        MIGRATOR
            .run(&self.write)
            .await
            .map_err(|e| StoreError::SchemaMismatch(e.to_string()))?;
        self.schema_status().await
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        let rows: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM installation) + (SELECT count(*) FROM security_events) \
             + (SELECT count(*) FROM data_keys) + (SELECT count(*) FROM platform_secrets) + (SELECT count(*) FROM accounts) + (SELECT count(*) FROM staff) + (SELECT count(*) FROM passkeys) + (SELECT count(*) FROM access_log) + (SELECT count(*) FROM embargoes) + (SELECT count(*) FROM correction_requests)",
        )
        .fetch_one(&self.read)
        .await
        .map_err(db)?;
        Ok(rows == 0)
    }

    async fn close(&self) {
        self.close_direct();
        self.read.close().await;
        self.write.close().await;
    }
}

#[async_trait]
impl InstallationStore for SqliteStore {
    async fn installation(&self) -> Result<Option<Installation>, StoreError> {
        let row = sqlx::query(
            "SELECT id, created_at, kek_id, kek_check, envelope_algorithm, demo FROM installation WHERE singleton = 1",
        )
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(Installation {
                id: InstallationId::from_uuid(r.try_get("id").map_err(db)?),
                created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
                kek_id: r.try_get("kek_id").map_err(db)?,
                kek_check: r.try_get("kek_check").map_err(db)?,
                envelope_algorithm: r.try_get("envelope_algorithm").map_err(db)?,
                demo: r.try_get("demo").map_err(db)?,
            })
        })
        .transpose()
    }

    async fn create_installation(&self, i: &Installation) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO installation (singleton, id, created_at, kek_id, kek_check, envelope_algorithm, demo) \
             VALUES (1, $1, $2, $3, $4, $5, $6)",
        )
        .bind(i.id.as_uuid())
        .bind(i.created_at.unix_millis())
        .bind(&i.kek_id)
        .bind(&i.kek_check)
        .bind(&i.envelope_algorithm)
        .bind(i.demo)
        .execute(&mut *tx)
        .await
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => StoreError::Conflict("the installation is already recorded".into()),
            other => other,
        })?;
        tx.commit().await.map_err(db)
    }

    async fn set_kek(&self, kek_id: &str, kek_check: &[u8]) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query("UPDATE installation SET kek_id = $1, kek_check = $2 WHERE singleton = 1")
            .bind(kek_id)
            .bind(kek_check)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }
}

#[async_trait]
impl SecurityEventStore for SqliteStore {
    async fn append_security_events(&self, events: &[SecurityEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for e in events {
            sqlx::query("INSERT INTO security_events (id, at, kind, actor, event) VALUES ($1, $2, $3, $4, $5)")
                .bind(e.id.as_uuid())
                .bind(e.at.unix_millis())
                .bind(e.event.name())
                .bind(serde_json::to_string(&e.actor).map_err(corrupt("actor"))?)
                .bind(serde_json::to_string(&e.event).map_err(corrupt("event"))?)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn security_events(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<LoggedSecurityEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, id, at, actor, event FROM security_events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|r| {
                let actor: String = r.try_get("actor").map_err(db)?;
                let event: String = r.try_get("event").map_err(db)?;
                Ok(LoggedSecurityEvent {
                    seq: r.try_get("seq").map_err(db)?,
                    event: SecurityEvent {
                        id: shengshi_domain::EventId::from_uuid(r.try_get("id").map_err(db)?),
                        at: timestamp(r.try_get("at").map_err(db)?)?,
                        actor: serde_json::from_str(&actor).map_err(corrupt("actor"))?,
                        event: serde_json::from_str(&event).map_err(corrupt("event"))?,
                    },
                })
            })
            .collect()
    }
}

fn data_key_from_row(r: sqlx::sqlite::SqliteRow) -> Result<StoredDataKey, StoreError> {
    Ok(StoredDataKey {
        subject: SubjectId::from_uuid(r.try_get("subject_id").map_err(db)?),
        key_id: r.try_get::<Uuid, _>("key_id").map_err(db)?,
        algorithm: r.try_get("algorithm").map_err(db)?,
        kek_id: r.try_get("kek_id").map_err(db)?,
        wrapped_key: r.try_get("wrapped_key").map_err(db)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
        destroyed_at: r
            .try_get::<Option<i64>, _>("destroyed_at")
            .map_err(db)?
            .map(timestamp)
            .transpose()?,
    })
}

const DATA_KEY_COLUMNS: &str =
    "subject_id, key_id, algorithm, kek_id, wrapped_key, created_at, destroyed_at";

#[async_trait]
impl DataKeyStore for SqliteStore {
    async fn insert_data_keys(&self, keys: &[StoredDataKey]) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        for k in keys {
            sqlx::query(&format!(
                "INSERT INTO data_keys ({DATA_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .bind(k.subject.as_uuid())
            .bind(k.key_id)
            .bind(&k.algorithm)
            .bind(&k.kek_id)
            .bind(&k.wrapped_key)
            .bind(k.created_at.unix_millis())
            .bind(k.destroyed_at.map(|t| t.unix_millis()))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn data_key(&self, subject: SubjectId) -> Result<Option<StoredDataKey>, StoreError> {
        sqlx::query(&format!(
            "SELECT {DATA_KEY_COLUMNS} FROM data_keys WHERE subject_id = $1"
        ))
        .bind(subject.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(data_key_from_row)
        .transpose()
    }

    async fn data_keys(
        &self,
        after: Option<SubjectId>,
        limit: u32,
    ) -> Result<Vec<StoredDataKey>, StoreError> {
        // UUIDs are stored as 16 big-endian bytes, so byte order is UUID order on both backends.
        let after = after.map(|s| s.as_uuid()).unwrap_or(Uuid::nil());
        sqlx::query(&format!(
            "SELECT {DATA_KEY_COLUMNS} FROM data_keys WHERE subject_id > $1 ORDER BY subject_id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(data_key_from_row)
        .collect()
    }

    async fn rewrap_data_keys(&self, rewraps: &[DataKeyRewrap]) -> Result<u64, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let mut applied = 0;
        for r in rewraps {
            applied += sqlx::query(
                "UPDATE data_keys SET kek_id = $1, wrapped_key = $2 \
                 WHERE subject_id = $3 AND kek_id = $4 AND wrapped_key IS NOT NULL",
            )
            .bind(&r.kek_id)
            .bind(&r.wrapped_key)
            .bind(r.subject.as_uuid())
            .bind(&r.from_kek_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        }
        tx.commit().await.map_err(db)?;
        Ok(applied)
    }

    async fn destroy_data_key(
        &self,
        subject: SubjectId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE data_keys SET wrapped_key = NULL, destroyed_at = $1 WHERE subject_id = $2 AND wrapped_key IS NOT NULL",
        )
        .bind(at.unix_millis())
        .bind(subject.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl PlatformSecretStore for SqliteStore {
    async fn insert_platform_secret(
        &self,
        s: &StoredPlatformSecret,
    ) -> Result<StoredPlatformSecret, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO platform_secrets (name, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&s.name)
        .bind(&s.kek_id)
        .bind(&s.wrapped)
        .bind(s.created_at.unix_millis())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let row = sqlx::query(
            "SELECT name, kek_id, wrapped, created_at FROM platform_secrets WHERE name = $1",
        )
        .bind(&s.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        platform_secret_from_row(row)
    }

    async fn platform_secrets(&self) -> Result<Vec<StoredPlatformSecret>, StoreError> {
        sqlx::query("SELECT name, kek_id, wrapped, created_at FROM platform_secrets ORDER BY name")
            .fetch_all(&self.read)
            .await
            .map_err(db)?
            .into_iter()
            .map(platform_secret_from_row)
            .collect()
    }

    async fn rewrap_platform_secret(
        &self,
        name: &str,
        kek_id: &str,
        wrapped: &[u8],
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query("UPDATE platform_secrets SET kek_id = $1, wrapped = $2 WHERE name = $3")
            .bind(kek_id)
            .bind(wrapped)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }
}

fn platform_secret_from_row(
    r: sqlx::sqlite::SqliteRow,
) -> Result<StoredPlatformSecret, StoreError> {
    Ok(StoredPlatformSecret {
        name: r.try_get("name").map_err(db)?,
        kek_id: r.try_get("kek_id").map_err(db)?,
        wrapped: r.try_get("wrapped").map_err(db)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
    })
}

fn phone_challenge_from_row(
    r: sqlx::sqlite::SqliteRow,
) -> Result<StoredPhoneChallenge, StoreError> {
    Ok(StoredPhoneChallenge {
        id: r.try_get("id").map_err(db)?,
        purpose: r.try_get("purpose").map_err(db)?,
        phone_mac: r.try_get("phone_mac").map_err(db)?,
        code_mac: r.try_get("code_mac").map_err(db)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
        attempts: u32::try_from(r.try_get::<i64, _>("attempts").map_err(db)?)
            .map_err(|_| StoreError::Corrupt("negative attempts".into()))?,
        consumed_at: r
            .try_get::<Option<i64>, _>("consumed_at")
            .map_err(db)?
            .map(timestamp)
            .transpose()?,
    })
}

#[async_trait]
impl PhoneChallengeStore for SqliteStore {
    async fn create_phone_challenge(
        &self,
        c: &StoredPhoneChallenge,
        caps: &[SendCap],
        not_since: Timestamp,
    ) -> Result<(), ChallengeRefused> {
        let (_turn, mut tx) = self.begin_write().await?;
        // Counting first takes the per-number counter row's lock, so two sends to
        // one number are serialised before the resend check below.
        for cap in caps {
            if cap.limit == 0 {
                return Err(ChallengeRefused::CapReached(cap.scope));
            }
            let counted = sqlx::query(
                "INSERT INTO send_counters (scope, key, day, count) VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (scope, key, day) DO UPDATE SET count = send_counters.count + 1 \
                 WHERE send_counters.count < $4 RETURNING count",
            )
            .bind(cap.scope)
            .bind(&cap.key)
            .bind(&cap.day)
            .bind(i64::from(cap.limit))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            if counted.is_none() {
                return Err(ChallengeRefused::CapReached(cap.scope)); // the transaction rolls back on drop
            }
        }
        // Per purpose: registering and then logging in at once must not wait.
        let recent = sqlx::query(
            "SELECT 1 AS one FROM phone_challenges WHERE phone_mac = $1 AND purpose = $2 AND created_at > $3 LIMIT 1",
        )
        .bind(&c.phone_mac)
        .bind(&c.purpose)
        .bind(not_since.unix_millis())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if recent.is_some() {
            return Err(ChallengeRefused::TooSoon);
        }
        sqlx::query(
            "INSERT INTO phone_challenges (id, purpose, phone_mac, code_mac, created_at, attempts, consumed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.id)
        .bind(&c.purpose)
        .bind(&c.phone_mac)
        .bind(&c.code_mac)
        .bind(c.created_at.unix_millis())
        .bind(i64::from(c.attempts))
        .bind(c.consumed_at.map(|t| t.unix_millis()))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn latest_phone_challenge(
        &self,
        purpose: &str,
        phone_mac: &[u8],
    ) -> Result<Option<StoredPhoneChallenge>, StoreError> {
        sqlx::query(
            "SELECT id, purpose, phone_mac, code_mac, created_at, attempts, consumed_at FROM phone_challenges \
             WHERE phone_mac = $1 AND purpose = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(phone_mac)
        .bind(purpose)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(phone_challenge_from_row)
        .transpose()
    }

    async fn take_phone_attempt(&self, id: Uuid, max: u32) -> Result<Option<u32>, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let used: Option<i64> = sqlx::query_scalar(
            "UPDATE phone_challenges SET attempts = attempts + 1 \
             WHERE id = $1 AND consumed_at IS NULL AND attempts < $2 RETURNING attempts",
        )
        .bind(id)
        .bind(i64::from(max))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(used.and_then(|n| u32::try_from(n).ok()))
    }

    async fn consume_phone_challenge(&self, id: Uuid, at: Timestamp) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE phone_challenges SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }
}

const ACCOUNT_COLUMNS: &str = "id, subject_id, assurance_level, id_number_mac, phone_mac, \
     sealed_profile, status, in_person_verified_at, created_at, updated_at";

fn account_from_row(r: sqlx::sqlite::SqliteRow) -> Result<StoredAccount, StoreError> {
    Ok(StoredAccount {
        id: AccountId::from_uuid(r.try_get("id").map_err(db)?),
        subject: SubjectId::from_uuid(r.try_get("subject_id").map_err(db)?),
        assurance_level: r.try_get::<i64, _>("assurance_level").map_err(db)?,
        id_number_mac: r.try_get("id_number_mac").map_err(db)?,
        phone_mac: r.try_get("phone_mac").map_err(db)?,
        sealed_profile: r.try_get("sealed_profile").map_err(db)?,
        status: r.try_get("status").map_err(db)?,
        in_person_verified_at: r
            .try_get::<Option<i64>, _>("in_person_verified_at")
            .map_err(db)?
            .map(timestamp)
            .transpose()?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
        updated_at: timestamp(r.try_get("updated_at").map_err(db)?)?,
    })
}

async fn insert_account(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    a: &StoredAccount,
) -> Result<(), StoreError> {
    let level = a.assurance_level;
    sqlx::query(&format!(
        "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(a.id.as_uuid())
    .bind(a.subject.as_uuid())
    .bind(level)
    .bind(&a.id_number_mac)
    .bind(&a.phone_mac)
    .bind(&a.sealed_profile)
    .bind(&a.status)
    .bind(a.in_person_verified_at.map(|t| t.unix_millis()))
    .bind(a.created_at.unix_millis())
    .bind(a.updated_at.unix_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

async fn insert_data_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    key: &StoredDataKey,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO data_keys ({DATA_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(key.subject.as_uuid())
    .bind(key.key_id)
    .bind(&key.algorithm)
    .bind(&key.kek_id)
    .bind(&key.wrapped_key)
    .bind(key.created_at.unix_millis())
    .bind(key.destroyed_at.map(|t| t.unix_millis()))
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(
        &self,
        account: &StoredAccount,
        key: &StoredDataKey,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        insert_data_key(&mut tx, key).await?;
        insert_account(&mut tx, account).await?;
        tx.commit().await.map_err(db)
    }

    async fn account(&self, id: AccountId) -> Result<Option<StoredAccount>, StoreError> {
        sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(account_from_row)
        .transpose()
    }

    async fn active_account_by_id_number(
        &self,
        id_number_mac: &[u8],
    ) -> Result<Option<StoredAccount>, StoreError> {
        sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id_number_mac = $1 AND status = 'active'"
        ))
        .bind(id_number_mac)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(account_from_row)
        .transpose()
    }

    async fn active_accounts_by_phone(
        &self,
        phone_mac: &[u8],
    ) -> Result<Vec<StoredAccount>, StoreError> {
        sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE phone_mac = $1 AND status = 'active' ORDER BY id"
        ))
        .bind(phone_mac)
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(account_from_row)
        .collect()
    }

    async fn accounts(
        &self,
        after: Option<AccountId>,
        limit: u32,
    ) -> Result<Vec<StoredAccount>, StoreError> {
        let after = after.map(|a| a.as_uuid()).unwrap_or(Uuid::nil());
        sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(account_from_row)
        .collect()
    }

    async fn insert_accounts(&self, accounts: &[StoredAccount]) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        for account in accounts {
            insert_account(&mut tx, account).await?;
        }
        tx.commit().await.map_err(db)
    }

    async fn record_in_person_check(
        &self,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE accounts SET in_person_verified_at = $1, updated_at = $1 \
             WHERE id = $2 AND status = 'active'",
        )
        .bind(at.unix_millis())
        .bind(account.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_assurance_level(
        &self,
        account: AccountId,
        level: i64,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "UPDATE accounts SET assurance_level = $1, updated_at = $2 \
             WHERE id = $3 AND status = 'active'",
        )
        .bind(level)
        .bind(at.unix_millis())
        .bind(account.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn evict_and_replace(
        &self,
        squatter: AccountId,
        replacement: &StoredAccount,
        key: &StoredDataKey,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let evicted = sqlx::query(
            "UPDATE accounts SET status = 'evicted', updated_at = $1 \
             WHERE id = $2 AND status = 'active'",
        )
        .bind(at.unix_millis())
        .bind(squatter.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if evicted.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "account {squatter} is no longer active"
            )));
        }
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(squatter.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query(
            "UPDATE passkeys SET revoked_at = $1 \
             WHERE owner_kind = 'resident' AND owner_id = $2 AND revoked_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(squatter.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        eid::revoke_cards_in(&mut tx, squatter, CardStatusReason::Evicted, at).await?;
        insert_data_key(&mut tx, key).await?;
        insert_account(&mut tx, replacement).await?;
        tx.commit().await.map_err(db)
    }

    async fn close_account(&self, account: AccountId, at: Timestamp) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let closed = sqlx::query(
            "UPDATE accounts SET status = 'closed', updated_at = $1 \
             WHERE id = $2 AND status = 'active'",
        )
        .bind(at.unix_millis())
        .bind(account.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if closed.rows_affected() != 1 {
            // Dropping the transaction rolls it back: nothing is written.
            return Ok(false);
        }
        for revoke in [
            "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
            "UPDATE passkeys SET revoked_at = $1 \
             WHERE owner_kind = 'resident' AND owner_id = $2 AND revoked_at IS NULL",
            "UPDATE mandates SET revoked_at = $1 WHERE grantor = $2 AND revoked_at IS NULL",
        ] {
            sqlx::query(revoke)
                .bind(at.unix_millis())
                .bind(account.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        eid::revoke_cards_in(&mut tx, account, CardStatusReason::AccountClosed, at).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }
}
