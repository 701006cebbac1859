//! Shengshi's domain: types and rules with no I/O.
//!
//! Nothing here touches a database, a socket or the system clock directly;
//! the clock is a trait so that tests can set it.

pub mod access;
pub mod account;
pub mod clock;
pub mod id;
pub mod identity;
pub mod mandate;
pub mod phone;
pub mod security;
pub mod staff;

pub use account::AssuranceLevel;
pub use clock::{CivilDate, Clock, FixedClock, SystemClock, Timestamp};
pub use id::{
    AccountId, CardId, EmbargoId, EventId, InstallationId, MandateActionId, MandateId, StaffId,
    SubjectId,
};
pub use identity::{
    DocumentKind, ForeignPermanentResidentIdCard, HkMacaoTaiwanRegion,
    HkMacaoTaiwanResidencePermit, IdNumberError, IdentityDocument, PersonName, PersonNameError,
    RegionCode, ResidentIdNumber, Sex,
};
pub use phone::{PhoneCode, PhoneNumber};
pub use security::{Actor, SecurityEvent, SecurityEventKind};
pub use staff::{Department, Role};
