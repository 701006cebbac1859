//! Identity documents and names as types: a value that exists has passed every
//! rule, so code that holds one need not check again (parse, don't validate).
//!
//! - [`ResidentIdNumber`]: the resident ID number, GB 11643-1999 (also accepts
//!   and converts the legacy 15-digit form, GB 11643-1989);
//! - [`HkMacaoTaiwanResidencePermit`]: the residence permit for Hong Kong, Macau
//!   and Taiwan residents (prefixes 810000, 820000, 830000);
//! - [`ForeignPermanentResidentIdCard`]: the 2023 foreign permanent resident ID
//!   card (18 characters beginning with 9);
//! - [`IdentityDocument`]: any of the three, told apart by shape and prefix;
//! - [`PersonName`]: a name in one normal form.
//!
//! All of these are personal data: their `Display` and `Debug` are masked, and
//! no error message repeats the input. Nothing here reads the clock; callers
//! pass `today` from a [`crate::Clock`].

mod error;
mod foreign;
mod name;
mod number;
mod permit;
pub mod region;
mod resident;

#[cfg(test)]
mod tests;

use std::fmt;

use crate::clock::CivilDate;

pub use error::IdNumberError;
pub use foreign::ForeignPermanentResidentIdCard;
pub use name::{PersonName, PersonNameError};
pub use permit::{HkMacaoTaiwanRegion, HkMacaoTaiwanResidencePermit};
pub use region::{RegionCode, RegionEntry, RegionStatus};
pub use resident::ResidentIdNumber;

/// Sex as encoded in an identity number (odd sequence digit: male; even: female).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// GB 11643-1999: odd sequence numbers go to men, even ones to women.
    fn from_sequence_digit(ascii_digit: u8) -> Self {
        if (ascii_digit - b'0') % 2 == 1 {
            Self::Male
        } else {
            Self::Female
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }
}

/// Which kind of identity document a number belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    ResidentId,
    HkMacaoTaiwanResidencePermit,
    ForeignPermanentResidentIdCard,
}

impl DocumentKind {
    /// A stable snake_case key.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ResidentId => "resident_id",
            Self::HkMacaoTaiwanResidencePermit => "hk_macao_taiwan_residence_permit",
            Self::ForeignPermanentResidentIdCard => "foreign_permanent_resident_id_card",
        }
    }
}

/// English, with an article, to fit in a sentence: "a resident ID number".
impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ResidentId => "a resident ID number",
            Self::HkMacaoTaiwanResidencePermit => {
                "a Hong Kong, Macau and Taiwan residents' residence permit number"
            }
            Self::ForeignPermanentResidentIdCard => "a foreign permanent resident ID card number",
        })
    }
}

/// Any identity document a resident may register with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdentityDocument {
    ResidentId(ResidentIdNumber),
    HkMacaoTaiwanResidencePermit(HkMacaoTaiwanResidencePermit),
    ForeignPermanentResidentIdCard(ForeignPermanentResidentIdCard),
}

impl IdentityDocument {
    /// Picks the document type by shape, then parses with that type's rules:
    /// 15 characters: a legacy resident ID number; 18 characters beginning with
    /// 9: a foreign permanent resident ID card; beginning with 810000, 820000 or
    /// 830000: a Hong Kong/Macau/Taiwan residence permit; otherwise a resident
    /// ID number. The prefixes cannot collide: resident ID region codes start
    /// with 1–6.
    pub fn parse_any(text: &str, today: CivilDate) -> Result<Self, IdNumberError> {
        let text = text.trim();
        match text.chars().count() {
            15 => ResidentIdNumber::parse(text, today).map(Self::ResidentId),
            18 if text.starts_with('9') => ForeignPermanentResidentIdCard::parse(text, today)
                .map(Self::ForeignPermanentResidentIdCard),
            18 if permit::PREFIXES.iter().any(|p| text.starts_with(p)) => {
                HkMacaoTaiwanResidencePermit::parse(text, today)
                    .map(Self::HkMacaoTaiwanResidencePermit)
            }
            18 => ResidentIdNumber::parse(text, today).map(Self::ResidentId),
            found => Err(IdNumberError::Length {
                expected: "15 or 18",
                found,
            }),
        }
    }

    pub fn kind(&self) -> DocumentKind {
        match self {
            Self::ResidentId(_) => DocumentKind::ResidentId,
            Self::HkMacaoTaiwanResidencePermit(_) => DocumentKind::HkMacaoTaiwanResidencePermit,
            Self::ForeignPermanentResidentIdCard(_) => DocumentKind::ForeignPermanentResidentIdCard,
        }
    }

    /// The whole number (18 characters). Personal data: do not log it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::ResidentId(n) => n.as_str(),
            Self::HkMacaoTaiwanResidencePermit(n) => n.as_str(),
            Self::ForeignPermanentResidentIdCard(n) => n.as_str(),
        }
    }

    pub fn birth_date(&self) -> CivilDate {
        match self {
            Self::ResidentId(n) => n.birth_date(),
            Self::HkMacaoTaiwanResidencePermit(n) => n.birth_date(),
            Self::ForeignPermanentResidentIdCard(n) => n.birth_date(),
        }
    }
}

/// Masked, like each document's own `Display`.
impl fmt::Display for IdentityDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ResidentId(n) => fmt::Display::fmt(n, f),
            Self::HkMacaoTaiwanResidencePermit(n) => fmt::Display::fmt(n, f),
            Self::ForeignPermanentResidentIdCard(n) => fmt::Display::fmt(n, f),
        }
    }
}
