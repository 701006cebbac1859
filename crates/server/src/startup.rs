//! Start-up: every check that can fail runs before anything is written, in an
//! order that leaves nothing behind — configuration, the listening socket, the
//! database, the schema, the key-encryption key (the installation's key, then a
//! self-test that wraps and unwraps: with a KMS, its first calls), and only
//! then migrations.

use anyhow::{bail, Context, Result};
use shengshi_app::access_log::{self, AccessLog};
use shengshi_app::secrets::PlatformSecrets;
use shengshi_app::{installation, SecurityLog, Services};
use shengshi_domain::{Actor, Clock, SecurityEventKind};
use shengshi_envelope::{KekError, KeyEncryptionKey, KeyRing, LocalKek};
use shengshi_kms::VaultTransitKek;
use shengshi_store::{Installation, Store};
use shengshi_store_postgres::PostgresStore;
use shengshi_store_sqlite::SqliteStore;
use shengshi_web::{AppState, Metrics, PlatformInfo, StateParts};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, KmsConfig, Mode};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A started platform, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: tokio::net::TcpListener,
    router: axum::Router,
    services: Services,
    origin: String,
    installation: Installation,
    demo: Option<crate::demo::DemoSummary>,
    witness: Option<Arc<dyn shengshi_app::witnessing::WitnessClient>>,
    witness_interval: std::time::Duration,
    eid: Arc<shengshi_app::eid::Issuer>,
    identity: shengshi_web::IdentityDeps,
    verifier_gate: Arc<shengshi_app::verifiers::VerifierGate>,
}

/// What `shengshi bench verify|audit` change in an application they start:
/// never read from configuration, so no served installation can have it.
#[derive(Clone, Copy, Debug, Default)]
pub struct BenchSetup {
    /// Rate limits per verifier API key (one key carries the whole load).
    pub verifier_limits: Option<shengshi_app::verifiers::RateLimits>,
    /// Access log off: `AccessLog::discarding_for_benchmarks` (nothing is
    /// recorded, so the door's promise does not hold). Only to measure what
    /// the log costs.
    pub access_log_off: bool,
}

impl Application {
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> Result<Self> {
        Self::build_with(config, clock, BenchSetup::default()).await
    }

    /// **Benchmarks only**: [`Application::build`] with a [`BenchSetup`].
    pub async fn build_for_benchmark(
        config: &Config,
        clock: Arc<dyn Clock>,
        bench: BenchSetup,
    ) -> Result<Self> {
        Self::build_with(config, clock, bench).await
    }

