//! Internal identifiers.
//!
//! Accounts and records are keyed by UUIDv7 values that we mint. A resident ID
//! number or a phone number is never a key: both get corrected, and both are
//! personal data that must stay inside the encryption envelope.

use std::fmt;
use std::str::FromStr;

/// Declares a UUIDv7-backed identifier type that cannot be confused with another.
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new identifier; UUIDv7 values sort by creation time, which keeps
            /// B-tree inserts local.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            pub fn from_uuid(uuid: uuid::Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}

define_id!(
    /// The owner of personal data: a resident today, any data subject later.
    /// Each subject has its own data key (see the envelope crate).
    SubjectId
);
define_id!(
    /// One entry of the security event log.
    EventId
);
define_id!(
    /// An installation of Shengshi; written once, carried through export/import.
    InstallationId
);
define_id!(
    /// A resident's account. Never derived from an ID or phone number.
    AccountId
);
define_id!(
    /// A mandate (亲友代办): one resident's authorisation of another to act for them.
    MandateId
);
define_id!(
    /// One action taken under a mandate.
    MandateActionId
);
define_id!(
    /// A staff member's account (a civil servant or an operator of the platform).
    StaffId
);
define_id!(
    /// An embargo on telling a subject about accesses (deferred disclosure).
    EmbargoId
);
define_id!(
    /// One electronic resident ID card (an activation; a replacement is a new card).
    CardId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_7_and_sort_by_creation() {
        let a = SubjectId::new();
        let b = SubjectId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b, "a later id must sort after an earlier one");
    }

    #[test]
    fn ids_round_trip_through_text() {
        let id = EventId::new();
        let parsed: EventId = id.to_string().parse().unwrap();
        assert_eq!(id, parsed);
        assert!("not-a-uuid".parse::<EventId>().is_err());
    }
}
