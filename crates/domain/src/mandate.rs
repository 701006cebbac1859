//! Mandates (亲友代办): a resident authorises a family member or guardian to
//! act for them, for named services, for a bounded time, revocably.
//!
//! Every rule here is a pure function of the mandate and the instant asked
//! about. Whether a mandate has expired is derived from the clock each time,
//! never stored, so it cannot lag behind.

use crate::id::{AccountId, MandateActionId, MandateId};
use crate::{AssuranceLevel, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use time::Duration;

/// The longest validity of an ordinary mandate: one year (366 days, so that a
/// year holding 29 February fits).
pub const MAX_VALIDITY: Duration = Duration::days(366);
/// A guardian (监护人) may hold a mandate for up to five years.
pub const MAX_GUARDIAN_VALIDITY: Duration = Duration::days(5 * 365 + 2);
/// At most this many services per mandate.
pub const MAX_SERVICES: usize = 20;
/// The longest service or action code.
pub const MAX_CODE_LEN: usize = 64;
/// The grantee must be identified at least this strongly.
pub const MIN_GRANTEE_LEVEL: AssuranceLevel = AssuranceLevel::RealName;

/// How the grantee is related to the grantor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Spouse,
    Parent,
    Child,
    Sibling,
    Guardian,
    OtherRelative,
}

impl Relationship {
    pub const ALL: [Self; 6] = [
        Self::Spouse,
        Self::Parent,
        Self::Child,
        Self::Sibling,
        Self::Guardian,
        Self::OtherRelative,
    ];

    /// The stable name stored and exported.
    pub fn name(self) -> &'static str {
        match self {
            Self::Spouse => "spouse",
            Self::Parent => "parent",
            Self::Child => "child",
            Self::Sibling => "sibling",
            Self::Guardian => "guardian",
            Self::OtherRelative => "other_relative",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// How long a mandate to someone so related may last.
    pub fn max_validity(self) -> Duration {
        match self {
            Self::Guardian => MAX_GUARDIAN_VALIDITY,
            _ => MAX_VALIDITY,
        }
    }
}

/// Why a mandate (or a part of one) cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MandateError {
    #[error("a resident cannot give a mandate to themself")]
    SelfMandate,
    #[error("the grantee must have a real-name (L2) account; theirs is L{0}")]
    GranteeLevelTooLow(u8),
    #[error("a mandate must name at least one service")]
    NoServices,
    #[error("a mandate may name at most {MAX_SERVICES} services, not {0}")]
    TooManyServices(usize),
    #[error("{0:?} is not a service code (lowercase words separated by dots, at most {MAX_CODE_LEN} characters)")]
    BadCode(String),
    #[error("a mandate must end after it starts")]
    EndsBeforeStart,
    #[error("a mandate to a {relationship} may last at most {max_days} days")]
    TooLong {
        relationship: &'static str,
        max_days: i64,
    },
    #[error("{0:?} is not a relationship")]
    UnknownRelationship(String),
}

impl MandateError {
    /// A stable code for translations and API problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SelfMandate => "self_mandate",
            Self::GranteeLevelTooLow(_) => "grantee_level_too_low",
            Self::NoServices => "no_services",
            Self::TooManyServices(_) => "too_many_services",
            Self::BadCode(_) => "bad_code",
            Self::EndsBeforeStart => "ends_before_start",
            Self::TooLong { .. } => "too_long",
            Self::UnknownRelationship(_) => "unknown_relationship",
        }
    }
}

