//! Holder-bound e-ID codes over the JSON API: a credential for the phone's
//! own key, so that it signs codes with no network; and the phone's report
//! of the codes it signed, for the resident's access log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use shengshi_app::eid_holder as app_holder;
use shengshi_i18n::Lang;
use utoipa::ToSchema;

use super::eid::{eid_problem, parse_request};
use super::registration::field;
use super::session::Authenticated;
use crate::lang::RequestLang;
use crate::problem::{ApiJson, Problem};
use crate::{no_store, AppState};

/// The phone's P-256 public key (the affine coordinates, base64url).
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeviceKey {
    pub x: String,
    pub y: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HolderCredentialRequest {
    /// The key the phone signs codes with (WebCrypto, non-extractable).
    pub device_key: DeviceKey,
    /// The phone's clock when it asked (unix milliseconds), for the record;
    /// the phone corrects its clock with `server_time_ms`.
    #[serde(default)]
    pub device_time_ms: Option<i64>,
}

/// One salted attribute the phone may disclose (docs/eid-format.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosureItemDto {
    /// The attribute key (1 name, 2 id_number, 3 sex, 4 birth_date, 5 address,
    /// 6 portrait_digest, 7 age_over_18, 8 age_over_60).
    pub key: u8,
    /// The item's CBOR bytes, base64url: `[salt, key, value]`.
    pub item: String,
}

/// A holder credential: keep it on the phone with its items; sign codes
/// with the device key (docs/eid-format.md, "Holder-bound codes").
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderCredentialDto {
    /// The issuer-signed credential (COSE_Sign1), base64url.
    pub credential: String,
    pub items: Vec<DisclosureItemDto>,
    /// RFC 3339, UTC.
    pub issued_at: String,
    pub expires_at: String,
    /// The platform's clock as it answered (unix milliseconds).
    pub server_time_ms: i64,
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn device_key(lang: Lang, key: &DeviceKey) -> Result<shengshi_eid::PublicKey, Problem> {
    use base64::Engine;
    let decode = |text: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .filter(|b| b.len() == 32)
    };
    let invalid = || Problem::validation(lang, vec![field(lang, "/device_key", "eid_device_key")]);
    let (Some(x), Some(y)) = (decode(&key.x), decode(&key.y)) else {
        return Err(invalid());
    };
    let mut sec1 = vec![0x04];
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    shengshi_eid::PublicKey::from_bytes(shengshi_eid::Algorithm::EcdsaP256, &sec1)
        .map_err(|_| invalid())
}

/// A credential for this phone's key, so that it can sign codes with no
/// network. Recorded in your access log; at most 7 days valid.
#[utoipa::path(
    post,
    path = "/api/v1/eid/card/holder-credentials",
    tag = "eid",
    request_body = HolderCredentialRequest,
    responses(
        (status = 201, body = HolderCredentialDto),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No card activated", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The card is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a P-256 public key", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn holder_credential(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    ApiJson(request): ApiJson<HolderCredentialRequest>,
) -> Response {
    let key = match device_key(lang.lang, &request.device_key) {
        Ok(key) => key,
        Err(problem) => return problem.into_response(),
    };
    match app_holder::issue_holder_credential(
        &state.services,
        &state.identity.eid,
        &session.account,
        &key,
    )
    .await
    {
        Ok(issued) => {
            let dto = HolderCredentialDto {
                credential: b64url(&issued.credential),
                items: issued
                    .items
                    .iter()
                    .map(|(key, item)| DisclosureItemDto {
                        key: *key,
                        item: b64url(item),
                    })
                    .collect(),
                issued_at: issued.issued_at.to_rfc3339(),
                expires_at: issued.expires_at.to_rfc3339(),
                server_time_ms: state.services.clock.now().unix_millis(),
            };
            no_store((StatusCode::CREATED, Json(dto)).into_response())
        }
        Err(e) => eid_problem(lang.lang, &e).into_response(),
    }
}

/// One code the phone signed offline.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OfflinePresentationDto {
    /// The code's id (hex of its 16-byte `cti`).
    pub id: String,
    pub purpose: String,
    pub category: String,
    /// When the phone signed it (unix seconds).
    pub issued_at: i64,
    /// The phone's counter (for the phone's own log; not stored).
    #[serde(default)]
    pub counter: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OfflinePresentationReport {
    /// At most 200.
    pub presentations: Vec<OfflinePresentationDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfflinePresentationsRecorded {
    /// How many were new (a code reported again is recorded once).
    pub recorded: usize,
}

/// Report the codes this phone signed offline, so that your access log lists
/// them. Sending the same report twice records each code once.
#[utoipa::path(
    post,
    path = "/api/v1/eid/card/offline-presentations",
    tag = "eid",
    request_body = OfflinePresentationReport,
    responses(
        (status = 200, body = OfflinePresentationsRecorded),
        (status = 401, description = "No live session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No card activated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed entry (nothing is recorded)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn offline_presentations(
    State(state): State<AppState>,
    lang: RequestLang,
    Authenticated(session): Authenticated,
    ApiJson(report): ApiJson<OfflinePresentationReport>,
) -> Response {
    let l = lang.lang;
    if report.presentations.len() > app_holder::MAX_REPORTED_PRESENTATIONS {
        return Problem::validation(l, vec![field(l, "/presentations", "eid_report_size")])
            .into_response();
    }
    let mut reports = Vec::with_capacity(report.presentations.len());
    for (i, p) in report.presentations.iter().enumerate() {
        let cti = hex::decode(&p.id)
            .ok()
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok());
        let Some(cti) = cti else {
            return Problem::validation(
                l,
                vec![field(
                    l,
                    &format!("/presentations/{i}/id"),
                    "eid_presentation_id",
                )],
            )
            .into_response();
        };
        let (purpose, category) = match parse_request(l, &p.purpose, Some(&p.category)) {
            Ok(pair) => pair,
            Err(problem) => return problem.into_response(),
        };
        reports.push(app_holder::OfflineReport {
            cti,
            purpose,
            category,
            issued_at: p.issued_at,
        });
    }
    match app_holder::record_offline_presentations(&state.services, &session.account, &reports)
        .await
    {
        Ok(recorded) => no_store(Json(OfflinePresentationsRecorded { recorded }).into_response()),
        Err(e) => eid_problem(l, &e).into_response(),
    }
}
