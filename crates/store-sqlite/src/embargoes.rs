//! Embargoes on SQLite (see `shengshi_store::EmbargoStore`).

use async_trait::async_trait;
use shengshi_domain::{Department, EmbargoId, StaffId, SubjectId, Timestamp};
use shengshi_store::{EmbargoStatus, EmbargoStore, StoreError, StoredEmbargo};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::{db, timestamp, SqliteStore};

const COLUMNS: &str = "id, subject_id, requested_by, department, legal_basis, until, status, \
                       approved_by, decided_at, created_at";

fn embargo_from_row(r: SqliteRow) -> Result<StoredEmbargo, StoreError> {
    let department: String = r.try_get("department").map_err(db)?;
    let status: String = r.try_get("status").map_err(db)?;
    let approved_by: Option<Uuid> = r.try_get("approved_by").map_err(db)?;
    let decided_at: Option<i64> = r.try_get("decided_at").map_err(db)?;
    Ok(StoredEmbargo {
        id: EmbargoId::from_uuid(r.try_get("id").map_err(db)?),
        subject: SubjectId::from_uuid(r.try_get("subject_id").map_err(db)?),
        requested_by: StaffId::from_uuid(r.try_get("requested_by").map_err(db)?),
        department: Department::from_name(&department)
            .ok_or_else(|| StoreError::Corrupt(format!("embargo department {department:?}")))?,
        legal_basis: r.try_get("legal_basis").map_err(db)?,
        until: timestamp(r.try_get("until").map_err(db)?)?,
        status: EmbargoStatus::from_name(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("embargo status {status:?}")))?,
        approved_by: approved_by.map(StaffId::from_uuid),
        decided_at: decided_at.map(timestamp).transpose()?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
    })
}

async fn insert_in(tx: &mut Transaction<'_, Sqlite>, e: &StoredEmbargo) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO embargoes ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(e.id.as_uuid())
    .bind(e.subject.as_uuid())
    .bind(e.requested_by.as_uuid())
    .bind(e.department.name())
    .bind(&e.legal_basis)
    .bind(e.until.unix_millis())
    .bind(e.status.name())
    .bind(e.approved_by.map(|s| s.as_uuid()))
    .bind(e.decided_at.map(|t| t.unix_millis()))
    .bind(e.created_at.unix_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl EmbargoStore for SqliteStore {
    async fn insert_embargo(&self, embargo: &StoredEmbargo) -> Result<(), StoreError> {
        self.insert_embargoes(std::slice::from_ref(embargo)).await
    }

    async fn embargo(&self, id: EmbargoId) -> Result<Option<StoredEmbargo>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM embargoes WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(db)?
            .map(embargo_from_row)
            .transpose()
    }

    async fn decide_embargo(
        &self,
        id: EmbargoId,
        status: EmbargoStatus,
        decided_by: StaffId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE embargoes SET status = $1, approved_by = $2, decided_at = $3 \
             WHERE id = $4 AND status = 'requested'",
        )
        .bind(status.name())
        .bind(decided_by.as_uuid())
        .bind(at.unix_millis())
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn embargoes_awaiting_decision(
        &self,
        department: Department,
    ) -> Result<Vec<StoredEmbargo>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM embargoes WHERE department = $1 AND status = 'requested' \
             ORDER BY created_at, id"
        ))
        .bind(department.name())
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(embargo_from_row)
        .collect()
    }

    async fn embargoes(
        &self,
        after: Option<EmbargoId>,
        limit: u32,
    ) -> Result<Vec<StoredEmbargo>, StoreError> {
        let rows = match after {
            Some(after) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM embargoes WHERE id > $1 ORDER BY id LIMIT $2"
                ))
                .bind(after.as_uuid())
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM embargoes ORDER BY id LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await
            }
        }
        .map_err(db)?;
        rows.into_iter().map(embargo_from_row).collect()
    }

    async fn insert_embargoes(&self, embargoes: &[StoredEmbargo]) -> Result<(), StoreError> {
        if embargoes.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for e in embargoes {
            insert_in(&mut tx, e).await?;
        }
        tx.commit().await.map_err(db)
    }
}
