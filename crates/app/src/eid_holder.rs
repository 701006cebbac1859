//! Holder-bound e-ID codes (offline): the credential a phone signs codes
//! with, issued for the phone's own P-256 key, and the codes the phone
//! reports having signed, recorded in the resident's access log. The formats
//! are in docs/eid-format.md ("Holder-bound codes").

use rand::RngCore;
use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::Timestamp;
use shengshi_eid as eid;
use shengshi_store::StoredAccount;

use crate::eid::{
    from_unix_seconds, internal, open_card_for_signing, purpose_fields, require_eligible,
    unix_seconds, EidError, Issuer, OpenedCard, CARD_FIELDS,
};
use crate::Services;

/// A holder credential lives at most this long; the phone renews it online.
pub const HOLDER_CREDENTIAL_LIFETIME_SECONDS: u32 = 7 * 24 * 3600;
/// The most codes one report may carry.
pub const MAX_REPORTED_PRESENTATIONS: usize = 200;

/// What the phone keeps: the issuer-signed credential and the disclosure
/// items (salted attributes) it reveals from, one per attribute.
#[derive(Clone, Debug)]
pub struct HolderCredential {
    pub credential: Vec<u8>,
    /// (attribute key, item bytes), in attribute-key order.
    pub items: Vec<(u8, Vec<u8>)>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Issues a holder credential bound to the phone's key: the card's
/// attributes open through the door (the access log names it), each is
/// salted and digested, and the issuer signs the digests with the key.
pub async fn issue_holder_credential(
    services: &Services,
    issuer: &Issuer,
    account: &StoredAccount,
    device_key: &eid::PublicKey,
) -> Result<HolderCredential, EidError> {
    require_eligible(account)?;
    let OpenedCard {
        card,
        attributes: stored,
        signer,
        now,
        cti,
    } = open_card_for_signing(
        services,
        issuer,
        account,
        Purpose::EidHolderCredential,
        |id| format!("eid-holder-credential:{id}"),
        &CARD_FIELDS,
    )
    .await?;
    let today = services.clock.today();
    let attributes = stored.to_eid(today)?;
    let age_over_60 = stored.age(today)? >= 60;
    let issued_at = unix_seconds(now);
    let issued = eid::issue_holder_credential(
        &eid::HolderCredentialRequest {
            issuer: &issuer.settings.issuer,
            issued_at,
            lifetime_seconds: HOLDER_CREDENTIAL_LIFETIME_SECONDS,
            cti,
            attributes: &attributes,
            age_over_60,
            device_key,
            status: eid::StatusRef {
                index: card.status_index,
                uri: issuer.settings.status_uri.clone(),
            },
        },
        signer.as_ref(),
        &mut || {
            let mut salt = [0u8; 16];
            rand::thread_rng().fill_bytes(&mut salt);
            salt
        },
    )
    .map_err(internal)?;
    Ok(HolderCredential {
        credential: issued.credential,
        items: issued
            .items
            .into_iter()
            .map(|(key, item)| (key.code(), item))
            .collect(),
        issued_at: from_unix_seconds(issued_at)?,
        expires_at: from_unix_seconds(issued_at + i64::from(HOLDER_CREDENTIAL_LIFETIME_SECONDS))?,
    })
}

/// A code the phone says it signed offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfflineReport {
    pub cti: [u8; 16],
    pub purpose: eid::Purpose,
    pub category: eid::VerifierCategory,
    /// When the phone signed it (unix seconds, its corrected clock).
    pub issued_at: i64,
}

/// Records, in the resident's access log, the codes their phone signed
/// offline (each once, however often it is reported). Self-reported: the
/// platform never saw these codes, so the entry says the phone reported it.
pub async fn record_offline_presentations(
    services: &Services,
    account: &StoredAccount,
    reports: &[OfflineReport],
) -> Result<usize, EidError> {
    if reports.len() > MAX_REPORTED_PRESENTATIONS {
        return Err(EidError::TooManyPresentations);
    }
    let card = services
        .store
        .current_card(account.id)
        .await?
        .ok_or(EidError::NoCard)?;
    let now = services.clock.now();
    let presentations: Vec<shengshi_store::DevicePresentation> = reports
        .iter()
        .map(|r| {
            Ok(shengshi_store::DevicePresentation {
                cti: r.cti,
                issued_at: from_unix_seconds(r.issued_at)?,
            })
        })
        .collect::<Result<_, EidError>>()?;
    let new = services
        .store
        .record_device_presentations(card.id, &presentations, now)
        .await?;
    for report in reports.iter().filter(|r| new.contains(&r.cti)) {
        let entry = shengshi_domain::access::AccessEntry {
            id: shengshi_domain::EventId::new(),
            at: now,
            subject: account.subject,
            accessor: Accessor::Subject,
            purpose: Purpose::EidOfflinePresentation,
            reference: Some(format!(
                "eid-offline:{}:{}:{}",
                report.purpose.name(),
                report.category.name(),
                hex::encode(report.cti)
            )),
            fields: purpose_fields(report.purpose)
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
            embargo: None,
        };
        services.access_log.record(entry).await.map_err(internal)?;
    }
    Ok(new.len())
}
