//! Tests of the identity-number rules. Every number here is made up: a body
//! chosen by hand and its check character computed; the only fixed numbers are
//! the two worked examples printed in GB 11643-1999.

use proptest::prelude::*;
use time::macros::date;
use time::{Date, Duration};

use super::number::check_character;
use super::region::{self, RegionStatus};
use super::*;

fn today() -> CivilDate {
    CivilDate::new(date!(2026 - 05 - 20))
}

/// 17 body digits plus their check character.
fn with_check(body: &str) -> String {
    assert_eq!(body.len(), 17, "{body}");
    format!("{body}{}", char::from(check_character(body.as_bytes())))
}

fn resident(text: &str) -> Result<ResidentIdNumber, IdNumberError> {
    ResidentIdNumber::parse(text, today())
}

fn yyyymmdd(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

// ---- resident ID numbers: each rule ----

#[test]
fn a_guangdong_number_parses() {
    let text = with_check("44010619900307123");
    let n = resident(&text).unwrap();
    assert_eq!(n.as_str(), text);
    assert_eq!(n.region_code().as_str(), "440106");
    assert_eq!(n.region_code().province(), "44");
    assert_eq!(n.region_code().entry().unwrap().name(), "天河区");
    assert_eq!(n.birth_date(), CivilDate::new(date!(1990 - 03 - 07)));
    assert_eq!(n.sex(), Sex::Male);
}

#[test]
fn sex_follows_the_parity_of_the_sequence() {
    for (seq, sex) in [
        ("000", Sex::Female),
        ("001", Sex::Male),
        ("124", Sex::Female),
        ("999", Sex::Male),
    ] {
        let n = resident(&with_check(&format!("44030419851111{seq}"))).unwrap();
        assert_eq!(n.sex(), sex, "{seq}");
    }
    assert_eq!(Sex::Female.code(), "female");
}

#[test]
fn the_standards_first_example_parses_and_lowercase_x_is_normalised() {
    let n = resident("11010519491231002x").unwrap();
    assert_eq!(n.as_str(), "11010519491231002X");
    assert_eq!(n.birth_date(), CivilDate::new(date!(1949 - 12 - 31)));
    assert_eq!(n.sex(), Sex::Female);
    assert_eq!(n, resident("11010519491231002X").unwrap());
}

#[test]
fn the_standards_second_example_is_born_too_early() {
    // 440524 (潮阳县) is historical and accepted; 1880 is before 1900.
    assert_eq!(
        resident("440524188001010014"),
        Err(IdNumberError::BirthDateTooEarly)
    );
}

#[test]
fn historical_guangdong_codes_stay_valid() {
    assert_eq!(
        region::lookup("440524").unwrap().status(),
        RegionStatus::Historical
    );
    let n = resident(&with_check("44052419800101001")).unwrap();
    assert_eq!(n.region_code().as_str(), "440524");
    // 芳村区, merged into 荔湾区 in 2005.
    assert!(resident(&with_check("44010719700101002")).is_ok());
}

#[test]
fn unknown_guangdong_codes_are_refused() {
    for code in ["449999", "440199", "445000"] {
        assert_eq!(
            resident(&with_check(&format!("{code}19900101001"))),
            Err(IdNumberError::UnknownRegion { code: code.into() }),
            "{code}"
        );
    }
}

#[test]
fn other_provinces_need_a_valid_prefix_and_plausible_digits() {
    assert!(resident(&with_check("32010219900101001")).is_ok()); // Nanjing
    assert!(resident(&with_check("65900119900101001")).is_ok()); // Shihezi (90)
    for code in ["190101", "000000", "668001", "119501"] {
        let e = resident(&with_check(&format!("{code}19900101001"))).unwrap_err();
        assert_eq!(e, IdNumberError::UnknownRegion { code: code.into() });
        assert_eq!(e.code(), "unknown_region");
    }
}

#[test]
fn taiwan_hong_kong_and_macau_prefixes_are_not_resident_numbers() {
    for code in ["710000", "810000", "820000", "830000", "810101"] {
        let e = resident(&with_check(&format!("{code}19900101001"))).unwrap_err();
        assert!(
            matches!(
                e,
                IdNumberError::WrongPrefix {
                    document: DocumentKind::ResidentId,
                    ..
                }
            ),
            "{code}: {e:?}"
        );
        assert_eq!(e.code(), "wrong_prefix");
    }
}

#[test]
fn length_is_checked_in_characters() {
    for (text, found) in [
        ("", 0),
        ("4401061990030712", 16),
        ("44010619900307123", 17),
        ("4401061990030712345", 19),
        ("张三", 2),
    ] {
        let e = resident(text).unwrap_err();
        assert_eq!(
            e,
            IdNumberError::Length {
                expected: "18 (or 15 in the legacy form)",
                found
            }
        );
        assert_eq!(e.code(), "length");
    }
}

#[test]
fn characters_must_be_digits_with_x_only_last() {
    for (text, position) in [
        ("44010A19900307123X", 6),
        ("X40106199003071238", 1),
        ("44010619900307123 ", 18), // trimmed, so this is a length error below
        ("4401061990-0307123", 11),
        ("４40106199003071238", 1), // full-width digit
    ] {
        let result = resident(text);
        if text.ends_with(' ') {
            assert!(matches!(
                result,
                Err(IdNumberError::Length { found: 17, .. })
            ));
            continue;
        }
        let e = result.unwrap_err();
        assert_eq!(e, IdNumberError::InvalidCharacter { position }, "{text}");
        assert_eq!(e.code(), "invalid_character");
    }
}

#[test]
fn surrounding_whitespace_is_ignored() {
    let text = with_check("44010619900307123");
    assert_eq!(resident(&format!("  {text}\n")).unwrap().as_str(), text);
}

#[test]
fn birth_date_must_be_a_real_date() {
    for date in [
        "19900230", "19901301", "19900001", "19900100", "19000229", "20230229",
    ] {
        let e = resident(&with_check(&format!("440106{date}001"))).unwrap_err();
        assert_eq!(e, IdNumberError::InvalidBirthDate, "{date}");
        assert_eq!(e.code(), "invalid_birth_date");
    }
    // Leap days where they exist.
    assert!(resident(&with_check("44010620000229001")).is_ok());
    assert!(resident(&with_check("44010619960229001")).is_ok());
}

#[test]
fn birth_date_may_be_today_but_not_later() {
    assert!(resident(&with_check("44010620260520001")).is_ok());
    let e = resident(&with_check("44010620260521001")).unwrap_err();
    assert_eq!(e, IdNumberError::BirthDateInFuture);
    assert_eq!(e.code(), "birth_date_in_future");
    assert_eq!(
        resident(&with_check("44010629990101001")),
        Err(IdNumberError::BirthDateInFuture)
    );
}

#[test]
fn birth_date_may_be_1900_01_01_but_not_earlier() {
    assert!(resident(&with_check("44010619000101001")).is_ok());
    let e = resident(&with_check("44010618991231001")).unwrap_err();
    assert_eq!(e, IdNumberError::BirthDateTooEarly);
    assert_eq!(e.code(), "birth_date_too_early");
}

#[test]
fn a_wrong_check_character_says_what_was_expected() {
    let good = with_check("44010619900307123");
    let expected = good.chars().last().unwrap();
    let found = if expected == '0' { '1' } else { '0' };
    let bad = format!("{}{found}", &good[..17]);
    let e = resident(&bad).unwrap_err();
    assert_eq!(e, IdNumberError::WrongCheckCharacter { expected, found });
    assert_eq!(e.code(), "wrong_check_character");
}

#[test]
fn display_and_debug_are_masked() {
    let text = with_check("44010619900307123");
    let n = resident(&text).unwrap();
    let masked = format!("4401**********{}", &text[14..]);
    assert_eq!(n.to_string(), masked);
    assert_eq!(n.masked(), masked);
    assert_eq!(format!("{n:?}"), format!("ResidentIdNumber({masked})"));
    assert!(!format!("{n:?}").contains(&text[4..14]));
    let doc = IdentityDocument::parse_any(&text, today()).unwrap();
    assert!(!format!("{doc:?}").contains(&text));
    assert_eq!(doc.to_string(), masked);
}

// ---- legacy 15-digit numbers ----

#[test]
fn legacy_numbers_convert_to_18_characters() {
    let n = resident("440106900307123").unwrap();
    assert_eq!(n.as_str(), with_check("44010619900307123"));
    assert_eq!(n, resident(&with_check("44010619900307123")).unwrap());
    assert_eq!(n.birth_date(), CivilDate::new(date!(1990 - 03 - 07)));
    assert_eq!(n.sex(), Sex::Male);
    // The standard's first example, in its 1989 form.
    assert_eq!(
        resident("110105491231002").unwrap().as_str(),
        "11010519491231002X"
    );
}

#[test]
fn legacy_numbers_follow_the_same_rules() {
    assert_eq!(
        resident("440106900230123"),
        Err(IdNumberError::InvalidBirthDate)
    );
    assert_eq!(
        resident("449999900307123"),
        Err(IdNumberError::UnknownRegion {
            code: "449999".into()
        })
    );
    // A legacy number has no check character, so no X.
    assert_eq!(
        resident("44010690030712X"),
        Err(IdNumberError::InvalidCharacter { position: 15 })
    );
    assert!(matches!(
        resident("810000900307123"),
        Err(IdNumberError::WrongPrefix { .. })
    ));
}

// ---- Hong Kong, Macau and Taiwan residence permits ----

#[test]
fn residence_permits_parse_for_each_region() {
    for (prefix, region) in [
        ("810000", HkMacaoTaiwanRegion::HongKong),
        ("820000", HkMacaoTaiwanRegion::Macau),
        ("830000", HkMacaoTaiwanRegion::Taiwan),
    ] {
        let text = with_check(&format!("{prefix}19880808002"));
        let p = HkMacaoTaiwanResidencePermit::parse(&text, today()).unwrap();
        assert_eq!(p.region(), region);
        assert_eq!(p.as_str(), text);
        assert_eq!(p.birth_date(), CivilDate::new(date!(1988 - 08 - 08)));
        assert_eq!(p.sex(), Sex::Female);
        assert_eq!(
            p.masked(),
            format!("{}**********{}", &prefix[..4], &text[14..])
        );
        assert!(!format!("{p:?}").contains(&text));
    }
}

#[test]
fn residence_permits_need_their_prefix_and_the_same_date_rules() {
    let e =
        HkMacaoTaiwanResidencePermit::parse(&with_check("44010619880808002"), today()).unwrap_err();
    assert_eq!(
        e,
        IdNumberError::WrongPrefix {
            document: DocumentKind::HkMacaoTaiwanResidencePermit,
            expected: "810000 (Hong Kong), 820000 (Macau) or 830000 (Taiwan)",
        }
    );
    assert!(
        HkMacaoTaiwanResidencePermit::parse(&with_check("71000019880808002"), today()).is_err()
    );
    let permit = |body: &str| HkMacaoTaiwanResidencePermit::parse(&with_check(body), today());
    assert_eq!(
        permit("81000019880230002"),
        Err(IdNumberError::InvalidBirthDate)
    );
    assert_eq!(
        permit("82000020300101002"),
        Err(IdNumberError::BirthDateInFuture)
    );
    assert_eq!(
        permit("83000018991231002"),
        Err(IdNumberError::BirthDateTooEarly)
    );
    assert_eq!(
        HkMacaoTaiwanResidencePermit::parse("81000019880808002", today()),
        Err(IdNumberError::Length {
            expected: "18",
            found: 17
        })
    );
}

// ---- foreign permanent resident ID cards (2023) ----

#[test]
fn foreign_permanent_resident_cards_parse() {
    // 9, Guangdong (44), France (250), 1985-01-01, sequence 001.
    let text = with_check("94425019850101001");
    let card = ForeignPermanentResidentIdCard::parse(&text, today()).unwrap();
    assert_eq!(card.as_str(), text);
    assert_eq!(card.province_code(), "44");
    assert_eq!(card.nationality_code(), "250");
    assert_eq!(card.birth_date(), CivilDate::new(date!(1985 - 01 - 01)));
    assert_eq!(card.masked(), format!("9442**********{}", &text[14..]));
    assert!(!format!("{card:?}").contains(&text));
}

#[test]
fn foreign_permanent_resident_cards_follow_their_rules() {
    let card = |body: &str| ForeignPermanentResidentIdCard::parse(&with_check(body), today());
    assert_eq!(
        card("84425019850101001"),
        Err(IdNumberError::WrongPrefix {
            document: DocumentKind::ForeignPermanentResidentIdCard,
            expected: "9",
        })
    );
    for province in ["19", "00", "99", "81", "71"] {
        assert_eq!(
            card(&format!("9{province}25019850101001")),
            Err(IdNumberError::UnknownRegion {
                code: province.into()
            }),
            "{province}"
        );
    }
    assert_eq!(
        card("94425019850132001"),
        Err(IdNumberError::InvalidBirthDate)
    );
    assert_eq!(
        card("94425020270101001"),
        Err(IdNumberError::BirthDateInFuture)
    );
    assert_eq!(
        card("94425018991231001"),
        Err(IdNumberError::BirthDateTooEarly)
    );
}

// ---- picking the document by shape ----

#[test]
fn parse_any_picks_the_document_by_shape_and_prefix() {
    let any = |text: &str| IdentityDocument::parse_any(text, today());
    let resident_text = with_check("44010619900307123");
    let doc = any(&resident_text).unwrap();
    assert_eq!(doc.kind(), DocumentKind::ResidentId);
    assert_eq!(doc.as_str(), resident_text);
    assert_eq!(doc.birth_date(), CivilDate::new(date!(1990 - 03 - 07)));

    let legacy = any("440106900307123").unwrap();
    assert_eq!(legacy, doc);

    let permit = any(&with_check("81000019880808002")).unwrap();
    assert_eq!(permit.kind(), DocumentKind::HkMacaoTaiwanResidencePermit);
    let card = any(&with_check("94425019850101001")).unwrap();
    assert_eq!(card.kind(), DocumentKind::ForeignPermanentResidentIdCard);
    assert_eq!(card.kind().code(), "foreign_permanent_resident_id_card");

    // 81 followed by anything but 0000 is routed to the resident rules.
    assert!(matches!(
        any(&with_check("81010119900101001")),
        Err(IdNumberError::WrongPrefix {
            document: DocumentKind::ResidentId,
            ..
        })
    ));
    assert_eq!(
        any("1234567890123456"),
        Err(IdNumberError::Length {
            expected: "15 or 18",
            found: 16
        })
    );
}

// ---- the check character catches every single substitution ----

/// Asserts that replacing any one character of `valid` by a digit or X (that
/// changes it) fails the check, and that anything else is refused too.
fn assert_single_substitutions_rejected<T: fmt::Debug>(
    valid: &str,
    parse: impl Fn(&str) -> Result<T, IdNumberError>,
) {
    let chars: Vec<char> = valid.chars().collect();
    assert_eq!(chars.len(), 18);
    for position in 0..18 {
        for replacement in "0123456789XxA -５Ｘ٣".chars() {
            let same = replacement == chars[position]
                || (position == 17 && replacement.eq_ignore_ascii_case(&chars[position]));
            if same {
                continue;
            }
            let mut changed = chars.clone();
            changed[position] = replacement;
            let text: String = changed.into_iter().collect();
            let result = parse(&text);
            let allowed_here = replacement.is_ascii_digit()
                || (position == 17 && replacement.eq_ignore_ascii_case(&'X'));
            match result {
                Err(IdNumberError::WrongCheckCharacter { .. }) if allowed_here => {}
                Err(IdNumberError::InvalidCharacter { position: p })
                    if !allowed_here && p == position + 1 => {}
                // A space at either end is trimmed away.
                Err(IdNumberError::Length { found: 17, .. })
                    if replacement == ' ' && (position == 0 || position == 17) => {}
                other => panic!("{text:?} (position {}) gave {other:?}", position + 1),
            }
        }
    }
}

#[test]
fn every_single_substitution_is_caught_in_each_document_type() {
    let resident_text = with_check("44010619900307123");
    assert_single_substitutions_rejected(&resident_text, resident);
    assert_single_substitutions_rejected("11010519491231002X", resident);
    let permit = with_check("82000019880808002");
    assert_single_substitutions_rejected(&permit, |t| {
        HkMacaoTaiwanResidencePermit::parse(t, today())
    });
    let card = with_check("94425019850101001");
    assert_single_substitutions_rejected(&card, |t| {
        ForeignPermanentResidentIdCard::parse(t, today())
    });
    for text in [resident_text, permit, card] {
        assert_single_substitutions_rejected(&text, |t| IdentityDocument::parse_any(t, today()));
    }
}

// ---- property tests ----

const TODAY_DAYS_SINCE_1900: i64 = 46_160; // 1900-01-01 .. 2026-05-20

fn birth_dates() -> impl Strategy<Value = Date> {
    (0..=TODAY_DAYS_SINCE_1900).prop_map(|d| date!(1900 - 01 - 01) + Duration::days(d))
}

/// Region codes a resident number may carry: any Guangdong code in the data,
/// or a plausible code in another mainland province.
fn resident_regions() -> impl Strategy<Value = String> {
    let guangdong: Vec<String> = region::entries()
        .iter()
        .map(|e| e.code().as_str().to_owned())
        .filter(|c| c.starts_with("44"))
        .collect();
    let provinces: Vec<String> = region::entries()
        .iter()
        .map(|e| e.code().province().to_owned())
        .filter(|p| p != "44" && p.as_str() < "70")
        .collect();
    let prefecture = prop_oneof![0..=70u32, Just(90u32)];
    prop_oneof![
        proptest::sample::select(guangdong),
        (proptest::sample::select(provinces), prefecture, 0..=99u32)
            .prop_map(|(p, pp, cc)| format!("{p}{pp:02}{cc:02}")),
    ]
}

fn mainland_provinces() -> impl Strategy<Value = String> {
    let provinces: Vec<String> = region::entries()
        .iter()
        .filter(|e| e.code().as_str().ends_with("0000"))
        .map(|e| e.code().province().to_owned())
        .filter(|p| p.as_str() < "70")
        .collect();
    proptest::sample::select(provinces)
}

/// A valid number of any of the three kinds.
fn valid_numbers() -> impl Strategy<Value = String> {
    let resident = (resident_regions(), birth_dates(), 0..1000u32)
        .prop_map(|(r, d, s)| with_check(&format!("{r}{}{s:03}", yyyymmdd(d))));
    let permit = (
        proptest::sample::select(vec!["810000", "820000", "830000"]),
        birth_dates(),
        0..1000u32,
    )
        .prop_map(|(r, d, s)| with_check(&format!("{r}{}{s:03}", yyyymmdd(d))));
    let card = (mainland_provinces(), 0..1000u32, birth_dates(), 0..1000u32)
        .prop_map(|(p, n, d, s)| with_check(&format!("9{p}{n:03}{}{s:03}", yyyymmdd(d))));
    prop_oneof![resident, permit, card]
}

proptest! {
    #[test]
    fn generated_resident_numbers_parse_and_round_trip(
        region in resident_regions(),
        birth in birth_dates(),
        sequence in 0..1000u32,
        lowercase in any::<bool>(),
    ) {
        let text = with_check(&format!("{region}{}{sequence:03}", yyyymmdd(birth)));
        let typed = if lowercase { text.to_lowercase() } else { text.clone() };
        let n = ResidentIdNumber::parse(&typed, today()).unwrap();
        prop_assert_eq!(n.as_str(), text.as_str());
        let code = n.region_code();
        prop_assert_eq!(code.as_str(), region.as_str());
        prop_assert_eq!(n.birth_date(), CivilDate::new(birth));
        let male = sequence % 2 == 1;
        prop_assert_eq!(n.sex(), if male { Sex::Male } else { Sex::Female });
        prop_assert_eq!(ResidentIdNumber::parse(n.as_str(), today()).unwrap(), n);
        prop_assert_eq!(
            IdentityDocument::parse_any(&typed, today()).unwrap(),
            IdentityDocument::ResidentId(n)
        );
        if birth.year() < 2000 {
            let legacy = format!("{region}{}{sequence:03}", &yyyymmdd(birth)[2..]);
            prop_assert_eq!(ResidentIdNumber::parse(&legacy, today()).unwrap(), n);
        }
    }

    #[test]
    fn generated_numbers_of_every_kind_parse_and_round_trip(text in valid_numbers()) {
        let doc = IdentityDocument::parse_any(&text, today()).unwrap();
        prop_assert_eq!(doc.as_str(), text.as_str());
        prop_assert_eq!(IdentityDocument::parse_any(doc.as_str(), today()).unwrap(), doc);
        let debug = format!("{:?}", doc);
        prop_assert!(!debug.contains(text.as_str()));
        let own = match doc {
            IdentityDocument::ResidentId(_) => ResidentIdNumber::parse(&text, today()).is_ok(),
            IdentityDocument::HkMacaoTaiwanResidencePermit(_) => {
                HkMacaoTaiwanResidencePermit::parse(&text, today()).is_ok()
            }
            IdentityDocument::ForeignPermanentResidentIdCard(_) => {
                ForeignPermanentResidentIdCard::parse(&text, today()).is_ok()
            }
        };
        prop_assert!(own);
    }

    #[test]
    fn every_single_substitution_of_a_generated_number_is_caught(text in valid_numbers()) {
        assert_single_substitutions_rejected(&text, |t| IdentityDocument::parse_any(t, today()));
    }

    #[test]
    fn every_adjacent_transposition_of_a_generated_number_is_caught(text in valid_numbers()) {
        // MOD 11-2 also catches swapped neighbours: adjacent weights differ mod 11.
        let chars: Vec<char> = text.chars().collect();
        for i in 0..17 {
            if chars[i] == chars[i + 1] {
                continue;
            }
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            let swapped: String = swapped.into_iter().collect();
            prop_assert!(
                IdentityDocument::parse_any(&swapped, today()).is_err(),
                "{} accepted", swapped
            );
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = ResidentIdNumber::parse(&text, today());
        let _ = HkMacaoTaiwanResidencePermit::parse(&text, today());
        let _ = ForeignPermanentResidentIdCard::parse(&text, today());
        let _ = IdentityDocument::parse_any(&text, today());
        let _ = PersonName::parse(&text);
    }

    #[test]
    fn number_shaped_text_never_panics(text in "[0-9Xx ]{0,20}") {
        let _ = IdentityDocument::parse_any(&text, today());
        let _ = ResidentIdNumber::parse(&text, today());
    }

    #[test]
    fn names_are_normalised_once_and_for_all(text in any::<String>()) {
        if let Ok(name) = PersonName::parse(&text) {
            let again = PersonName::parse(name.as_str()).unwrap();
            prop_assert_eq!(&again, &name);
            let count = name.as_str().chars().count();
            prop_assert!((1..=PersonName::MAX_CHARS).contains(&count));
            prop_assert!(!name.as_str().starts_with(' ') && !name.as_str().ends_with(' '));
            prop_assert!(!name.as_str().contains("  "));
        }
    }

    #[test]
    fn nfd_and_nfc_spellings_of_a_name_are_the_same_name(text in any::<String>()) {
        use unicode_normalization::UnicodeNormalization;
        let nfc: String = text.nfc().collect();
        let nfd: String = text.nfd().collect();
        match (PersonName::parse(&nfc), PersonName::parse(&nfd)) {
            (Ok(a), Ok(b)) => prop_assert!(a.matches(&b)),
            (Err(a), Err(b)) => prop_assert_eq!(a.code(), b.code()),
            (a, b) => prop_assert!(false, "{:?} vs {:?}", a, b),
        }
    }
}

#[test]
fn the_day_count_constant_is_right() {
    assert_eq!(
        (date!(2026 - 05 - 20) - date!(1900 - 01 - 01)).whole_days(),
        TODAY_DAYS_SINCE_1900
    );
}
