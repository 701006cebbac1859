//! Verifier organisations, their API keys and online verifications on
//! SQLite (see `shengshi_store::VerifierStore`).

use async_trait::async_trait;
use shengshi_domain::{CardId, SubjectId, Timestamp};
use shengshi_store::{
    claim_outcomes, claim_rows, ClaimOutcome, ClaimReads, StoreError, StoredVerification,
    StoredVerifier, StoredVerifierKey, VerificationClaim, VerifierStore,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use std::collections::HashMap;

use super::{db, timestamp, SqliteStore};
use crate::direct::sqlite;
use rusqlite::OptionalExtension;

const VERIFIER_COLUMNS: &str = "id, name, category, purposes, status, created_at, changed_at";
const KEY_COLUMNS: &str = "id, verifier_id, key_mac, created_at, revoked_at";
const VERIFICATION_COLUMNS: &str = "cti, verifier_id, card_id, subject_id, verified_at, expires_at";

fn verifier_from_row(r: SqliteRow) -> Result<StoredVerifier, StoreError> {
    let purposes: String = r.try_get("purposes").map_err(db)?;
    Ok(StoredVerifier {
        id: r.try_get("id").map_err(db)?,
        name: r.try_get("name").map_err(db)?,
        category: r.try_get("category").map_err(db)?,
        purposes: purposes.split(',').map(str::to_owned).collect(),
        status: r.try_get("status").map_err(db)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
        changed_at: timestamp(r.try_get("changed_at").map_err(db)?)?,
    })
}

fn key_from_row(r: SqliteRow) -> Result<StoredVerifierKey, StoreError> {
    let revoked_at: Option<i64> = r.try_get("revoked_at").map_err(db)?;
    Ok(StoredVerifierKey {
        id: r.try_get("id").map_err(db)?,
        verifier: r.try_get("verifier_id").map_err(db)?,
        key_mac: r.try_get("key_mac").map_err(db)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
        revoked_at: revoked_at.map(timestamp).transpose()?,
    })
}

fn verification_from_row(r: SqliteRow) -> Result<StoredVerification, StoreError> {
    Ok(StoredVerification {
        cti: r.try_get("cti").map_err(db)?,
        verifier: r.try_get("verifier_id").map_err(db)?,
        card: CardId::from_uuid(r.try_get("card_id").map_err(db)?),
        subject: SubjectId::from_uuid(r.try_get("subject_id").map_err(db)?),
        verified_at: timestamp(r.try_get("verified_at").map_err(db)?)?,
        expires_at: timestamp(r.try_get("expires_at").map_err(db)?)?,
    })
}

async fn insert_verifier_in(
    tx: &mut Transaction<'_, Sqlite>,
    v: &StoredVerifier,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO verifiers ({VERIFIER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(v.id)
    .bind(&v.name)
    .bind(&v.category)
    .bind(v.purposes.join(","))
    .bind(&v.status)
    .bind(v.created_at.unix_millis())
    .bind(v.changed_at.unix_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

async fn insert_key_in(
    tx: &mut Transaction<'_, Sqlite>,
    k: &StoredVerifierKey,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO verifier_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
    ))
    .bind(k.id)
    .bind(k.verifier)
    .bind(&k.key_mac)
    .bind(k.created_at.unix_millis())
    .bind(k.revoked_at.map(|t| t.unix_millis()))
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

/// Settles verification claims inside the access log's transaction (see
/// `AccessLogStore::commit_access_batch`), on the writer connection driven
/// directly (`crate::direct`): a statement per key, card and claim.
pub(crate) fn settle_claims(
    tx: &rusqlite::Transaction<'_>,
    claims: &[VerificationClaim],
) -> Result<Vec<ClaimOutcome>, StoreError> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let mut reads = ClaimReads::default();
    let mut key = tx
        .prepare_cached(
            "SELECT k.verifier_id, k.revoked_at IS NOT NULL, v.status \
             FROM verifier_keys k JOIN verifiers v ON v.id = k.verifier_id WHERE k.id = ?1",
        )
        .map_err(sqlite)?;
    for id in ClaimReads::key_ids(claims) {
        let read = key
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))
            .optional()
            .map_err(sqlite)?;
        if let Some((verifier, revoked, status)) = read {
            reads.add_key(id, verifier, revoked, &status);
        }
    }
    let mut card = tx
        .prepare_cached("SELECT id, subject_id, status FROM eid_cards WHERE status_index = ?1")
        .map_err(sqlite)?;
    for index in ClaimReads::status_indices(claims) {
        let read = card
            .query_row([index], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?))
            })
            .optional()
            .map_err(sqlite)?;
        if let Some((id, subject, status)) = read {
            let (id, subject) = (CardId::from_uuid(id), SubjectId::from_uuid(subject));
            reads.add_card(index, id, subject, &status)?;
        }
    }

    let checked = reads.check(claims);
    let mut insert = tx
        .prepare_cached(&format!(
            "INSERT INTO eid_verifications ({VERIFICATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (cti) DO NOTHING"
        ))
        .map_err(sqlite)?;
    let mut holder = tx
        .prepare_cached(&format!(
            "SELECT {VERIFICATION_COLUMNS} FROM eid_verifications WHERE cti = ?1"
        ))
        .map_err(sqlite)?;
    let mut holders = HashMap::new();
    for row in claim_rows(claims, &checked) {
        let inserted = insert
            .execute(rusqlite::params![
                row.cti,
                row.verifier,
                row.card.as_uuid(),
                row.subject.as_uuid(),
                row.verified_at.unix_millis(),
                row.expires_at.unix_millis(),
            ])
            .map_err(sqlite)?;
        // Not inserted: the code was held before; read by whom.
        let row = if inserted == 1 {
            row
        } else {
            holder
                .query_row([&row.cti], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .map_err(sqlite)
                .and_then(|(cti, verifier, card, subject, verified_at, expires_at)| {
                    Ok(StoredVerification {
                        cti,
                        verifier,
                        card: CardId::from_uuid(card),
                        subject: SubjectId::from_uuid(subject),
                        verified_at: timestamp(verified_at)?,
                        expires_at: timestamp(expires_at)?,
                    })
                })?
        };
        holders.insert(row.cti.clone(), row);
    }
    claim_outcomes(checked, claims, &holders)
}

