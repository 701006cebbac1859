//! What an authenticated staff member may do, as values.
//!
//! [`authorize`] turns a [`StaffMember`] (only a successful login makes one)
//! into [`Capabilities`]. Each capability type has private fields, so no code
//! outside this module can make one; every staff operation takes the capability
//! it needs as a parameter. Permissions are therefore checked by the compiler,
//! not by `if role == …` in handlers.
//!
//! | role          | capabilities                          |
//! |---------------|---------------------------------------|
//! | clerk         | [`ClerkCap`]                          |
//! | reviewer      | [`ReviewerCap`]                       |
//! | supervisor    | [`ClerkCap`], [`ReviewerCap`], [`SupervisorCap`] |
//! | auditor       | [`AuditorCap`] (read only)            |
//! | administrator | [`AdminCap`] (staff management, no casework) |
//!
//! Beside the role: [`IdentityCheckCap`] and [`CorrectionDeskCap`] for the
//! public security bureau's casework roles, [`BreakGlassCap`] for casework
//! roles outside platform operations, [`VerifierRegistrarCap`] for platform
//! operations' administrators.
//!
//! A supervisor lists their department's staff:
//!
//! ```no_run
//! use shengshi_app::staff::capability::SupervisorCap;
//! use shengshi_app::staff::{supervisor, StaffAccounts};
//! use shengshi_domain::{Department, StaffId};
//!
//! async fn team(cap: &SupervisorCap, accounts: &StaffAccounts) {
//!     let staff = supervisor::list_department_staff(cap, accounts).await;
//!     let (_who, department): (StaffId, Department) = (cap.staff(), cap.department());
//!     println!("{} staff in {department}", staff.map(|s| s.len()).unwrap_or(0));
//! }
//! ```
//!
//! A clerk's capability is not a supervisor's, so this does not compile:
//!
//! ```compile_fail
//! use shengshi_app::staff::capability::ClerkCap;
//! use shengshi_app::staff::{supervisor, StaffAccounts};
//!
//! async fn team(cap: &ClerkCap, accounts: &StaffAccounts) {
//!     let _ = supervisor::list_department_staff(cap, accounts).await;
//! }
//! ```
//!
//! Nor may a supervisor manage staff, which takes an administrator's capability:
//!
//! ```compile_fail
//! use shengshi_app::staff::capability::SupervisorCap;
//! use shengshi_app::staff::{admin, StaffAccounts};
//! use shengshi_domain::StaffId;
//!
//! async fn fire(cap: &SupervisorCap, accounts: &StaffAccounts, id: StaffId) {
//!     let _ = admin::disable_staff(cap, accounts, id).await;
//! }
//! ```
//!
//! Verifier organisations (hotels, stations, banks) are registered only by
//! administrators of platform operations, who hold [`VerifierRegistrarCap`];
//! a clerk cannot approve an application:
//!
//! ```no_run
//! use shengshi_app::staff::capability::VerifierRegistrarCap;
//! use shengshi_app::secrets::PlatformSecrets;
//! use shengshi_app::verifier_applications;
//! use shengshi_app::Services;
//!
//! async fn register(cap: &VerifierRegistrarCap, services: &Services, secrets: &PlatformSecrets, id: uuid::Uuid) {
//!     let _ = verifier_applications::approve(services, secrets, cap, id).await;
//! }
//! ```
//!
//! ```compile_fail
//! use shengshi_app::staff::capability::ClerkCap;
//! use shengshi_app::secrets::PlatformSecrets;
//! use shengshi_app::verifier_applications;
//! use shengshi_app::Services;
//!
//! async fn register(cap: &ClerkCap, services: &Services, secrets: &PlatformSecrets, id: uuid::Uuid) {
//!     let _ = verifier_applications::approve(services, secrets, cap, id).await;
//! }
//! ```
//!
//! And nobody outside this module can mint a capability:
//!
//! ```compile_fail
//! use shengshi_app::staff::capability::AdminCap;
//! use shengshi_domain::{Department, StaffId};
//!
//! let forged = AdminCap { staff: StaffId::new(), department: Department::PlatformOperations, role: shengshi_domain::Role::Administrator };
//! ```

use shengshi_domain::{Department, Role, StaffId};

use super::StaffMember;

