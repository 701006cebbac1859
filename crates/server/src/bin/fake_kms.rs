//! `shengshi-fake-kms`: a FAKE Vault Transit server on loopback, to try
//! `shengshi serve` with its key-encryption key "in a KMS" on a laptop or in a
//! demo. Not a KMS: its keys live in memory and die with this process, and with
//! them every data key wrapped under them. Built only with `--features fake-kms`.

use anyhow::{Context, Result};
use clap::Parser;
use secrecy::ExposeSecret;
use shengshi::config::LogFormat;
use shengshi_kms::FakeVaultTransit;
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "shengshi-fake-kms",
    about = "A FAKE Vault Transit server for demos (keys in memory, loopback only)"
)]
struct Cli {
    /// The transit key to create.
    #[arg(long, default_value = "shengshi-kek")]
    key: String,
    /// Where to write the token (created with mode 0600; must not exist).
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    shengshi::telemetry::init(LogFormat::Text, "info");
    let vault = FakeVaultTransit::start()
        .await
        .context("cannot start the fake Vault")?;
    vault.create_key(&cli.key);

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&cli.token_file)
        .with_context(|| format!("cannot create {}", cli.token_file.display()))?;
    file.write_all(vault.token().expose_secret().as_bytes())?;

    println!(
        "FAKE Vault transit server (not a KMS: keys die with this process) at {url}\n\
         Start the server in another shell with:\n\
         \x20 SHENGSHI_KMS_URL={url} SHENGSHI_KMS_KEY={key} SHENGSHI_KMS_TOKEN_FILE={token} shengshi serve\n\
         Press Ctrl-C to stop; the installation cannot start again without this process's keys.",
        url = vault.url().as_str().trim_end_matches('/'),
        key = cli.key,
        token = cli.token_file.display(),
    );
    tokio::signal::ctrl_c().await?;
    drop(vault);
    let _ = std::fs::remove_file(&cli.token_file);
    Ok(())
}
