//! Registration: phone → SMS code → name and ID number → registry and carrier
//! checks → an L2 account.
//!
//! One account per resident, enumeration-safe: a registration for an ID number
//! that already has an account creates nothing, tells the existing account's
//! phone, and answers the caller exactly as a successful registration does
//! ("check your phone"). Both paths make the same checks and one SMS, and both
//! attempt the same single transaction, so neither the answer nor the work
//! done tells them apart. A registry or carrier outage creates nothing.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::{
    AccountId, Actor, AssuranceLevel, PersonName, PhoneCode, PhoneNumber, ResidentIdNumber,
    SecurityEventKind, SubjectId, Timestamp,
};
use shengshi_envelope::{DataKey, KeyRef};
use shengshi_i18n::Lang;
use shengshi_store::{StoreError, StoredAccount, StoredDataKey};
use time::Duration;

use crate::carrier::{CarrierCheck, CarrierError, CarrierVerdict};
use crate::door::{self, AccessRequest};
use crate::phone_codes::{self, VerifyCodeError};
use crate::registry::{PopulationRegistry, RegistryAnswer, RegistryError, RegistryQuery};
use crate::secrets::PlatformSecrets;
use crate::sms::{SmsGateway, SmsMessage};
use crate::Services;
use shengshi_domain::access::{Accessor, Purpose};

/// How long a verified phone may be used to finish registering.
pub const PHONE_PROOF_TTL: Duration = Duration::minutes(30);
/// The sealing context of an account's profile.
pub const PROFILE_CONTEXT: &[u8] = b"account.profile";

/// Proof that the caller controls a phone: only [`verify_phone`] makes one.
#[derive(Clone, Debug)]
pub struct VerifiedPhone {
    phone: PhoneNumber,
    verified_at: Timestamp,
}

impl VerifiedPhone {
    pub fn phone(&self) -> &PhoneNumber {
        &self.phone
    }

    pub fn verified_at(&self) -> Timestamp {
        self.verified_at
    }
}

/// Checks the registration code sent to `phone`.
pub async fn verify_phone(
    services: &Services,
    secrets: &PlatformSecrets,
    phone: &PhoneNumber,
    code: &PhoneCode,
) -> Result<VerifiedPhone, VerifyCodeError> {
    phone_codes::verify(
        services.store.as_ref(),
        services.clock.as_ref(),
        secrets,
        phone,
        CodePurpose::Register,
        code,
    )
    .await?;
    Ok(VerifiedPhone {
        phone: phone.clone(),
        verified_at: services.clock.now(),
    })
}

/// The personal data an account holds, sealed as one value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Profile([personal data])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("the phone was verified too long ago; verify it again")]
    PhoneProofExpired,
    #[error("the name does not match the population registry's record for this ID number")]
    NameMismatch,
    #[error("the ID number is not in the population registry")]
    NotInRegistry,
    #[error("the registry records this person as deceased")]
    Deceased,
    #[error("the registry records this person as emigrated")]
    Emigrated,
    #[error(
        "the mobile carrier does not have this phone number registered to this name and ID number"
    )]
    CarrierMismatch,
    #[error("the mobile carrier has no record of this phone number")]
    CarrierNoRecord,
    #[error(
        "the population registry cannot be reached; nothing was created, please try again later"
    )]
    RegistryUnavailable(#[source] RegistryError),
    #[error("the carrier check cannot be reached; nothing was created, please try again later")]
    CarrierUnavailable(#[source] CarrierError),
    #[error("registration failed: {0}")]
    Internal(String),
}

impl RegistrationError {
    /// A stable code for translations and API problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PhoneProofExpired => "phone_proof_expired",
            Self::NameMismatch => "name_mismatch",
            Self::NotInRegistry => "not_in_registry",
            Self::Deceased => "deceased",
            Self::Emigrated => "emigrated",
            Self::CarrierMismatch => "carrier_mismatch",
            Self::CarrierNoRecord => "carrier_no_record",
            Self::RegistryUnavailable(_) => "registry_unavailable",
            Self::CarrierUnavailable(_) => "carrier_unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

fn internal(e: impl std::fmt::Display) -> RegistrationError {
    RegistrationError::Internal(e.to_string())
}

/// The answer to a registration that passed every check. It is the same
/// whether a new account was opened or one already existed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registered {
    /// "We have sent a message to your phone."
    CheckYourPhone,
}

/// The external checks registration needs.
#[derive(Clone, Copy, Debug)]
pub struct Checks<'a> {
    pub registry: &'a dyn PopulationRegistry,
    pub carrier: &'a dyn CarrierCheck,
    pub sms: &'a dyn SmsGateway,
}

