//! Purposes, verifier categories and the attributes a presentation discloses.

use std::fmt;

/// Why a code is shown. The purpose decides which attributes it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// 1: name, ID number, portrait digest.
    HotelCheckin,
    /// 2: name, ID number, portrait digest.
    TravelSecurity,
    /// 3: the boolean age_over_18 and nothing else.
    AgeOver18,
    /// 4: name, ID number, sex, birth date, address, portrait digest.
    IdentityFull,
}

impl Purpose {
    pub const ALL: [Purpose; 4] = [
        Purpose::HotelCheckin,
        Purpose::TravelSecurity,
        Purpose::AgeOver18,
        Purpose::IdentityFull,
    ];

    pub fn code(self) -> u32 {
        match self {
            Purpose::HotelCheckin => 1,
            Purpose::TravelSecurity => 2,
            Purpose::AgeOver18 => 3,
            Purpose::IdentityFull => 4,
        }
    }

    pub fn from_code(code: u64) -> Option<Purpose> {
        Purpose::ALL
            .into_iter()
            .find(|p| u64::from(p.code()) == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Purpose::HotelCheckin => "hotel_checkin",
            Purpose::TravelSecurity => "travel_security",
            Purpose::AgeOver18 => "age_over_18",
            Purpose::IdentityFull => "identity_full",
        }
    }