    async fn build_with(config: &Config, clock: Arc<dyn Clock>, bench: BenchSetup) -> Result<Self> {
        config.check_production()?;
        let listener = bind(config).await?;
        let port = listener.local_addr()?.port();
        // Browsers bind passkeys to the public origin's host: refuse one that
        // cannot be a relying party before anything else starts.
        let relying_party = Arc::new(shengshi_app::passkeys::RelyingParty::new(
            &config.effective_public_origin(port),
        )?);

        let store = open_store(config).await?;
        let status = store.schema_status().await?; // refuses a newer schema
        let existing = if status.applied > 0 {
            store.installation().await?
        } else {
            None
        };
        if let Some(existing) = &existing {
            refuse_demo_mismatch(config, existing.demo)?;
        }
        let kek = load_kek(config, existing.as_ref().map(|i| i.kek_id.as_str()))?;
        let external = crate::adapters::External::connect(config, clock.clone())?;
        if existing.is_some() {
            installation::verify_kek(store.as_ref(), kek.as_ref()).await?;
        }
        self_test_every_key(kek.as_ref()).await?;
        if let Some(existing) = &existing {
            if existing.kek_id != kek.id() {
                tracing::warn!(
                    installation_kek = %existing.kek_id,
                    primary_kek = kek.id(),
                    "a key rotation is under way: new keys are wrapped by the primary key; run `shengshi keys rotate` to re-wrap the rest"
                );
            }
        }
        let migrated = store.migrate().await?;

        let security_log = SecurityLog::start(store.clone(), clock.clone());
        let installation = installation::open_or_create(
            store.as_ref(),
            kek.as_ref(),
            clock.as_ref(),
            &security_log,
            config.envelope_algorithm,
            config.demo,
        )
        .await?;
        // Recorded after the installation exists: a database with events but no
        // installation record is how an interrupted import is recognised.
        if migrated.applied != status.applied {
            security_log
                .record(
                    Actor::System,
                    SecurityEventKind::MigrationsApplied {
                        from_version: status.applied,
                        to_version: migrated.applied,
                    },
                )
                .await?;
        }
        refuse_demo_mismatch(config, installation.demo)?;

        let secrets = Arc::new(
            PlatformSecrets::load_or_create(store.as_ref(), kek.as_ref(), clock.as_ref()).await?,
        );
        let access_log = if bench.access_log_off {
            AccessLog::discarding_for_benchmarks(store.clone())
        } else {
            AccessLog::start(
                store.clone(),
                clock.clone(),
                access_log::origin_for(installation.id),
                secrets.access_log_seed(),
            )
            .await?
        };
        let services = Services {
            store,
            clock,
            kek,
            security_log,
            envelope_algorithm: config.envelope_algorithm,
            access_log,
        };
        let demo = if installation.demo {
            Some(crate::demo::seed(&services, &secrets).await?)
        } else {
            None
        };
        let origin = config.effective_public_origin(port);
        let eid = start_eid(config, &services, &origin).await?;
        let adapters = crate::adapters::choose(
            config,
            &services,
            secrets,
            relying_party,
            eid.clone(),
            external,
        );
        services
            .security_log
            .record(
                Actor::System,
                SecurityEventKind::ServerStarted {
                    version: VERSION.to_owned(),
                    mode: config.mode.name().to_owned(),
                },
            )
            .await?;

        let verifier_gate = Arc::new(match bench.verifier_limits {
            Some(limits) => shengshi_app::verifiers::VerifierGate::new(limits),
            None => shengshi_app::verifiers::VerifierGate::default(),
        });
        let identity = adapters.identity;
        let state = AppState::new(StateParts {
            services: services.clone(),
            info: Arc::new(PlatformInfo {
                version: VERSION,
                mode: config.mode.name(),
                demo: installation.demo,
                public_origin: origin.clone(),
            }),
            metrics: Arc::new(Metrics::new()),
            qr_images: Arc::default(),
            verifier_gate: verifier_gate.clone(),
            identity: identity.clone(),
            outbox: adapters.outbox,
        });
        let witness = match &config.adapters.witness {
            Some(w) => {
                let key = shengshi_tlog::CosignatureVerifier::from_vkey(&w.key)?;
                let client: Arc<dyn shengshi_app::witnessing::WitnessClient> =
                    Arc::new(shengshi_witness::HttpWitness::new(w.url.as_str(), key)?);
                Some(client)
            }
            None => None,
        };
        Ok(Self {
            listener,
            router: shengshi_web::router(state),
            services,
            origin,
            installation,
            demo,
            witness,
            eid,
            identity,
            verifier_gate,
            witness_interval: config
                .adapters
                .witness
                .as_ref()
                .map_or(std::time::Duration::from_secs(60), |w| w.interval),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The origin to print and to use as the WebAuthn relying party.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn installation(&self) -> &Installation {
        &self.installation
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The registry, the platform secrets and the e-ID issuer the handlers use.
    pub fn identity(&self) -> &shengshi_web::IdentityDeps {
        &self.identity
    }

    /// The online verification service's state (rate limits, claims).
    pub fn verifier_gate(&self) -> &Arc<shengshi_app::verifiers::VerifierGate> {
        &self.verifier_gate
    }

    /// What the demo holds (a demo installation only), for the start-up message.
    pub fn demo_summary(&self) -> Option<&crate::demo::DemoSummary> {
        self.demo.as_ref()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and
    /// closes the database cleanly.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        // The peer address feeds the per-address SMS cap.
        let app = self
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let cosigning = self.witness.clone().map(|witness| {
            tokio::spawn(cosign_periodically(
                self.services.clone(),
                witness,
                self.witness_interval,
            ))
        });
        let eid_refresh = tokio::spawn(refresh_eid_periodically(
            self.services.clone(),
            self.eid.clone(),
        ));
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await?;
        if let Some(task) = cosigning {
            task.abort();
        }
        eid_refresh.abort();
        tracing::info!("stopped accepting requests; closing the database");
        self.services.store.close().await;
        Ok(())
    }
}

/// Picks up a trust list published from the command line (`shengshi eid
/// trust-list publish`) within a minute, without a restart.
async fn refresh_eid_periodically(services: Services, issuer: Arc<shengshi_app::eid::Issuer>) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(60));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match issuer.refresh(&services).await {
            Ok(true) => tracing::info!("loaded a newly published e-ID trust list"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "the e-ID trust list could not be refreshed"),
        }
    }
}

/// Asks the witness to cosign the latest checkpoint, now and then every
/// `interval`. A failure is logged and tried again next time: the log itself
/// never waits for a witness.
async fn cosign_periodically(
    services: Services,
    witness: Arc<dyn shengshi_app::witnessing::WitnessClient>,
    interval: std::time::Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match shengshi_app::witnessing::cosign_latest(&services, witness.as_ref()).await {
            Ok(Some(size)) => tracing::debug!(size, "the witness cosigned the access log"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "the witness did not cosign the access log"),
        }
    }
}

