//! Printable identity documents on SQLite (see `shengshi_store::EidDocumentStore`).

use async_trait::async_trait;
use shengshi_domain::{AccountId, CardId, Timestamp};
use shengshi_store::{
    CardStatus, CardStatusEntry, DocumentListing, EidDocumentStore, StoreError, StoredDocument,
};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use super::{db, timestamp, SqliteStore};

const DOCUMENT_COLUMNS: &str = "d.id, d.account_id, d.card_id, d.status_index, d.kid, d.fields, \
                                d.issued_at, d.expires_at, d.revoked_at";

fn index_from(index: i64) -> Result<u32, StoreError> {
    u32::try_from(index).map_err(|_| StoreError::Corrupt(format!("document status index {index}")))
}

fn document_from_row(r: &SqliteRow) -> Result<StoredDocument, StoreError> {
    let fields: String = r.try_get("fields").map_err(db)?;
    Ok(StoredDocument {
        id: r.try_get("id").map_err(db)?,
        account: AccountId::from_uuid(r.try_get("account_id").map_err(db)?),
        card: CardId::from_uuid(r.try_get("card_id").map_err(db)?),
        status_index: index_from(r.try_get("status_index").map_err(db)?)?,
        kid: r.try_get("kid").map_err(db)?,
        fields: fields.split(',').map(str::to_owned).collect(),
        issued_at: timestamp(r.try_get("issued_at").map_err(db)?)?,
        expires_at: timestamp(r.try_get("expires_at").map_err(db)?)?,
        revoked_at: r
            .try_get::<Option<i64>, _>("revoked_at")
            .map_err(db)?
            .map(timestamp)
            .transpose()?,
    })
}

fn card_status(name: &str) -> Result<CardStatus, StoreError> {
    CardStatus::from_name(name).ok_or_else(|| StoreError::Corrupt(format!("card status {name:?}")))
}

fn check_fields(d: &StoredDocument) -> Result<(), StoreError> {
    if d.fields.is_empty() || d.fields.iter().any(|f| f.is_empty() || f.contains(',')) {
        return Err(StoreError::Database(
            "document field names are malformed".into(),
        ));
    }
    Ok(())
}

async fn insert_document_with<'e, E>(executor: E, d: &StoredDocument) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    check_fields(d)?;
    sqlx::query(
        "INSERT INTO eid_documents (id, account_id, card_id, status_index, kid, fields, \
         issued_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(d.id)
    .bind(d.account.as_uuid())
    .bind(d.card.as_uuid())
    .bind(i64::from(d.status_index))
    .bind(&d.kid)
    .bind(d.fields.join(","))
    .bind(d.issued_at.unix_millis())
    .bind(d.expires_at.unix_millis())
    .bind(d.revoked_at.map(|t| t.unix_millis()))
    .execute(executor)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl EidDocumentStore for SqliteStore {
    async fn insert_document(&self, d: &StoredDocument) -> Result<(), StoreError> {
        // One statement: the trigger claims the index in the same implicit
        // transaction, so a taken index leaves no row behind.
        let _turn = self.write_turn().await;
        insert_document_with(&self.write, d).await
    }

    async fn account_documents(
        &self,
        account: AccountId,
    ) -> Result<Vec<DocumentListing>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DOCUMENT_COLUMNS}, c.status AS card_status FROM eid_documents d \
             JOIN eid_cards c ON c.id = d.card_id \
             WHERE d.account_id = $1 ORDER BY d.issued_at DESC, d.id DESC"
        ))
        .bind(account.as_uuid())
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("card_status").map_err(db)?;
                Ok(DocumentListing {
                    document: document_from_row(r)?,
                    card_status: card_status(&status)?,
                })
            })
            .collect()
    }

    async fn revoke_document(
        &self,
        account: AccountId,
        document: Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE eid_documents SET revoked_at = max($1, issued_at) \
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(document)
        .bind(account.as_uuid())
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn document_status_entries(&self) -> Result<Vec<CardStatusEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.status_index, \
               CASE WHEN d.revoked_at IS NOT NULL THEN 'revoked' ELSE c.status END AS status \
             FROM eid_documents d JOIN eid_cards c ON c.id = d.card_id \
             WHERE d.revoked_at IS NOT NULL OR c.status <> 'active' \
             ORDER BY d.status_index",
        )
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status").map_err(db)?;
                Ok(CardStatusEntry {
                    status_index: index_from(r.try_get("status_index").map_err(db)?)?,
                    status: card_status(&status)?,
                })
            })
            .collect()
    }

    async fn live_document_keys(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(String, Timestamp)>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.kid, max(d.expires_at) AS last_expiry FROM eid_documents d \
             JOIN eid_cards c ON c.id = d.card_id \
             WHERE d.expires_at > $1 AND d.revoked_at IS NULL AND c.status <> 'revoked' \
             GROUP BY d.kid ORDER BY d.kid",
        )
        .bind(now.unix_millis())
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("kid").map_err(db)?,
                    timestamp(r.try_get("last_expiry").map_err(db)?)?,
                ))
            })
            .collect()
    }

    async fn documents(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredDocument>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM eid_documents d \
             WHERE $1 IS NULL OR d.id > $1 ORDER BY d.id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter().map(document_from_row).collect()
    }

    async fn import_documents(&self, documents: &[StoredDocument]) -> Result<(), StoreError> {
        if documents.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for d in documents {
            insert_document_with(&mut *tx, d).await?;
        }
        tx.commit().await.map_err(db)
    }
}
