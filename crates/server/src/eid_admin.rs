//! `shengshi eid …` commands that work on an installation's database: issuer
//! keys, the trust list's way to and from the offline root, and (demo only)
//! printing a fresh presentation for a resident. The commands that need no
//! database (verify, trust-root init, trust-list sign) are in `eid_cli`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use shengshi_app::eid as app_eid;
use shengshi_domain::{Clock, ResidentIdNumber, SystemClock};
use time::Duration;

use crate::config::Config;

/// `shengshi eid issuer …`: the issuer keys and trust list of an installation.
#[derive(Subcommand, Debug)]
pub enum IssuerCommand {
    /// Create an issuer key (wrapped by the key-encryption key).
    CreateKey {
        /// ed25519, p256 or sm2 (default: `[eid] algorithm`).
        #[arg(long)]
        algorithm: Option<String>,
        /// Days from now until it may sign (publish a trust list naming it first).
        #[arg(long, default_value_t = 0)]
        not_before_days: u32,
    },
    /// A new key that takes over after the overlap; older keys stop signing then.
    Rollover {
        #[arg(long)]
        algorithm: Option<String>,
        #[arg(long, default_value_t = 7)]
        overlap_days: u32,
    },
    /// List the issuer keys and when each signs.
    Keys,
    /// Write the unsigned trust list to carry to the offline trust root.
    ExportTrustList {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// How long verifiers may rely on the list.
        #[arg(long, default_value_t = 30)]
        valid_days: u32,
    },
    /// Publish a trust list the offline root signed (`shengshi eid trust-list sign`).
    PublishTrustList {
        #[arg(long = "in", value_name = "FILE")]
        file: PathBuf,
    },
}

/// Runs an issuer command.
pub async fn issuer(config: &Config, command: &IssuerCommand) -> Result<()> {
    match command {
        IssuerCommand::CreateKey {
            algorithm,
            not_before_days,
        } => keys_create(config, algorithm.as_deref(), *not_before_days).await,
        IssuerCommand::Rollover {
            algorithm,
            overlap_days,
        } => keys_rollover(config, algorithm.as_deref(), *overlap_days).await,
        IssuerCommand::Keys => keys_list(config).await,
        IssuerCommand::ExportTrustList { out, valid_days } => {
            trust_list_export(config, out, *valid_days).await
        }
        IssuerCommand::PublishTrustList { file } => trust_list_publish(config, file).await,
    }
}

/// The installation's services and its e-ID issuer, as `serve` would start them.
async fn open(
    config: &Config,
) -> Result<(
    shengshi_app::Services,
    shengshi_store::Installation,
    shengshi_app::secrets::PlatformSecrets,
    Arc<app_eid::Issuer>,
)> {
    let (services, installation, secrets) =
        crate::startup::open_installation(config, Arc::new(SystemClock)).await?;
    let origin = config.effective_public_origin(config.listen.port());
    let issuer = crate::startup::start_eid(config, &services, &origin).await?;
    Ok((services, installation, secrets, issuer))
}

fn algorithm(name: Option<&str>, config: &Config) -> Result<shengshi_eid::Algorithm> {
    match name {
        None => Ok(config.adapters.eid.algorithm),
        Some(name) => app_eid::parse_algorithm(name)
            .with_context(|| format!("unknown algorithm {name:?}; use ed25519, p256 or sm2")),
    }
}

/// `shengshi eid keys create`: a new issuer key. It signs nothing until a
/// trust list naming it is signed offline and published.
pub async fn keys_create(
    config: &Config,
    algorithm_name: Option<&str>,
    not_before_days: u32,
) -> Result<()> {
    let algorithm = algorithm(algorithm_name, config)?;
    let (services, _, _, issuer) = open(config).await?;
    let not_before = services
        .clock
        .now()
        .plus(Duration::days(i64::from(not_before_days)));
    let result = app_eid::create_key(&services, &issuer, algorithm, not_before).await;
    services.store.close().await;
    let key = result?;
    println!(
        "created issuer key {} ({}), signing from {}; export a trust list, sign it offline and publish it before then",
        key.kid,
        key.algorithm,
        key.not_before.to_rfc3339()
    );
    Ok(())
}

