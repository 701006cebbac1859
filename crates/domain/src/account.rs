//! Accounts and how far the platform trusts who holds them.

/// Assurance levels, from weakest to strongest. A service states the level it
/// needs; an account at a lower level is sent to raise it first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssuranceLevel {
    /// L1: the phone number is verified by an SMS code.
    PhoneVerified = 1,
    /// L2: L1, plus a population-registry match of name and ID number, plus the
    /// mobile carrier confirming the phone is registered to that ID number.
    RealName = 2,
    /// L3: L2, plus a passkey and an in-person check at a counter (or a face
    /// verification where a province has one).
    InPerson = 3,
}

impl AssuranceLevel {
    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(n: i64) -> Option<Self> {
        match n {
            1 => Some(Self::PhoneVerified),
            2 => Some(Self::RealName),
            3 => Some(Self::InPerson),
            _ => None,
        }
    }

    /// The level the evidence supports: a real-name match makes L2; L3 needs
    /// that plus an in-person check plus at least one passkey. Without a
    /// real-name match the phone alone is L1, whatever else there is.
    pub fn from_evidence(real_name: bool, in_person: bool, has_passkey: bool) -> Self {
        match (real_name, in_person && has_passkey) {
            (false, _) => Self::PhoneVerified,
            (true, false) => Self::RealName,
            (true, true) => Self::InPerson,
        }
    }
}

/// Where an account stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    Active,
    /// Opened by someone else with the resident's identity, then evicted when
    /// the real resident proved themselves at a counter.
    Evicted,
    /// Closed at the resident's request; personal data erased.
    Closed,
}

impl AccountStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Evicted => "evicted",
            Self::Closed => "closed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "active" => Some(Self::Active),
            "evicted" => Some(Self::Evicted),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_and_round_trip() {
        assert!(AssuranceLevel::PhoneVerified < AssuranceLevel::RealName);
        assert!(AssuranceLevel::RealName < AssuranceLevel::InPerson);
        for level in [
            AssuranceLevel::PhoneVerified,
            AssuranceLevel::RealName,
            AssuranceLevel::InPerson,
        ] {
            assert_eq!(
                AssuranceLevel::from_number(level.number().into()),
                Some(level)
            );
        }
        assert_eq!(AssuranceLevel::from_number(0), None);
        use AssuranceLevel::*;
        assert_eq!(
            AssuranceLevel::from_evidence(false, true, true),
            PhoneVerified
        );
        assert_eq!(AssuranceLevel::from_evidence(true, false, true), RealName);
        assert_eq!(AssuranceLevel::from_evidence(true, true, false), RealName);
        assert_eq!(AssuranceLevel::from_evidence(true, true, true), InPerson);
        for status in [
            AccountStatus::Active,
            AccountStatus::Evicted,
            AccountStatus::Closed,
        ] {
            assert_eq!(AccountStatus::from_name(status.name()), Some(status));
        }
    }
}
