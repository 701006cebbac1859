//! The online verification service for verifier organisations (hotels,
//! stations, airports, banks): `POST /api/v1/verifier/verifications` with the
//! organisation's API key as a bearer token and a presentation code, answered
//! with the verdict and the attributes the code discloses. Every refusal is a
//! problem document that discloses nothing of the code (`app::verifiers`).

use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::portrait::{self, PortraitLink, PortraitRefused};
use shengshi_app::verifiers::{self, Verification, VerificationRefused};
use shengshi_i18n::{t, Lang};
use utoipa::ToSchema;

use crate::lang::RequestLang;
use crate::problem::{ApiJson, FieldError, Problem, ProblemKind};
use crate::{no_store, AppState};

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerificationRequest {
    /// The scanned QR text: `SS1:…` (minted online) or `SS2:…` (holder-bound,
    /// signed by the resident's phone); docs/eid-format.md.
    #[schema(example = "SS1:6BFOXN*TS0BI$ZDFRH…")]
    pub code: String,
}

/// The attributes the code discloses: exactly its purpose's (absent ones are
/// left out).
#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosedAttributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An 18-character citizen ID number, or a permit number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// `male` or `female`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<&'static str>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Hex of the SHA-256 of the resident's registry portrait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portrait_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_over_18: Option<bool>,
}

/// A code that verified. A refusal is a problem document instead.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationDto {
    /// Always `valid` (a refusal is a problem document).
    #[schema(example = "valid")]
    pub verdict: &'static str,
    /// The code's id (hex of its `cti`), as the resident's access log names it.
    pub id: String,
    /// `hotel_checkin`, `travel_security`, `age_over_18` or `identity_full`.
    #[schema(example = "hotel_checkin")]
    pub purpose: &'static str,
    /// The verifier category the code was made for, e.g. `hotel`.
    #[schema(example = "hotel")]
    pub category: &'static str,
    /// `issuer` (an `SS1` code minted online) or `holder` (an `SS2` code the phone signed).
    #[schema(example = "issuer")]
    pub mode: &'static str,
    /// When the code was made (RFC 3339, UTC).
    pub issued_at: String,
    /// When the code stops verifying (RFC 3339, UTC).
    pub expires_at: String,
    /// When your organisation first accepted this code (RFC 3339, UTC); a
    /// repeated scan answers the same.
    pub verified_at: String,
    pub attributes: DisclosedAttributes,
    /// For `hotel_checkin` and `travel_security` codes of a card with a
    /// portrait: a link to it that works for your organisation's key only,
    /// for two minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portrait: Option<PortraitLinkDto>,
}

/// A short-lived link to the resident's registry portrait.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortraitLinkDto {
    /// `GET` it with the same `Authorization: Bearer svk_…` header.
    #[schema(example = "/api/v1/verifier/portraits/Zm9v…")]
    pub url: String,
    /// When the link stops working (RFC 3339, UTC).
    pub expires_at: String,
}

fn dto(v: Verification, portrait: Option<PortraitLink>) -> VerificationDto {
    let d = v.disclosed;
    VerificationDto {
        portrait: portrait.map(|p| PortraitLinkDto {
            url: format!("/api/v1/verifier/portraits/{}", p.token),
            expires_at: p.expires_at.to_rfc3339(),
        }),
        verdict: "valid",
        id: v.id,
        purpose: v.purpose.name(),
        category: v.category.name(),
        mode: v.mode.name(),
        issued_at: v.issued_at.to_rfc3339(),
        expires_at: v.expires_at.to_rfc3339(),
        verified_at: v.verified_at.to_rfc3339(),
        attributes: DisclosedAttributes {
            name: d.name,
            id_number: d.id_number,
            sex: d.sex.map(|s| s.name()),
            birth_date: d.birth_date,
            address: d.address,
            portrait_digest: d.portrait_digest.map(hex::encode),
            age_over_18: d.age_over_18,
        },
    }
}

/// The bearer token of `Authorization: Bearer svk_…`, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn refusal_response(lang: Lang, refusal: &VerificationRefused) -> Response {
    let kind = match refusal {
        VerificationRefused::Unauthenticated => ProblemKind::VerifierUnauthenticated,
        VerificationRefused::RateLimited { .. } => ProblemKind::VerifierRateLimited,
        VerificationRefused::Suspended => ProblemKind::VerifierSuspended,
        VerificationRefused::PurposeNotAllowed { .. } => ProblemKind::VerifierPurposeNotAllowed,
        VerificationRefused::AlreadyUsed => ProblemKind::VerificationAlreadyUsed,
        VerificationRefused::Invalid(_) => ProblemKind::VerificationCodeInvalid,
        VerificationRefused::NotReady(why) => {
            tracing::warn!(%why, "online verification not ready");
            ProblemKind::EidNotReady
        }
        VerificationRefused::Internal(_) => {
            return Problem::internal(lang, refusal).into_response();
        }
    };
    let problem = match refusal {
        VerificationRefused::RateLimited {
            retry_after_seconds,
        } => Problem::new(kind, lang, &[("seconds", &retry_after_seconds.to_string())]),
        VerificationRefused::Invalid(code) => {
            let mut problem = Problem::new(kind, lang, &[("code", *code)]);
            problem.errors = vec![FieldError {
                pointer: "/code".to_owned(),
                code: (*code).to_owned(),
                detail: t(lang, "field.verification_code").to_owned(),
            }];
            problem
        }
        _ => Problem::new(kind, lang, &[]),
    };
    let mut response = problem.into_response();
    match refusal {
        VerificationRefused::Unauthenticated => {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        VerificationRefused::RateLimited {
            retry_after_seconds,
        } => {
            if let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string()) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
        }
        _ => {}
    }
    no_store(response)
}

