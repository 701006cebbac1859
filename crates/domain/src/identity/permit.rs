//! The residence permit for Hong Kong, Macau and Taiwan residents (港澳台居民居住证).

use std::fmt;

use super::number::{self, ascii};
use super::{DocumentKind, IdNumberError, Sex};
use crate::clock::CivilDate;

/// Where the holder of a [`HkMacaoTaiwanResidencePermit`] is a resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HkMacaoTaiwanRegion {
    /// Prefix 810000.
    HongKong,
    /// Prefix 820000.
    Macau,
    /// Prefix 830000 (not a GB/T 2260 code: Taiwan is 710000 there).
    Taiwan,
}

/// The number on a residence permit for Hong Kong, Macau and Taiwan residents,
/// issued since 1 September 2018 under the Measures for the Application and
/// Issuance of Residence Permits for Hong Kong, Macau and Taiwan Residents
/// (港澳台居民居住证申领发放办法, General Office of the State Council, 2018).
///
/// It is a citizen identity number in the GB 11643-1999 layout whose region
/// code is fixed: 810000 (Hong Kong), 820000 (Macau) or 830000 (Taiwan); then
/// the birth date YYYYMMDD, a 3-digit sequence number (odd for men, even for
/// women) and the ISO 7064 MOD 11-2 check character. The same date rules as
/// [`super::ResidentIdNumber`] apply. `Display` and `Debug` are masked.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HkMacaoTaiwanResidencePermit {
    digits: [u8; 18],
    region: HkMacaoTaiwanRegion,
    birth_date: CivilDate,
}

/// The region prefixes, in the order of [`HkMacaoTaiwanRegion`].
pub(super) const PREFIXES: [&str; 3] = ["810000", "820000", "830000"];

impl HkMacaoTaiwanResidencePermit {
    /// Parses the 18-character number; surrounding whitespace is ignored and a
    /// lower-case x accepted.
    pub fn parse(text: &str, today: CivilDate) -> Result<Self, IdNumberError> {
        let digits = number::scan_checked(text.trim(), "18")?;
        let region = region_of(&digits).ok_or(IdNumberError::WrongPrefix {
            document: DocumentKind::HkMacaoTaiwanResidencePermit,
            expected: "810000 (Hong Kong), 820000 (Macau) or 830000 (Taiwan)",
        })?;
        let birth_date = number::birth_date(&digits[6..14], today)?;
        Ok(Self {
            digits,
            region,
            birth_date,
        })
    }

    pub fn region(&self) -> HkMacaoTaiwanRegion {
        self.region
    }

    pub fn birth_date(&self) -> CivilDate {
        self.birth_date
    }

    /// From the parity of the sequence number's last digit, as in GB 11643-1999.
    pub fn sex(&self) -> Sex {
        Sex::from_sequence_digit(self.digits[16])
    }

    /// The whole number. Personal data: do not log it.
    pub fn as_str(&self) -> &str {
        ascii(&self.digits)
    }

    pub fn masked(&self) -> String {
        self.to_string()
    }
}

fn region_of(digits: &[u8; 18]) -> Option<HkMacaoTaiwanRegion> {
    match &digits[..6] {
        b"810000" => Some(HkMacaoTaiwanRegion::HongKong),
        b"820000" => Some(HkMacaoTaiwanRegion::Macau),
        b"830000" => Some(HkMacaoTaiwanRegion::Taiwan),
        _ => None,
    }
}

impl fmt::Display for HkMacaoTaiwanResidencePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        number::write_masked(&self.digits, f)
    }
}

impl fmt::Debug for HkMacaoTaiwanResidencePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HkMacaoTaiwanResidencePermit(")?;
        number::write_masked(&self.digits, f)?;
        f.write_str(")")
    }
}
