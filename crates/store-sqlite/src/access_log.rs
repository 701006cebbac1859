//! The access log (see shengshi_store::AccessLogStore).

use async_trait::async_trait;
use shengshi_domain::SubjectId;
use shengshi_store::{
    AccessBatch, AccessLogStore, BuildAccessBatch, ClaimOutcome, StoreError, StoredAccessEntry,
    StoredCheckpoint, VerificationClaim,
};
use sqlx::Row;

use crate::direct::sqlite;
use crate::{db, timestamp, SqliteStore};

const ENTRY_COLUMNS: &str = "leaf_index, subject_id, at, entry, leaf_hash";
const CHECKPOINT_COLUMNS: &str = "tree_size, root_hash, right_edge, note, created_at";

fn index(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative log index {value}")))
}

fn column(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("log index {value} too large")))
}

fn entry_from_row(r: sqlx::sqlite::SqliteRow) -> Result<StoredAccessEntry, StoreError> {
    Ok(StoredAccessEntry {
        leaf_index: index(r.try_get("leaf_index").map_err(db)?)?,
        subject: SubjectId::from_uuid(r.try_get("subject_id").map_err(db)?),
        at: timestamp(r.try_get("at").map_err(db)?)?,
        entry: r.try_get("entry").map_err(db)?,
        leaf_hash: r.try_get("leaf_hash").map_err(db)?,
    })
}

fn checkpoint_from_row(r: sqlx::sqlite::SqliteRow) -> Result<StoredCheckpoint, StoreError> {
    Ok(StoredCheckpoint {
        tree_size: index(r.try_get("tree_size").map_err(db)?)?,
        root_hash: r.try_get("root_hash").map_err(db)?,
        right_edge: r.try_get("right_edge").map_err(db)?,
        note: r.try_get("note").map_err(db)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
    })
}

/// Inserts entries, on the access log's own connection (`crate::direct`).
fn insert_entries(
    tx: &rusqlite::Transaction<'_>,
    entries: &[StoredAccessEntry],
) -> Result<(), StoreError> {
    let mut insert = tx
        .prepare_cached(&format!(
            "INSERT INTO access_log ({ENTRY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
        ))
        .map_err(sqlite)?;
    for e in entries {
        insert
            .execute(rusqlite::params![
                column(e.leaf_index)?,
                e.subject.as_uuid(),
                e.at.unix_millis(),
                e.entry,
                e.leaf_hash,
            ])
            .map_err(sqlite)?;
    }
    Ok(())
}

fn insert_checkpoint(
    tx: &rusqlite::Transaction<'_>,
    c: &StoredCheckpoint,
) -> Result<(), StoreError> {
    tx.prepare_cached(&format!(
        "INSERT INTO access_checkpoints ({CHECKPOINT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))
    .map_err(sqlite)?
    .execute(rusqlite::params![
        column(c.tree_size)?,
        c.root_hash,
        c.right_edge,
        c.note,
        c.created_at.unix_millis(),
    ])
    .map_err(sqlite)?;
    Ok(())
}

/// Writes a batch's entries and checkpoint, if the log is where the batch
/// starts (otherwise the caller drops the transaction).
fn append_batch(tx: &rusqlite::Transaction<'_>, batch: &AccessBatch) -> Result<(), StoreError> {
    let latest: i64 = tx
        .prepare_cached("SELECT coalesce(max(tree_size), 0) FROM access_checkpoints")
        .and_then(|mut latest| latest.query_row([], |row| row.get(0)))
        .map_err(sqlite)?;
    if latest != column(batch.previous_size)? {
        return Err(batch.not_continuing());
    }
    insert_entries(tx, &batch.entries)?;
    insert_checkpoint(tx, &batch.checkpoint)
}

#[async_trait]
impl AccessLogStore for SqliteStore {
    async fn commit_access_batch(
        &self,
        claims: &[VerificationClaim],
        build: &mut BuildAccessBatch<'_>,
    ) -> Result<Vec<ClaimOutcome>, StoreError> {
        self.write_directly(|tx| {
            let outcomes = crate::verifiers::settle_claims(tx, claims)?;
            if let Some(batch) = build(&outcomes)? {
                batch.check_shape()?;
                append_batch(tx, &batch)?;
            }
            Ok(outcomes)
        })
        .await
    }

    async fn latest_access_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM access_checkpoints ORDER BY tree_size DESC LIMIT 1"
        ))
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(checkpoint_from_row)
        .transpose()
    }

    async fn access_checkpoints(
        &self,
        after_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM access_checkpoints WHERE tree_size > $1 \
             ORDER BY tree_size LIMIT $2"
        ))
        .bind(column(after_size)?)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(checkpoint_from_row)
        .collect()
    }

    async fn access_checkpoint(
        &self,
        tree_size: u64,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM access_checkpoints WHERE tree_size = $1"
        ))
        .bind(column(tree_size)?)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(checkpoint_from_row)
        .transpose()
    }

    async fn access_entries(
        &self,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<StoredAccessEntry>, StoreError> {
        sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM access_log WHERE leaf_index >= $1 \
             ORDER BY leaf_index LIMIT $2"
        ))
        .bind(column(from_index)?)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(entry_from_row)
        .collect()
    }

    async fn subject_access_entries(
        &self,
        subject: SubjectId,
        before_index: Option<u64>,
        limit: u32,
    ) -> Result<Vec<StoredAccessEntry>, StoreError> {
        let before = before_index.map(column).transpose()?.unwrap_or(i64::MAX);
        sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM access_log WHERE subject_id = $1 AND leaf_index < $2 \
             ORDER BY leaf_index DESC LIMIT $3"
        ))
        .bind(subject.as_uuid())
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(entry_from_row)
        .collect()
    }

    async fn add_checkpoint_cosignature(
        &self,
        tree_size: u64,
        note: &str,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT note FROM access_checkpoints WHERE tree_size = $1")
                .bind(column(tree_size)?)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let Some(current) = current.filter(|c| note.starts_with(c.as_str())) else {
            return Ok(false);
        };
        if current != note {
            sqlx::query("UPDATE access_checkpoints SET note = $1 WHERE tree_size = $2")
                .bind(note)
                .bind(column(tree_size)?)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn insert_access_log(
        &self,
        entries: &[StoredAccessEntry],
        checkpoints: &[StoredCheckpoint],
    ) -> Result<(), StoreError> {
        self.write_directly(|tx| {
            insert_entries(tx, entries)?;
            checkpoints
                .iter()
                .try_for_each(|checkpoint| insert_checkpoint(tx, checkpoint))
        })
        .await
    }
}
