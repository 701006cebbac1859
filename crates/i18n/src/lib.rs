//! Message catalogs for pages, API error details, SMS texts and notices, in
//! Simplified Chinese (the default) and English.
//!
//! Catalogs are TOML files compiled into the binary. Keys are dotted paths
//! (`problem.not_found.title`); placeholders are `{name}`. A test fails when a key
//! or a placeholder exists in one language and not the other.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// A language the platform speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    ZhCn,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The BCP 47 tag, as used in `<html lang>` and `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::ZhCn => "zh-CN",
            Self::En => "en",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Self::ZhCn),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// Picks a language from an Accept-Language header, honouring q-values;
    /// Chinese when nothing matches.
    pub fn negotiate(accept_language: &str) -> Self {
        let mut best: Option<(f32, Lang)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::from_tag) else {
                continue;
            };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

type Catalog = HashMap<String, String>;

fn catalogs() -> &'static [Catalog; 2] {
    static CATALOGS: OnceLock<[Catalog; 2]> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        [
            parse(include_str!("../locales/zh-CN.toml")),
            parse(include_str!("../locales/en.toml")),
        ]
    })
}

fn parse(text: &str) -> Catalog {
    // The catalogs are compiled in and checked by tests, so a parse failure is a
    // build defect, not a runtime condition.
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("message catalog is not valid TOML: {e}"));
    let mut out = Catalog::new();
    flatten("", &toml::Value::Table(table), &mut out);
    out
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut Catalog) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => panic!("message {prefix} must be a string, found {other}"),
    }
}

fn catalog(lang: Lang) -> &'static Catalog {
    &catalogs()[lang as usize]
}

/// Shown in place of a message whose key is missing; page tests look for it.
pub const MISSING: &str = "[missing message]";

/// The message for `key`, or [`MISSING`] (tests keep catalogs and templates in step).
pub fn t(lang: Lang, key: &str) -> &'static str {
    catalog(lang)
        .get(key)
        .map(String::as_str)
        .unwrap_or(MISSING)
}

/// The message for `key` with `{name}` placeholders filled in.
pub fn t_args(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut text = t(lang, key).to_owned();
    for (name, value) in args {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// Every key with its text, for completeness checks and tooling.
pub fn keys(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    catalog(lang)
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholders(text: &str) -> BTreeSet<String> {
        text.split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}'))
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    #[test]
    fn every_key_exists_in_every_language_with_the_same_placeholders() {
        let zh = keys(Lang::ZhCn);
        let en = keys(Lang::En);
        let zh_keys: BTreeSet<_> = zh.keys().collect();
        let en_keys: BTreeSet<_> = en.keys().collect();
        let missing_in_en: Vec<_> = zh_keys.difference(&en_keys).collect();
        let missing_in_zh: Vec<_> = en_keys.difference(&zh_keys).collect();
        assert!(
            missing_in_en.is_empty(),
            "keys missing in en.toml: {missing_in_en:?}"
        );
        assert!(
            missing_in_zh.is_empty(),
            "keys missing in zh-CN.toml: {missing_in_zh:?}"
        );
        for key in zh.keys() {
            assert_eq!(
                placeholders(zh[key]),
                placeholders(en[key]),
                "placeholders differ for {key}"
            );
            assert!(
                !zh[key].trim().is_empty() && !en[key].trim().is_empty(),
                "empty message {key}"
            );
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            t_args(Lang::En, "problem.not_found.detail", &[("path", "/x")]),
            "There is nothing at /x."
        );
        assert_eq!(
            t_args(Lang::ZhCn, "problem.not_found.detail", &[("path", "/x")]),
            "您请求的地址不存在：/x"
        );
    }

    #[test]
    fn negotiation_honours_quality_and_defaults_to_chinese() {
        assert_eq!(Lang::negotiate("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(Lang::negotiate("fr;q=1, en;q=0.5, zh-CN;q=0.8"), Lang::ZhCn);
        assert_eq!(Lang::negotiate("de"), Lang::ZhCn);
        assert_eq!(Lang::negotiate(""), Lang::ZhCn);
        assert_eq!(Lang::negotiate("zh-TW;q=0, en"), Lang::En);
    }

    #[test]
    fn a_missing_key_is_marked() {
        assert_eq!(t(Lang::En, "no.such.key"), MISSING);
    }
}
