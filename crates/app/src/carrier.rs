//! The mobile-carrier check (运营商三要素核验): is this phone number registered,
//! under real-name rules, to this name and ID number? A registry match alone
//! proves only that someone knows a name and a number; this ties the phone the
//! codes go to to the same person.

use shengshi_domain::{PersonName, PhoneNumber, ResidentIdNumber};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CarrierVerdict {
    /// The carrier's records hold this number under this name and ID number.
    Consistent,
    /// The number is registered to someone else (or under another name).
    Inconsistent,
    /// The carrier has no record of the number.
    NoRecord,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    #[error("the carrier check did not answer in time")]
    Timeout,
    #[error("the carrier check is unavailable: {0}")]
    Unavailable(String),
    #[error("the carrier check refused the request: {0}")]
    Refused(String),
}

#[async_trait::async_trait]
pub trait CarrierCheck: Send + Sync + std::fmt::Debug {
    async fn three_factor(
        &self,
        name: &PersonName,
        id_number: &ResidentIdNumber,
        phone: &PhoneNumber,
    ) -> Result<CarrierVerdict, CarrierError>;
}
