//! `shengshi`: the one binary. `shengshi serve` runs the platform; the other
//! commands are for operators.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use shengshi::config::{Config, Overrides};
use shengshi::startup::{open_store, Application};
use shengshi::{demo, telemetry};
use shengshi_domain::{Actor, SecurityEventKind, SystemClock};
use shengshi_envelope::{KeyEncryptionKey, LocalKek};
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

// Many small allocations per request on every worker thread: mimalloc's
// thread-local free lists serve them without glibc's arena locking.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "shengshi",
    version,
    about = "Shengshi (省事): citizen services for a province"
)]
struct Cli {
    /// A TOML configuration file (also SHENGSHI_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Default)]
struct DatabaseArgs {
    /// Data directory for the embedded database (default ./shengshi-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// postgres://… or sqlite:… (also SHENGSHI_DATABASE_URL).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the platform.
    Serve {
        /// Seed fictional demo data (refused in production).
        #[arg(long)]
        demo: bool,
        /// Address and port to listen on (default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Write the whole installation to a backend-neutral file (docs/export-format.md).
    Export {
        /// The file to write; `-` for standard output.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Load an export into a new, empty database.
    Import {
        /// The file written by `shengshi export`.
        file: PathBuf,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Manage the key-encryption key.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The population registry kept in the database.
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Staff accounts (civil servants and platform operators).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// The access log ("who accessed my data").
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Benchmarks that print a ratio against a limit measured in the same run (docs/benchmarks.md).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Run a witness for an access log, apart from the platform (C2SP tlog-witness).
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
    /// Electronic ID card: verify codes offline, the trust root, the signed trust list.
    Eid {
        #[command(subcommand)]
        command: EidTop,
    },
    /// Verifier organisations (hotels, stations, banks…) and their API keys.
    Verifier {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(subcommand)]
        command: shengshi::verifier_admin::VerifierCommand,
    },
}

#[derive(Subcommand, Debug)]
enum EidTop {
    #[command(flatten)]
    Offline(shengshi::eid_cli::EidCommand),
    /// The issuer keys and trust list of an installation (works on its database).
    Issuer {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(subcommand)]
        command: shengshi::eid_admin::IssuerCommand,
    },
    /// Print a fresh presentation code for a demo resident (demo installations only).
    Present {
        /// The resident's ID number.
        #[arg(long, value_name = "ID_NUMBER")]
        resident: String,
        /// hotel_checkin, travel_security, age_over_18 or identity_full.
        #[arg(long)]
        purpose: String,
        /// The verifier category (default: the purpose's usual verifier).
        #[arg(long)]
        category: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// p50/p99 server time and size of the citizen pages beside a minimal handler.
    Web(shengshi::bench_web::WebBenchArgs),
    /// Full offline e-ID verifications against raw Ed25519 verify_strict; sizes and QR versions.
    Eid(shengshi::bench_eid::EidBenchArgs),
    /// Online e-ID verifications/s over HTTP (claim + durable access log) against raw Ed25519/s per core.
    Verify(shengshi::bench_verify::VerifyBenchArgs),
    /// The verification storm with the access log on against off; fsyncs per logged access.
    Audit(shengshi::bench_audit::AuditBenchArgs),
}

#[derive(Subcommand, Debug)]
enum WitnessCommand {
    /// Create the witness's key file (0600) and print its verifier key.
    Init {
        /// A schema-less URL naming the witness, e.g. audit.example.gov.cn/witness.
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "PATH")]
        key_file: PathBuf,
    },
    /// Serve POST /add-checkpoint until SIGTERM or SIGINT.
    Serve {
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "PATH")]
        key_file: PathBuf,
        /// Where the witness remembers what it cosigned (created if missing).
        #[arg(long, value_name = "PATH")]
        state_file: PathBuf,
        /// The verifier key of a log to witness (`shengshi audit key`); repeatable.
        #[arg(long = "log", value_name = "VKEY", required = true)]
        logs: Vec<String>,
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check every entry and checkpoint of the access log; names the first
    /// bad one and exits with status 1. With --witness, also require a valid
    /// cosignature by each named witness (a C2SP verifier key).
    Verify {
        #[arg(long = "witness", value_name = "VKEY")]
        witnesses: Vec<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Have the latest checkpoint cosigned by a witness (run it periodically).
    Cosign {
        /// The witness's base URL (it serves POST /add-checkpoint).
        #[arg(long, value_name = "URL")]
        witness_url: String,
        /// The witness's verifier key.
        #[arg(long = "witness", value_name = "VKEY")]
        witness: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Print the log's checkpoint key (a C2SP verifier key), for witnesses
    /// and anyone who checks checkpoints.
    Key {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand, Debug)]
enum StaffCommand {
    /// Create a staff account. The password is read from standard input (one
    /// line), never from the command line; the TOTP provisioning URI is printed
    /// once, for the staff member's authenticator app.
    Add {
        #[arg(long)]
        username: String,
        /// The name shown to colleagues.
        #[arg(long)]
        name: String,
        /// public_security, civil_affairs, human_resources_social_security,
        /// healthcare_security, traffic_police, exit_entry_administration,
        /// labour_arbitration, housing_provident_fund, tax or platform_operations.
        #[arg(long)]
        department: shengshi_domain::Department,
        /// clerk, reviewer, supervisor, auditor or administrator.
        #[arg(long)]
        role: shengshi_domain::Role,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand, Debug)]
enum RegistryCommand {
    /// Load or update registry records from a CSV file (docs/registry-import.md).
    /// One bad row refuses the whole file and nothing is written.
    Import {
        /// The CSV file; photo paths in it are relative to its directory.
        file: PathBuf,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print the effective configuration, secrets redacted.
    Show {
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create a new key-encryption key file (mode 0600).
    Init {
        #[arg(long, value_name = "FILE")]
        kek_file: PathBuf,
    },
    /// Re-wrap every data key, platform secret and e-ID issuer key under the
    /// primary key-encryption key (kek_file or kms_key), unwrapping with the
    /// previous ones (previous_kek_files, previous_kms_keys), while the servers
    /// keep serving; records the primary as the installation's key at the end.
    /// Resumable and idempotent. Procedure: docs/operations.md.
    Rotate {
        /// Rotate to this key file instead, with the configured key as the
        /// previous one. Only with every server stopped: they do not hold it.
        #[arg(long, value_name = "FILE")]
        new_kek_file: Option<PathBuf>,
        /// Data keys re-wrapped per transaction.
        #[arg(long, default_value_t = shengshi_app::keys::DEFAULT_BATCH)]
        batch_size: u32,
        /// Stop after this many batches, unfinished, as a crash would (tests).
        #[arg(long, hide = true)]
        stop_after_batches: Option<u64>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// One line, saying what is wrong and (in the message) how to fix it.
fn fail(e: anyhow::Error) -> ExitCode {
    let line = format!("{e:#}").replace('\n', " ");
    eprintln!("error: {line}");
    ExitCode::FAILURE
}

fn load_config(
    cli_config: &Option<PathBuf>,
    db: &DatabaseArgs,
    listen: Option<String>,
    demo: bool,
) -> Result<Config> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let overrides = Overrides {
        config_file: cli_config.clone(),
        listen,
        data_dir: db.data_dir.clone(),
        database_url: db.database_url.clone(),
        demo,
    };
    let (config, unknown) = Config::load(&env, &overrides)?;
    telemetry::init(config.log_format, &config.log_level);
    for name in unknown {
        tracing::warn!(variable = %name, "unknown SHENGSHI_* environment variable ignored (a typo?)");
    }
    Ok(config)
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve { demo, listen, db } => {
            let config = load_config(&cli.config, &db, listen, demo)?;
            let app = Application::build(&config, Arc::new(SystemClock)).await?;
            let shutdown = shutdown_signal()?;
            println!(
                "Shengshi {} is listening on {}",
                shengshi::startup::VERSION,
                app.origin()
            );
            if let Some(summary) = app.demo_summary() {
                println!("{}", demo::instructions(app.origin(), summary));
            }
            tracing::info!(origin = %app.origin(), database = app.services().store.backend().name(), "serving");
            app.run(shutdown).await
        }
        Command::Migrate { db } => {
            let config = load_config(&cli.config, &db, None, false)?;
            let store = open_store(&config).await?;
            let before = store.schema_status().await?;
            let after = store.migrate().await?;
            println!(
                "database schema: {} -> {} ({} migrations known)",
                before.applied, after.applied, after.known
            );
            store.close().await;
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Show { db },
        } => {
            let config = load_config(&cli.config, &db, None, false)?;
            print!("{}", config.show());
            Ok(())
        }
        Command::Export { out, db } => {
            let config = load_config(&cli.config, &db, None, false)?;
            let store = open_store(&config).await?;
            let status = store.schema_status().await?;
            if !status.is_current() {
                anyhow::bail!("the database schema is not current ({} migrations pending); run `shengshi migrate` first", status.pending);
            }
            let report = if out.as_os_str() == "-" {
                let stdout = std::io::stdout();
                let mut writer = BufWriter::new(stdout.lock());
                shengshi_app::transfer::export(store.as_ref(), &mut writer).await?
            } else {
                // Write beside the target, then rename: a crash never leaves a half file under the real name.
                let partial = out.with_extension("partial");
                // Owner-only: the file carries every wrapped key and the whole security log.
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create(true).truncate(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let file = options
                    .open(&partial)
                    .with_context(|| format!("cannot create {}", partial.display()))?;
                let mut writer = BufWriter::new(file);
                let report = shengshi_app::transfer::export(store.as_ref(), &mut writer).await?;
                writer
                    .into_inner()
                    .map_err(|e| e.into_error())?
                    .sync_all()?;
                std::fs::rename(&partial, &out)?;
                report
            };
            let log = shengshi_app::SecurityLog::start(store.clone(), Arc::new(SystemClock));
            log.record(
                Actor::Operator,
                SecurityEventKind::InstallationExported {
                    rows: report.records,
                },
            )
            .await?;
            eprintln!("exported {} records", report.records);
            store.close().await;
            Ok(())
        }
        Command::Import { file, db } => {
            let config = load_config(&cli.config, &db, None, false)?;
            let input = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let store = open_store(&config).await?;
            store.migrate().await?;
            let report =
                shengshi_app::transfer::import(store.as_ref(), &mut BufReader::new(input)).await?;
            let log = shengshi_app::SecurityLog::start(store.clone(), Arc::new(SystemClock));
            log.record(
                Actor::Operator,
                SecurityEventKind::InstallationImported {
                    rows: report.records,
                },
            )
            .await?;
            eprintln!("imported {} records; configure the same key-encryption key as the source installation", report.records);
            store.close().await;
            Ok(())
        }
        Command::Registry {
            command: RegistryCommand::Import { file, db },
        } => {
            let config = load_config(&cli.config, &db, None, false)?;
            registry_import(&config, &file).await
        }
        Command::Witness { command } => witness(command).await,
        Command::Bench {
            command: BenchCommand::Web(args),
        } => shengshi::bench_web::run(cli.config.clone(), args).await,
        Command::Bench {
            command: BenchCommand::Eid(args),
        } => shengshi::bench_eid::run(args),
        Command::Bench {
            command: BenchCommand::Verify(args),
        } => shengshi::bench_verify::run(cli.config.clone(), args).await,
        Command::Bench {
            command: BenchCommand::Audit(args),
        } => shengshi::bench_audit::run(cli.config.clone(), args).await,
        Command::Eid {
            command: EidTop::Offline(command),
        } => shengshi::eid_cli::run(command),
        Command::Eid {
            command: EidTop::Issuer { db, command },
        } => {
            let config = load_config(&cli.config, &db, None, false)?;
            shengshi::eid_admin::issuer(&config, &command).await
        }
        Command::Eid {
            command:
                EidTop::Present {
                    resident,
                    purpose,
                    category,
                    db,
                },
        } => {
            let config = load_config(&cli.config, &db, None, false)?;
            shengshi::eid_admin::present(&config, &resident, &purpose, category.as_deref()).await
        }
        Command::Verifier { db, command } => {
            let config = load_config(&cli.config, &db, None, false)?;
            shengshi::verifier_admin::run(&config, &command).await
        }
        Command::Audit { command } => {
            let db = match &command {
                AuditCommand::Verify { db, .. }
                | AuditCommand::Key { db }
                | AuditCommand::Cosign { db, .. } => db,
            };
            let config = load_config(&cli.config, db, None, false)?;
            audit(&config, &command).await
        }
        Command::Staff {
            command:
                StaffCommand::Add {
                    username,
                    name,
                    department,
                    role,
                    db,
                },
        } => {
            let config = load_config(&cli.config, &db, None, false)?;
            staff_add(&config, username, name, department, role).await
        }
        Command::Keys {
            command: KeysCommand::Init { kek_file },
        } => {
            let kek = LocalKek::create(&kek_file)?;
            println!(
                "created key-encryption key {} at {}",
                kek.id(),
                kek_file.display()
            );
            Ok(())
        }
        Command::Keys {
            command:
                KeysCommand::Rotate {
                    new_kek_file,
                    batch_size,
                    stop_after_batches,
                    db,
                },
        } => {
            let config = load_config(&cli.config, &db, None, false)?;
            let rotated = shengshi::keys_cli::rotate(
                &config,
                new_kek_file.as_deref(),
                batch_size,
                stop_after_batches,
            )
            .await?;
            let r = &rotated.report;
            if !rotated.finished {
                println!(
                    "stopped after {} batches ({} data keys re-wrapped); run `shengshi keys rotate` again to finish",
                    r.batches, r.rewrapped
                );
                return Ok(());
            }
            println!(
                "re-wrapped {} data keys, {} platform secrets and {} e-ID issuer keys from {} to {} ({} already under it, {} destroyed); the installation's key is now {}",
                r.rewrapped + r.late,
                r.secrets_rewrapped,
                r.issuer_keys_rewrapped,
                rotated.from,
                rotated.to,
                r.already_done,
                r.destroyed,
                rotated.to,
            );
            if r.late > 0 {
                eprintln!(
                    "warning: {} data keys were wrapped by an old key while the rotation ran: a server still uses an old key as its primary. Restart it with the new configuration, run `shengshi keys rotate` again, and keep the old keys until a run reports this no more",
                    r.late
                );
            } else if let Some(path) = &new_kek_file {
                println!(
                    "now configure kek_file = {:?}{}, then start the servers",
                    path.display().to_string(),
                    if config.kms.is_some() {
                        " and remove the KMS settings (kms_*)"
                    } else {
                        ""
                    }
                );
            } else {
                println!("now remove previous_kek_files / previous_kms_keys from the configuration, restart the servers one by one, and then destroy the old keys");
            }
            std::io::stdout().flush()?;
            Ok(())
        }
    }
}

/// `shengshi audit verify`, `audit key` and `audit cosign`.
async fn audit(config: &Config, command: &AuditCommand) -> Result<()> {
    let (services, _installation, _secrets) =
        shengshi::startup::open_installation(config, Arc::new(SystemClock)).await?;
    let verifier = services.access_log.verifier().clone();
    let result = match command {
        AuditCommand::Key { .. } => {
            println!("{}", verifier.to_vkey());
            Ok(())
        }
        AuditCommand::Verify { witnesses, .. } => {
            let witnesses = witnesses
                .iter()
                .map(|v| shengshi_tlog::CosignatureVerifier::from_vkey(v))
                .collect::<Result<Vec<_>, _>>()
                .context("a --witness key is not a C2SP verifier key")?;
            match shengshi_app::audit::verify_witnessed(
                services.store.as_ref(),
                &verifier,
                &witnesses,
            )
            .await
            {
                Ok((report, vouched)) => {
                    println!(
                        "access log verified: {} entries under {} signed checkpoints ({})",
                        report.entries,
                        report.checkpoints,
                        verifier.name()
                    );
                    for w in vouched {
                        println!(
                            "witness {} cosigned the first {} entries",
                            w.witness, w.cosigned_size
                        );
                    }
                    Ok(())
                }
                Err(e) => Err(anyhow::anyhow!("access log verification failed: {e}")),
            }
        }
        AuditCommand::Cosign {
            witness_url,
            witness,
            ..
        } => {
            let key = shengshi_tlog::CosignatureVerifier::from_vkey(witness)
                .context("--witness is not a C2SP verifier key")?;
            let client = shengshi_witness::HttpWitness::new(witness_url, key)?;
            match shengshi_app::witnessing::cosign_latest(&services, &client).await? {
                Some(size) => println!("checkpoint at tree size {size} is cosigned"),
                None => println!("the access log is empty: nothing to cosign"),
            }
            Ok(())
        }
    };
    services.store.close().await;
    result
}

/// `shengshi witness init` and `shengshi witness serve`.
async fn witness(command: WitnessCommand) -> Result<()> {
    match command {
        WitnessCommand::Init { name, key_file } => {
            let secret = shengshi_witness::create_key(&key_file).map_err(anyhow::Error::msg)?;
            let cosigner = shengshi_tlog::Cosigner::new(&name, &secret)?;
            println!("{}", cosigner.verifier().to_vkey());
            Ok(())
        }
        WitnessCommand::Serve {
            name,
            key_file,
            state_file,
            logs,
            listen,
        } => {
            let secret = shengshi_witness::read_key(&key_file).map_err(anyhow::Error::msg)?;
            let logs = logs
                .iter()
                .map(|v| shengshi_tlog::NoteVerifier::from_vkey(v))
                .collect::<Result<Vec<_>, _>>()
                .context("a --log key is not a C2SP verifier key")?;
            let witness = shengshi_witness::Witness::open(&name, &secret, logs, state_file)
                .map_err(anyhow::Error::msg)?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            println!(
                "witness {} listening on http://{}",
                witness.vkey(),
                listener.local_addr()?
            );
            axum::serve(
                listener,
                shengshi_witness::router(std::sync::Arc::new(witness)),
            )
            .with_graceful_shutdown(shutdown_signal()?)
            .await?;
            Ok(())
        }
    }
}

/// `shengshi registry import FILE.csv`.
async fn registry_import(config: &Config, file: &std::path::Path) -> Result<()> {
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let (services, installation, secrets) =
        shengshi::startup::open_installation(config, Arc::new(SystemClock)).await?;
    if installation.demo {
        anyhow::bail!("registry import refused: this is a demo installation, which holds fictional data only; import into a real installation");
    }
    let photo_dir = file.parent().map(|p| {
        if p.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            p
        }
    });
    let started = std::time::Instant::now();
    let result = shengshi_app::registry_db::import_csv(
        &services,
        &secrets,
        BufReader::new(input),
        photo_dir,
    )
    .await;
    services.store.close().await;
    let report = result.with_context(|| format!("{} was not imported", file.display()))?;
    println!(
        "imported {} registry records ({} new, {} updated) in {:.1} s",
        report.records,
        report.created,
        report.updated,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `shengshi staff add`: the password comes from standard input.
async fn staff_add(
    config: &Config,
    username: String,
    display_name: String,
    department: shengshi_domain::Department,
    role: shengshi_domain::Role,
) -> Result<()> {
    use secrecy::ExposeSecret;
    use shengshi_app::staff::{NewStaff, StaffAccounts};
    // Checked before opening anything, so a weak password costs nothing.
    let password = read_password()?;
    shengshi_app::staff::password::check_rules(password.expose_secret())
        .map_err(|e| anyhow::anyhow!("weak password: {e}"))?;
    let (services, _installation, secrets) =
        shengshi::startup::open_installation(config, Arc::new(SystemClock)).await?;
    let accounts = StaffAccounts::new(&services, Arc::new(secrets));
    let result = accounts
        .add_by_operator(NewStaff {
            username,
            display_name,
            department,
            role,
            password,
        })
        .await;
    services.store.close().await;
    let enrolled = result?;
    eprintln!(
        "added {} ({}, {}); scan this URI into the staff member's authenticator app now, it is not shown again:",
        enrolled.username,
        department.display_en(),
        role.display_en()
    );
    println!("{}", enrolled.provisioning_uri.expose_secret());
    std::io::stdout().flush()?;
    Ok(())
}

/// One line from standard input, without its line ending.
fn read_password() -> Result<secrecy::SecretString> {
    use std::io::BufRead;
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        anyhow::bail!("no password on standard input; pipe it in, e.g. `shengshi staff add ... < password-file`");
    }
    Ok(secrecy::SecretString::from(password.to_owned()))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when
/// this is called, not when the future is first polled, so a signal that
/// arrives right after the "listening" line is never missed.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutdown signal received");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received");
    })
}
