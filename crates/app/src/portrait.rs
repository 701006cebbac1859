//! The portrait link (issue 8): a hotel check-in or travel security
//! verification answers with a short-lived link to the resident's registry
//! portrait, so that the desk can compare the face in front of it.
//!
//! - The link is stateless: a token naming the organisation, the code's id
//!   (`cti`), the card's place in the status list and the expiry, with an
//!   HMAC-SHA256 under the `verifier-key-mac-key` platform secret (its own
//!   context, so it can never be taken for an API key's MAC). Nothing is
//!   stored. The expiry counts from the organisation's first acceptance of the
//!   code, so a repeated scan gets the same link, as it gets the same answer.
//! - Fetching it needs the same organisation's live API key; after the expiry,
//!   for another organisation or a suspended one it is refused, each refusal a
//!   security event with the organisation's id and a reason, nothing else.
//! - Each fetch passes the door (`eid_portrait`, field `portrait`), so the
//!   resident's access view names the organisation. The registry's portrait is
//!   served only while it is the one the card's digest names.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shengshi_domain::access::{Accessor, Purpose as AccessPurpose};
use shengshi_domain::{PersonName, ResidentIdNumber, Timestamp};
use shengshi_eid as eid;
use shengshi_store::CardStatus;
use subtle::ConstantTimeEq;

use crate::door::{self, AccessRequest};
use crate::eid::{attributes_context, CardAttributes};
use crate::registry::{PopulationRegistry, RegistryAnswer, RegistryQuery};
use crate::secrets::PlatformSecrets;
use crate::verifiers::{self, Verification, VerificationRefused, VerifierGate};
use crate::Services;

/// How long a portrait link works after the verification that made it.
pub const PORTRAIT_LINK_SECONDS: i64 = 120;
/// Binds the MAC to this use: no other MAC under the same secret is a link's.
const LINK_CONTEXT: &[u8] = b"shengshi eid portrait link v1|";
const MAC_LEN: usize = 32;
/// verifier id (16) | cti (16) | status index (4, BE) | expiry ms (8, BE).
const LINK_PLAIN_LEN: usize = 44;

/// A link just made: the token goes into the URL
/// `/api/v1/verifier/portraits/{token}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortraitLink {
    pub token: String,
    pub expires_at: Timestamp,
}

/// What a link names once opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LinkClaims {
    verifier: uuid::Uuid,
    cti: [u8; 16],
    status_index: u32,
    expires_ms: i64,
}

fn mac(secrets: &PlatformSecrets, plain: &[u8]) -> [u8; MAC_LEN] {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secrets.verifier_key_mac_key()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(LINK_CONTEXT);
    mac.update(plain);
    mac.finalize().into_bytes().into()
}

fn seal(secrets: &PlatformSecrets, claims: &LinkClaims) -> String {
    let mut token = Vec::with_capacity(LINK_PLAIN_LEN + MAC_LEN);
    token.extend_from_slice(claims.verifier.as_bytes());
    token.extend_from_slice(&claims.cti);
    token.extend_from_slice(&claims.status_index.to_be_bytes());
    token.extend_from_slice(&claims.expires_ms.to_be_bytes());
    let tag = mac(secrets, &token);
    token.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(token)
}

fn open(secrets: &PlatformSecrets, token: &str) -> Option<LinkClaims> {
    // A token is 102 characters; refuse anything much longer unread.
    if token.len() > 200 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    if bytes.len() != LINK_PLAIN_LEN + MAC_LEN {
        return None;
    }
    let (plain, tag) = bytes.split_at(LINK_PLAIN_LEN);
    if !bool::from(mac(secrets, plain).as_slice().ct_eq(tag)) {
        return None;
    }
    Some(LinkClaims {
        verifier: uuid::Uuid::from_slice(&plain[..16]).ok()?,
        cti: plain[16..32].try_into().ok()?,
        status_index: u32::from_be_bytes(plain[32..36].try_into().ok()?),
        expires_ms: i64::from_be_bytes(plain[36..44].try_into().ok()?),
    })
}

