//! `shengshi verifier …`: verifier organisations (hotels, stations, airports,
//! banks) and their API keys, on an installation's database. A key is printed
//! once, on standard output, and never stored (only its MAC is).

use shengshi_domain::security::Actor;
use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Subcommand;
use secrecy::ExposeSecret;
use shengshi_app::verifiers::{self, IssuedKey, NewVerifier};
use shengshi_domain::SystemClock;

use crate::config::Config;

/// `shengshi verifier …`.
#[derive(Subcommand, Debug)]
pub enum VerifierCommand {
    /// Register an organisation and print its first API key (shown once).
    Add {
        /// The name residents see in their access log, e.g. 西湖大酒店.
        #[arg(long)]
        name: String,
        /// hotel, railway, airport, bank, government or retail.
        #[arg(long)]
        category: String,
        /// The purposes it may ask for, comma-separated, each allowed for the
        /// category: hotel_checkin (hotel), travel_security (railway,
        /// airport), age_over_18 (any), identity_full (bank, government).
        #[arg(long, value_delimiter = ',', required = true)]
        purposes: Vec<String>,
    },
    /// Issue a new API key (printed once); every older key stops working.
    RotateKey {
        #[arg(long)]
        id: uuid::Uuid,
    },
    /// Suspend an organisation: its keys are refused until it is resumed.
    Suspend {
        #[arg(long)]
        id: uuid::Uuid,
    },
    /// Lift a suspension.
    Resume {
        #[arg(long)]
        id: uuid::Uuid,
    },
    /// List the organisations.
    List,
}

/// Parses the category and purposes as the CLI spells them.
fn parse_new(name: &str, category: &str, purposes: &[String]) -> Result<NewVerifier> {
    let category = shengshi_eid::VerifierCategory::from_name(category).with_context(|| {
        format!("unknown category {category:?}; use hotel, railway, airport, bank, government or retail")
    })?;
    let purposes = purposes
        .iter()
        .map(|p| {
            shengshi_eid::Purpose::from_name(p.trim()).with_context(|| {
                format!("unknown purpose {p:?}; use hotel_checkin, travel_security, age_over_18 or identity_full")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(NewVerifier {
        name: name.to_owned(),
        category,
        purposes,
    })
}

fn print_key(issued: &IssuedKey, what: &str) -> Result<()> {
    let v = &issued.verifier;
    eprintln!(
        "{what} {} ({}, {}; id {}); give it this API key now, it is not shown again:",
        v.name,
        v.category.name(),
        v.purposes
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(","),
        v.id
    );
    if issued.revoked > 0 {
        eprintln!("{} older key(s) stopped working", issued.revoked);
    }
    println!("{}", issued.key.expose_secret());
    std::io::stdout().flush()?;
    Ok(())
}

/// Runs a verifier command.
pub async fn run(config: &Config, command: &VerifierCommand) -> Result<()> {
    // Checked before opening anything.
    let new = match command {
        VerifierCommand::Add {
            name,
            category,
            purposes,
        } => Some(parse_new(name, category, purposes)?),
        _ => None,
    };
    let (services, _installation, secrets) =
        crate::startup::open_installation(config, Arc::new(SystemClock)).await?;
    let result = dispatch(&services, &secrets, command, new).await;
    services.store.close().await;
    result
}

async fn dispatch(
    services: &shengshi_app::Services,
    secrets: &shengshi_app::secrets::PlatformSecrets,
    command: &VerifierCommand,
    new: Option<NewVerifier>,
) -> Result<()> {
    match command {
        VerifierCommand::Add { .. } => {
            let new = new.context("parsed above")?;
            let issued = verifiers::register(services, secrets, Actor::Operator, new).await?;
            print_key(&issued, "registered")
        }
        VerifierCommand::RotateKey { id } => {
            let issued = verifiers::rotate_key(services, secrets, Actor::Operator, *id).await?;
            print_key(&issued, "new key for")
        }
        VerifierCommand::Suspend { id } | VerifierCommand::Resume { id } => {
            let active = matches!(command, VerifierCommand::Resume { .. });
            let v = verifiers::set_active(services, Actor::Operator, *id, active).await?;
            println!(
                "{} {} is {}",
                v.id,
                v.name,
                if v.active { "active" } else { "suspended" }
            );
            Ok(())
        }
        VerifierCommand::List => {
            for v in verifiers::list(services).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    v.id,
                    if v.active { "active" } else { "suspended" },
                    v.category.name(),
                    v.purposes
                        .iter()
                        .map(|p| p.name())
                        .collect::<Vec<_>>()
                        .join(","),
                    v.name
                );
            }
            Ok(())
        }
    }
}
