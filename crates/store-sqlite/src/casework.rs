//! Correction assignments and break-glass accesses on SQLite (see
//! `shengshi_store::CaseWorkStore`).

use async_trait::async_trait;
use shengshi_domain::{AccountId, Department, StaffId, Timestamp};
use shengshi_store::{
    BreakGlassOutcome, BreakGlassReview, CaseWorkStore, CorrectionCase, StoreError,
    StoredAssignment, StoredBreakGlass, StoredCorrection,
};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use crate::{db, timestamp, SqliteStore};

const CASE_COLUMNS: &str = "c.id, c.account_id, c.field, c.sealed_value, c.sealed_explanation, \
     c.status, c.created_at, c.decided_at, a.staff_id, a.assigned_by, a.assigned_at, \
     a.decided_by, a.sealed_note";
const CASE_FROM: &str =
    "correction_requests c LEFT JOIN correction_assignments a ON a.correction_id = c.id";
const ASSIGNMENT_COLUMNS: &str =
    "correction_id, staff_id, assigned_by, assigned_at, decided_by, sealed_note";
const BREAK_GLASS_COLUMNS: &str = "id, staff_id, department, account_id, justification, \
     created_at, reviewed_by, reviewed_at, outcome, review_note";

fn staff_opt(r: &SqliteRow, column: &str) -> Result<Option<StaffId>, StoreError> {
    Ok(r.try_get::<Option<Uuid>, _>(column)
        .map_err(db)?
        .map(StaffId::from_uuid))
}

fn assignment_from(r: &SqliteRow, id_column: &str) -> Result<Option<StoredAssignment>, StoreError> {
    let Some(staff) = staff_opt(r, "staff_id")? else {
        return Ok(None);
    };
    Ok(Some(StoredAssignment {
        correction: r.try_get(id_column).map_err(db)?,
        staff,
        assigned_by: StaffId::from_uuid(r.try_get("assigned_by").map_err(db)?),
        assigned_at: timestamp(r.try_get("assigned_at").map_err(db)?)?,
        decided_by: staff_opt(r, "decided_by")?,
        sealed_note: r.try_get("sealed_note").map_err(db)?,
    }))
}

fn case_from_row(r: SqliteRow) -> Result<CorrectionCase, StoreError> {
    Ok(CorrectionCase {
        correction: StoredCorrection {
            id: r.try_get("id").map_err(db)?,
            account: AccountId::from_uuid(r.try_get("account_id").map_err(db)?),
            field: r.try_get("field").map_err(db)?,
            sealed_value: r.try_get("sealed_value").map_err(db)?,
            sealed_explanation: r.try_get("sealed_explanation").map_err(db)?,
            status: r.try_get("status").map_err(db)?,
            created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
            decided_at: r
                .try_get::<Option<i64>, _>("decided_at")
                .map_err(db)?
                .map(timestamp)
                .transpose()?,
        },
        assignment: assignment_from(&r, "id")?,
    })
}

fn break_glass_from_row(r: SqliteRow) -> Result<StoredBreakGlass, StoreError> {
    let department: String = r.try_get("department").map_err(db)?;
    let review = match staff_opt(&r, "reviewed_by")? {
        None => None,
        Some(by) => {
            let outcome: String = r.try_get("outcome").map_err(db)?;
            Some(BreakGlassReview {
                by,
                at: timestamp(r.try_get("reviewed_at").map_err(db)?)?,
                outcome: BreakGlassOutcome::from_name(&outcome).ok_or_else(|| {
                    StoreError::Corrupt(format!("break-glass outcome {outcome:?}"))
                })?,
                note: r.try_get("review_note").map_err(db)?,
            })
        }
    };
    Ok(StoredBreakGlass {
        id: r.try_get("id").map_err(db)?,
        staff: StaffId::from_uuid(r.try_get("staff_id").map_err(db)?),
        department: Department::from_name(&department)
            .ok_or_else(|| StoreError::Corrupt(format!("break-glass department {department:?}")))?,
        account: AccountId::from_uuid(r.try_get("account_id").map_err(db)?),
        justification: r.try_get("justification").map_err(db)?,
        created_at: timestamp(r.try_get("created_at").map_err(db)?)?,
        review,
    })
}