macro_rules! capability {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            staff: StaffId,
            department: Department,
            role: Role,
        }

        impl $name {
            fn mint(member: &StaffMember) -> Self {
                Self {
                    staff: member.id(),
                    department: member.department(),
                    role: member.role(),
                }
            }

            /// The holder's role (what a resident's access log shows of them).
            pub fn role(&self) -> Role {
                self.role
            }

            /// The staff member holding the capability.
            pub fn staff(&self) -> StaffId {
                self.staff
            }

            /// The department the capability is limited to.
            pub fn department(&self) -> Department {
                self.department
            }
        }
    };
}

capability!(
    /// Handles the department's cases.
    ClerkCap
);
capability!(
    /// Checks and decides the department's cases.
    ReviewerCap
);
capability!(
    /// Leads the department: sees its staff.
    SupervisorCap
);
capability!(
    /// Reads for oversight; every operation taking it is read-only.
    AuditorCap
);
capability!(
    /// Manages staff accounts (any department); no casework.
    AdminCap
);
capability!(
    /// Compares a resident with their identity card at a counter, which raises
    /// their account towards L3 and evicts a squatter. Only clerks and
    /// supervisors of the public security bureau (the 户政 counters that issue
    /// the cards) hold it.
    IdentityCheckCap
);
capability!(
    /// Works the queue of residents' correction requests (PIPL Art. 46):
    /// takes a request, opens the resident's record for it while it is
    /// assigned to them, and decides it. Held by the clerks, reviewers and
    /// supervisors of the public security bureau, whose household
    /// registration (户政) keeps the records corrections are about.
    CorrectionDeskCap
);
capability!(
    /// Opens a resident's record without assigned work, in an emergency
    /// ("break-glass"): only with a written justification, and the
    /// department's supervisors are alerted. Held by the casework roles
    /// (clerk, reviewer, supervisor) of every department but platform
    /// operations; auditors and administrators hold none.
    BreakGlassCap
);
capability!(
    /// Registers verifier organisations (approves or refuses their
    /// applications), rotates their keys, suspends and resumes them. Only
    /// administrators of platform operations hold it: who may read residents'
    /// e-ID codes is a platform decision, kept apart from any casework.
    VerifierRegistrarCap
);

/// Everything one staff member may do. A field is `None` when the role does
/// not grant that capability.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub clerk: Option<ClerkCap>,
    pub reviewer: Option<ReviewerCap>,
    pub supervisor: Option<SupervisorCap>,
    pub auditor: Option<AuditorCap>,
    pub admin: Option<AdminCap>,
    pub identity_check: Option<IdentityCheckCap>,
    pub correction_desk: Option<CorrectionDeskCap>,
    pub break_glass: Option<BreakGlassCap>,
    pub verifier_registrar: Option<VerifierRegistrarCap>,
}

