//! The adapters to systems outside the platform, chosen once at start-up.
//!
//! Development and demo installations use local stand-ins that are named as
//! what they are: an in-memory SMS outbox shown on a demo page, and a carrier
//! check that accepts every phone. Production never uses them: until a real
//! SMS gateway and carrier check are configured, their use cases answer
//! "temporarily unavailable" and create nothing.

use shengshi_app::carrier::{CarrierCheck, CarrierError, CarrierVerdict};
use shengshi_app::phone_codes::SendLimits;
use shengshi_app::registry::PopulationRegistry;
use shengshi_app::registry_db::DatabaseRegistry;
use shengshi_app::secrets::PlatformSecrets;
use shengshi_app::sms::{DemoOutbox, SmsError, SmsGateway, SmsMessage};
use shengshi_app::Services;
use shengshi_domain::{PersonName, PhoneNumber, ResidentIdNumber};
use shengshi_web::IdentityDeps;
use std::sync::Arc;

use crate::config::{Config, Mode};

/// FAKE carrier check for development and demos: every phone is "consistent".
/// Real-name level 2 reached through it proves nothing, which is why
/// production never uses it.
#[derive(Debug, Default)]
pub struct DemoCarrierCheck;

#[async_trait::async_trait]
impl CarrierCheck for DemoCarrierCheck {
    async fn three_factor(
        &self,
        _: &PersonName,
        _: &ResidentIdNumber,
        _: &PhoneNumber,
    ) -> Result<CarrierVerdict, CarrierError> {
        Ok(CarrierVerdict::Consistent)
    }
}

/// Stands in for an adapter production has not been configured with.
#[derive(Debug)]
pub struct NotConfigured(&'static str);

#[async_trait::async_trait]
impl SmsGateway for NotConfigured {
    async fn send(&self, _: &PhoneNumber, _: &SmsMessage) -> Result<(), SmsError> {
        Err(SmsError::Unreachable(format!(
            "no {} is configured",
            self.0
        )))
    }
}

#[async_trait::async_trait]
impl CarrierCheck for NotConfigured {
    async fn three_factor(
        &self,
        _: &PersonName,
        _: &ResidentIdNumber,
        _: &PhoneNumber,
    ) -> Result<CarrierVerdict, CarrierError> {
        Err(CarrierError::Unavailable(format!(
            "no {} is configured",
            self.0
        )))
    }
}

/// Clients for the external systems the configuration names. Built before
/// start-up writes anything (construction checks the settings; it sends nothing).
#[derive(Debug, Default)]
pub struct External {
    sms: Option<Arc<dyn SmsGateway>>,
    carrier: Option<Arc<dyn CarrierCheck>>,
    registry: Option<Arc<dyn PopulationRegistry>>,
}

impl External {
    pub fn connect(
        config: &Config,
        clock: Arc<dyn shengshi_domain::Clock>,
    ) -> anyhow::Result<Self> {
        use anyhow::Context;
        let adapters = &config.adapters;
        let sms = match &adapters.sms_aliyun {
            Some(c) => Some(Arc::new(
                shengshi_sms::AliyunSms::new(c.clone())
                    .context("the [sms_aliyun] settings cannot work")?,
            ) as Arc<dyn SmsGateway>),
            None => None,
        };
        let carrier = match &adapters.carrier_aliyun {
            Some(c) => Some(Arc::new(
                shengshi_carrier::AliyunThreeElements::new(c.clone())
                    .context("the [carrier_aliyun] settings cannot work")?,
            ) as Arc<dyn CarrierCheck>),
            None => None,
        };
        let registry = match &adapters.registry_http {
            Some((url, token)) => Some(Arc::new(
                shengshi_registry_http::HttpRegistry::builder(url.clone(), token.clone(), clock)
                    .build()
                    .context("the [registry_http] settings cannot work")?,
            ) as Arc<dyn PopulationRegistry>),
            None => None,
        };
        Ok(Self {
            sms,
            carrier,
            registry,
        })
    }
}

/// The adapters in use, and the demo outbox when there is one.
#[derive(Debug)]
pub struct Adapters {
    pub identity: IdentityDeps,
    pub outbox: Option<Arc<DemoOutbox>>,
}

/// Configured adapters always win; otherwise development uses the named local
/// stand-ins and production the refusing placeholders.
pub fn choose(
    config: &Config,
    services: &Services,
    secrets: Arc<PlatformSecrets>,
    relying_party: Arc<shengshi_app::passkeys::RelyingParty>,
    eid: Arc<shengshi_app::eid::Issuer>,
    external: External,
) -> Adapters {
    let registry = external
        .registry
        .unwrap_or_else(|| Arc::new(DatabaseRegistry::new(services.clone(), secrets.clone())));
    let mut outbox = None;
    let sms = external.sms.unwrap_or_else(|| match config.mode {
        Mode::Development => {
            let demo = Arc::new(DemoOutbox::new(services.clock.clone()));
            outbox = Some(demo.clone());
            demo
        }
        Mode::Production => {
            tracing::warn!("no SMS gateway is configured ([sms_aliyun]): codes cannot be sent");
            Arc::new(NotConfigured("SMS gateway"))
        }
    });
    let carrier = external.carrier.unwrap_or_else(|| match config.mode {
        Mode::Development => Arc::new(DemoCarrierCheck),
        Mode::Production => {
            tracing::warn!("no carrier check is configured ([carrier_aliyun]): registration answers 'unavailable'");
            Arc::new(NotConfigured("carrier check"))
        }
    });
    Adapters {
        identity: IdentityDeps {
            secrets,
            sms,
            registry,
            carrier,
            limits: SendLimits::default(),
            relying_party,
            eid,
        },
        outbox,
    }
}
