//! Electronic ID cards on SQLite (see `shengshi_store::EidStore`).

use async_trait::async_trait;
use shengshi_domain::{AccountId, CardId, SubjectId, Timestamp};
use shengshi_store::{
    CardStatus, CardStatusEntry, CardStatusReason, DevicePresentation, EidStore, StoreError,
    StoredCard, StoredIssuerKey, StoredTrustList,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::{db, timestamp, SqliteStore};

const KEY_COLUMNS: &str =
    "kid, algorithm, public_key, wrapped_secret, kek_id, not_before, sign_until, created_at";
const LIST_COLUMNS: &str = "signed, issued_at, expires_at, published_at";
const CARD_COLUMNS: &str = "id, account_id, subject_id, status_index, status, reason, \
                            sealed_attributes, activated_at, changed_at";

fn key_from_row(r: SqliteRow) -> Result<StoredIssuerKey, StoreError> {
    Ok(StoredIssuerKey {
        kid: r.try_get("kid").map_err(db)?,
        algorithm: r.try_get("algorithm").map_err(db)?,
        public_key: r.try_get("public_key").map_err(db)?,
        wrapped_secret: r.try_get("wrapped_secret").map_err(db)?,
        kek_id: r.try_get("kek_id").map_err(db)?,
        not_before: timestamp(r.try_get("not_before").map_err(db)?)?,
        sign_until: timestamp(r.try_get("sign_until").map_err(db)?)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
    })
}

fn list_from_row(r: SqliteRow) -> Result<StoredTrustList, StoreError> {
    Ok(StoredTrustList {
        signed: r.try_get("signed").map_err(db)?,
        issued_at: timestamp(r.try_get("issued_at").map_err(db)?)?,
        expires_at: timestamp(r.try_get("expires_at").map_err(db)?)?,
        published_at: timestamp(r.try_get("published_at").map_err(db)?)?,
    })
}

fn status_from(name: &str) -> Result<CardStatus, StoreError> {
    CardStatus::from_name(name).ok_or_else(|| StoreError::Corrupt(format!("card status {name:?}")))
}

fn index_from(index: i64) -> Result<u32, StoreError> {
    u32::try_from(index).map_err(|_| StoreError::Corrupt(format!("card status index {index}")))
}

fn card_from_row(r: SqliteRow) -> Result<StoredCard, StoreError> {
    let status: String = r.try_get("status").map_err(db)?;
    let reason: String = r.try_get("reason").map_err(db)?;
    Ok(StoredCard {
        id: CardId::from_uuid(r.try_get("id").map_err(db)?),
        account: AccountId::from_uuid(r.try_get("account_id").map_err(db)?),
        subject: SubjectId::from_uuid(r.try_get("subject_id").map_err(db)?),
        status_index: index_from(r.try_get("status_index").map_err(db)?)?,
        status: status_from(&status)?,
        reason: CardStatusReason::from_name(&reason)
            .ok_or_else(|| StoreError::Corrupt(format!("card status reason {reason:?}")))?,
        sealed_attributes: r.try_get("sealed_attributes").map_err(db)?,
        activated_at: timestamp(r.try_get("activated_at").map_err(db)?)?,
        changed_at: timestamp(r.try_get("changed_at").map_err(db)?)?,
    })
}

async fn insert_key_in(
    tx: &mut Transaction<'_, Sqlite>,
    k: &StoredIssuerKey,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO eid_issuer_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&k.kid)
    .bind(&k.algorithm)
    .bind(&k.public_key)
    .bind(&k.wrapped_secret)
    .bind(&k.kek_id)
    .bind(k.not_before.unix_millis())
    .bind(k.sign_until.unix_millis())
    .bind(k.created_at.unix_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

async fn insert_list_in(
    tx: &mut Transaction<'_, Sqlite>,
    l: &StoredTrustList,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO eid_trust_lists ({LIST_COLUMNS}) VALUES ($1, $2, $3, $4)"
    ))
    .bind(&l.signed)
    .bind(l.issued_at.unix_millis())
    .bind(l.expires_at.unix_millis())
    .bind(l.published_at.unix_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

async fn insert_card_in(
    tx: &mut Transaction<'_, Sqlite>,
    c: &StoredCard,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO eid_cards ({CARD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(c.id.as_uuid())
    .bind(c.account.as_uuid())
    .bind(c.subject.as_uuid())
    .bind(i64::from(c.status_index))
    .bind(c.status.name())
    .bind(c.reason.name())
    .bind(&c.sealed_attributes)
    .bind(c.activated_at.unix_millis())
    .bind(c.changed_at.unix_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

/// Revokes the account's cards that are not revoked yet, inside a caller's
/// transaction (account closure and eviction revoke cards with everything else).
pub(crate) async fn revoke_cards_in(
    tx: &mut Transaction<'_, Sqlite>,
    account: AccountId,
    reason: CardStatusReason,
    at: Timestamp,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE eid_cards SET status = 'revoked', reason = $1, changed_at = $2 \
         WHERE account_id = $3 AND status <> 'revoked'",
    )
    .bind(reason.name())
    .bind(at.unix_millis())
    .bind(account.as_uuid())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(done.rows_affected())
}

#[async_trait]
impl EidStore for SqliteStore {
    async fn insert_issuer_key(&self, key: &StoredIssuerKey) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        insert_key_in(&mut tx, key).await?;
        tx.commit().await.map_err(db)
    }

    async fn issuer_keys(&self) -> Result<Vec<StoredIssuerKey>, StoreError> {
        sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM eid_issuer_keys ORDER BY created_at, kid"
        ))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(key_from_row)
        .collect()
    }

    async fn rewrap_issuer_key(
        &self,
        kid: &str,
        kek_id: &str,
        wrapped_secret: &[u8],
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE eid_issuer_keys SET kek_id = $1, wrapped_secret = $2 WHERE kid = $3",
        )
        .bind(kek_id)
        .bind(wrapped_secret)
        .bind(kid)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn end_issuer_key_signing(&self, kid: &str, at: Timestamp) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE eid_issuer_keys SET sign_until = $1 \
             WHERE kid = $2 AND sign_until > $1 AND not_before < $1",
        )
        .bind(at.unix_millis())
        .bind(kid)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_trust_list(&self, list: &StoredTrustList) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        insert_list_in(&mut tx, list).await?;
        tx.commit().await.map_err(db)
    }

    async fn latest_trust_list(&self) -> Result<Option<StoredTrustList>, StoreError> {
        sqlx::query(&format!(
            "SELECT {LIST_COLUMNS} FROM eid_trust_lists ORDER BY seq DESC LIMIT 1"
        ))
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(list_from_row)
        .transpose()
    }

    async fn trust_lists(&self) -> Result<Vec<StoredTrustList>, StoreError> {
        sqlx::query(&format!(
            "SELECT {LIST_COLUMNS} FROM eid_trust_lists ORDER BY seq"
        ))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(list_from_row)
        .collect()
    }

    async fn activate_card(&self, card: &StoredCard) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        revoke_cards_in(
            &mut tx,
            card.account,
            CardStatusReason::Replaced,
            card.activated_at,
        )
        .await?;
        // A unique violation (the index is taken, or another activation of the
        // same account committed first) rolls everything back.
        insert_card_in(&mut tx, card).await?;
        tx.commit().await.map_err(db)
    }

    async fn current_card(&self, account: AccountId) -> Result<Option<StoredCard>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CARD_COLUMNS} FROM eid_cards WHERE account_id = $1 AND status <> 'revoked'"
        ))
        .bind(account.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(card_from_row)
        .transpose()
    }

    async fn card_by_status_index(&self, index: u32) -> Result<Option<StoredCard>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CARD_COLUMNS} FROM eid_cards WHERE status_index = $1"
        ))
        .bind(i64::from(index))
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(card_from_row)
        .transpose()
    }

    async fn set_card_status(
        &self,
        card: CardId,
        from: CardStatus,
        to: CardStatus,
        reason: CardStatusReason,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        // A revoked card matches nothing (revocation is final; the trigger
        // would refuse the write).
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE eid_cards SET status = $1, reason = $2, changed_at = $3 \
             WHERE id = $4 AND status = $5 AND status <> 'revoked'",
        )
        .bind(to.name())
        .bind(reason.name())
        .bind(at.unix_millis())
        .bind(card.as_uuid())
        .bind(from.name())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_account_cards(
        &self,
        account: AccountId,
        reason: CardStatusReason,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let revoked = revoke_cards_in(&mut tx, account, reason, at).await?;
        tx.commit().await.map_err(db)?;
        Ok(revoked)
    }

    async fn card_status_entries(&self) -> Result<Vec<CardStatusEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT status_index, status FROM eid_cards WHERE status <> 'active' \
             ORDER BY status_index",
        )
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|r| {
                let status: String = r.try_get("status").map_err(db)?;
                Ok(CardStatusEntry {
                    status_index: index_from(r.try_get("status_index").map_err(db)?)?,
                    status: status_from(&status)?,
                })
            })
            .collect()
    }

    async fn record_device_presentations(
        &self,
        card: CardId,
        presentations: &[DevicePresentation],
        at: Timestamp,
    ) -> Result<Vec<[u8; 16]>, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let mut new = Vec::new();
        for p in presentations {
            let inserted = sqlx::query(
                "INSERT INTO eid_device_presentations (cti, card_id, issued_at, reported_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (cti) DO NOTHING",
            )
            .bind(p.cti.as_slice())
            .bind(card.as_uuid())
            .bind(p.issued_at.unix_millis())
            .bind(at.unix_millis())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            if inserted.rows_affected() == 1 {
                new.push(p.cti);
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(new)
    }

    async fn cards(
        &self,
        after: Option<CardId>,
        limit: u32,
    ) -> Result<Vec<StoredCard>, StoreError> {
        let rows = match after {
            Some(after) => {
                sqlx::query(&format!(
                    "SELECT {CARD_COLUMNS} FROM eid_cards WHERE id > $1 ORDER BY id LIMIT $2"
                ))
                .bind(after.as_uuid())
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {CARD_COLUMNS} FROM eid_cards ORDER BY id LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await
            }
        }
        .map_err(db)?;
        rows.into_iter().map(card_from_row).collect()
    }

    async fn import_eid(
        &self,
        keys: &[StoredIssuerKey],
        lists: &[StoredTrustList],
        cards: &[StoredCard],
    ) -> Result<(), StoreError> {
        if keys.is_empty() && lists.is_empty() && cards.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for key in keys {
            insert_key_in(&mut tx, key).await?;
        }
        for list in lists {
            insert_list_in(&mut tx, list).await?;
        }
        for card in cards {
            insert_card_in(&mut tx, card).await?;
        }
        tx.commit().await.map_err(db)
    }
}
