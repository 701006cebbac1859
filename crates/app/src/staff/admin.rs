//! Staff management: only an administrator's [`AdminCap`] opens it.

use shengshi_domain::{Actor, SecurityEventKind, StaffId};

use super::capability::AdminCap;
use super::{Enrolled, NewStaff, StaffAccounts, StaffError};

/// Creates a staff account in any department.
pub async fn add_staff(
    cap: &AdminCap,
    accounts: &StaffAccounts,
    new: NewStaff,
) -> Result<Enrolled, StaffError> {
    accounts.add(Actor::Staff { id: cap.staff() }, new).await
}

/// Disables an account: it can no longer log in, and every session it has
/// ends (authentication also refuses a disabled member, so a session that
/// slips past the revocation still opens nothing). Idempotent.
pub async fn disable_staff(
    cap: &AdminCap,
    accounts: &StaffAccounts,
    id: StaffId,
) -> Result<(), StaffError> {
    if !accounts.store.set_staff_disabled(id, true).await? {
        return Err(StaffError::NotFound);
    }
    accounts
        .store
        .revoke_all_staff_sessions(id, accounts.clock.now())
        .await?;
    accounts
        .log
        .record(
            Actor::Staff { id: cap.staff() },
            SecurityEventKind::StaffDisabled { staff: id },
        )
        .await?;
    Ok(())
}