#[async_trait]
impl CaseWorkStore for SqliteStore {
    async fn open_correction_cases(&self, limit: u32) -> Result<Vec<CorrectionCase>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM {CASE_FROM} WHERE c.status = 'open' \
             ORDER BY c.created_at, c.id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(case_from_row)
        .collect()
    }

    async fn correction_case(&self, id: Uuid) -> Result<Option<CorrectionCase>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM {CASE_FROM} WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(case_from_row)
        .transpose()
    }

    async fn assign_correction(
        &self,
        assignment: &StoredAssignment,
        expected: Option<StaffId>,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let open: Option<String> =
            sqlx::query_scalar("SELECT status FROM correction_requests WHERE id = $1")
                .bind(assignment.correction)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        if open.as_deref() != Some("open") {
            return Ok(false);
        }
        let changed = match expected {
            None => sqlx::query(&format!(
                "INSERT INTO correction_assignments ({ASSIGNMENT_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, NULL, NULL) ON CONFLICT (correction_id) DO NOTHING"
            ))
            .bind(assignment.correction)
            .bind(assignment.staff.as_uuid())
            .bind(assignment.assigned_by.as_uuid())
            .bind(assignment.assigned_at.unix_millis())
            .execute(&mut *tx)
            .await
            .map_err(db)?,
            Some(current) => sqlx::query(
                "UPDATE correction_assignments SET staff_id = $1, assigned_by = $2, \
                 assigned_at = $3 WHERE correction_id = $4 AND staff_id = $5 \
                 AND decided_by IS NULL",
            )
            .bind(assignment.staff.as_uuid())
            .bind(assignment.assigned_by.as_uuid())
            .bind(assignment.assigned_at.unix_millis())
            .bind(assignment.correction)
            .bind(current.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db)?,
        };
        tx.commit().await.map_err(db)?;
        Ok(changed.rows_affected() == 1)
    }

    async fn decide_correction(
        &self,
        id: Uuid,
        by: StaffId,
        status: &str,
        sealed_note: &[u8],
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let noted = sqlx::query(
            "UPDATE correction_assignments SET decided_by = $1, sealed_note = $2 \
             WHERE correction_id = $3 AND staff_id = $4 AND decided_by IS NULL",
        )
        .bind(by.as_uuid())
        .bind(sealed_note)
        .bind(id)
        .bind(by.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if noted.rows_affected() != 1 {
            return Ok(false);
        }
        let decided = sqlx::query(
            "UPDATE correction_requests SET status = $1, decided_at = $2 \
             WHERE id = $3 AND status = 'open'",
        )
        .bind(status)
        .bind(at.unix_millis())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if decided.rows_affected() != 1 {
            return Ok(false);
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn correction_assignments(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredAssignment>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM correction_assignments WHERE correction_id > $1 \
             ORDER BY correction_id LIMIT $2"
        ))
        .bind(after.unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if let Some(a) = assignment_from(&r, "correction_id")? {
                out.push(a);
            }
        }
        Ok(out)
    }

    async fn insert_correction_assignments(
        &self,
        assignments: &[StoredAssignment],
    ) -> Result<(), StoreError> {
        if assignments.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for a in assignments {
            sqlx::query(&format!(
                "INSERT INTO correction_assignments ({ASSIGNMENT_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6)"
            ))
            .bind(a.correction)
            .bind(a.staff.as_uuid())
            .bind(a.assigned_by.as_uuid())
            .bind(a.assigned_at.unix_millis())
            .bind(a.decided_by.map(|s| s.as_uuid()))
            .bind(&a.sealed_note)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn insert_break_glass(&self, access: &StoredBreakGlass) -> Result<(), StoreError> {
        self.insert_break_glass_accesses(std::slice::from_ref(access))
            .await
    }

    async fn break_glass(&self, id: Uuid) -> Result<Option<StoredBreakGlass>, StoreError> {
        sqlx::query(&format!(
            "SELECT {BREAK_GLASS_COLUMNS} FROM break_glass_accesses WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        .map(break_glass_from_row)
        .transpose()
    }

    async fn department_break_glass(
        &self,
        department: Department,
        unreviewed_only: bool,
        limit: u32,
    ) -> Result<Vec<StoredBreakGlass>, StoreError> {
        sqlx::query(&format!(
            "SELECT {BREAK_GLASS_COLUMNS} FROM break_glass_accesses WHERE department = $1 \
             AND ($2 = 0 OR reviewed_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(department.name())
        .bind(i64::from(unreviewed_only))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(break_glass_from_row)
        .collect()
    }

    async fn review_break_glass(
        &self,
        id: Uuid,
        review: &BreakGlassReview,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE break_glass_accesses SET reviewed_by = $1, reviewed_at = $2, outcome = $3, \
             review_note = $4 WHERE id = $5 AND reviewed_at IS NULL",
        )
        .bind(review.by.as_uuid())
        .bind(review.at.unix_millis())
        .bind(review.outcome.name())
        .bind(&review.note)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn break_glass_accesses(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredBreakGlass>, StoreError> {
        sqlx::query(&format!(
            "SELECT {BREAK_GLASS_COLUMNS} FROM break_glass_accesses WHERE id > $1 \
             ORDER BY id LIMIT $2"
        ))
        .bind(after.unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?
        .into_iter()
        .map(break_glass_from_row)
        .collect()
    }

    async fn insert_break_glass_accesses(
        &self,
        accesses: &[StoredBreakGlass],
    ) -> Result<(), StoreError> {
        if accesses.is_empty() {
            return Ok(());
        }
        let (_turn, mut tx) = self.begin_write().await?;
        for a in accesses {
            let review = a.review.as_ref();
            sqlx::query(&format!(
                "INSERT INTO break_glass_accesses ({BREAK_GLASS_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(a.id)
            .bind(a.staff.as_uuid())
            .bind(a.department.name())
            .bind(a.account.as_uuid())
            .bind(&a.justification)
            .bind(a.created_at.unix_millis())
            .bind(review.map(|r| r.by.as_uuid()))
            .bind(review.map(|r| r.at.unix_millis()))
            .bind(review.map(|r| r.outcome.name()))
            .bind(review.and_then(|r| r.note.clone()))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }
}
