//! Sessions (see shengshi_store::SessionStore).

use async_trait::async_trait;
use shengshi_domain::{AccountId, Timestamp};
use shengshi_store::{SessionStore, StoreError, StoredSession};
use sqlx::Row;

use crate::{db, timestamp, SqliteStore};

const COLUMNS: &str =
    "token_hash, account_id, created_at, last_seen_at, expires_at, revoked_at, device";

fn from_row(r: sqlx::sqlite::SqliteRow) -> Result<StoredSession, StoreError> {
    Ok(StoredSession {
        token_hash: r.try_get("token_hash").map_err(db)?,
        account: AccountId::from_uuid(r.try_get("account_id").map_err(db)?),
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
        last_seen_at: timestamp(r.try_get("last_seen_at").map_err(db)?)?,
        expires_at: timestamp(r.try_get("expires_at").map_err(db)?)?,
        revoked_at: r
            .try_get::<Option<i64>, _>("revoked_at")
            .map_err(db)?
            .map(timestamp)
            .transpose()?,
        device: r.try_get("device").map_err(db)?,
    })
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &StoredSession) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&s.token_hash)
        .bind(s.account.as_uuid())
        .bind(s.created_at.unix_millis())
        .bind(s.last_seen_at.unix_millis())
        .bind(s.expires_at.unix_millis())
        .bind(s.revoked_at.map(|t| t.unix_millis()))
        .bind(s.device.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn session(&self, token_hash: &[u8]) -> Result<Option<StoredSession>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(from_row)
        .transpose()
    }

    async fn touch_session(&self, token_hash: &[u8], at: Timestamp) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1",
        )
        .bind(at.unix_millis())
        .bind(token_hash)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn revoke_session(&self, token_hash: &[u8], at: Timestamp) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(token_hash)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn live_sessions(
        &self,
        account: AccountId,
        now: Timestamp,
        idle_cutoff: Timestamp,
    ) -> Result<Vec<StoredSession>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE account_id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 AND last_seen_at > $3 ORDER BY created_at DESC, token_hash"
        ))
        .bind(account.as_uuid())
        .bind(now.unix_millis())
        .bind(idle_cutoff.unix_millis())
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(from_row)
        .collect()
    }

    async fn revoke_account_session(
        &self,
        account: AccountId,
        token_hash: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE token_hash = $2 AND account_id = $3 AND revoked_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(token_hash)
        .bind(account.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_account_sessions(
        &self,
        account: AccountId,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(account.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected())
    }
}