impl Capabilities {
    /// True when no capability at all was granted.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The one place where a role becomes capabilities. A disabled member gets none.
pub fn authorize(member: &StaffMember) -> Capabilities {
    if member.is_disabled() {
        return Capabilities::default();
    }
    let mut caps = Capabilities::default();
    match member.role() {
        Role::Clerk => caps.clerk = Some(ClerkCap::mint(member)),
        Role::Reviewer => caps.reviewer = Some(ReviewerCap::mint(member)),
        Role::Supervisor => {
            caps.clerk = Some(ClerkCap::mint(member));
            caps.reviewer = Some(ReviewerCap::mint(member));
            caps.supervisor = Some(SupervisorCap::mint(member));
        }
        Role::Auditor => caps.auditor = Some(AuditorCap::mint(member)),
        Role::Administrator => caps.admin = Some(AdminCap::mint(member)),
    }
    if member.department() == Department::PublicSecurity
        && matches!(member.role(), Role::Clerk | Role::Supervisor)
    {
        caps.identity_check = Some(IdentityCheckCap::mint(member));
    }
    let casework = matches!(
        member.role(),
        Role::Clerk | Role::Reviewer | Role::Supervisor
    );
    if casework && member.department() == Department::PublicSecurity {
        caps.correction_desk = Some(CorrectionDeskCap::mint(member));
    }
    if casework && member.department() != Department::PlatformOperations {
        caps.break_glass = Some(BreakGlassCap::mint(member));
    }
    if member.department() == Department::PlatformOperations && member.role() == Role::Administrator
    {
        caps.verifier_registrar = Some(VerifierRegistrarCap::mint(member));
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: Role) -> StaffMember {
        StaffMember::new_unchecked(
            StaffId::new(),
            "li.wei".to_owned(),
            "李伟".to_owned(),
            Department::CivilAffairs,
            role,
            false,
        )
    }

    #[test]
    fn each_role_gets_exactly_its_capabilities() {
        let clerk = authorize(&member(Role::Clerk));
        assert!(clerk.clerk.is_some());
        assert!(clerk.reviewer.is_none() && clerk.supervisor.is_none());
        assert!(clerk.auditor.is_none() && clerk.admin.is_none());

        let supervisor_member = member(Role::Supervisor);
        let supervisor = authorize(&supervisor_member);
        assert!(supervisor.clerk.is_some() && supervisor.reviewer.is_some());
        assert!(supervisor.auditor.is_none() && supervisor.admin.is_none());
        let cap = supervisor.supervisor.expect("supervisor cap");
        assert_eq!(cap.staff(), supervisor_member.id());
        assert_eq!(cap.department(), Department::CivilAffairs);

        let auditor = authorize(&member(Role::Auditor));
        assert!(auditor.auditor.is_some() && auditor.clerk.is_none());
        assert!(auditor.reviewer.is_none() && auditor.supervisor.is_none());
        assert!(auditor.admin.is_none());

        let admin = authorize(&member(Role::Administrator));
        assert!(admin.admin.is_some());
        assert!(admin.clerk.is_none() && admin.reviewer.is_none());
        assert!(admin.supervisor.is_none() && admin.auditor.is_none());
    }

    #[test]
    fn only_public_security_clerks_and_supervisors_check_identities_at_counters() {
        let in_department = |department, role| {
            let mut m = member(role);
            m.department = department;
            authorize(&m).identity_check
        };
        assert!(in_department(Department::PublicSecurity, Role::Clerk).is_some());
        assert!(in_department(Department::PublicSecurity, Role::Supervisor).is_some());
        assert!(in_department(Department::PublicSecurity, Role::Reviewer).is_none());
        assert!(in_department(Department::PublicSecurity, Role::Administrator).is_none());
        assert!(in_department(Department::CivilAffairs, Role::Clerk).is_none());
        assert!(in_department(Department::Tax, Role::Supervisor).is_none());
    }

    #[test]
    fn casework_roles_may_break_glass_and_public_security_works_corrections() {
        let caps = |department, role| {
            let mut m = member(role);
            m.department = department;
            authorize(&m)
        };
        for role in [Role::Clerk, Role::Reviewer, Role::Supervisor] {
            assert!(caps(Department::PublicSecurity, role)
                .correction_desk
                .is_some());
            assert!(caps(Department::CivilAffairs, role)
                .correction_desk
                .is_none());
            assert!(caps(Department::Tax, role).break_glass.is_some());
            assert!(caps(Department::PlatformOperations, role)
                .break_glass
                .is_none());
        }
        for role in [Role::Auditor, Role::Administrator] {
            let c = caps(Department::PublicSecurity, role);
            assert!(c.correction_desk.is_none() && c.break_glass.is_none());
        }
    }

    #[test]
    fn only_platform_operations_administrators_register_verifiers() {
        let in_department = |department, role| {
            let mut m = member(role);
            m.department = department;
            authorize(&m).verifier_registrar
        };
        let cap = in_department(Department::PlatformOperations, Role::Administrator)
            .expect("platform operations administrator");
        assert_eq!(cap.department(), Department::PlatformOperations);
        assert!(in_department(Department::PlatformOperations, Role::Supervisor).is_none());
        assert!(in_department(Department::PlatformOperations, Role::Clerk).is_none());
        assert!(in_department(Department::CivilAffairs, Role::Administrator).is_none());
        assert!(in_department(Department::PublicSecurity, Role::Supervisor).is_none());
    }

    #[test]
    fn a_disabled_member_gets_nothing() {
        let mut m = member(Role::Administrator);
        m.disabled = true;
        assert!(authorize(&m).is_empty());
    }
}
