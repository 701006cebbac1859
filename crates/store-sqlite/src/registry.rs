//! The population registry on SQLite (see `shengshi_store::RegistryStore`).

use async_trait::async_trait;
use shengshi_domain::SubjectId;
use shengshi_store::{
    RegistryCount, RegistryStore, StoreError, StoredDataKey, StoredRegistryRecord,
};
use sqlx::Row;

use super::{db, timestamp, SqliteStore, DATA_KEY_COLUMNS};

const COLUMNS: &str = "id, subject_id, id_number_mac, sealed, fictional, updated_at";

/// The same statement as on PostgreSQL (the dialects agree). The WHERE keeps a
/// record with its own subject: a ciphertext sealed with another subject's key
/// would be unreadable.
const UPSERT: &str = "ON CONFLICT (id_number_mac) DO UPDATE SET sealed = excluded.sealed, \
     fictional = excluded.fictional, updated_at = excluded.updated_at \
     WHERE registry_records.subject_id = excluded.subject_id";

/// Rows per INSERT statement: at most 700 parameters, under every SQLite
/// build's limit (999 before 3.32) and PostgreSQL's (65,535).
const ROWS_PER_STATEMENT: usize = 100;

/// `($1, $2), ($3, $4), …` for `rows` rows of `columns` values.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn record_from_row(r: sqlx::sqlite::SqliteRow) -> Result<StoredRegistryRecord, StoreError> {
    Ok(StoredRegistryRecord {
        id: r.try_get("id").map_err(db)?,
        subject: SubjectId::from_uuid(r.try_get("subject_id").map_err(db)?),
        id_number_mac: r.try_get("id_number_mac").map_err(db)?,
        sealed: r.try_get("sealed").map_err(db)?,
        fictional: r.try_get("fictional").map_err(db)?,
        updated_at: timestamp(r.try_get("updated_at").map_err(db)?)?,
    })
}

#[async_trait]
impl RegistryStore for SqliteStore {
    async fn upsert_registry_records(
        &self,
        new_keys: &[StoredDataKey],
        records: &[StoredRegistryRecord],
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        // Many rows per statement: one statement per row costs more than the rows.
        for chunk in new_keys.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO data_keys ({DATA_KEY_COLUMNS}) VALUES {}",
                placeholders(chunk.len(), 7)
            );
            let mut query = sqlx::query(&sql);
            for k in chunk {
                query = query
                    .bind(k.subject.as_uuid())
                    .bind(k.key_id)
                    .bind(&k.algorithm)
                    .bind(&k.kek_id)
                    .bind(&k.wrapped_key)
                    .bind(k.created_at.unix_millis())
                    .bind(k.destroyed_at.map(|t| t.unix_millis()));
            }
            query.execute(&mut *tx).await.map_err(db)?;
        }
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO registry_records ({COLUMNS}) VALUES {} {UPSERT}",
                placeholders(chunk.len(), 6)
            );
            let mut query = sqlx::query(&sql);
            for r in chunk {
                query = query
                    .bind(r.id)
                    .bind(r.subject.as_uuid())
                    .bind(&r.id_number_mac)
                    .bind(&r.sealed)
                    .bind(r.fictional)
                    .bind(r.updated_at.unix_millis());
            }
            let done = query.execute(&mut *tx).await.map_err(db)?;
            if done.rows_affected() != chunk.len() as u64 {
                // Rolled back on drop: nothing of this batch is written.
                return Err(StoreError::Conflict(
                    "a registry record's ID number belongs to another subject, or appears twice"
                        .into(),
                ));
            }
        }
        tx.commit().await.map_err(db)
    }

    async fn registry_record(
        &self,
        id_number_mac: &[u8],
    ) -> Result<Option<StoredRegistryRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM registry_records WHERE id_number_mac = $1"
        ))
        .bind(id_number_mac)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(record_from_row)
        .transpose()
    }

    async fn count_registry_records(&self) -> Result<RegistryCount, StoreError> {
        let row = sqlx::query(
            "SELECT count(*) AS total, coalesce(sum(CASE WHEN fictional THEN 1 ELSE 0 END), 0) AS fictional \
             FROM registry_records",
        )
        .fetch_one(&self.read)
        .await
        .map_err(db)?;
        let count = |name: &str| -> Result<u64, StoreError> {
            u64::try_from(row.try_get::<i64, _>(name).map_err(db)?)
                .map_err(|_| StoreError::Corrupt("negative count".into()))
        };
        Ok(RegistryCount {
            total: count("total")?,
            fictional: count("fictional")?,
        })
    }

    async fn registry_records(
        &self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredRegistryRecord>, StoreError> {
        // UUIDs are 16 big-endian bytes on SQLite, so byte order is UUID order on both backends.
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM registry_records WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.unwrap_or(uuid::Uuid::nil()))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(record_from_row)
        .collect()
    }
}
