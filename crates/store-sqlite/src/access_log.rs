//! The access log (see shengshi_store::AccessLogStore).

use async_trait::async_trait;
use shengshi_domain::SubjectId;
use shengshi_store::{
    AccessBatch, AccessLogStore, BuildAccessBatch, ClaimOutcome, StoreError, StoredAccessEntry,
    StoredCheckpoint, VerificationClaim,
};
use sqlx::Row;

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

/// Inserts a batch's entries with one statement (each statement is a round
/// trip to the writer's thread).
async fn insert_entries(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    entries: &[StoredAccessEntry],
) -> Result<(), StoreError> {
    // 5 parameters a row; SQLite allows 32,766 in one statement.
    for chunk in entries.chunks(1000) {
        let indices = chunk
            .iter()
            .map(|e| column(e.leaf_index))
            .collect::<Result<Vec<_>, _>>()?;
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
            "INSERT INTO access_log ({ENTRY_COLUMNS}) "
        ));
        insert.push_values(chunk.iter().zip(indices), |mut b, (e, index)| {
            b.push_bind(index)
                .push_bind(e.subject.as_uuid())
                .push_bind(e.at.unix_millis())
                .push_bind(&e.entry)
                .push_bind(&e.leaf_hash);
        });
        insert.build().execute(&mut **tx).await.map_err(db)?;
    }
    Ok(())
}

async fn insert_checkpoint(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    c: &StoredCheckpoint,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO access_checkpoints ({CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
    ))
    .bind(column(c.tree_size)?)
    .bind(&c.root_hash)
    .bind(&c.right_edge)
    .bind(&c.note)
    .bind(c.created_at.unix_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

/// Writes a batch in one call to the writer's thread (each call is a round
/// trip to it, and every access in the batch waits for the writer): the
/// checkpoint, only if the log is where the batch starts, then the entries.
async fn insert_batch(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    batch: &AccessBatch,
) -> Result<(), StoreError> {
    let c = &batch.checkpoint;
    let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
        "INSERT INTO access_checkpoints ({CHECKPOINT_COLUMNS}) SELECT "
    ));
    query
        .separated(", ")
        .push_bind(column(c.tree_size)?)
        .push_bind(&c.root_hash)
        .push_bind(&c.right_edge)
        .push_bind(&c.note)
        .push_bind(c.created_at.unix_millis());
    query.push(" WHERE (SELECT coalesce(max(tree_size), 0) FROM access_checkpoints) = ");
    query.push_bind(column(batch.previous_size)?);
    let indices = batch
        .entries
        .iter()
        .map(|e| column(e.leaf_index))
        .collect::<Result<Vec<_>, _>>()?;
    if !batch.entries.is_empty() {
        query.push(format!("; INSERT INTO access_log ({ENTRY_COLUMNS}) "));
        query.push_values(batch.entries.iter().zip(indices), |mut b, (e, index)| {
            b.push_bind(index)
                .push_bind(e.subject.as_uuid())
                .push_bind(e.at.unix_millis())
                .push_bind(&e.entry)
                .push_bind(&e.leaf_hash);
        });
    }
    let written = query
        .build()
        .execute(&mut **tx)
        .await
        .map_err(db)?
        .rows_affected();
    // Without the checkpoint the entries alone were written; the caller
    // drops the transaction.
    if written != batch.entries.len() as u64 + 1 {
        return Err(batch.not_continuing());
    }
    Ok(())
}

#[async_trait]
impl AccessLogStore for SqliteStore {
    async fn commit_access_batch(
        &self,
        claims: &[VerificationClaim],
        build: &mut BuildAccessBatch<'_>,
    ) -> Result<Vec<ClaimOutcome>, StoreError> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let outcomes = crate::verifiers::settle_claims(&mut tx, claims).await?;
        if let Some(batch) = build(&outcomes)? {
            batch.check_shape()?;
            insert_batch(&mut tx, &batch).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(outcomes)
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
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
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
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        insert_entries(&mut tx, entries).await?;
        for checkpoint in checkpoints {
            insert_checkpoint(&mut tx, checkpoint).await?;
        }
        tx.commit().await.map_err(db)
    }
}
