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

/// The adapters in use, and the demo outbox when there is one.
#[derive(Debug)]
pub struct Adapters {
    pub identity: IdentityDeps,
    pub outbox: Option<Arc<DemoOutbox>>,
}

pub fn choose(config: &Config, services: &Services, secrets: Arc<PlatformSecrets>) -> Adapters {
    let registry: Arc<dyn PopulationRegistry> =
        Arc::new(DatabaseRegistry::new(services.clone(), secrets.clone()));
    let (sms, carrier, outbox): (Arc<dyn SmsGateway>, Arc<dyn CarrierCheck>, _) = match config.mode
    {
        Mode::Development => {
            let outbox = Arc::new(DemoOutbox::new(services.clock.clone()));
            (outbox.clone(), Arc::new(DemoCarrierCheck), Some(outbox))
        }
        Mode::Production => {
            tracing::warn!("no SMS gateway or carrier check is configured: registration answers 'temporarily unavailable'");
            (
                Arc::new(NotConfigured("SMS gateway")),
                Arc::new(NotConfigured("carrier check")),
                None,
            )
        }
    };
    Adapters {
        identity: IdentityDeps {
            secrets,
            sms,
            registry,
            carrier,
            limits: SendLimits::default(),
        },
        outbox,
    }
}
