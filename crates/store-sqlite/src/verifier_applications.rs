//! Verifier applications on SQLite (see `shengshi_store::VerifierApplicationStore`).

use async_trait::async_trait;
use shengshi_domain::{StaffId, Timestamp};
use shengshi_store::{
    ApplicationStatus, StoreError, StoredVerifierApplication, VerifierApplicationStore,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::{db, timestamp, SqliteStore};

const COLUMNS: &str = "id, name, category, purposes, contact, address_mac, status, submitted_at, \
                       decided_by, decided_at, reason, verifier_id";

fn application_from_row(r: SqliteRow) -> Result<StoredVerifierApplication, StoreError> {
    let purposes: String = r.try_get("purposes").map_err(db)?;
    let status: String = r.try_get("status").map_err(db)?;
    let decided_by: Option<Uuid> = r.try_get("decided_by").map_err(db)?;
    let decided_at: Option<i64> = r.try_get("decided_at").map_err(db)?;
    Ok(StoredVerifierApplication {
        id: r.try_get("id").map_err(db)?,
        name: r.try_get("name").map_err(db)?,
        category: r.try_get("category").map_err(db)?,
        purposes: purposes.split(',').map(str::to_owned).collect(),
        contact: r.try_get("contact").map_err(db)?,
        address_mac: r.try_get("address_mac").map_err(db)?,
        status: ApplicationStatus::from_name(&status).ok_or_else(|| {
            StoreError::Corrupt(format!("verifier application status {status:?}"))
        })?,
        submitted_at: timestamp(r.try_get("submitted_at").map_err(db)?)?,
        decided_by: decided_by.map(StaffId::from_uuid),
        decided_at: decided_at.map(timestamp).transpose()?,
        reason: r.try_get("reason").map_err(db)?,
        verifier: r.try_get("verifier_id").map_err(db)?,
    })
}

async fn insert_in(
    tx: &mut Transaction<'_, Sqlite>,
    a: &StoredVerifierApplication,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO verifier_applications ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(a.id)
    .bind(&a.name)
    .bind(&a.category)
    .bind(a.purposes.join(","))
    .bind(&a.contact)
    .bind(&a.address_mac)
    .bind(a.status.name())
    .bind(a.submitted_at.unix_millis())
    .bind(a.decided_by.map(|s| s.as_uuid()))
    .bind(a.decided_at.map(|t| t.unix_millis()))
    .bind(&a.reason)
    .bind(a.verifier)
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl VerifierApplicationStore for SqliteStore {
    async fn insert_verifier_application(
        &self,
        a: &StoredVerifierApplication,
        limit: u32,
        since: Timestamp,
    ) -> Result<bool, StoreError> {
        // One writer connection and BEGIN IMMEDIATE: the count cannot go
        // stale before the insert.
        let (_turn, mut tx) = self.begin_write().await?;
        let sent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM verifier_applications \
             WHERE address_mac = $1 AND submitted_at >= $2",
        )
        .bind(&a.address_mac)
        .bind(since.unix_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if sent >= i64::from(limit) {
            return Ok(false);
        }
        insert_in(&mut tx, a).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn verifier_application(
        &self,
        id: Uuid,
    ) -> Result<Option<StoredVerifierApplication>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM verifier_applications WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(application_from_row)
        .transpose()
    }

    async fn pending_verifier_applications(
        &self,
    ) -> Result<Vec<StoredVerifierApplication>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM verifier_applications WHERE status = 'pending' \
             ORDER BY submitted_at, id"
        ))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(application_from_row)
        .collect()
    }

    async fn decide_verifier_application(
        &self,
        id: Uuid,
        status: ApplicationStatus,
        decided_by: StaffId,
        at: Timestamp,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE verifier_applications SET status = $1, decided_by = $2, decided_at = $3, \
             reason = $4 WHERE id = $5 AND status = 'pending'",
        )
        .bind(status.name())
        .bind(decided_by.as_uuid())
        .bind(at.unix_millis())
        .bind(reason)
        .bind(id)
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_application_verifier(&self, id: Uuid, verifier: Uuid) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE verifier_applications SET verifier_id = $1 \
             WHERE id = $2 AND status = 'approved' AND verifier_id IS NULL",
        )
        .bind(verifier)
        .bind(id)
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn verifier_applications(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredVerifierApplication>, StoreError> {
        // The nil id sorts before every UUIDv7.
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM verifier_applications WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.unwrap_or(Uuid::nil()))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(application_from_row)
        .collect()
    }

    async fn insert_verifier_applications(
        &self,
        applications: &[StoredVerifierApplication],
    ) -> Result<(), StoreError> {
        if applications.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for a in applications {
            insert_in(&mut tx, a).await?;
        }
        tx.commit().await.map_err(db)
    }
}
