//! Passkeys and WebAuthn ceremonies (see shengshi_store::PasskeyStore).

use async_trait::async_trait;
use shengshi_domain::Timestamp;
use shengshi_store::{
    CeremonyPurpose, PasskeyOwner, PasskeyStore, StoreError, StoredCeremony, StoredPasskey,
};
use sqlx::Row;

use crate::{db, timestamp, SqliteStore};

const COLUMNS: &str =
    "credential_id, owner_kind, owner_id, label, passkey, created_at, last_used_at, revoked_at";

fn optional_timestamp(ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(timestamp).transpose()
}

fn from_row(r: sqlx::sqlite::SqliteRow) -> Result<StoredPasskey, StoreError> {
    let kind: String = r.try_get("owner_kind").map_err(db)?;
    Ok(StoredPasskey {
        credential_id: r.try_get("credential_id").map_err(db)?,
        owner: PasskeyOwner::from_parts(&kind, r.try_get("owner_id").map_err(db)?)?,
        label: r.try_get("label").map_err(db)?,
        passkey: r.try_get("passkey").map_err(db)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
        last_used_at: optional_timestamp(r.try_get("last_used_at").map_err(db)?)?,
        revoked_at: optional_timestamp(r.try_get("revoked_at").map_err(db)?)?,
    })
}

async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    p: &StoredPasskey,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO passkeys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&p.credential_id)
    .bind(p.owner.kind())
    .bind(p.owner.uuid())
    .bind(&p.label)
    .bind(&p.passkey)
    .bind(p.created_at.unix_millis())
    .bind(p.last_used_at.map(|t| t.unix_millis()))
    .bind(p.revoked_at.map(|t| t.unix_millis()))
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl PasskeyStore for SqliteStore {
    async fn insert_passkey(&self, passkey: &StoredPasskey) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        insert(&mut tx, passkey).await?;
        tx.commit().await.map_err(db)
    }

    async fn live_passkey(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<StoredPasskey>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1 AND revoked_at IS NULL"
        ))
        .bind(credential_id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(from_row)
        .transpose()
    }

    async fn owner_passkeys(&self, owner: PasskeyOwner) -> Result<Vec<StoredPasskey>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM passkeys \
             WHERE owner_kind = $1 AND owner_id = $2 AND revoked_at IS NULL \
             ORDER BY created_at, credential_id"
        ))
        .bind(owner.kind())
        .bind(owner.uuid())
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(from_row)
        .collect()
    }

    async fn record_passkey_use(
        &self,
        credential_id: &[u8],
        passkey: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE passkeys SET passkey = $1, last_used_at = $2 \
             WHERE credential_id = $3 AND revoked_at IS NULL",
        )
        .bind(passkey)
        .bind(at.unix_millis())
        .bind(credential_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_passkey(
        &self,
        owner: PasskeyOwner,
        credential_id: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE passkeys SET revoked_at = $1 WHERE credential_id = $2 \
             AND owner_kind = $3 AND owner_id = $4 AND revoked_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(credential_id)
        .bind(owner.kind())
        .bind(owner.uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn passkeys(
        &self,
        after: Option<&[u8]>,
        limit: u32,
    ) -> Result<Vec<StoredPasskey>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE credential_id > $1 ORDER BY credential_id LIMIT $2"
        ))
        .bind(after.unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(from_row)
        .collect()
    }

    async fn insert_passkeys(&self, passkeys: &[StoredPasskey]) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        for passkey in passkeys {
            insert(&mut tx, passkey).await?;
        }
        tx.commit().await.map_err(db)
    }

    async fn create_ceremony(&self, c: &StoredCeremony, now: Timestamp) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
            .bind(now.unix_millis())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (id_hash, purpose, owner_kind, owner_id, state, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.id_hash)
        .bind(c.purpose.name())
        .bind(c.owner.map(PasskeyOwner::kind))
        .bind(c.owner.map(PasskeyOwner::uuid))
        .bind(&c.state)
        .bind(c.expires_at.unix_millis())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn take_ceremony(
        &self,
        id_hash: &[u8],
        purpose: CeremonyPurpose,
        now: Timestamp,
    ) -> Result<Option<StoredCeremony>, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let row = sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE id_hash = $1 AND purpose = $2 \
             RETURNING owner_kind, owner_id, state, expires_at",
        )
        .bind(id_hash)
        .bind(purpose.name())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let expires_at = timestamp(row.try_get("expires_at").map_err(db)?)?;
        if expires_at <= now {
            return Ok(None);
        }
        let kind: Option<String> = row.try_get("owner_kind").map_err(db)?;
        let id: Option<uuid::Uuid> = row.try_get("owner_id").map_err(db)?;
        let owner = match (kind, id) {
            (Some(kind), Some(id)) => Some(PasskeyOwner::from_parts(&kind, id)?),
            _ => None,
        };
        Ok(Some(StoredCeremony {
            id_hash: id_hash.to_vec(),
            purpose,
            owner,
            state: row.try_get("state").map_err(db)?,
            expires_at,
        }))
    }
}