/// `shengshi eid keys rollover`: a new key that signs after `overlap_days`;
/// older keys stop signing then and stay listed until their codes expire.
pub async fn keys_rollover(
    config: &Config,
    algorithm_name: Option<&str>,
    overlap_days: u32,
) -> Result<()> {
    let algorithm = algorithm(algorithm_name, config)?;
    let (services, _, _, issuer) = open(config).await?;
    let result = app_eid::rollover(
        &services,
        &issuer,
        algorithm,
        Duration::days(i64::from(overlap_days)),
    )
    .await;
    services.store.close().await;
    let key = result?;
    println!(
        "created issuer key {} ({}); it signs from {}, when every older key stops signing; publish a trust list naming it before then",
        key.kid,
        key.algorithm,
        key.not_before.to_rfc3339()
    );
    Ok(())
}

/// `shengshi eid keys list`.
pub async fn keys_list(config: &Config) -> Result<()> {
    let (services, _, _, _) = open(config).await?;
    let keys = services.store.issuer_keys().await;
    services.store.close().await;
    for key in keys? {
        println!(
            "{}  {:8}  signs {} .. {}",
            key.kid,
            key.algorithm,
            key.not_before.to_rfc3339(),
            key.sign_until.to_rfc3339()
        );
    }
    Ok(())
}

/// `shengshi eid trust-list export`: the unsigned list to carry to the offline root.
pub async fn trust_list_export(config: &Config, out: &Path, valid_days: u32) -> Result<()> {
    let (services, _, _, issuer) = open(config).await?;
    let result =
        app_eid::trust_list_to_sign(&services, &issuer, Duration::days(i64::from(valid_days)))
            .await;
    services.store.close().await;
    let list = result?;
    std::fs::write(out, list.to_jwks_json())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote the trust list ({} keys) to {}; sign it on the offline machine with `shengshi eid trust-list sign`",
        list.keys.len(),
        out.display()
    );
    Ok(())
}

/// `shengshi eid trust-list publish`: the list the offline root signed.
pub async fn trust_list_publish(config: &Config, file: &Path) -> Result<()> {
    let signed = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (services, _, _, issuer) = open(config).await?;
    let result = app_eid::publish_trust_list(&services, &issuer, &signed).await;
    services.store.close().await;
    let list = result.with_context(|| format!("{} was not published", file.display()))?;
    println!(
        "published the trust list ({} keys, valid until {}); running servers pick it up within a minute",
        list.keys.len(),
        list.expires_at
    );
    Ok(())
}

/// `shengshi eid present`: a fresh presentation code for a demo resident, for
/// demos and tests. Refused on a real installation: codes are minted for
/// residents who are signed in, never from the command line.
pub async fn present(
    config: &Config,
    id_number: &str,
    purpose: &str,
    category: Option<&str>,
) -> Result<()> {
    let purpose = shengshi_eid::Purpose::from_name(purpose).with_context(|| {
        format!("unknown purpose {purpose:?}; use hotel_checkin, travel_security, age_over_18 or identity_full")
    })?;
    let category = match category {
        Some(name) => shengshi_eid::VerifierCategory::from_name(name).with_context(|| {
            format!("unknown category {name:?}; use hotel, railway, airport, bank, government or retail")
        })?,
        None => shengshi_web::api::eid::default_category(purpose),
    };
    let (services, installation, secrets, issuer) = open(config).await?;
    let result = async {
        if !installation.demo {
            bail!("refused: `eid present` works on demo installations only");
        }
        let id_number = ResidentIdNumber::parse(id_number, SystemClock.today())
            .map_err(|e| anyhow::anyhow!("not a resident ID number: {e}"))?;
        let mac = shengshi_app::registration::id_number_mac(&secrets, &id_number);
        let account = services
            .store
            .active_account_by_id_number(&mac)
            .await?
            .context("no active account has this ID number; register the demo resident first")?;
        if services.store.current_card(account.id).await?.is_none() {
            bail!("the resident has not activated an electronic ID card");
        }
        Ok(app_eid::present(&services, &issuer, &account, purpose, category).await?)
    }
    .await;
    services.store.close().await;
    println!("{}", result?.text);
    Ok(())
}