/// The MAC under which a resident ID number is stored and looked up.
pub fn id_number_mac(secrets: &PlatformSecrets, id_number: &ResidentIdNumber) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secrets.otp_mac_key())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(b"resident-id-number\0");
    mac.update(id_number.as_str().as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Opens an L2 account for the person with this verified phone.
pub async fn register(
    services: &Services,
    secrets: &PlatformSecrets,
    checks: Checks<'_>,
    proof: &VerifiedPhone,
    name: &PersonName,
    id_number: &ResidentIdNumber,
    lang: Lang,
) -> Result<Registered, RegistrationError> {
    let result = check_and_create(services, secrets, checks, proof, name, id_number, lang).await;
    if let Err(e) = &result {
        let reason = e.code().to_owned();
        services
            .security_log
            .record(
                Actor::Anonymous,
                SecurityEventKind::RegistrationRefused { reason },
            )
            .await
            .map_err(internal)?;
    }
    result
}

async fn check_and_create(
    services: &Services,
    secrets: &PlatformSecrets,
    checks: Checks<'_>,
    proof: &VerifiedPhone,
    name: &PersonName,
    id_number: &ResidentIdNumber,
    lang: Lang,
) -> Result<Registered, RegistrationError> {
    let now = services.clock.now();
    if now >= proof.verified_at.plus(PHONE_PROOF_TTL) {
        return Err(RegistrationError::PhoneProofExpired);
    }
    match checks
        .registry
        .check(id_number, name, &RegistryQuery::registration())
        .await
        .map_err(RegistrationError::RegistryUnavailable)?
    {
        RegistryAnswer::Match(_) => {}
        RegistryAnswer::NameMismatch => return Err(RegistrationError::NameMismatch),
        RegistryAnswer::NotFound => return Err(RegistrationError::NotInRegistry),
        RegistryAnswer::Deceased => return Err(RegistrationError::Deceased),
        RegistryAnswer::Emigrated => return Err(RegistrationError::Emigrated),
    }
    match checks
        .carrier
        .three_factor(name, id_number, &proof.phone)
        .await
        .map_err(RegistrationError::CarrierUnavailable)?
    {
        CarrierVerdict::Consistent => {}
        CarrierVerdict::Inconsistent => return Err(RegistrationError::CarrierMismatch),
        CarrierVerdict::NoRecord => return Err(RegistrationError::CarrierNoRecord),
    }

    let id_mac = id_number_mac(secrets, id_number);
    let identity = Identity {
        name,
        id_number,
        phone: &proof.phone,
    };
    let (account, stored_key) =
        new_account(services, secrets, identity, AssuranceLevel::RealName, None)
            .await
            .map_err(internal)?;
    let subject = account.subject;
    match services.store.create_account(&account, &stored_key).await {
        Ok(()) => {
            services
                .security_log
                .record(
                    Actor::Subject { id: subject },
                    SecurityEventKind::AccountRegistered {
                        account: account.id,
                        level: AssuranceLevel::RealName.number(),
                    },
                )
                .await
                .map_err(internal)?;
            send(
                checks.sms,
                &proof.phone,
                "SMS_ACCOUNT_READY",
                "sms.account_ready",
                lang,
            )
            .await;
        }
        Err(StoreError::Conflict(_)) => {
            let existing = services
                .store
                .active_account_by_id_number(&id_mac)
                .await
                .map_err(internal)?
                .ok_or_else(|| internal("the conflicting account vanished"))?;
            services
                .security_log
                .record(
                    Actor::Anonymous,
                    SecurityEventKind::DuplicateRegistration {
                        existing: existing.id,
                    },
                )
                .await
                .map_err(internal)?;
            let existing_phone = account_phone(services, &existing).await?;
            send(
                checks.sms,
                &existing_phone,
                "SMS_DUPLICATE_REGISTRATION",
                "sms.duplicate_registration",
                lang,
            )
            .await;
        }
        Err(e) => return Err(internal(e)),
    }
    Ok(Registered::CheckYourPhone)
}

/// Who an account is for, once checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Identity<'a> {
    pub name: &'a PersonName,
    pub id_number: &'a ResidentIdNumber,
    pub phone: &'a PhoneNumber,
}

