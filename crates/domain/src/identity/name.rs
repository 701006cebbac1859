//! A person's name as written on an identity document.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Why a name was refused. [`PersonNameError::code`] is the stable key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonNameError {
    #[error("the name is empty")]
    Empty,

    #[error("the name has {found} characters; at most {max} are allowed")]
    TooLong { max: usize, found: usize },

    /// `position` counts characters of the input from 1.
    #[error("character {position} is a control character, which a name cannot contain")]
    ControlCharacter { position: usize },
}

impl PersonNameError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "name_empty",
            Self::TooLong { .. } => "name_too_long",
            Self::ControlCharacter { .. } => "name_control_character",
        }
    }
}

/// A person's name in one normal form, so that the same name typed on two
/// devices compares equal:
///
/// - the middle dot of transliterated names (e.g. 阿沛·阿旺晋美) is always
///   U+00B7: U+30FB ・, U+2022 •, U+FF0E ．, U+2027 ‧ and U+FF65 ･ are mapped to it
///   (and NFC maps U+0387 to it too);
/// - runs of whitespace (any Unicode white space, including the ideographic
///   space U+3000 and line breaks) become one space; leading and trailing
///   whitespace is removed;
/// - the text is in Unicode Normalization Form C, so a name typed with a
///   combining accent equals the precomposed one;
/// - 1 to 64 characters (Unicode scalar values, not bytes). Characters outside
///   the Basic Multilingual Plane, such as 𠮷, are names' own characters and are
///   accepted;
/// - control characters (C0, C1, DEL) and the invisible bidirectional controls
///   (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) are refused: they
///   make a name print differently from how it compares.
///
/// It is personal data: `Display` and `Debug` show only the first character
/// and a star (`张*`); [`PersonName::as_str`] gives the whole name.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(text: &str) -> Result<Self, PersonNameError> {
        for (i, c) in text.chars().enumerate() {
            if is_refused_control(c) {
                return Err(PersonNameError::ControlCharacter { position: i + 1 });
            }
        }
        let dotted: String = text.chars().map(normalise_middle_dot).collect();
        let collapsed = dotted.split_whitespace().collect::<Vec<_>>().join(" ");
        let name: String = collapsed.nfc().collect();
        let found = name.chars().count();
        if found == 0 {
            return Err(PersonNameError::Empty);
        }
        if found > Self::MAX_CHARS {
            return Err(PersonNameError::TooLong {
                max: Self::MAX_CHARS,
                found,
            });
        }
        Ok(Self(name))
    }

    /// The normalised name. Personal data: do not log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two names are the same once normalised (both already are, so
    /// this is exact equality of the normal forms; it does not fold case).
    pub fn matches(&self, other: &PersonName) -> bool {
        self.0 == other.0
    }

    /// The first character and a star, e.g. `张*`; the same text as `Display`.
    pub fn masked(&self) -> String {
        self.to_string()
    }
}

/// Whitespace controls (tab, line feed, …) are whitespace first: they are
/// collapsed, not refused, since pasted names often carry them.
fn is_refused_control(c: char) -> bool {
    (c.is_control() && !c.is_whitespace())
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

fn normalise_middle_dot(c: char) -> char {
    match c {
        '\u{30FB}' | '\u{2022}' | '\u{FF0E}' | '\u{2027}' | '\u{FF65}' => '\u{00B7}',
        other => other,
    }
}

/// Masked: the first character and one star, whatever the length.
impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(first) = self.0.chars().next() {
            write!(f, "{first}")?;
        }
        f.write_str("*")
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> PersonName {
        PersonName::parse(s).unwrap()
    }

    #[test]
    fn trims_and_collapses_whitespace() {
        assert_eq!(name("  张  三 ").as_str(), "张 三");
        assert_eq!(name("\u{3000}李四\u{3000}").as_str(), "李四");
        assert_eq!(name("Jean\t\n Dupont\r\n").as_str(), "Jean Dupont");
        assert_eq!(name("A\u{00A0}B").as_str(), "A B");
    }

    #[test]
    fn characters_outside_the_bmp_are_names() {
        let n = name("𠮷野家");
        assert_eq!(n.as_str(), "𠮷野家");
        assert_eq!(n.as_str().chars().count(), 3);
        assert_eq!(format!("{n:?}"), "PersonName(𠮷*)");
    }

    #[test]
    fn every_middle_dot_variant_becomes_u00b7() {
        let expected = name("阿沛·阿旺晋美");
        for dot in [
            '\u{00B7}', '\u{30FB}', '\u{2022}', '\u{FF0E}', '\u{2027}', '\u{FF65}', '\u{0387}',
        ] {
            let n = name(&format!("阿沛{dot}阿旺晋美"));
            assert_eq!(n.as_str(), "阿沛\u{00B7}阿旺晋美", "{:04X}", dot as u32);
            assert!(n.matches(&expected));
        }
    }

    #[test]
    fn nfd_input_equals_nfc_input() {
        let nfc = name("Zoë Martínez");
        let nfd = name("Zoe\u{0308} Marti\u{0301}nez");
        assert_eq!(nfc, nfd);
        assert!(nfd.matches(&nfc));
        // Hangul typed as conjoining jamo composes to syllables.
        assert_eq!(name("\u{1100}\u{1161}\u{11A8}").as_str(), "\u{AC01}");
    }

    #[test]
    fn length_is_counted_in_characters() {
        let max = "𠮷".repeat(PersonName::MAX_CHARS); // 256 bytes, 64 characters
        assert!(PersonName::parse(&max).is_ok());
        assert_eq!(
            PersonName::parse(&format!("{max}𠮷")),
            Err(PersonNameError::TooLong { max: 64, found: 65 })
        );
        assert_eq!(name("王").as_str(), "王");
    }

    #[test]
    fn empty_and_blank_names_are_refused() {
        assert_eq!(PersonName::parse(""), Err(PersonNameError::Empty));
        assert_eq!(
            PersonName::parse(" \u{3000}\t"),
            Err(PersonNameError::Empty)
        );
    }

    #[test]
    fn control_characters_are_refused() {
        for (text, position) in [
            ("张\u{0000}三", 2),
            ("\u{0007}", 1),
            ("ab\u{007F}", 3),
            ("a\u{0090}", 2),
            ("张\u{202E}三", 2),
            ("\u{2066}x", 1),
        ] {
            let e = PersonName::parse(text).unwrap_err();
            assert_eq!(
                e,
                PersonNameError::ControlCharacter { position },
                "{text:?}"
            );
            assert_eq!(e.code(), "name_control_character");
        }
    }

    #[test]
    fn debug_and_display_mask_the_name() {
        let n = name("欧阳娜娜");
        assert_eq!(format!("{n:?}"), "PersonName(欧*)");
        assert_eq!(n.to_string(), "欧*");
        assert_eq!(n.masked(), "欧*");
        assert!(!format!("{n:?}").contains("娜"));
    }

    #[test]
    fn different_names_do_not_match() {
        assert!(!name("张三").matches(&name("张 三")));
        assert!(!name("Li Lei").matches(&name("li lei")));
    }
}
