//! Correction requests (see shengshi_store::CorrectionStore).

use async_trait::async_trait;
use shengshi_domain::AccountId;
use shengshi_store::{CorrectionStore, StoreError, StoredCorrection};
use sqlx::Row;

use crate::{db, timestamp, SqliteStore};

const COLUMNS: &str =
    "id, account_id, field, sealed_value, sealed_explanation, status, created_at, decided_at";

fn from_row(r: sqlx::sqlite::SqliteRow) -> Result<StoredCorrection, StoreError> {
    Ok(StoredCorrection {
        id: r.try_get("id").map_err(db)?,
        account: AccountId::from_uuid(r.try_get("account_id").map_err(db)?),
        field: r.try_get("field").map_err(db)?,
        sealed_value: r.try_get("sealed_value").map_err(db)?,
        sealed_explanation: r.try_get("sealed_explanation").map_err(db)?,
        status: r.try_get("status").map_err(db)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
        decided_at: r
            .try_get::<Option<i64>, _>("decided_at")
            .map_err(db)?
            .map(timestamp)
            .transpose()?,
    })
}

#[async_trait]
impl CorrectionStore for SqliteStore {
    async fn insert_correction(&self, correction: &StoredCorrection) -> Result<(), StoreError> {
        self.insert_corrections(std::slice::from_ref(correction))
            .await
    }

    async fn corrections_by_account(
        &self,
        account: AccountId,
    ) -> Result<Vec<StoredCorrection>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM correction_requests WHERE account_id = $1 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(account.as_uuid())
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(from_row)
        .collect()
    }

    async fn corrections(
        &self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredCorrection>, StoreError> {
        let after = after.unwrap_or_default();
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM correction_requests WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(from_row)
        .collect()
    }

    async fn insert_corrections(&self, corrections: &[StoredCorrection]) -> Result<(), StoreError> {
        if corrections.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for c in corrections {
            sqlx::query(&format!(
                "INSERT INTO correction_requests ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(c.id)
            .bind(c.account.as_uuid())
            .bind(&c.field)
            .bind(&c.sealed_value)
            .bind(&c.sealed_explanation)
            .bind(&c.status)
            .bind(c.created_at.unix_millis())
            .bind(c.decided_at.map(|t| t.unix_millis()))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }
}
