//! Staff accounts on SQLite (see `shengshi_store::StaffStore`).

use async_trait::async_trait;
use shengshi_domain::{StaffId, Timestamp};
use shengshi_store::{StaffFailure, StaffStore, StoreError, StoredStaff};
use sqlx::Row;

use super::{db, timestamp, SqliteStore};

const COLUMNS: &str = "id, username, display_name, department, role, password_hash, \
     sealed_totp_secret, disabled, failed_logins, first_failed_at, locked_until, \
     last_totp_step, created_at";

const INSERT: &str = "INSERT INTO staff (id, username, display_name, department, role, \
     password_hash, sealed_totp_secret, disabled, failed_logins, first_failed_at, \
     locked_until, last_totp_step, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// The same statement as on PostgreSQL. Every SET expression sees the row as it
/// was, so the new count is computed once per column that depends on it.
const FAILURE: &str = "UPDATE staff SET \
     failed_logins = CASE WHEN (CASE WHEN first_failed_at IS NULL OR first_failed_at <= $3 \
         THEN 1 ELSE failed_logins + 1 END) >= $4 THEN 0 \
         ELSE (CASE WHEN first_failed_at IS NULL OR first_failed_at <= $3 \
         THEN 1 ELSE failed_logins + 1 END) END, \
     first_failed_at = CASE WHEN (CASE WHEN first_failed_at IS NULL OR first_failed_at <= $3 \
         THEN 1 ELSE failed_logins + 1 END) >= $4 THEN NULL \
         WHEN first_failed_at IS NULL OR first_failed_at <= $3 THEN $2 ELSE first_failed_at END, \
     locked_until = CASE WHEN (CASE WHEN first_failed_at IS NULL OR first_failed_at <= $3 \
         THEN 1 ELSE failed_logins + 1 END) >= $4 THEN $5 ELSE locked_until END \
     WHERE id = $1 RETURNING failed_logins, locked_until";

const SUCCESS: &str = "UPDATE staff SET last_totp_step = $2, failed_logins = 0, \
     first_failed_at = NULL WHERE id = $1 AND (last_totp_step IS NULL OR last_totp_step < $2)";

fn optional_timestamp(ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(timestamp).transpose()
}

fn count(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("failed_logins {n} out of range")))
}

fn staff_from_row(r: sqlx::sqlite::SqliteRow) -> Result<StoredStaff, StoreError> {
    Ok(StoredStaff {
        id: StaffId::from_uuid(r.try_get("id").map_err(db)?),
        username: r.try_get("username").map_err(db)?,
        display_name: r.try_get("display_name").map_err(db)?,
        department: r.try_get("department").map_err(db)?,
        role: r.try_get("role").map_err(db)?,
        password_hash: r.try_get("password_hash").map_err(db)?,
        sealed_totp_secret: r.try_get("sealed_totp_secret").map_err(db)?,
        disabled: r.try_get("disabled").map_err(db)?,
        failed_logins: count(r.try_get("failed_logins").map_err(db)?)?,
        first_failed_at: optional_timestamp(r.try_get("first_failed_at").map_err(db)?)?,
        locked_until: optional_timestamp(r.try_get("locked_until").map_err(db)?)?,
        last_totp_step: r.try_get("last_totp_step").map_err(db)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
    })
}

fn bind_insert<'q>(
    s: &'q StoredStaff,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    sqlx::query(INSERT)
        .bind(s.id.as_uuid())
        .bind(&s.username)
        .bind(&s.display_name)
        .bind(&s.department)
        .bind(&s.role)
        .bind(&s.password_hash)
        .bind(&s.sealed_totp_secret)
        .bind(s.disabled)
        .bind(i64::from(s.failed_logins))
        .bind(s.first_failed_at.map(|t| t.unix_millis()))
        .bind(s.locked_until.map(|t| t.unix_millis()))
        .bind(s.last_totp_step)
        .bind(s.created_at.unix_millis())
}

#[async_trait]
impl StaffStore for SqliteStore {
    async fn insert_staff(&self, staff: &StoredStaff) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        bind_insert(staff).execute(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn staff(&self, id: StaffId) -> Result<Option<StoredStaff>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM staff WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(db)?
            .map(staff_from_row)
            .transpose()
    }

    async fn staff_by_username(&self, username: &str) -> Result<Option<StoredStaff>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM staff WHERE username = $1"))
            .bind(username)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?
            .map(staff_from_row)
            .transpose()
    }

    async fn staff_in_department(&self, department: &str) -> Result<Vec<StoredStaff>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM staff WHERE department = $1 ORDER BY username"
        ))
        .bind(department)
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(staff_from_row)
        .collect()
    }

    async fn set_staff_disabled(&self, id: StaffId, disabled: bool) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query("UPDATE staff SET disabled = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(disabled)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_staff_failure(
        &self,
        id: StaffId,
        at: Timestamp,
        window_start: Timestamp,
        max: u32,
        lock_until: Timestamp,
    ) -> Result<StaffFailure, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let row = sqlx::query(FAILURE)
            .bind(id.as_uuid())
            .bind(at.unix_millis())
            .bind(window_start.unix_millis())
            .bind(i64::from(max))
            .bind(lock_until.unix_millis())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::Database(format!("no staff member {id}")))?;
        tx.commit().await.map_err(db)?;
        let locked_until = optional_timestamp(row.try_get("locked_until").map_err(db)?)?;
        Ok(StaffFailure {
            failed_logins: count(row.try_get("failed_logins").map_err(db)?)?,
            locked_until: locked_until.filter(|t| *t == lock_until),
        })
    }

    async fn record_staff_success(&self, id: StaffId, step: i64) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(SUCCESS)
            .bind(id.as_uuid())
            .bind(step)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn staff_page(
        &self,
        after: Option<StaffId>,
        limit: u32,
    ) -> Result<Vec<StoredStaff>, StoreError> {
        let after = after.map(|a| a.as_uuid()).unwrap_or_default();
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM staff WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(staff_from_row)
        .collect()
    }

    async fn insert_staff_many(&self, staff: &[StoredStaff]) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        for s in staff {
            bind_insert(s).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }
}