/// For an operator command that works on an existing installation's data
/// (such as `shengshi registry import`): opens the database, requires a current
/// schema and an installation, loads the key-encryption key and checks it
/// against the installation exactly as start-up does, and loads the platform
/// secrets. Writes nothing before every check has passed.
pub async fn open_installation(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<(Services, Installation, PlatformSecrets)> {
    let store = open_store(config).await?;
    let status = store.schema_status().await?;
    if !status.is_current() {
        bail!("the database schema is not current ({} migrations pending); run `shengshi migrate` (or start the server) first", status.pending);
    }
    let Some(installation) = store.installation().await? else {
        bail!("the database holds no installation; start the server once first");
    };
    let kek = load_kek(config, Some(&installation.kek_id))?;
    installation::verify_kek(store.as_ref(), kek.as_ref()).await?;
    let secrets =
        PlatformSecrets::load_or_create(store.as_ref(), kek.as_ref(), clock.as_ref()).await?;
    let access_log = AccessLog::start(
        store.clone(),
        clock.clone(),
        access_log::origin_for(installation.id),
        secrets.access_log_seed(),
    )
    .await?;
    let services = Services {
        security_log: SecurityLog::start(store.clone(), clock.clone()),
        store,
        clock,
        kek,
        envelope_algorithm: config.envelope_algorithm,
        access_log,
    };
    Ok((services, installation, secrets))
}

/// Demo data never reaches production, and never mixes with real data.
fn refuse_demo_mismatch(config: &Config, installation_is_demo: bool) -> Result<()> {
    if installation_is_demo && config.mode == Mode::Production {
        bail!("unsafe for production: this database is a demo installation holding fictional data; use a new database");
    }
    if config.demo && !installation_is_demo {
        bail!("--demo refused: this installation holds real data, and demo data must never mix with it; use a new data directory or database");
    }
    Ok(())
}

async fn bind(config: &Config) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(config.listen).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the address is already in use (is another server running?)".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied (ports below 1024 need privileges)".to_owned(),
            _ => e.to_string(),
        };
        anyhow::anyhow!("cannot listen on {}: {why}; choose another address with --listen or SHENGSHI_LISTEN", config.listen)
    })
}

/// Opens the configured database: PostgreSQL for a postgres:// URL, otherwise
/// SQLite (in the data directory unless a sqlite: URL says otherwise).
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    let url = config.effective_database_url();
    if url.is_postgres() {
        let store = PostgresStore::open(url.expose()).await.with_context(|| {
            format!("cannot reach the database at {url}; check SHENGSHI_DATABASE_URL")
        })?;
        return Ok(Arc::new(store));
    }
    if config.database_url.is_none() {
        ensure_writable_dir(&config.data_dir)?;
    }
    let store = SqliteStore::open(url.expose())
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    Ok(Arc::new(store))
}

