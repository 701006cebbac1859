//! A supervisor's view of their department: only a [`SupervisorCap`] opens it.

use super::capability::SupervisorCap;
use super::{StaffAccounts, StaffError, StaffSummary};

/// The staff of the supervisor's own department, ordered by username.
pub async fn list_department_staff(
    cap: &SupervisorCap,
    accounts: &StaffAccounts,
) -> Result<Vec<StaffSummary>, StaffError> {
    accounts
        .store
        .staff_in_department(cap.department().name())
        .await?
        .iter()
        .map(|s| StaffSummary::from_stored(s).map_err(StaffError::from))
        .collect()
}
