//! The foreign permanent resident ID card (外国人永久居留身份证), 2023 edition.

use std::fmt;

use super::number::{self, ascii};
use super::region;
use super::{DocumentKind, IdNumberError};
use crate::clock::CivilDate;

/// The number on the 2023 edition of the Foreign Permanent Resident ID Card,
/// issued by the National Immigration Administration (NIA) since 1 December 2023.
///
/// Layout, 18 characters (positions from 1):
///
/// | positions | field |
/// |---|---|
/// | 1 | `9`, marking a foreigner (citizen numbers start with 1–8) |
/// | 2–3 | province-level GB/T 2260 code of the accepting office |
/// | 4–6 | nationality, numeric code (ISO 3166-1 numeric / GB/T 2659) |
/// | 7–14 | birth date, YYYYMMDD |
/// | 15–17 | sequence number |
/// | 18 | check character, ISO 7064 MOD 11-2 exactly as in GB 11643-1999 |
///
/// Sources and what is uncertain:
/// - The NIA's adaptation notes for the new card (新版外国人永久居留身份证适配性
///   改造要点 / 机读信息规则, 2023, as republished by ID-card reader vendors in
///   October 2023) state: 15 characters (3 letters + 12 digits) become 18
///   (17 digits + a check character); the 3-letter nationality code becomes a
///   numeric one; the first digit is 9; the check character is MOD 11-2, the
///   same as the citizen identity number. We found the text, not its table 1.
/// - The positions of the middle fields come from independent third-party
///   validators and test-data generators (Java, JavaScript, Python) that agree
///   with each other, and from a worked example in a published walkthrough of
///   the adaptation notes (9, 32 Jiangsu, 682 Saudi Arabia, 19850101, 001, and
///   a check character that verifies under this layout). 1+2+3+8+3+1 = 18: the
///   sequence has 3 digits (a 2-digit sequence would leave the number one
///   character short).
/// - Some third-party code reads the holder's sex from the parity of digit 17;
///   the NIA text we found does not say so, so no `sex()` is offered.
/// - The nationality code is not checked against a list: which codes the NIA
///   uses for stateless persons and other non-ISO entities is not published.
/// - The accepting office is in the mainland, so only provinces 11–65 are
///   accepted at positions 2–3.
///
/// The 2017 edition (3 letters + 12 digits, 15 characters) is not parsed here.
/// `Display` and `Debug` are masked.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ForeignPermanentResidentIdCard {
    digits: [u8; 18],
    birth_date: CivilDate,
}

impl ForeignPermanentResidentIdCard {
    /// Parses the 18-character number; surrounding whitespace is ignored and a
    /// lower-case x accepted.
    pub fn parse(text: &str, today: CivilDate) -> Result<Self, IdNumberError> {
        let digits = number::scan_checked(text.trim(), "18")?;
        if digits[0] != b'9' {
            return Err(IdNumberError::WrongPrefix {
                document: DocumentKind::ForeignPermanentResidentIdCard,
                expected: "9",
            });
        }
        let province = &digits[1..3];
        if !region::is_province(province) || matches!(province, b"71" | b"81" | b"82") {
            return Err(IdNumberError::UnknownRegion {
                code: ascii(province).to_owned(),
            });
        }
        let birth_date = number::birth_date(&digits[6..14], today)?;
        Ok(Self { digits, birth_date })
    }

    /// The two-digit GB/T 2260 province code of the office that accepted the
    /// application, e.g. "44" for Guangdong.
    pub fn province_code(&self) -> &str {
        ascii(&self.digits[1..3])
    }

    /// The three-digit numeric nationality code, e.g. "250" for France.
    pub fn nationality_code(&self) -> &str {
        ascii(&self.digits[3..6])
    }

    pub fn birth_date(&self) -> CivilDate {
        self.birth_date
    }

    /// The whole number. Personal data: do not log it.
    pub fn as_str(&self) -> &str {
        ascii(&self.digits)
    }

    pub fn masked(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ForeignPermanentResidentIdCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        number::write_masked(&self.digits, f)
    }
}

impl fmt::Debug for ForeignPermanentResidentIdCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForeignPermanentResidentIdCard(")?;
        number::write_masked(&self.digits, f)?;
        f.write_str(")")
    }
}