async fn insert_verification_in(
    tx: &mut Transaction<'_, Sqlite>,
    v: &StoredVerification,
    on_conflict: &str,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO eid_verifications ({VERIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) {on_conflict}"
    ))
    .bind(&v.cti)
    .bind(v.verifier)
    .bind(v.card.as_uuid())
    .bind(v.subject.as_uuid())
    .bind(v.verified_at.unix_millis())
    .bind(v.expires_at.unix_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl VerifierStore for SqliteStore {
    async fn insert_verifier(
        &self,
        verifier: &StoredVerifier,
        key: &StoredVerifierKey,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        insert_verifier_in(&mut tx, verifier).await?;
        insert_key_in(&mut tx, key).await?;
        tx.commit().await.map_err(db)
    }

    async fn verifier(&self, id: uuid::Uuid) -> Result<Option<StoredVerifier>, StoreError> {
        sqlx::query(&format!(
            "SELECT {VERIFIER_COLUMNS} FROM verifiers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(verifier_from_row)
        .transpose()
    }

    async fn verifiers(&self) -> Result<Vec<StoredVerifier>, StoreError> {
        sqlx::query(&format!(
            "SELECT {VERIFIER_COLUMNS} FROM verifiers ORDER BY created_at, id"
        ))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(verifier_from_row)
        .collect()
    }

    async fn set_verifier_status(
        &self,
        id: uuid::Uuid,
        status: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE verifiers SET status = $1, changed_at = $2 WHERE id = $3 AND status <> $1",
        )
        .bind(status)
        .bind(at.unix_millis())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn verifier_key(&self, id: uuid::Uuid) -> Result<Option<StoredVerifierKey>, StoreError> {
        sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM verifier_keys WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(key_from_row)
        .transpose()
    }

    async fn replace_verifier_keys(&self, key: &StoredVerifierKey) -> Result<u64, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let revoked = sqlx::query(
            "UPDATE verifier_keys SET revoked_at = $1 WHERE verifier_id = $2 AND revoked_at IS NULL",
        )
        .bind(key.created_at.unix_millis())
        .bind(key.verifier)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        insert_key_in(&mut tx, key).await?;
        tx.commit().await.map_err(db)?;
        Ok(revoked)
    }

    async fn verifier_keys(&self) -> Result<Vec<StoredVerifierKey>, StoreError> {
        sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM verifier_keys ORDER BY created_at, id"
        ))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(key_from_row)
        .collect()
    }

    async fn verification(&self, cti: &str) -> Result<Option<StoredVerification>, StoreError> {
        sqlx::query(&format!(
            "SELECT {VERIFICATION_COLUMNS} FROM eid_verifications WHERE cti = $1"
        ))
        .bind(cti)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(verification_from_row)
        .transpose()
    }

    async fn verifications(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredVerification>, StoreError> {
        sqlx::query(&format!(
            "SELECT {VERIFICATION_COLUMNS} FROM eid_verifications \
             WHERE cti > $1 ORDER BY cti LIMIT $2"
        ))
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(verification_from_row)
        .collect()
    }

    async fn import_verifiers(
        &self,
        verifiers: &[StoredVerifier],
        keys: &[StoredVerifierKey],
        verifications: &[StoredVerification],
    ) -> Result<(), StoreError> {
        if verifiers.is_empty() && keys.is_empty() && verifications.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for verifier in verifiers {
            insert_verifier_in(&mut tx, verifier).await?;
        }
        for key in keys {
            insert_key_in(&mut tx, key).await?;
        }
        for verification in verifications {
            insert_verification_in(&mut tx, verification, "").await?;
        }
        tx.commit().await.map_err(db)
    }
}
