//! Staff sessions (see shengshi_store::StaffSessionStore).

use async_trait::async_trait;
use shengshi_domain::{StaffId, Timestamp};
use shengshi_store::{StaffSessionStore, StoreError, StoredStaffSession};
use sqlx::Row;

use crate::{db, timestamp, SqliteStore};

const COLUMNS: &str = "token_hash, staff_id, created_at, last_seen_at, expires_at, revoked_at";

fn from_row(r: sqlx::sqlite::SqliteRow) -> Result<StoredStaffSession, StoreError> {
    Ok(StoredStaffSession {
        token_hash: r.try_get("token_hash").map_err(db)?,
        staff: StaffId::from_uuid(r.try_get("staff_id").map_err(db)?),
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
        last_seen_at: timestamp(r.try_get("last_seen_at").map_err(db)?)?,
        expires_at: timestamp(r.try_get("expires_at").map_err(db)?)?,
        revoked_at: r
            .try_get::<Option<i64>, _>("revoked_at")
            .map_err(db)?
            .map(timestamp)
            .transpose()?,
    })
}

#[async_trait]
impl StaffSessionStore for SqliteStore {
    async fn create_staff_session(&self, s: &StoredStaffSession) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO staff_sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&s.token_hash)
        .bind(s.staff.as_uuid())
        .bind(s.created_at.unix_millis())
        .bind(s.last_seen_at.unix_millis())
        .bind(s.expires_at.unix_millis())
        .bind(s.revoked_at.map(|t| t.unix_millis()))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn staff_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<StoredStaffSession>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM staff_sessions WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(from_row)
        .transpose()
    }

    async fn touch_staff_session(
        &self,
        token_hash: &[u8],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "UPDATE staff_sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1",
        )
        .bind(at.unix_millis())
        .bind(token_hash)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn revoke_staff_session(
        &self,
        token_hash: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE staff_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(token_hash)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_all_staff_sessions(
        &self,
        staff: StaffId,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE staff_sessions SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(staff.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected())
    }
}