    pub fn from_name(name: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether a verifier of this category may be shown a code for this purpose.
    pub fn allows(self, category: VerifierCategory) -> bool {
        use VerifierCategory as C;
        match self {
            Purpose::HotelCheckin => category == C::Hotel,
            Purpose::TravelSecurity => matches!(category, C::Railway | C::Airport),
            Purpose::AgeOver18 => true,
            Purpose::IdentityFull => matches!(category, C::Bank | C::Government),
        }
    }

    /// The attribute keys this purpose discloses (portrait_digest only when the
    /// resident has a portrait).
    pub fn attribute_keys(self) -> &'static [AttributeKey] {
        use AttributeKey as A;
        match self {
            Purpose::HotelCheckin | Purpose::TravelSecurity => {
                &[A::Name, A::IdNumber, A::PortraitDigest]
            }
            Purpose::AgeOver18 => &[A::AgeOver18],
            Purpose::IdentityFull => &[
                A::Name,
                A::IdNumber,
                A::Sex,
                A::BirthDate,
                A::Address,
                A::PortraitDigest,
            ],
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who is shown the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifierCategory {
    Hotel,
    Railway,
    Airport,
    Bank,
    Government,
    Retail,
}

impl VerifierCategory {
    pub const ALL: [VerifierCategory; 6] = [
        VerifierCategory::Hotel,
        VerifierCategory::Railway,
        VerifierCategory::Airport,
        VerifierCategory::Bank,
        VerifierCategory::Government,
        VerifierCategory::Retail,
    ];

    pub fn code(self) -> u32 {
        match self {
            VerifierCategory::Hotel => 1,
            VerifierCategory::Railway => 2,
            VerifierCategory::Airport => 3,
            VerifierCategory::Bank => 4,
            VerifierCategory::Government => 5,
            VerifierCategory::Retail => 6,
        }
    }

    pub fn from_code(code: u64) -> Option<VerifierCategory> {
        VerifierCategory::ALL
            .into_iter()
            .find(|c| u64::from(c.code()) == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            VerifierCategory::Hotel => "hotel",
            VerifierCategory::Railway => "railway",
            VerifierCategory::Airport => "airport",
            VerifierCategory::Bank => "bank",
            VerifierCategory::Government => "government",
            VerifierCategory::Retail => "retail",
        }
    }

    pub fn from_name(name: &str) -> Option<VerifierCategory> {
        VerifierCategory::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for VerifierCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Sex per GB/T 2261.1: 1 male, 2 female.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn code(self) -> u32 {
        match self {
            Sex::Male => 1,
            Sex::Female => 2,
        }
    }

    pub fn from_code(code: u64) -> Option<Sex> {
        match code {
            1 => Some(Sex::Male),
            2 => Some(Sex::Female),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

/// The keys of the attribute map (claim -65537, key 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeKey {
    Name,
    IdNumber,
    Sex,
    BirthDate,
    Address,
    PortraitDigest,
    AgeOver18,
    /// Only in holder credentials (SS2): no purpose discloses it yet.
    AgeOver60,
}

impl AttributeKey {
    pub const ALL: [AttributeKey; 8] = [
        AttributeKey::Name,
        AttributeKey::IdNumber,
        AttributeKey::Sex,
        AttributeKey::BirthDate,
        AttributeKey::Address,
        AttributeKey::PortraitDigest,
        AttributeKey::AgeOver18,
        AttributeKey::AgeOver60,
    ];

    pub fn code(self) -> u8 {
        match self {
            AttributeKey::Name => 1,
            AttributeKey::IdNumber => 2,
            AttributeKey::Sex => 3,
            AttributeKey::BirthDate => 4,
            AttributeKey::Address => 5,
            AttributeKey::PortraitDigest => 6,
            AttributeKey::AgeOver18 => 7,
            AttributeKey::AgeOver60 => 8,
        }
    }

    pub fn from_code(code: i128) -> Option<AttributeKey> {
        AttributeKey::ALL
            .into_iter()
            .find(|k| i128::from(k.code()) == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            AttributeKey::Name => "name",
            AttributeKey::IdNumber => "id_number",
            AttributeKey::Sex => "sex",
            AttributeKey::BirthDate => "birth_date",
            AttributeKey::Address => "address",
            AttributeKey::PortraitDigest => "portrait_digest",
            AttributeKey::AgeOver18 => "age_over_18",
            AttributeKey::AgeOver60 => "age_over_60",
        }
    }
}

/// Everything the issuer knows about the holder; the purpose selects what is disclosed.
#[derive(Clone, PartialEq, Eq)]
pub struct Attributes {
    pub name: String,
    pub id_number: String,
    pub sex: Sex,
    /// Full date `YYYY-MM-DD`.
    pub birth_date: String,
    pub address: String,
    /// SHA-256 of the portrait image bytes; `None` without a portrait.
    pub portrait_digest: Option<[u8; 32]>,
    pub age_over_18: bool,
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal data never reaches logs through Debug.
        f.write_str("Attributes { .. }")
    }
}

/// The attributes a presentation carries.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Disclosed {
    pub name: Option<String>,
    pub id_number: Option<String>,
    pub sex: Option<Sex>,
    pub birth_date: Option<String>,
    pub address: Option<String>,
    pub portrait_digest: Option<[u8; 32]>,
    pub age_over_18: Option<bool>,
}

impl fmt::Debug for Disclosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Disclosed {{ fields: {:?} }}", self.field_names())
    }
}

impl Disclosed {
    /// Exactly the attributes `purpose` discloses.
    pub fn for_purpose(purpose: Purpose, attributes: &Attributes) -> Disclosed {
        let mut d = Disclosed::default();
        for key in purpose.attribute_keys() {
            match key {
                AttributeKey::Name => d.name = Some(attributes.name.clone()),
                AttributeKey::IdNumber => d.id_number = Some(attributes.id_number.clone()),
                AttributeKey::Sex => d.sex = Some(attributes.sex),
                AttributeKey::BirthDate => d.birth_date = Some(attributes.birth_date.clone()),
                AttributeKey::Address => d.address = Some(attributes.address.clone()),
                AttributeKey::PortraitDigest => d.portrait_digest = attributes.portrait_digest,
                AttributeKey::AgeOver18 => d.age_over_18 = Some(attributes.age_over_18),
                AttributeKey::AgeOver60 => {}
            }
        }
        d
    }

    /// The attribute keys present, in key order.
    pub fn keys(&self) -> Vec<AttributeKey> {
        let mut keys = Vec::new();
        if self.name.is_some() {
            keys.push(AttributeKey::Name);
        }
        if self.id_number.is_some() {
            keys.push(AttributeKey::IdNumber);
        }
        if self.sex.is_some() {
            keys.push(AttributeKey::Sex);
        }
        if self.birth_date.is_some() {
            keys.push(AttributeKey::BirthDate);
        }
        if self.address.is_some() {
            keys.push(AttributeKey::Address);
        }
        if self.portrait_digest.is_some() {
            keys.push(AttributeKey::PortraitDigest);
        }
        if self.age_over_18.is_some() {
            keys.push(AttributeKey::AgeOver18);
        }
        keys
    }

    /// The snake_case names of the attributes present (for access logs and displays).
    pub fn field_names(&self) -> Vec<&'static str> {
        self.keys().into_iter().map(AttributeKey::name).collect()
    }
}

/// Where a presentation's status is published: index `idx` in the status list at `uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRef {
    pub index: u32,
    pub uri: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::from_name(p.name()), Some(p));
            assert_eq!(Purpose::from_code(p.code().into()), Some(p));
        }
        for c in VerifierCategory::ALL {
            assert_eq!(VerifierCategory::from_name(c.name()), Some(c));
            assert_eq!(VerifierCategory::from_code(c.code().into()), Some(c));
        }
    }

    #[test]
    fn allowed_pairs() {
        use VerifierCategory as C;
        let allowed: Vec<(Purpose, C)> = Purpose::ALL
            .into_iter()
            .flat_map(|p| C::ALL.into_iter().map(move |c| (p, c)))
            .filter(|(p, c)| p.allows(*c))
            .collect();
        assert_eq!(allowed.len(), 1 + 2 + 6 + 2);
        assert!(Purpose::HotelCheckin.allows(C::Hotel));
        assert!(!Purpose::HotelCheckin.allows(C::Retail));
        assert!(Purpose::TravelSecurity.allows(C::Airport));
        assert!(!Purpose::IdentityFull.allows(C::Hotel));
    }

    #[test]
    fn age_over_18_discloses_only_the_boolean() {
        let a = Attributes {
            name: "n".into(),
            id_number: "i".into(),
            sex: Sex::Female,
            birth_date: "2000-01-01".into(),
            address: "a".into(),
            portrait_digest: Some([1; 32]),
            age_over_18: true,
        };
        assert_eq!(
            Disclosed::for_purpose(Purpose::AgeOver18, &a).field_names(),
            vec!["age_over_18"]
        );
        assert_eq!(
            Disclosed::for_purpose(Purpose::HotelCheckin, &a).field_names(),
            vec!["name", "id_number", "portrait_digest"]
        );
        assert_eq!(
            Disclosed::for_purpose(Purpose::IdentityFull, &a)
                .field_names()
                .len(),
            6
        );
    }
}
