//! The language of a request: an explicit `?lang=` choice, else the `lang`
//! cookie the choice left behind, else Accept-Language, else Chinese.

use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use shengshi_i18n::Lang;
use std::convert::Infallible;

pub const LANG_COOKIE: &str = "lang";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLang {
    pub lang: Lang,
    /// True when the query string chose the language (the page then remembers it).
    pub chosen_now: bool,
}

impl RequestLang {
    pub fn from_parts(parts: &Parts) -> Self {
        Self::from_headers(&parts.headers, parts.uri.query())
    }

    pub fn from_headers(headers: &HeaderMap, query: Option<&str>) -> Self {
        if let Some(lang) =
            query_param(query.unwrap_or(""), "lang").and_then(|v| Lang::from_tag(&v))
        {
            return Self {
                lang,
                chosen_now: true,
            };
        }
        if let Some(lang) = cookie(headers, LANG_COOKIE).and_then(|v| Lang::from_tag(&v)) {
            return Self {
                lang,
                chosen_now: false,
            };
        }
        let accept = headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Self {
            lang: Lang::negotiate(accept),
            chosen_now: false,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
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
