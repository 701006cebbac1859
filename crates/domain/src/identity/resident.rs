//! The resident ID number (公民身份号码), GB 11643-1999.

use std::fmt;

use super::number::{self, ascii};
use super::region::{self, RegionCode};
use super::{DocumentKind, IdNumberError, Sex};
use crate::clock::CivilDate;

/// A resident ID number as defined by GB 11643-1999, always in the 18-character
/// form with an upper-case X.
///
/// Layout: a 6-digit GB/T 2260 region code, the birth date as YYYYMMDD, a
/// 3-digit sequence number (odd for men, even for women) and an ISO 7064
/// MOD 11-2 check character (0–9 or X).
///
/// A value of this type has passed every rule:
/// - the check character matches (a single mistyped character is always caught);
/// - the region code is a GB/T 2260 code, current or historical — exactly, from
///   the shipped data, for Guangdong; by province prefix and plausibility
///   elsewhere (see [`super::region`]). Codes 71, 81 and 82 (Taiwan, Hong Kong,
///   Macau) are refused: those regions do not issue resident ID cards, and
///   810000/820000/830000 belong to [`super::HkMacaoTaiwanResidencePermit`];
/// - the birth date is a real date, not after `today` and not before 1900-01-01.
///
/// It is personal data: `Display` and `Debug` show only a mask such as
/// `4401**********123X`; [`ResidentIdNumber::as_str`] gives the whole number
/// to code that has a reason to need it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResidentIdNumber {
    digits: [u8; 18],
    birth_date: CivilDate,
}

impl ResidentIdNumber {
    /// Parses an 18-character number, or a legacy 15-character one (GB 11643-1989:
    /// region, YYMMDD in the 1900s, sequence, no check character), which is
    /// converted to the 18-character form. Surrounding whitespace is ignored and
    /// a lower-case x accepted.
    pub fn parse(text: &str, today: CivilDate) -> Result<Self, IdNumberError> {
        let text = text.trim();
        if text.chars().count() == 15 {
            return Self::from_legacy(text, today);
        }
        let digits = number::scan_checked(text, "18 (or 15 in the legacy form)")?;
        Self::from_checked(digits, today)
    }

    /// The 15-digit form issued before 1999: insert the century "19" and compute
    /// the check character, as GB 11643-1999 prescribes for the upgrade.
    fn from_legacy(text: &str, today: CivilDate) -> Result<Self, IdNumberError> {
        let legacy = number::scan::<15>(text, false, "18 (or 15 in the legacy form)")?;
        let mut digits = [0u8; 18];
        digits[..6].copy_from_slice(&legacy[..6]);
        digits[6..8].copy_from_slice(b"19");
        digits[8..17].copy_from_slice(&legacy[6..]);
        digits[17] = number::check_character(&digits[..17]);
        Self::from_checked(digits, today)
    }

    fn from_checked(digits: [u8; 18], today: CivilDate) -> Result<Self, IdNumberError> {
        check_region(&digits)?;
        let birth_date = number::birth_date(&digits[6..14], today)?;
        Ok(Self { digits, birth_date })
    }

    /// The GB/T 2260 code of the place of household registration when the
    /// number was issued (it never changes when the holder moves).
    pub fn region_code(&self) -> RegionCode {
        RegionCode::from_digits(&self.digits)
    }

    pub fn birth_date(&self) -> CivilDate {
        self.birth_date
    }

    /// From the parity of the sequence number's last digit (GB 11643-1999).
    pub fn sex(&self) -> Sex {
        Sex::from_sequence_digit(self.digits[16])
    }

    /// The whole number, 18 characters, upper-case X. Personal data: do not log it.
    pub fn as_str(&self) -> &str {
        ascii(&self.digits)
    }

    /// The number with all but its first and last four characters starred,
    /// e.g. `4401**********123X`; the same text as `Display`.
    pub fn masked(&self) -> String {
        self.to_string()
    }
}

fn check_region(digits: &[u8; 18]) -> Result<(), IdNumberError> {
    if matches!(&digits[..2], b"71" | b"81" | b"82" | b"83") {
        return Err(IdNumberError::WrongPrefix {
            document: DocumentKind::ResidentId,
            expected: "a mainland region code (provinces 11–65)",
        });
    }
    let mut code = [0u8; 6];
    code.copy_from_slice(&digits[..6]);
    if !region::is_known(&code) {
        return Err(IdNumberError::UnknownRegion {
            code: ascii(&code).to_owned(),
        });
    }
    Ok(())
}

/// Masked, e.g. `4401**********123X`: safe for logs.
impl fmt::Display for ResidentIdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        number::write_masked(&self.digits, f)
    }
}

/// Masked like `Display`: the whole number never reaches a log through `{:?}`.
impl fmt::Debug for ResidentIdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResidentIdNumber(")?;
        number::write_masked(&self.digits, f)?;
        f.write_str(")")
    }
}