fn ensure_writable_dir(dir: &Path) -> Result<()> {
    let advice = "choose another with --data-dir or SHENGSHI_DATA_DIR";
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the data directory {}; {advice}",
            dir.display()
        )
    })?;
    let probe = dir.join(".shengshi-write-test");
    std::fs::write(&probe, b"").with_context(|| {
        format!(
            "the data directory {} is not writable; {advice}",
            dir.display()
        )
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Runs the KMS self-test (wrap, unwrap, refuse another context) on every
/// key of the ring, before anything is written.
pub async fn self_test_every_key(kek: &dyn KeyEncryptionKey) -> Result<()> {
    for id in kek.held_ids() {
        let Some(key) = kek.key_with_id(&id) else {
            continue;
        };
        shengshi_kms::self_test(key).await.with_context(|| {
            format!("the key-encryption key {id} failed its start-up self-test")
        })?;
    }
    Ok(())
}

/// Loads the key-encryption keys as a [`KeyRing`]: the primary (a client for
/// the KMS when one is configured, nothing sent yet; otherwise the key file)
/// and the previous keys of a rotation under way (`previous_kek_files`,
/// `previous_kms_keys`). `installation_kek` is the key an existing
/// installation records (`None` for a new one): a development installation
/// that does not exist yet gets a fresh key file in its data directory;
/// anything else must already have its keys, and a missing one is named with
/// the key the installation needs.
pub fn load_kek(
    config: &Config,
    installation_kek: Option<&str>,
) -> Result<Arc<dyn KeyEncryptionKey>> {
    let primary = load_primary_kek(config, installation_kek)?;
    let mut previous: Vec<Arc<dyn KeyEncryptionKey>> = Vec::new();
    for path in &config.previous_kek_files {
        let kek = LocalKek::load(path).map_err(|e| match e {
            KekError::Missing { path } => anyhow::anyhow!(
                "the previous key-encryption key file {} (previous_kek_files) does not exist; restore it from your key backup, or remove it from previous_kek_files once `shengshi keys rotate` has finished",
                path.display()
            ),
            other => other.into(),
        })?;
        previous.push(Arc::new(kek));
    }
    if let Some(kms) = &config.kms {
        for key in &config.previous_kms_keys {
            let previous_kms = KmsConfig {
                key: key.clone(),
                ..kms.clone()
            };
            previous.push(Arc::new(connect_kms(&previous_kms)?));
        }
    }
    if previous.is_empty() {
        return Ok(primary);
    }
    let ring = KeyRing::new(primary, previous).map_err(|e| {
        anyhow::anyhow!("{e}; list each key once (kek_file or kms_key, then previous_kek_files or previous_kms_keys)")
    })?;
    tracing::info!(keys = ?ring.held_ids(), "the key-encryption keys: the first wraps, the others only unwrap");
    Ok(Arc::new(ring))
}

fn load_primary_kek(
    config: &Config,
    installation_kek: Option<&str>,
) -> Result<Arc<dyn KeyEncryptionKey>> {
    if let Some(kms) = &config.kms {
        let kek = connect_kms(kms)?;
        tracing::info!(kek = kek.id(), url = %kms.url, "the key-encryption key is in the KMS");
        return Ok(Arc::new(kek));
    }
    let path = config.effective_kek_file();
    match LocalKek::load(&path) {
        Ok(kek) => Ok(Arc::new(kek)),
        Err(KekError::Missing { .. })
            if installation_kek.is_none()
                && config.kek_file.is_none()
                && config.mode == Mode::Development =>
        {
            ensure_writable_dir(&config.data_dir)?;
            let kek = LocalKek::create(&path)?;
            tracing::warn!(path = %path.display(), "created a development key-encryption key inside the data directory; production keeps it elsewhere");
            Ok(Arc::new(kek))
        }
        // A lost key: creating a new one would not open a single existing key.
        Err(KekError::Missing { path }) if installation_kek.is_some() => bail!(
            "the key-encryption key file {} does not exist, but this installation's data is wrapped by key-encryption key {}: restore that key's file from your key backup and point kek_file (SHENGSHI_KEK_FILE) at it. A new key cannot open existing data, so do not create one",
            path.display(),
            installation_kek.unwrap_or_default()
        ),
        Err(e) => Err(e.into()),
    }
}

/// A client for the configured transit key. Sends nothing yet.
pub fn connect_kms(kms: &KmsConfig) -> Result<VaultTransitKek> {
    let mut builder =
        VaultTransitKek::builder(kms.url.clone(), &kms.mount, &kms.key, kms.token.clone());
    if let Some(path) = &kms.ca_file {
        let pem = std::fs::read(path).with_context(|| {
            format!(
                "cannot read the KMS CA certificate file {}; check kms_ca_file",
                path.display()
            )
        })?;
        builder = builder.ca_certificates_pem(pem);
    }
    builder
        .build()
        .with_context(|| format!("the KMS settings (kms_url {}) cannot work", kms.url))
}

/// The e-ID issuer. Production needs the offline trust root's public key in
/// `[eid] trust_root` and a trust list it signed (`shengshi eid trust-list
/// publish`); until then e-ID answers "not ready". Development without a
/// configured root uses a stand-in root kept in the database, creates an
/// issuer key and publishes a trust list it signed, so the card works at once.
pub async fn start_eid(
    config: &Config,
    services: &Services,
    origin: &str,
) -> Result<Arc<shengshi_app::eid::Issuer>> {
    let eid = &config.adapters.eid;
    let mut trust_root = eid.trust_root.clone();
    let mut development_root = None;
    if trust_root.is_none() && config.mode == crate::config::Mode::Development {
        let seed = shengshi_app::secrets::development_eid_root_seed(
            services.store.as_ref(),
            services.kek.as_ref(),
            services.clock.as_ref(),
        )
        .await?;
        let root = shengshi_eid::SoftwareKey::from_seed(shengshi_eid::Algorithm::Ed25519, &seed)?;
        trust_root = Some(root.public_key());
        development_root = Some(root);
    }
    let settings = shengshi_app::eid::EidSettings {
        issuer: eid.issuer.clone().unwrap_or_else(|| origin.to_owned()),
        status_uri: format!("{origin}/eid/status/1"),
        algorithm: eid.algorithm,
        trust_root,
        development_root: development_root.is_some(),
    };
    let issuer = Arc::new(shengshi_app::eid::Issuer::load(services, settings).await?);
    match &development_root {
        Some(root) => shengshi_app::eid::bootstrap_demo(services, &issuer, root).await?,
        None => {
            if let Err(e) = issuer.ready(services.clock.now()) {
                tracing::warn!(error = %e, "the electronic ID card is not ready");
            }
        }
    }
    Ok(issuer)
}
