//! Phone numbers and one-time SMS codes: the rules, without I/O.
//!
//! A code is 6 digits, valid for 5 minutes, good for 5 attempts, and usable
//! once. The platform never stores the code, only a keyed MAC of it (computed
//! by the application with a secret the database does not hold), so a copy of
//! the database cannot be used to read or guess live codes offline.

use crate::Timestamp;
use time::Duration;

/// How long a code stays valid.
pub const CODE_TTL: Duration = Duration::minutes(5);
/// Wrong guesses allowed before a code is dead.
pub const MAX_ATTEMPTS: u32 = 5;
/// The shortest gap between two codes sent to one number.
pub const RESEND_INTERVAL: Duration = Duration::seconds(60);

/// A mainland China mobile number (11 digits, 1[3-9]…), the only kind the
/// carrier check and the SMS gateways accept. Personal data: Debug masks it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    #[error("a mobile number has 11 digits")]
    Length,
    #[error("a mobile number contains digits only")]
    NotDigits,
    #[error("a mainland mobile number starts with 13 to 19")]
    Prefix,
}

impl PhoneNumberError {
    /// A stable code for translations and API field errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Length => "phone_length",
            Self::NotDigits => "phone_not_digits",
            Self::Prefix => "phone_prefix",
        }
    }
}

impl PhoneNumber {
    /// Accepts `13800138000`, `+86 138 0013 8000`, `138-0013-8000`.
    pub fn parse(text: &str) -> Result<Self, PhoneNumberError> {
        let compact: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
            .collect();
        let national = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .unwrap_or(&compact);
        if !national.chars().all(|c| c.is_ascii_digit()) {
            return Err(PhoneNumberError::NotDigits);
        }
        if national.len() != 11 {
            return Err(PhoneNumberError::Length);
        }
        let second = national.as_bytes()[1];
        if !national.starts_with('1') || !(b'3'..=b'9').contains(&second) {
            return Err(PhoneNumberError::Prefix);
        }
        Ok(Self(national.to_owned()))
    }

    /// The 11 national digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****8000`: enough for a person to recognise their own number.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// Why a code was sent; a code for one purpose never works for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodePurpose {
    Register,
    Login,
    /// Staff at a counter confirm that the phone is in the resident's hand.
    CounterCheck,
}

impl CodePurpose {
    pub fn name(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
            Self::CounterCheck => "counter_check",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "register" => Some(Self::Register),
            "login" => Some(Self::Login),
            "counter_check" => Some(Self::CounterCheck),
            _ => None,
        }
    }
}

/// A six-digit code as typed by the resident.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneCode(String);

impl std::fmt::Debug for PhoneCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneCode(******)")
    }
}

impl PhoneCode {
    /// Six digits; spaces a resident may type are ignored.
    pub fn parse(text: &str) -> Option<Self> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())).then_some(Self(digits))
    }

    /// A code from a uniformly random number below one million.
    pub fn from_random(n: u32) -> Self {
        Self(format!("{:06}", n % 1_000_000))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored challenge, as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub created_at: Timestamp,
    pub attempts: u32,
    pub consumed: bool,
}

/// Why a code can no longer be used; the resident needs a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadReason {
    Expired,
    TooManyAttempts,
    AlreadyUsed,
}

impl Challenge {
    pub fn expires_at(&self) -> Timestamp {
        self.created_at.plus(CODE_TTL)
    }

    /// Whether an attempt may be made at all. The attempt itself is reserved
    /// atomically in storage before the code is compared, so concurrent guesses
    /// can never exceed [`MAX_ATTEMPTS`].
    pub fn check_usable(&self, now: Timestamp) -> Result<(), DeadReason> {
        if self.consumed {
            Err(DeadReason::AlreadyUsed)
        } else if now >= self.expires_at() {
            Err(DeadReason::Expired)
        } else if self.attempts >= MAX_ATTEMPTS {
            Err(DeadReason::TooManyAttempts)
        } else {
            Ok(())
        }
    }
}

/// Attempts left after `used` have been made.
pub fn attempts_remaining(used: u32) -> u32 {
    MAX_ATTEMPTS.saturating_sub(used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_parsed_from_common_forms_and_masked() {
        for text in [
            "13800138000",
            "+86 138 0013 8000",
            "138-0013-8000",
            "008613800138000",
        ] {
            assert_eq!(
                PhoneNumber::parse(text).unwrap().as_str(),
                "13800138000",
                "{text}"
            );
        }
        let phone = PhoneNumber::parse("13800138000").unwrap();
        assert_eq!(phone.masked(), "138****8000");
        assert!(!format!("{phone:?}").contains("13800138000"));
    }

    #[test]
    fn bad_phone_numbers_say_which_rule_they_break() {
        assert_eq!(
            PhoneNumber::parse("1380013800"),
            Err(PhoneNumberError::Length)
        );
        assert_eq!(
            PhoneNumber::parse("1380013800a"),
            Err(PhoneNumberError::NotDigits)
        );
        assert_eq!(
            PhoneNumber::parse("12800138000"),
            Err(PhoneNumberError::Prefix)
        );
        assert_eq!(
            PhoneNumber::parse("02012345678"),
            Err(PhoneNumberError::Prefix)
        );
        assert_eq!(PhoneNumber::parse(""), Err(PhoneNumberError::Length));
        assert_eq!(
            PhoneNumber::parse("１３８００１３８０００"),
            Err(PhoneNumberError::NotDigits)
        );
    }

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(PhoneCode::parse(" 123 456 ").unwrap().as_str(), "123456");
        assert!(PhoneCode::parse("12345").is_none());
        assert!(PhoneCode::parse("12345a").is_none());
        assert_eq!(PhoneCode::from_random(42).as_str(), "000042");
        assert_eq!(PhoneCode::from_random(1_999_999).as_str(), "999999");
        assert!(!format!("{:?}", PhoneCode::from_random(42)).contains("42"));
    }

    fn challenge(attempts: u32, consumed: bool) -> Challenge {
        Challenge {
            created_at: Timestamp::from_unix_millis(1_000_000).unwrap(),
            attempts,
            consumed,
        }
    }

    #[test]
    fn a_code_is_usable_once_within_five_minutes_and_five_attempts() {
        let start = Timestamp::from_unix_millis(1_000_000).unwrap();
        let fresh = challenge(0, false);
        assert_eq!(fresh.check_usable(start), Ok(()));
        assert_eq!(
            fresh.check_usable(start.plus(Duration::seconds(299))),
            Ok(())
        );
        assert_eq!(
            fresh.check_usable(start.plus(CODE_TTL)),
            Err(DeadReason::Expired)
        );
        assert_eq!(challenge(4, false).check_usable(start), Ok(()));
        assert_eq!(
            challenge(5, false).check_usable(start),
            Err(DeadReason::TooManyAttempts)
        );
        assert_eq!(
            challenge(1, true).check_usable(start),
            Err(DeadReason::AlreadyUsed)
        );
        assert_eq!(attempts_remaining(1), 4);
        assert_eq!(attempts_remaining(7), 0);
    }
}
