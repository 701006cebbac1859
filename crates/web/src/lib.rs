//! The web layer: the JSON API under /api/v1 (described by OpenAPI), the pages,
//! and the operational endpoints. Handlers see the use cases in `shengshi-app`
//! and the storage traits, never a database driver.

pub mod api;
mod csrf;
mod lang;
mod metrics;
mod middleware;
mod ops;
mod pages;
pub mod problem;
mod session;
mod staff_session;

use axum::Router;
use shengshi_app::Services;
use std::sync::Arc;

pub use lang::{Mode, RequestLang};
pub use metrics::Metrics;

/// Facts about the running platform that pages and the API show.
#[derive(Clone, Debug)]
pub struct PlatformInfo {
    pub version: &'static str,
    /// `development` or `production`.
    pub mode: &'static str,
    /// True when the installation holds only fictional demo data.
    pub demo: bool,
    /// The origin residents use, e.g. `https://shengshi.gd.gov.cn`.
    pub public_origin: String,
}

/// What real-name identity needs beyond the core services: platform secrets and
/// the adapters to systems outside the platform.
#[derive(Clone, Debug)]
pub struct IdentityDeps {
    pub secrets: Arc<shengshi_app::secrets::PlatformSecrets>,
    pub sms: Arc<dyn shengshi_app::sms::SmsGateway>,
    pub registry: Arc<dyn shengshi_app::registry::PopulationRegistry>,
    pub carrier: Arc<dyn shengshi_app::carrier::CarrierCheck>,
    pub limits: shengshi_app::phone_codes::SendLimits,
    /// This platform as a WebAuthn relying party (passkeys).
    pub relying_party: Arc<shengshi_app::passkeys::RelyingParty>,
    /// The e-ID issuer: keys, the published trust list, the status list.
    pub eid: Arc<shengshi_app::eid::Issuer>,
}

/// Shared state of every handler: one `Arc`, since extractors and
/// middleware clone it for every request.
#[derive(Clone, Debug)]
pub struct AppState(Arc<StateParts>);

impl AppState {
    pub fn new(parts: StateParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = StateParts;

    fn deref(&self) -> &StateParts {
        &self.0
    }
}

/// What [`AppState`] shares.
#[derive(Debug)]
pub struct StateParts {
    pub services: Services,
    pub identity: IdentityDeps,
    /// The demo SMS outbox (development only), shown at /demo/sms.
    pub outbox: Option<Arc<shengshi_app::sms::DemoOutbox>>,
    pub info: Arc<PlatformInfo>,
    pub metrics: Arc<Metrics>,
    /// Server-rendered QR images of e-ID codes, kept while each code lives.
    pub qr_images: Arc<pages::QrImages>,
    /// The online verification service's rate limits per verifier API key.
    pub verifier_gate: Arc<shengshi_app::verifiers::VerifierGate>,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let router = Router::new()
        .merge(pages::routes())
        .merge(ops::routes())
        .merge(api::routes())
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(state);
    middleware::apply(router, metrics)
}

/// Marks a response as never to be cached by a browser or a proxy: personal
/// data, one-time codes and who looked at whose data.
pub(crate) fn no_store(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
