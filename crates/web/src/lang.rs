//! The language and display mode of a request, the two things every page's
//! layout (`templates/base.html`) needs from it.
//!
//! - Language: an explicit `?lang=` choice, else the `lang` cookie the choice
//!   left behind, else Accept-Language, else Chinese.
//! - Mode (长辈模式, elderly mode): an explicit `?mode=elderly|standard`, else
//!   the `mode` cookie, else standard.
//!
//! A page opts in by taking the [`RequestLang`] extractor and carrying
//! `lang: Lang`, `other_lang: Lang` and `mode: Mode` fields (filled from it),
//! which `base.html` reads for `<html lang>`, the `<html class>` the
//! stylesheet keys on, and the two switch links in the header. `pages::render`
//! (or `forms::respond`) then remembers an explicit choice in its cookie, so a
//! `?lang=`/`?mode=` link works from every page.

use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use shengshi_i18n::Lang;
use std::convert::Infallible;

pub const LANG_COOKIE: &str = "lang";
pub const MODE_COOKIE: &str = "mode";

/// How pages are laid out for this reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Standard,
    /// 长辈模式: larger type, bigger targets, higher contrast, fewer choices.
    Elderly,
}

impl Mode {
    /// The value in `?mode=` and in the `mode` cookie.
    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Elderly => "elderly",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "standard" => Some(Self::Standard),
            "elderly" => Some(Self::Elderly),
            _ => None,
        }
    }

    /// The mode the header's switch link leads to.
    pub fn other(self) -> Self {
        match self {
            Self::Standard => Self::Elderly,
            Self::Elderly => Self::Standard,
        }
    }

    /// The class on `<html>` that app.css keys on.
    pub fn class(self) -> &'static str {
        match self {
            Self::Standard => "mode-standard",
            Self::Elderly => "mode-elderly",
        }
    }

    pub fn is_elderly(self) -> bool {
        self == Self::Elderly
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLang {
    pub lang: Lang,
    /// True when the query string chose the language (the page then remembers it).
    pub chosen_now: bool,
    /// Standard or elderly layout.
    pub mode: Mode,
    /// True when the query string chose the mode (the page then remembers it).
    pub mode_chosen_now: bool,
}

impl RequestLang {
    pub fn from_parts(parts: &Parts) -> Self {
        Self::from_headers(&parts.headers, parts.uri.query())
    }

    pub fn from_headers(headers: &HeaderMap, query: Option<&str>) -> Self {
        let query = query.unwrap_or("");
        let (mode, mode_chosen_now) =
            match query_param(query, "mode").and_then(|v| Mode::from_name(&v)) {
                Some(mode) => (mode, true),
                None => (
                    cookie(headers, MODE_COOKIE)
                        .and_then(|v| Mode::from_name(&v))
                        .unwrap_or_default(),
                    false,
                ),
            };
        let (lang, chosen_now) = if let Some(lang) =
            query_param(query, "lang").and_then(|v| Lang::from_tag(&v))
        {
            (lang, true)
        } else if let Some(lang) = cookie(headers, LANG_COOKIE).and_then(|v| Lang::from_tag(&v)) {
            (lang, false)
        } else {
            let accept = headers
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            (Lang::negotiate(accept), false)
        };
        Self {
            lang,
            chosen_now,
            mode,
            mode_chosen_now,
        }
    }

    /// The `Set-Cookie` values that remember an explicit choice for a year
    /// (none when nothing was chosen by this request).
    pub fn remember(&self) -> Vec<String> {
        let mut cookies = Vec::new();
        if self.chosen_now {
            cookies.push(format!(
                "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                self.lang.tag()
            ));
        }
        if self.mode_chosen_now {
            cookies.push(format!(
                "{MODE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                self.mode.name()
            ));
        }
        cookies
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// The name under which `pages::render` hands the page's own query to
/// `base.html` (askama's runtime values).
pub const PAGE_QUERY_VALUE: &str = "page_query";

tokio::task_local! {
    static PAGE_QUERY: Option<String>;
}

/// Middleware for the pages: remembers the request's query, less `lang` and
/// `mode`, while the page is made, so that the header's switch links keep
/// it (`?status=approved` stays when switching to English).
pub async fn keep_page_query(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let kept = kept_query(request.uri().query().unwrap_or(""));
    PAGE_QUERY.scope(kept, next.run(request)).await
}

/// The query of the page being made, for its switch links (`None` outside
/// a page request, or when there is nothing to keep).
pub fn page_query() -> Option<String> {
    PAGE_QUERY.try_with(Clone::clone).ok().flatten()
}

/// The query without `lang`, `mode` and empty pairs, still percent-encoded.
fn kept_query(query: &str) -> Option<String> {
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(k, _)| k);
            !pair.is_empty() && name != "lang" && name != "mode"
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
    url_pairs(query).find(|(k, _)| k == name).map(|(_, v)| v)
}

fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k.to_owned(), v.to_owned())
    })
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(cookie_header: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(cookie_header).unwrap());
        h
    }

    #[test]
    fn switch_links_keep_the_page_query_but_not_the_choices() {
        assert_eq!(kept_query(""), None);
        assert_eq!(kept_query("lang=en&mode=elderly"), None);
        assert_eq!(
            kept_query("status=approved&lang=en&from=2026-01-01&&mode=standard"),
            Some("status=approved&from=2026-01-01".to_owned())
        );
        // A parameter merely starting with "lang" is the page's own.
        assert_eq!(
            kept_query("language=x&q=%E5%8C%97"),
            Some("language=x&q=%E5%8C%97".to_owned())
        );
    }

    #[test]
    fn the_query_wins_then_the_cookie_then_standard() {
        let none = RequestLang::from_headers(&HeaderMap::new(), None);
        assert_eq!((none.mode, none.mode_chosen_now), (Mode::Standard, false));
        let cookie = RequestLang::from_headers(&headers("lang=en; mode=elderly"), None);
        assert_eq!(
            (cookie.mode, cookie.mode_chosen_now),
            (Mode::Elderly, false)
        );
        assert_eq!(cookie.lang, Lang::En);
        assert!(cookie.remember().is_empty());
        let chosen =
            RequestLang::from_headers(&headers("mode=elderly"), Some("mode=standard&lang=zh-CN"));
        assert_eq!(
            (chosen.mode, chosen.mode_chosen_now),
            (Mode::Standard, true)
        );
        assert_eq!(
            chosen.remember(),
            [
                "lang=zh-CN; Path=/; Max-Age=31536000; SameSite=Lax",
                "mode=standard; Path=/; Max-Age=31536000; SameSite=Lax"
            ]
        );
        let junk = RequestLang::from_headers(&headers("mode=huge"), Some("mode=tiny"));
        assert_eq!((junk.mode, junk.mode_chosen_now), (Mode::Standard, false));
    }
}
