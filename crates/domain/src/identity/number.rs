//! What the three 18-character numbers share: the character rules, the
//! ISO 7064 MOD 11-2 check character, the birth-date field and masking.

use time::{Date, Month};

use super::IdNumberError;
use crate::clock::CivilDate;

/// Weights for positions 1..=17: 2^(18-i) mod 11 (GB 11643-1999; ISO 7064 MOD 11-2).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character for a weighted sum mod 11 of 0..=10 (GB 11643-1999).
const CHECK_CHARACTERS: [u8; 11] = *b"10X98765432";

/// The earliest birth date accepted: nobody born earlier is alive to register,
/// so an earlier date is a typo.
const EARLIEST_BIRTH_DATE: Date = match Date::from_calendar_date(1900, Month::January, 1) {
    Ok(d) => d,
    Err(_) => panic!("1900-01-01 is a date"),
};

/// The check character for 17 ASCII digits.
pub(crate) fn check_character(body: &[u8]) -> u8 {
    debug_assert_eq!(body.len(), 17);
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    CHECK_CHARACTERS[(sum % 11) as usize]
}

/// The characters of `text` as ASCII bytes when it has exactly `N` characters,
/// all of them digits except that the last may be X when `last_may_be_x`
/// (lowercase x is accepted and stored as X).
pub(super) fn scan<const N: usize>(
    text: &str,
    last_may_be_x: bool,
    expected_length: &'static str,
) -> Result<[u8; N], IdNumberError> {
    let found = text.chars().count();
    if found != N {
        return Err(IdNumberError::Length {
            expected: expected_length,
            found,
        });
    }
    let mut out = [0u8; N];
    for (i, c) in text.chars().enumerate() {
        out[i] = match c {
            '0'..='9' => c as u8,
            'X' | 'x' if last_may_be_x && i == N - 1 => b'X',
            _ => return Err(IdNumberError::InvalidCharacter { position: i + 1 }),
        };
    }
    Ok(out)
}

/// Scans an 18-character number and verifies its check character.
pub(super) fn scan_checked(
    text: &str,
    expected_length: &'static str,
) -> Result<[u8; 18], IdNumberError> {
    let bytes = scan::<18>(text, true, expected_length)?;
    let expected = check_character(&bytes[..17]);
    if bytes[17] != expected {
        return Err(IdNumberError::WrongCheckCharacter {
            expected: char::from(expected),
            found: char::from(bytes[17]),
        });
    }
    Ok(bytes)
}

/// The value of a run of ASCII digits.
pub(super) fn digits_value(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |acc, &d| acc * 10 + u32::from(d - b'0'))
}

/// A birth date field (YYYYMMDD as ASCII digits): a real date, on or after
/// 1900-01-01 and not after `today`.
pub(super) fn birth_date(yyyymmdd: &[u8], today: CivilDate) -> Result<CivilDate, IdNumberError> {
    let year = digits_value(&yyyymmdd[..4]) as i32;
    let month = Month::try_from(digits_value(&yyyymmdd[4..6]) as u8)
        .map_err(|_| IdNumberError::InvalidBirthDate)?;
    let day = digits_value(&yyyymmdd[6..8]) as u8;
    let date =
        Date::from_calendar_date(year, month, day).map_err(|_| IdNumberError::InvalidBirthDate)?;
    if date < EARLIEST_BIRTH_DATE {
        return Err(IdNumberError::BirthDateTooEarly);
    }
    if date > today.date() {
        return Err(IdNumberError::BirthDateInFuture);
    }
    Ok(CivilDate::new(date))
}

/// The text of bytes that are ASCII by construction (digits and X).
pub(super) fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// The first four and last four characters with stars between, e.g.
/// `4401**********123X`: enough to tell two numbers apart in a log, too little
/// to identify anyone.
pub(super) fn write_masked(bytes: &[u8], f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    let n = bytes.len();
    f.write_str(ascii(&bytes[..4]))?;
    for _ in 4..n - 4 {
        f.write_str("*")?;
    }
    f.write_str(ascii(&bytes[n - 4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_character_of_the_standards_examples() {
        // The two worked examples printed in GB 11643-1999 itself.
        assert_eq!(check_character(b"11010519491231002"), b'X');
        assert_eq!(check_character(b"44052418800101001"), b'4');
    }

    #[test]
    fn every_check_character_occurs() {
        // Varying the last body digit's neighbours reaches all 11 values.
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..200u32 {
            let body = format!("4401061990010{:04}", n);
            seen.insert(check_character(body.as_bytes()));
        }
        assert_eq!(seen.len(), 11);
    }

    #[test]
    fn scan_accepts_lowercase_x_only_last() {
        assert_eq!(
            &scan::<18>("11010519491231002x", true, "18").unwrap(),
            b"11010519491231002X"
        );
        assert_eq!(
            scan::<18>("1101051949123100x2", true, "18"),
            Err(IdNumberError::InvalidCharacter { position: 17 })
        );
        assert_eq!(
            scan::<15>("11010549123100X", false, "15"),
            Err(IdNumberError::InvalidCharacter { position: 15 })
        );
    }

    #[test]
    fn scan_counts_characters_not_bytes() {
        // 18 characters, one of them a full-width digit (3 bytes in UTF-8).
        assert_eq!(
            scan::<18>("１1010519491231002X", true, "18"),
            Err(IdNumberError::InvalidCharacter { position: 1 })
        );
    }
}
