//! Mandates on SQLite (see `shengshi_store::MandateStore`).
//!
//! Every write runs under `BEGIN IMMEDIATE` (the database's one write lock), so a
//! revocation and an action are serialised: an action's transaction reads the
//! mandate as the last committed revocation left it.

use async_trait::async_trait;
use shengshi_domain::mandate::{
    can_act, ActionCode, Mandate, MandateAction, MandateRecord, Relationship, ServiceCode,
    ServiceSet,
};
use shengshi_domain::{AccountId, MandateActionId, MandateId, Timestamp};
use shengshi_store::{ActionRefused, MandateStore, Revocation, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::{corrupt, db, timestamp, SqliteStore};

const MANDATE_COLUMNS: &str =
    "id, grantor, grantee, relationship, services, valid_from, valid_until, revoked_at, created_at";
const ACTION_COLUMNS: &str = "id, mandate_id, actor, service, action, at";
/// Far more than a resident gives or receives; a bound on one answer.
const LIST_LIMIT: i64 = 1_000;
/// The most actions one answer holds.
const ACTIONS_LIMIT: i64 = 10_000;

fn mandate_from_row(r: SqliteRow) -> Result<Mandate, StoreError> {
    let relationship: String = r.try_get("relationship").map_err(db)?;
    let services: String = r.try_get("services").map_err(db)?;
    let revoked_at: Option<i64> = r.try_get("revoked_at").map_err(db)?;
    let record = MandateRecord {
        id: MandateId::from_uuid(r.try_get("id").map_err(db)?),
        grantor: AccountId::from_uuid(r.try_get("grantor").map_err(db)?),
        grantee: AccountId::from_uuid(r.try_get("grantee").map_err(db)?),
        relationship: Relationship::from_name(&relationship)
            .ok_or_else(|| StoreError::Corrupt(format!("relationship {relationship:?}")))?,
        services: serde_json::from_str::<ServiceSet>(&services)
            .map_err(corrupt("mandate services"))?,
        valid_from: timestamp(r.try_get("valid_from").map_err(db)?)?,
        valid_until: timestamp(r.try_get("valid_until").map_err(db)?)?,
        revoked_at: revoked_at.map(timestamp).transpose()?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
    };
    Mandate::restore(record).map_err(|e| StoreError::Corrupt(format!("mandate: {e}")))
}

fn action_from_row(r: SqliteRow) -> Result<MandateAction, StoreError> {
    let service: String = r.try_get("service").map_err(db)?;
    let action: String = r.try_get("action").map_err(db)?;
    Ok(MandateAction {
        id: MandateActionId::from_uuid(r.try_get("id").map_err(db)?),
        mandate: MandateId::from_uuid(r.try_get("mandate_id").map_err(db)?),
        actor: AccountId::from_uuid(r.try_get("actor").map_err(db)?),
        service: ServiceCode::parse(&service)
            .map_err(|e| StoreError::Corrupt(format!("action service: {e}")))?,
        action: ActionCode::parse(&action)
            .map_err(|e| StoreError::Corrupt(format!("action code: {e}")))?,
        at: timestamp(r.try_get("at").map_err(db)?)?,
    })
}

async fn insert_mandate_in(
    tx: &mut Transaction<'_, Sqlite>,
    m: &Mandate,
) -> Result<(), StoreError> {
    let services = serde_json::to_string(m.services()).map_err(corrupt("mandate services"))?;
    sqlx::query(&format!(
        "INSERT INTO mandates ({MANDATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(m.id().as_uuid())
    .bind(m.grantor().as_uuid())
    .bind(m.grantee().as_uuid())
    .bind(m.relationship().name())
    .bind(services)
    .bind(m.valid_from().unix_millis())
    .bind(m.valid_until().unix_millis())
    .bind(m.revoked_at().map(|t| t.unix_millis()))
    .bind(m.created_at().unix_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

async fn insert_action_in(
    tx: &mut Transaction<'_, Sqlite>,
    a: &MandateAction,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO mandate_actions ({ACTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(a.id.as_uuid())
    .bind(a.mandate.as_uuid())
    .bind(a.actor.as_uuid())
    .bind(a.service.as_str())
    .bind(a.action.as_str())
    .bind(a.at.unix_millis())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

async fn mandate_in(
    tx: &mut Transaction<'_, Sqlite>,
    id: MandateId,
) -> Result<Option<Mandate>, StoreError> {
    sqlx::query(&format!(
        "SELECT {MANDATE_COLUMNS} FROM mandates WHERE id = $1"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut **tx)
    .await
    .map_err(db)?
    .map(mandate_from_row)
    .transpose()
}

impl SqliteStore {
    async fn mandates_where(
        &self,
        column: &str,
        account: AccountId,
    ) -> Result<Vec<Mandate>, StoreError> {
        sqlx::query(&format!(
            "SELECT {MANDATE_COLUMNS} FROM mandates WHERE {column} = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(account.as_uuid())
        .bind(LIST_LIMIT)
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(mandate_from_row)
        .collect()
    }
}

#[async_trait]
impl MandateStore for SqliteStore {
    async fn insert_mandate(&self, mandate: &Mandate) -> Result<(), StoreError> {
        self.insert_mandates(std::slice::from_ref(mandate)).await
    }

    async fn mandate(&self, id: MandateId) -> Result<Option<Mandate>, StoreError> {
        sqlx::query(&format!(
            "SELECT {MANDATE_COLUMNS} FROM mandates WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(mandate_from_row)
        .transpose()
    }

    async fn mandates_by_grantor(&self, grantor: AccountId) -> Result<Vec<Mandate>, StoreError> {
        self.mandates_where("grantor", grantor).await
    }

    async fn mandates_by_grantee(&self, grantee: AccountId) -> Result<Vec<Mandate>, StoreError> {
        self.mandates_where("grantee", grantee).await
    }

    async fn revoke_mandate(
        &self,
        id: MandateId,
        grantor: AccountId,
        at: Timestamp,
    ) -> Result<Revocation, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let Some(mut mandate) = mandate_in(&mut tx, id).await? else {
            return Ok(Revocation::NotFound);
        };
        if mandate.grantor() != grantor {
            return Ok(Revocation::NotFound);
        }
        if !mandate.revoke(at) {
            return Ok(Revocation::AlreadyRevoked(mandate));
        }
        sqlx::query("UPDATE mandates SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at.unix_millis())
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Revocation::Revoked(mandate))
    }

    async fn record_mandate_action(&self, action: &MandateAction) -> Result<(), ActionRefused> {
        let (_turn, mut tx) = self.begin_write().await?;
        let mandate = mandate_in(&mut tx, action.mandate)
            .await?
            .ok_or(ActionRefused::NoSuchMandate)?;
        can_act(&mandate, action.actor, &action.service, action.at)?;
        insert_action_in(&mut tx, action).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn mandate_actions_for_grantor(
        &self,
        grantor: AccountId,
    ) -> Result<Vec<MandateAction>, StoreError> {
        sqlx::query(
            "SELECT a.id, a.mandate_id, a.actor, a.service, a.action, a.at \
             FROM mandate_actions a JOIN mandates m ON m.id = a.mandate_id \
             WHERE m.grantor = $1 ORDER BY a.at, a.id LIMIT $2",
        )
        .bind(grantor.as_uuid())
        .bind(ACTIONS_LIMIT)
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(action_from_row)
        .collect()
    }

    async fn mandates(
        &self,
        after: Option<MandateId>,
        limit: u32,
    ) -> Result<Vec<Mandate>, StoreError> {
        let after = after.map(|id| id.as_uuid()).unwrap_or_default();
        sqlx::query(&format!(
            "SELECT {MANDATE_COLUMNS} FROM mandates WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(mandate_from_row)
        .collect()
    }

    async fn mandate_actions(
        &self,
        after: Option<MandateActionId>,
        limit: u32,
    ) -> Result<Vec<MandateAction>, StoreError> {
        let after = after.map(|id| id.as_uuid()).unwrap_or_default();
        sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM mandate_actions WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(action_from_row)
        .collect()
    }

    async fn insert_mandates(&self, mandates: &[Mandate]) -> Result<(), StoreError> {
        if mandates.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for m in mandates {
            insert_mandate_in(&mut tx, m).await?;
        }
        tx.commit().await.map_err(db)
    }

    async fn insert_mandate_actions(&self, actions: &[MandateAction]) -> Result<(), StoreError> {
        if actions.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for a in actions {
            insert_action_in(&mut tx, a).await?;
        }
        tx.commit().await.map_err(db)
    }
}