/// Verify a resident's e-ID code for your organisation. The code must be of a
/// purpose and verifier category your organisation is registered for; the
/// first organisation to verify a code owns it (another one is refused with
/// `verification-already-used`), and scanning it again answers the same while
/// it lives. The resident's access log names your organisation and the purpose.
#[utoipa::path(
    post,
    path = "/api/v1/verifier/verifications",
    tag = "verifier",
    request_body = VerificationRequest,
    params(("Authorization" = String, Header, description = "`Bearer svk_…`: the organisation's API key (`shengshi verifier add` prints it once)")),
    responses(
        (status = 200, body = VerificationDto),
        (status = 401, description = "No live API key (`verifier-unauthenticated`): missing, unknown or rotated out", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The organisation is suspended (`verifier-suspended`), or not registered for the code's purpose or category (`verifier-purpose-not-allowed`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another organisation already accepted this code (`verification-already-used`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code did not verify (`verification-code-invalid`); `errors[0].code` is the e-ID error code of docs/eid-format.md §8, e.g. `expired`, `revoked`, `bad_signature`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests with this key (`verifier-rate-limited`, `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "e-ID is not set up (`eid-not-ready`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    ApiJson(request): ApiJson<VerificationRequest>,
) -> Response {
    match verifiers::verify(
        &state.services,
        &state.identity.eid,
        &state.identity.secrets,
        &state.verifier_gate,
        bearer(&headers),
        &request.code,
    )
    .await
    {
        Ok(verification) => {
            let link = portrait::link(&state.identity.secrets, &verification);
            no_store(Json(dto(verification, link)).into_response())
        }
        Err(refusal) => refusal_response(lang.lang, &refusal),
    }
}

/// Fetch the resident's registry portrait through the link a `hotel_checkin`
/// or `travel_security` verification answered with, with the same
/// organisation's API key, within two minutes. The resident's access log
/// names your organisation.
#[utoipa::path(
    get,
    path = "/api/v1/verifier/portraits/{token}",
    tag = "verifier",
    params(
        ("token" = String, Path, description = "The last part of the verification's `portrait.url`"),
        ("Authorization" = String, Header, description = "`Bearer svk_…`: the key of the organisation that verified the code"),
    ),
    responses(
        (status = 200, description = "The portrait (`image/jpeg` or `image/png`, never cached)", content_type = "image/jpeg"),
        (status = 401, description = "No live API key (`verifier-unauthenticated`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The organisation is suspended (`verifier-suspended`), or the link is another organisation's (`portrait-link-not-yours`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a portrait link (`portrait-link-invalid`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The link expired (`portrait-link-expired`), or the card was suspended or replaced since (`portrait-unavailable`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests with this key (`verifier-rate-limited`, `Retry-After`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn portrait(
    State(state): State<AppState>,
    lang: RequestLang,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let fetched = portrait::fetch(
        &state.services,
        &state.identity.secrets,
        &state.verifier_gate,
        state.identity.registry.as_ref(),
        bearer(&headers),
        &token,
    )
    .await;
    match fetched {
        Ok(image) => {
            let mut response = image.bytes.into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(image.content_type));
            no_store(response)
        }
        Err(PortraitRefused::Verifier(refusal)) => refusal_response(lang.lang, &refusal),
        Err(refusal) => {
            let kind = match refusal {
                PortraitRefused::BadLink => ProblemKind::PortraitLinkInvalid,
                PortraitRefused::OtherVerifier => ProblemKind::PortraitLinkNotYours,
                PortraitRefused::Expired => ProblemKind::PortraitLinkExpired,
                PortraitRefused::Unavailable => ProblemKind::PortraitUnavailable,
                PortraitRefused::Verifier(_) | PortraitRefused::Internal(_) => {
                    return Problem::internal(lang.lang, &refusal).into_response();
                }
            };
            no_store(Problem::new(kind, lang.lang, &[]).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_token_is_read_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer svk_abc"));
        assert_eq!(bearer(&headers), Some("svk_abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer  svk_abc "));
        assert_eq!(bearer(&headers), Some("svk_abc"));
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic c3ZrX2FiYw=="),
        );
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn every_refusal_has_a_problem_in_both_languages() {
        for lang in [Lang::ZhCn, Lang::En] {
            for refusal in [
                VerificationRefused::Unauthenticated,
                VerificationRefused::RateLimited {
                    retry_after_seconds: 2,
                },
                VerificationRefused::Suspended,
                VerificationRefused::PurposeNotAllowed {
                    purpose: "identity_full",
                    category: "hotel",
                },
                VerificationRefused::AlreadyUsed,
                VerificationRefused::Invalid("revoked"),
            ] {
                let response = refusal_response(lang, &refusal);
                assert!(response.status().is_client_error(), "{refusal:?}");
            }
            for kind in [
                ProblemKind::VerifierUnauthenticated,
                ProblemKind::VerifierRateLimited,
                ProblemKind::VerifierSuspended,
                ProblemKind::VerifierPurposeNotAllowed,
                ProblemKind::VerificationAlreadyUsed,
                ProblemKind::VerificationCodeInvalid,
                ProblemKind::PortraitLinkInvalid,
                ProblemKind::PortraitLinkNotYours,
                ProblemKind::PortraitLinkExpired,
                ProblemKind::PortraitUnavailable,
            ] {
                let problem = Problem::new(kind, lang, &[("seconds", "2"), ("code", "revoked")]);
                assert!(!problem.title.contains(shengshi_i18n::MISSING), "{kind:?}");
                assert!(!problem.detail.contains(shengshi_i18n::MISSING), "{kind:?}");
            }
        }
    }
}