/// True for `[a-z0-9_]+(\.[a-z0-9_]+)*` of at most [`MAX_CODE_LEN`] characters.
fn is_code(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_CODE_LEN
        && text.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// Declares a code newtype that only holds text of the code shape.
macro_rules! define_code {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, MandateError> {
                if is_code(text) {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(MandateError::BadCode(text.to_owned()))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = MandateError;
            fn try_from(text: String) -> Result<Self, MandateError> {
                Self::parse(&text)
            }
        }

        impl From<$name> for String {
            fn from(code: $name) -> String {
                code.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

define_code!(
    /// A service of the catalog, such as `traffic_fine.pay`.
    ServiceCode
);
define_code!(
    /// What was done under a mandate, such as `traffic_fine.paid`.
    ActionCode
);

/// The services a mandate covers: between one and [`MAX_SERVICES`], no repeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<ServiceCode>", into = "Vec<ServiceCode>")]
pub struct ServiceSet(BTreeSet<ServiceCode>);

impl ServiceSet {
    pub fn new(services: impl IntoIterator<Item = ServiceCode>) -> Result<Self, MandateError> {
        let set: BTreeSet<ServiceCode> = services.into_iter().collect();
        match set.len() {
            0 => Err(MandateError::NoServices),
            n if n > MAX_SERVICES => Err(MandateError::TooManyServices(n)),
            _ => Ok(Self(set)),
        }
    }

    /// Parses codes as typed by a resident or sent by a client.
    pub fn parse<S: AsRef<str>>(codes: &[S]) -> Result<Self, MandateError> {
        if codes.len() > MAX_SERVICES {
            return Err(MandateError::TooManyServices(codes.len()));
        }
        let parsed = codes
            .iter()
            .map(|c| ServiceCode::parse(c.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(parsed)
    }

    pub fn contains(&self, service: &ServiceCode) -> bool {
        self.0.contains(service)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ServiceCode> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<Vec<ServiceCode>> for ServiceSet {
    type Error = MandateError;
    fn try_from(codes: Vec<ServiceCode>) -> Result<Self, MandateError> {
        Self::new(codes)
    }
}

impl From<ServiceSet> for Vec<ServiceCode> {
    fn from(set: ServiceSet) -> Self {
        set.0.into_iter().collect()
    }
}

/// Where a mandate stands at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MandateStatus {
    /// Granted, but its validity has not begun.
    NotYetValid,
    Active,
    Expired,
    Revoked,
}

impl MandateStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::NotYetValid => "not_yet_valid",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// Why an action under a mandate is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MandateRefusal {
    #[error("this mandate was not given to you")]
    NotGrantee,
    #[error("this mandate does not cover that service")]
    ServiceNotCovered,
    #[error("this mandate is not valid yet")]
    NotYetValid,
    #[error("this mandate has expired")]
    Expired,
    #[error("this mandate was revoked")]
    Revoked,
}

impl MandateRefusal {
    /// A stable code for translations and API problem types.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotGrantee => "not_grantee",
            Self::ServiceNotCovered => "service_not_covered",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// A mandate's parts as stored and exported; [`Mandate::restore`] checks them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateRecord {
    pub id: MandateId,
    pub grantor: AccountId,
    pub grantee: AccountId,
    pub relationship: Relationship,
    pub services: ServiceSet,
    #[serde(with = "crate::security::millis")]
    pub valid_from: Timestamp,
    #[serde(with = "crate::security::millis")]
    pub valid_until: Timestamp,
    #[serde(default, with = "millis_opt")]
    pub revoked_at: Option<Timestamp>,
    #[serde(with = "crate::security::millis")]
    pub created_at: Timestamp,
}

/// What a resident asks for when granting a mandate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MandateRequest {
    pub grantor: AccountId,
    pub grantee: AccountId,
    /// The grantee's assurance level now (at least [`MIN_GRANTEE_LEVEL`]).
    pub grantee_level: AssuranceLevel,
    pub relationship: Relationship,
    pub services: ServiceSet,
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
}

/// A mandate that satisfies every rule of its shape. Only [`Mandate::grant`]
/// and [`Mandate::restore`] make one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MandateRecord", into = "MandateRecord")]
pub struct Mandate {
    record: MandateRecord,
}

impl Mandate {
    /// A new mandate, granted at `now`.
    pub fn grant(request: MandateRequest, now: Timestamp) -> Result<Self, MandateError> {
        if request.grantor == request.grantee {
            return Err(MandateError::SelfMandate);
        }
        if request.grantee_level < MIN_GRANTEE_LEVEL {
            return Err(MandateError::GranteeLevelTooLow(
                request.grantee_level.number(),
            ));
        }
        Self::restore(MandateRecord {
            id: MandateId::new(),
            grantor: request.grantor,
            grantee: request.grantee,
            relationship: request.relationship,
            services: request.services,
            valid_from: request.valid_from,
            valid_until: request.valid_until,
            revoked_at: None,
            created_at: now,
        })
    }

    /// A mandate read back from storage or an export, checked again.
    pub fn restore(record: MandateRecord) -> Result<Self, MandateError> {
        if record.grantor == record.grantee {
            return Err(MandateError::SelfMandate);
        }
        if record.services.is_empty() {
            return Err(MandateError::NoServices);
        }
        if record.valid_until <= record.valid_from {
            return Err(MandateError::EndsBeforeStart);
        }
        let max = record.relationship.max_validity();
        let length =
            record.valid_until.as_offset_date_time() - record.valid_from.as_offset_date_time();
        if length > max {
            return Err(MandateError::TooLong {
                relationship: record.relationship.name(),
                max_days: max.whole_days(),
            });
        }
        Ok(Self { record })
    }

    pub fn id(&self) -> MandateId {
        self.record.id
    }
    pub fn grantor(&self) -> AccountId {
        self.record.grantor
    }
    pub fn grantee(&self) -> AccountId {
        self.record.grantee
    }
    pub fn relationship(&self) -> Relationship {
        self.record.relationship
    }
    pub fn services(&self) -> &ServiceSet {
        &self.record.services
    }
    /// The first instant the mandate is valid (inclusive).
    pub fn valid_from(&self) -> Timestamp {
        self.record.valid_from
    }
    /// The first instant the mandate is no longer valid (exclusive).
    pub fn valid_until(&self) -> Timestamp {
        self.record.valid_until
    }
    pub fn revoked_at(&self) -> Option<Timestamp> {
        self.record.revoked_at
    }
    pub fn created_at(&self) -> Timestamp {
        self.record.created_at
    }
    pub fn record(&self) -> &MandateRecord {
        &self.record
    }

    /// Where the mandate stands at `now`. A revocation wins over everything.
    pub fn status(&self, now: Timestamp) -> MandateStatus {
        if self.record.revoked_at.is_some() {
            MandateStatus::Revoked
        } else if now < self.record.valid_from {
            MandateStatus::NotYetValid
        } else if now >= self.record.valid_until {
            MandateStatus::Expired
        } else {
            MandateStatus::Active
        }
    }

    /// Revokes the mandate at `at`; `false` when it already was revoked (the
    /// first revocation's time stays).
    pub fn revoke(&mut self, at: Timestamp) -> bool {
        if self.record.revoked_at.is_some() {
            return false;
        }
        self.record.revoked_at = Some(at);
        true
    }
}

impl TryFrom<MandateRecord> for Mandate {
    type Error = MandateError;
    fn try_from(record: MandateRecord) -> Result<Self, MandateError> {
        Self::restore(record)
    }
}

impl From<Mandate> for MandateRecord {
    fn from(mandate: Mandate) -> Self {
        mandate.record
    }
}

/// May `grantee` use `mandate` for `service` at `now`? The refusals are checked
/// in this order: someone else's mandate tells nothing more about itself.
pub fn can_act(
    mandate: &Mandate,
    grantee: AccountId,
    service: &ServiceCode,
    now: Timestamp,
) -> Result<(), MandateRefusal> {
    if mandate.grantee() != grantee {
        return Err(MandateRefusal::NotGrantee);
    }
    match mandate.status(now) {
        MandateStatus::Revoked => return Err(MandateRefusal::Revoked),
        MandateStatus::NotYetValid => return Err(MandateRefusal::NotYetValid),
        MandateStatus::Expired => return Err(MandateRefusal::Expired),
        MandateStatus::Active => {}
    }
    if !mandate.services().contains(service) {
        return Err(MandateRefusal::ServiceNotCovered);
    }
    Ok(())
}

/// One thing done under a mandate; the record is append-only and the grantor
/// can read every one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateAction {
    pub id: MandateActionId,
    pub mandate: MandateId,
    /// The account that acted (the mandate's grantee).
    pub actor: AccountId,
    pub service: ServiceCode,
    pub action: ActionCode,
    #[serde(with = "crate::security::millis")]
    pub at: Timestamp,
}

mod millis_opt {
    use crate::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.serialize_some(&t.unix_millis()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        match Option::<i64>::deserialize(d)? {
            Some(ms) => Timestamp::from_unix_millis(ms)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("timestamp out of range")),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_780_000_000_000 + ms).unwrap()
    }

    fn services(codes: &[&str]) -> ServiceSet {
        ServiceSet::parse(codes).unwrap()
    }

    fn request(relationship: Relationship, days: i64) -> MandateRequest {
        MandateRequest {
            grantor: AccountId::new(),
            grantee: AccountId::new(),
            grantee_level: AssuranceLevel::RealName,
            relationship,
            services: services(&["traffic_fine.pay", "social_security.query"]),
            valid_from: t(0),
            valid_until: t(0).plus(Duration::days(days)),
        }
    }

    #[test]
    fn service_codes_have_the_documented_shape() {
        for good in ["traffic_fine.pay", "a", "a1_b.c2.d_3", "x9"] {
            assert!(ServiceCode::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "Traffic.pay",
            "a-b",
            "a b",
            "交通.pay",
            &"a".repeat(MAX_CODE_LEN + 1),
        ] {
            assert!(ServiceCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_service_set_is_non_empty_and_bounded() {
        assert_eq!(
            ServiceSet::parse::<&str>(&[]),
            Err(MandateError::NoServices)
        );
        let twenty: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
        assert_eq!(ServiceSet::parse(&twenty).unwrap().len(), 20);
        let many: Vec<String> = (0..21).map(|i| format!("s{i}")).collect();
        assert_eq!(
            ServiceSet::parse(&many),
            Err(MandateError::TooManyServices(21))
        );
        assert_eq!(services(&["a", "a"]).len(), 1, "repeats collapse");
        assert!(matches!(
            ServiceSet::parse(&["ok", "NOT"]),
            Err(MandateError::BadCode(_))
        ));
    }

    #[test]
    fn grant_checks_parties_level_and_validity() {
        assert!(Mandate::grant(request(Relationship::Spouse, 366), t(0)).is_ok());
        assert!(matches!(
            Mandate::grant(request(Relationship::Spouse, 367), t(0)),
            Err(MandateError::TooLong { .. })
        ));
        assert!(Mandate::grant(request(Relationship::Guardian, 5 * 365), t(0)).is_ok());
        assert!(matches!(
            Mandate::grant(request(Relationship::Guardian, 6 * 365), t(0)),
            Err(MandateError::TooLong { .. })
        ));
        assert_eq!(
            Mandate::grant(request(Relationship::Child, 0), t(0)),
            Err(MandateError::EndsBeforeStart)
        );
        let mut own = request(Relationship::Parent, 30);
        own.grantee = own.grantor;
        assert_eq!(Mandate::grant(own, t(0)), Err(MandateError::SelfMandate));
        let mut weak = request(Relationship::Sibling, 30);
        weak.grantee_level = AssuranceLevel::PhoneVerified;
        assert_eq!(
            Mandate::grant(weak, t(0)),
            Err(MandateError::GranteeLevelTooLow(1))
        );
    }

    #[test]
    fn can_act_refuses_each_case_specifically() {
        let mut m = Mandate::grant(request(Relationship::Child, 30), t(0)).unwrap();
        let pay = ServiceCode::parse("traffic_fine.pay").unwrap();
        let other = ServiceCode::parse("marriage.book").unwrap();
        let g = m.grantee();
        assert_eq!(can_act(&m, g, &pay, t(0)), Ok(()));
        assert_eq!(
            can_act(&m, m.grantor(), &pay, t(0)),
            Err(MandateRefusal::NotGrantee)
        );
        assert_eq!(
            can_act(&m, g, &other, t(1)),
            Err(MandateRefusal::ServiceNotCovered)
        );
        assert_eq!(
            can_act(&m, g, &pay, t(-1)),
            Err(MandateRefusal::NotYetValid)
        );
        let end = m.valid_until();
        assert_eq!(
            can_act(&m, g, &pay, end.plus(Duration::milliseconds(-1))),
            Ok(())
        );
        assert_eq!(can_act(&m, g, &pay, end), Err(MandateRefusal::Expired));
        assert!(m.revoke(t(5)));
        assert!(!m.revoke(t(6)), "a second revocation changes nothing");
        assert_eq!(m.revoked_at(), Some(t(5)));
        assert_eq!(can_act(&m, g, &pay, t(1)), Err(MandateRefusal::Revoked));
        assert_eq!(m.status(t(1)), MandateStatus::Revoked);
    }

    #[test]
    fn status_is_derived_from_the_clock() {
        let m = Mandate::grant(request(Relationship::Spouse, 1), t(0)).unwrap();
        assert_eq!(m.status(t(-1)), MandateStatus::NotYetValid);
        assert_eq!(m.status(t(0)), MandateStatus::Active);
        assert_eq!(m.status(m.valid_until()), MandateStatus::Expired);
    }

    #[test]
    fn relationships_round_trip_by_name() {
        for r in Relationship::ALL {
            assert_eq!(Relationship::from_name(r.name()), Some(r));
        }
        assert_eq!(Relationship::from_name("friend"), None);
    }

    #[test]
    fn a_mandate_round_trips_through_json_and_is_checked_on_the_way_in() {
        let m = Mandate::grant(request(Relationship::Guardian, 100), t(0)).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Mandate>(&json).unwrap(), m);
        let mut record = m.record().clone();
        record.grantee = record.grantor;
        let forged = serde_json::to_string(&record).unwrap();
        assert!(serde_json::from_str::<Mandate>(&forged).is_err());
        assert!(serde_json::from_str::<ServiceSet>("[]").is_err());
    }
}
