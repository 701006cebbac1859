//! One-time SMS codes: send one (within the caps), verify one (once, in time,
//! within the attempts). Used by registration (L1: phone verified) and by the
//! SMS fallback login.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use shengshi_domain::phone::{
    attempts_remaining, Challenge, CodePurpose, DeadReason, MAX_ATTEMPTS, RESEND_INTERVAL,
};
use shengshi_domain::{Clock, PhoneCode, PhoneNumber, Timestamp};
use shengshi_i18n::Lang;
use shengshi_store::{
    ChallengeRefused, PhoneChallengeStore, SendCap, StoreError, StoredPhoneChallenge,
};
use std::net::IpAddr;

use crate::secrets::PlatformSecrets;
use crate::sms::{SmsError, SmsGateway, SmsMessage};

/// Daily caps: SMS costs money and is abused (pumping fraud, harassment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendLimits {
    pub per_phone_daily: u32,
    pub per_ip_daily: u32,
    pub global_daily: u32,
}

impl Default for SendLimits {
    fn default() -> Self {
        Self {
            per_phone_daily: 10,
            per_ip_daily: 20,
            global_daily: 100_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendCodeError {
    #[error("a code was sent to this number less than a minute ago")]
    TooSoon,
    #[error("today's limit of codes for this {0} is reached")]
    CapReached(&'static str),
    #[error(transparent)]
    Gateway(#[from] SmsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyCodeError {
    #[error("no code was sent to this number for this purpose")]
    NoCode,
    #[error("the code is wrong; {remaining} attempts remain")]
    Wrong { remaining: u32 },
    #[error("the code can no longer be used ({0:?}); request a new one")]
    Dead(DeadReason),
    #[error("storage failed: {0}")]
    Store(String),
}

impl From<StoreError> for VerifyCodeError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// When a sent code expires and when another may be requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentCode {
    pub expires_at: Timestamp,
    pub resend_after: Timestamp,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secrets: &PlatformSecrets, parts: &[&[u8]]) -> HmacSha256 {
    // new_from_slice accepts keys of any length for HMAC.
    let mut mac = HmacSha256::new_from_slice(secrets.otp_mac_key())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes()); // length-prefixed: no ambiguity between parts
        mac.update(part);
    }
    mac
}

/// The MAC under which a phone number is stored and looked up.
pub fn phone_mac(secrets: &PlatformSecrets, phone: &PhoneNumber) -> Vec<u8> {
    mac(secrets, &[b"phone", phone.as_str().as_bytes()])
        .finalize()
        .into_bytes()
        .to_vec()
}

fn ip_mac(secrets: &PlatformSecrets, ip: IpAddr) -> Vec<u8> {
    mac(secrets, &[b"ip", ip.to_string().as_bytes()])
        .finalize()
        .into_bytes()
        .to_vec()
}

fn code_mac(
    secrets: &PlatformSecrets,
    id: uuid::Uuid,
    purpose: CodePurpose,
    code: &PhoneCode,
) -> HmacSha256 {
    mac(
        secrets,
        &[
            b"code",
            id.as_bytes(),
            purpose.name().as_bytes(),
            code.as_str().as_bytes(),
        ],
    )
}

/// Everything sending a code needs.
#[derive(Debug)]
pub struct CodeSender<'a> {
    pub store: &'a dyn shengshi_store::Store,
    pub clock: &'a dyn Clock,
    pub secrets: &'a PlatformSecrets,
    pub gateway: &'a dyn SmsGateway,
    pub limits: SendLimits,
}

impl CodeSender<'_> {
    /// Sends a fresh code to `phone`, if the caps and the resend interval allow.
    pub async fn send(
        &self,
        phone: &PhoneNumber,
        purpose: CodePurpose,
        client_ip: IpAddr,
        lang: Lang,
    ) -> Result<SentCode, SendCodeError> {
        let now = self.clock.now();
        let code = PhoneCode::from_random(rand::rngs::OsRng.gen_range(0..1_000_000));
        let id = uuid::Uuid::now_v7();
        let phone_key = phone_mac(self.secrets, phone);
        let day = now.civil_date().to_string();
        let caps = [
            SendCap {
                scope: "phone",
                key: phone_key.clone(),
                day: day.clone(),
                limit: self.limits.per_phone_daily,
            },
            SendCap {
                scope: "ip",
                key: ip_mac(self.secrets, client_ip),
                day: day.clone(),
                limit: self.limits.per_ip_daily,
            },
            SendCap {
                scope: "global",
                key: Vec::new(),
                day,
                limit: self.limits.global_daily,
            },
        ];
        let challenge = StoredPhoneChallenge {
            id,
            purpose: purpose.name().to_owned(),
            phone_mac: phone_key,
            code_mac: code_mac(self.secrets, id, purpose, &code)
                .finalize()
                .into_bytes()
                .to_vec(),
            created_at: now,
            attempts: 0,
            consumed_at: None,
        };
        let not_since =
            Timestamp::from_offset_date_time(now.as_offset_date_time() - RESEND_INTERVAL);
        self.store
            .create_phone_challenge(&challenge, &caps, not_since)
            .await
            .map_err(|e| match e {
                ChallengeRefused::CapReached(scope) => SendCodeError::CapReached(scope),
                ChallengeRefused::TooSoon => SendCodeError::TooSoon,
                ChallengeRefused::Store(e) => SendCodeError::Store(e),
            })?;
        let text = shengshi_i18n::t_args(lang, "sms.code", &[("code", code.as_str())]);
        let message = SmsMessage {
            template: "SMS_CODE",
            params: vec![("code", code.as_str().to_owned())],
            text,
        };
        self.gateway.send(phone, &message).await?;
        Ok(SentCode {
            expires_at: now.plus(shengshi_domain::phone::CODE_TTL),
            resend_after: now.plus(RESEND_INTERVAL),
        })
    }
}

/// Checks a code typed by the resident. On success the code is spent.
pub async fn verify(
    store: &dyn PhoneChallengeStore,
    clock: &dyn Clock,
    secrets: &PlatformSecrets,
    phone: &PhoneNumber,
    purpose: CodePurpose,
    code: &PhoneCode,
) -> Result<(), VerifyCodeError> {
    let stored = store
        .latest_phone_challenge(purpose.name(), &phone_mac(secrets, phone))
        .await?
        .ok_or(VerifyCodeError::NoCode)?;
    let challenge = Challenge {
        created_at: stored.created_at,
        attempts: stored.attempts,
        consumed: stored.consumed_at.is_some(),
    };
    let now = clock.now();
    challenge.check_usable(now).map_err(VerifyCodeError::Dead)?;
    // Reserve the attempt before comparing, so concurrent guesses cannot exceed the limit.
    let Some(used) = store.take_phone_attempt(stored.id, MAX_ATTEMPTS).await? else {
        let reason = if store
            .latest_phone_challenge(purpose.name(), &stored.phone_mac)
            .await?
            .is_some_and(|c| c.consumed_at.is_some())
        {
            DeadReason::AlreadyUsed
        } else {
            DeadReason::TooManyAttempts
        };
        return Err(VerifyCodeError::Dead(reason));
    };
    // verify_slice compares in constant time.
    if code_mac(secrets, stored.id, purpose, code)
        .verify_slice(&stored.code_mac)
        .is_err()
    {
        return Err(VerifyCodeError::Wrong {
            remaining: attempts_remaining(used),
        });
    }
    if !store.consume_phone_challenge(stored.id, now).await? {
        return Err(VerifyCodeError::Dead(DeadReason::AlreadyUsed));
    }
    Ok(())
}