/// The purposes whose desks compare a face: only these get a link.
pub fn shows_portrait(purpose: eid::Purpose) -> bool {
    matches!(
        purpose,
        eid::Purpose::HotelCheckin | eid::Purpose::TravelSecurity
    )
}

/// A link for a verification that succeeded, when its purpose shows a
/// portrait and the card has one (its digest was disclosed). It works for
/// [`PORTRAIT_LINK_SECONDS`] from the organisation's first acceptance.
pub fn link(secrets: &PlatformSecrets, verification: &Verification) -> Option<PortraitLink> {
    if !shows_portrait(verification.purpose) || verification.disclosed.portrait_digest.is_none() {
        return None;
    }
    let cti: [u8; 16] = hex::decode(&verification.id).ok()?.try_into().ok()?;
    let expires_ms = verification.verified_at.unix_millis() + PORTRAIT_LINK_SECONDS * 1000;
    let claims = LinkClaims {
        verifier: verification.verifier,
        cti,
        status_index: verification.status_index,
        expires_ms,
    };
    Some(PortraitLink {
        token: seal(secrets, &claims),
        expires_at: Timestamp::from_unix_millis(expires_ms)?,
    })
}

/// A portrait to serve.
#[derive(Clone, PartialEq, Eq)]
pub struct Portrait {
    pub bytes: Vec<u8>,
    /// `image/jpeg` or `image/png`.
    pub content_type: &'static str,
}

