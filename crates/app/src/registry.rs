//! The population registry: the authority for real-name checks.
//!
//! Two implementations stand behind [`PopulationRegistry`]: a registry kept in
//! our own database (loaded by `shengshi registry import`, and seeded with
//! fictional residents in demo mode), and an HTTP client for a province's
//! external registry. Registry records are personal data: the database copy
//! is stored in the encryption envelope.

use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::identity::Sex;
use shengshi_domain::{CivilDate, PersonName, ResidentIdNumber};

/// Whether a registered person can hold an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifeStatus {
    Alive,
    Deceased,
    Emigrated,
}

impl LifeStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Alive => "alive",
            Self::Deceased => "deceased",
            Self::Emigrated => "emigrated",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "alive" => Some(Self::Alive),
            "deceased" => Some(Self::Deceased),
            "emigrated" => Some(Self::Emigrated),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaritalStatus {
    Unmarried,
    Married,
    Divorced,
    Widowed,
}

impl MaritalStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Unmarried => "unmarried",
            Self::Married => "married",
            Self::Divorced => "divorced",
            Self::Widowed => "widowed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "unmarried" => Some(Self::Unmarried),
            "married" => Some(Self::Married),
            "divorced" => Some(Self::Divorced),
            "widowed" => Some(Self::Widowed),
            _ => None,
        }
    }
}

/// What the registry holds about one person. Personal data: Debug is masked.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryRecord {
    pub id_number: ResidentIdNumber,
    pub name: PersonName,
    pub sex: Sex,
    pub birth_date: CivilDate,
    pub address: String,
    pub marital_status: MaritalStatus,
    pub life_status: LifeStatus,
    /// A JPEG or PNG portrait, when the registry has one.
    pub photo: Option<Vec<u8>>,
    /// True for generated demo residents: never a real person.
    pub fictional: bool,
}

impl std::fmt::Debug for RegistryRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryRecord")
            .field("id_number", &self.id_number)
            .field("name", &self.name)
            .field("life_status", &self.life_status)
            .field("fictional", &self.fictional)
            .finish_non_exhaustive()
    }
}

/// The registry's answer to "is this person who they say they are?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryAnswer {
    /// The number exists, the name matches, and the person is alive and resident.
    Match(Box<RegistryRecord>),
    /// The number exists but the name does not match.
    NameMismatch,
    /// No such number in the registry.
    NotFound,
    /// The person has died; no account may be opened.
    Deceased,
    /// The person has emigrated (household registration cancelled).
    Emigrated,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("the population registry did not answer in time")]
    Timeout,
    #[error("the population registry is unavailable: {0}")]
    Unavailable(String),
    #[error("the population registry answered something unreadable: {0}")]
    Malformed(String),
}

/// Who asks the registry, and why: a record kept in our own database is
/// opened through the door, and this is what the access log records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryQuery {
    pub accessor: Accessor,
    pub purpose: Purpose,
    pub reference: Option<String>,
}

impl RegistryQuery {
    /// The platform checking a registration.
    pub fn registration() -> Self {
        Self {
            accessor: Accessor::Platform,
            purpose: Purpose::RegistrationCheck,
            reference: None,
        }
    }
}

/// The authority for real-name checks. An error never means "no": callers must
/// create nothing when the registry cannot answer.
#[async_trait::async_trait]
pub trait PopulationRegistry: Send + Sync + std::fmt::Debug {
    async fn check(
        &self,
        id_number: &ResidentIdNumber,
        name: &PersonName,
        query: &RegistryQuery,
    ) -> Result<RegistryAnswer, RegistryError>;
}
