//! Why an identity-document number was refused.
//!
//! Messages never repeat the number or the birth date: they are personal data,
//! and errors end up in logs.

use super::DocumentKind;

/// One variant per rule broken, so that a caller can tell the resident exactly
/// what to fix. [`IdNumberError::code`] is the stable key the web layer translates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("the number must be {expected} characters long, but it has {found}")]
    Length {
        expected: &'static str,
        found: usize,
    },

    /// `position` counts characters from 1.
    #[error("character {position} is not allowed there: only digits may appear, and X only as the last character")]
    InvalidCharacter { position: usize },

    #[error("{document} must start with {expected}")]
    WrongPrefix {
        document: DocumentKind,
        expected: &'static str,
    },

    /// The region code (or, on a foreign permanent resident ID card, the
    /// 2-digit province code) is not a GB/T 2260 code.
    #[error("region code {code} is not a GB/T 2260 administrative division code")]
    UnknownRegion { code: String },

    #[error("the birth date in the number is not a real calendar date")]
    InvalidBirthDate,

    #[error("the birth date in the number is after today")]
    BirthDateInFuture,

    #[error("the birth date in the number is before 1900-01-01")]
    BirthDateTooEarly,

    /// ISO 7064 MOD 11-2 failed: almost always a mistyped character.
    #[error("the check character should be {expected}, but it is {found}; a character was probably mistyped")]
    WrongCheckCharacter { expected: char, found: char },
}

impl IdNumberError {
    /// A stable snake_case key for translation and metrics; never changes once shipped.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Length { .. } => "length",
            Self::InvalidCharacter { .. } => "invalid_character",
            Self::WrongPrefix { .. } => "wrong_prefix",
            Self::UnknownRegion { .. } => "unknown_region",
            Self::InvalidBirthDate => "invalid_birth_date",
            Self::BirthDateInFuture => "birth_date_in_future",
            Self::BirthDateTooEarly => "birth_date_too_early",
            Self::WrongCheckCharacter { .. } => "wrong_check_character",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case() {
        let all = [
            IdNumberError::Length {
                expected: "18",
                found: 3,
            },
            IdNumberError::InvalidCharacter { position: 1 },
            IdNumberError::WrongPrefix {
                document: DocumentKind::ResidentId,
                expected: "1",
            },
            IdNumberError::UnknownRegion {
                code: "999999".into(),
            },
            IdNumberError::InvalidBirthDate,
            IdNumberError::BirthDateInFuture,
            IdNumberError::BirthDateTooEarly,
            IdNumberError::WrongCheckCharacter {
                expected: 'X',
                found: '1',
            },
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), all.len());
        for code in codes {
            assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn messages_are_plain_english() {
        let e = IdNumberError::WrongCheckCharacter {
            expected: 'X',
            found: '3',
        };
        assert_eq!(
            e.to_string(),
            "the check character should be X, but it is 3; a character was probably mistyped"
        );
        let e = IdNumberError::WrongPrefix {
            document: DocumentKind::HkMacaoTaiwanResidencePermit,
            expected: "810000, 820000 or 830000",
        };
        assert_eq!(
            e.to_string(),
            "a Hong Kong, Macau and Taiwan residents' residence permit number must start with 810000, 820000 or 830000"
        );
    }
}