impl std::fmt::Debug for Portrait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portrait")
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Why a portrait was not served. Each names nothing about the resident.
#[derive(Debug, thiserror::Error)]
pub enum PortraitRefused {
    /// The API key was refused (unknown, rotated out, rate-limited, suspended…).
    #[error(transparent)]
    Verifier(VerificationRefused),
    #[error("this is not a portrait link")]
    BadLink,
    #[error("the portrait link has expired")]
    Expired,
    #[error("the portrait link was made for another organisation")]
    OtherVerifier,
    /// The card was suspended or revoked since, or the registry no longer
    /// holds the portrait the card names.
    #[error("the portrait is no longer available")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl PortraitRefused {
    /// The stable reason code of security events.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Verifier(refusal) => refusal.reason(),
            Self::BadLink => "portrait_link_invalid",
            Self::Expired => "portrait_link_expired",
            Self::OtherVerifier => "portrait_link_other_verifier",
            Self::Unavailable => "portrait_unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

fn internal(e: impl std::fmt::Display) -> PortraitRefused {
    PortraitRefused::Internal(e.to_string())
}

/// Logs the refusal (organisation and reason only) and returns it.
async fn refused(
    services: &Services,
    verifier: uuid::Uuid,
    refusal: PortraitRefused,
) -> PortraitRefused {
    let logged = verifiers::refused(
        services,
        Some(verifier),
        VerificationRefused::Invalid(refusal.reason()),
    )
    .await;
    match logged {
        VerificationRefused::Invalid(_) => refusal,
        other => internal(other),
    }
}

/// The image type by its first bytes; the registry accepts only these two.
fn content_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// Serves the portrait a link names to the organisation whose API key this is.
pub async fn fetch(
    services: &Services,
    secrets: &PlatformSecrets,
    gate: &VerifierGate,
    registry: &dyn PopulationRegistry,
    api_key: Option<&str>,
    token: &str,
) -> Result<Portrait, PortraitRefused> {
    let verifier = verifiers::authenticate(services, secrets, gate, api_key)
        .await
        .map_err(PortraitRefused::Verifier)?;
    let org = verifier.id;
    let Some(claims) = open(secrets, token) else {
        return Err(refused(services, org, PortraitRefused::BadLink).await);
    };
    if claims.verifier != org {
        return Err(refused(services, org, PortraitRefused::OtherVerifier).await);
    }
    let now = services.clock.now();
    if now.unix_millis() >= claims.expires_ms {
        return Err(refused(services, org, PortraitRefused::Expired).await);
    }
    // The organisation's own claim on the code, and the card still live: a
    // card suspended or replaced since shows no face.
    let cti = hex::encode(claims.cti);
    let held = services.store.verification(&cti).await.map_err(internal)?;
    let card = services
        .store
        .card_by_status_index(claims.status_index)
        .await
        .map_err(internal)?;
    let (held, card) = match (held, card) {
        (Some(held), Some(card))
            if held.verifier == org
                && held.card == card.id
                && card.status == CardStatus::Active =>
        {
            (held, card)
        }
        _ => return Err(refused(services, org, PortraitRefused::Unavailable).await),
    };
    let reference = Some(format!("eid-portrait:{cti}"));
    let opened = door::open(
        services,
        AccessRequest {
            subject: held.subject,
            accessor: Accessor::Verifier {
                organisation: org,
                name: verifier.name.clone(),
            },
            purpose: AccessPurpose::EidPortrait,
            reference: reference.clone(),
            fields: vec!["portrait"],
        },
    )
    .await
    .map_err(internal)?;
    let sealed =
        shengshi_envelope::Sealed::from_bytes(card.sealed_attributes.clone()).map_err(internal)?;
    let plain = opened
        .open(&sealed, &attributes_context(card.id))
        .map_err(internal)?;
    let attributes: CardAttributes = serde_json::from_slice(&plain).map_err(internal)?;
    let today = services.clock.today();
    let id_number = ResidentIdNumber::parse(attributes.id_number(), today).map_err(internal)?;
    let name = PersonName::parse(attributes.name()).map_err(internal)?;
    // As at activation: the platform asks the registry, for this purpose.
    let answer = registry
        .check(
            &id_number,
            &name,
            &RegistryQuery {
                accessor: Accessor::Platform,
                purpose: AccessPurpose::EidPortrait,
                reference,
            },
        )
        .await
        .map_err(internal)?;
    let photo = match answer {
        RegistryAnswer::Match(record) => record.photo,
        _ => None,
    };
    // Only the portrait the code vouched for (its digest), never a newer one.
    let Some(bytes) = photo.filter(|p| attributes.portrait_matches(p)) else {
        return Err(refused(services, org, PortraitRefused::Unavailable).await);
    };
    let Some(content_type) = content_type(&bytes) else {
        return Err(internal("the registry portrait is neither JPEG nor PNG"));
    };
    Ok(Portrait {
        bytes,
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> LinkClaims {
        LinkClaims {
            verifier: uuid::Uuid::now_v7(),
            cti: [7; 16],
            status_index: 123_456,
            expires_ms: 1_800_000_120_000,
        }
    }

    #[test]
    fn a_link_opens_only_with_the_same_secret_and_untouched() {
        let secrets = PlatformSecrets::for_tests(&[1; 32]);
        let claims = claims();
        let token = seal(&secrets, &claims);
        assert_eq!(open(&secrets, &token), Some(claims));
        // The same claims give the same link (a repeated scan's answer is the
        // same); another secret's link does not open.
        assert_eq!(seal(&secrets, &claims), token);
        let other = PlatformSecrets::for_tests(&[2; 32]);
        assert_eq!(open(&other, &token), None);
        // Changed claims with the old MAC do not open.
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        raw[40] ^= 1;
        assert_eq!(open(&secrets, &URL_SAFE_NO_PAD.encode(raw)), None);
        // One character changed, truncated, or garbage: not a link.
        let mut bytes = token.clone().into_bytes();
        bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        for bad in [
            tampered.as_str(),
            &token[..token.len() - 2],
            "",
            "not a link",
        ] {
            assert_eq!(open(&secrets, bad), None, "{bad}");
        }
        assert_eq!(open(&secrets, &"A".repeat(500)), None);
    }

    #[test]
    fn images_are_recognised_by_their_first_bytes() {
        assert_eq!(
            content_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n\0\0"), Some("image/png"));
        assert_eq!(content_type(b"GIF89a"), None);
    }
}