/// A new active account for this verified identity, with its own data key
/// (wrapped by the KEK) sealing the profile. Nothing is written yet.
pub(crate) async fn new_account(
    services: &Services,
    secrets: &PlatformSecrets,
    identity: Identity<'_>,
    level: AssuranceLevel,
    in_person_verified_at: Option<Timestamp>,
) -> Result<(StoredAccount, StoredDataKey), String> {
    let now = services.clock.now();
    let profile = Profile {
        name: identity.name.as_str().to_owned(),
        id_number: identity.id_number.as_str().to_owned(),
        phone: identity.phone.as_str().to_owned(),
    };
    let subject = SubjectId::new();
    let key_id = uuid::Uuid::now_v7();
    let key = DataKey::generate(KeyRef(*key_id.as_bytes()), services.envelope_algorithm);
    let profile_json =
        zeroize::Zeroizing::new(serde_json::to_vec(&profile).map_err(|e| e.to_string())?);
    let account = StoredAccount {
        id: AccountId::new(),
        subject,
        assurance_level: i64::from(level.number()),
        id_number_mac: Some(id_number_mac(secrets, identity.id_number)),
        phone_mac: phone_codes::phone_mac(secrets, identity.phone),
        sealed_profile: key.seal(&profile_json, PROFILE_CONTEXT).into_bytes(),
        status: shengshi_domain::account::AccountStatus::Active
            .name()
            .to_owned(),
        in_person_verified_at,
        created_at: now,
        updated_at: now,
    };
    let stored_key = StoredDataKey {
        subject,
        key_id,
        algorithm: key.algorithm().name().to_owned(),
        kek_id: services.kek.id().to_owned(),
        wrapped_key: Some(
            key.wrap(services.kek.as_ref())
                .await
                .map_err(|e| e.to_string())?,
        ),
        created_at: now,
        destroyed_at: None,
    };
    Ok((account, stored_key))
}

/// Sends a notice; a failed notice is logged, not fatal: the account state is
/// already decided and the caller's answer must not differ.
async fn send(
    sms: &dyn SmsGateway,
    to: &PhoneNumber,
    template: &'static str,
    key: &str,
    lang: Lang,
) {
    let message = SmsMessage {
        template,
        params: Vec::new(),
        text: shengshi_i18n::t(lang, key).to_owned(),
    };
    if let Err(e) = sms.send(to, &message).await {
        tracing::warn!(error = %e, to = %to.masked(), "a registration notice was not sent");
    }
}

/// The phone of an existing account, from its sealed profile.
async fn account_phone(
    services: &Services,
    account: &StoredAccount,
) -> Result<PhoneNumber, RegistrationError> {
    let profile = open_profile(
        services,
        account,
        Accessor::Platform,
        Purpose::DuplicateRegistrationNotice,
    )
    .await?;
    PhoneNumber::parse(&profile.phone).map_err(internal)
}

/// Opens an account's profile through the door: the access is logged first.
pub async fn open_profile(
    services: &Services,
    account: &StoredAccount,
    accessor: Accessor,
    purpose: Purpose,
) -> Result<Profile, RegistrationError> {
    let opened = door::open(
        services,
        AccessRequest {
            subject: account.subject,
            accessor,
            purpose,
            reference: None,
            fields: vec!["name", "id_number", "phone"],
        },
    )
    .await
    .map_err(internal)?;
    let sealed =
        shengshi_envelope::Sealed::from_bytes(account.sealed_profile.clone()).map_err(internal)?;
    let plain = opened.open(&sealed, PROFILE_CONTEXT).map_err(internal)?;
    serde_json::from_slice(&plain).map_err(internal)
}

const PROOF_PURPOSE: &[u8] = b"registration.phone-proof.v1";

#[derive(Serialize, Deserialize)]
struct ProofClaims {
    phone: String,
    verified_at: i64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the phone proof is malformed or was not issued by this platform")]
    Invalid,
    #[error("the phone proof has expired; verify the phone again")]
    Expired,
}

impl VerifiedPhone {
    /// A token the browser carries between the registration steps: sealed, so
    /// it can be neither read nor forged, and nothing is stored server-side.
    pub fn to_token(&self, secrets: &PlatformSecrets) -> String {
        use base64::Engine;
        let claims = ProofClaims {
            phone: self.phone.as_str().to_owned(),
            verified_at: self.verified_at.unix_millis(),
        };
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&claims).unwrap_or_default());
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(secrets.token_key().seal(&plain, PROOF_PURPOSE))
    }

    pub fn from_token(
        secrets: &PlatformSecrets,
        token: &str,
        now: Timestamp,
    ) -> Result<Self, ProofError> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| ProofError::Invalid)?;
        let plain = zeroize::Zeroizing::new(
            secrets
                .token_key()
                .open(&bytes, PROOF_PURPOSE)
                .ok_or(ProofError::Invalid)?,
        );
        let claims: ProofClaims =
            serde_json::from_slice(&plain).map_err(|_| ProofError::Invalid)?;
        let phone = PhoneNumber::parse(&claims.phone).map_err(|_| ProofError::Invalid)?;
        let verified_at =
            Timestamp::from_unix_millis(claims.verified_at).ok_or(ProofError::Invalid)?;
        if now >= verified_at.plus(PHONE_PROOF_TTL) {
            return Err(ProofError::Expired);
        }
        Ok(Self { phone, verified_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_proof_token_round_trips_and_cannot_be_forged_or_outlive_its_ttl() {
        let secrets = PlatformSecrets::for_tests(&[1; 32]);
        let now = Timestamp::from_unix_millis(1_800_000_000_000).unwrap_or_else(|| unreachable!());
        let proof = VerifiedPhone {
            phone: PhoneNumber::parse("13800138000").unwrap_or_else(|_| unreachable!()),
            verified_at: now,
        };
        let token = proof.to_token(&secrets);
        assert!(
            !token.contains("13800138000"),
            "the phone is not readable in the token"
        );
        let back =
            VerifiedPhone::from_token(&secrets, &token, now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.phone(), proof.phone());
        assert_eq!(
            VerifiedPhone::from_token(&secrets, &token, now.plus(PHONE_PROOF_TTL)).unwrap_err(),
            ProofError::Expired
        );
        let mut forged = token.clone().into_bytes();
        forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap_or_default();
        assert_eq!(
            VerifiedPhone::from_token(&secrets, &forged, now).unwrap_err(),
            ProofError::Invalid
        );
        assert_eq!(
            VerifiedPhone::from_token(&secrets, "%%%", now).unwrap_err(),
            ProofError::Invalid
        );
    }
}
