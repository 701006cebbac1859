//! `shengshi bench audit` (issue 5's performance goal): the online
//! verification storm of `shengshi bench verify` with the access log on
//! against the same storm with it off, in the same run, on the same
//! installation (limit: on at least 0.80 of off), and the access log's fsyncs
//! per logged access.
//!
//! "On" is the server as it serves: the door makes each access durable (its
//! batch committed, SQLite WAL `synchronous=FULL`) before the verification is
//! answered. "Off" is an application built by `Application::build_for_benchmark`
//! with `AccessLog::discarding_for_benchmarks`, which only benchmarks can
//! construct. The storms alternate on, off, off, on (each on a freshly started
//! application with fresh codes) so that a drift in the machine's load
//! weighs on both sides; each side's rate is its verifications over its time.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Duration;

use crate::bench_verify::{machine_notes, ms, BenchInstallation, Storm, VerifyBenchArgs};

/// Issue 5: with the log on, at least this fraction of the rate with it off.
pub const RATIO_LIMIT: f64 = 0.80;

#[derive(clap::Args, Debug, Clone)]
pub struct AuditBenchArgs {
    /// Concurrent clients (keep-alive connections).
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Measured verifications per storm (four storms: on, off, off, on).
    #[arg(long, default_value_t = 2500)]
    pub requests: usize,
}

/// The result of `shengshi bench audit`.
#[derive(Debug, Clone)]
pub struct AuditReport {
    /// The storms in the order they ran, with whether the log was on.
    pub storms: Vec<(bool, Storm)>,
    pub on_per_second: f64,
    pub off_per_second: f64,
    pub ratio: f64,
    pub passed: bool,
    /// Access-log batches committed per logged access, log on.
    pub log_commits_per_access: f64,
}

/// One side's verifications, time, commits and entries logged.
fn side(storms: &[(bool, Storm)], on: bool) -> (usize, Duration, u64, u64) {
    storms.iter().filter(|(o, _)| *o == on).fold(
        (0, Duration::ZERO, 0, 0),
        |(n, t, c, l), (_, s)| {
            (
                n + s.verifications,
                t + s.elapsed,
                c + s.commits,
                l + s.logged,
            )
        },
    )
}

/// Runs the benchmark and returns its report (the CLI prints it).
pub async fn measure(config_file: Option<PathBuf>, args: &AuditBenchArgs) -> Result<AuditReport> {
    VerifyBenchArgs {
        clients: args.clients,
        requests: args.requests,
        raw_ms: 0,
    }
    .check()?;
    let mut installation = BenchInstallation::create(config_file, "audit")?;
    let mut storms = Vec::new();
    for log_on in [true, false, false, true] {
        let storm = installation
            .storm(!log_on, args.clients, args.requests)
            .await
            .with_context(|| {
                format!(
                    "the storm with the log {} in {}",
                    if log_on { "on" } else { "off" },
                    installation.data_dir().display()
                )
            })?;
        if !log_on && storm.logged != 0 {
            bail!("the discarding access log logged something");
        }
        storms.push((log_on, storm));
    }
    let (on_n, on_t, on_commits, on_logged) = side(&storms, true);
    let (off_n, off_t, _, _) = side(&storms, false);
    let on_per_second = on_n as f64 / on_t.as_secs_f64().max(1e-9);
    let off_per_second = off_n as f64 / off_t.as_secs_f64().max(1e-9);
    let ratio = on_per_second / off_per_second;
    Ok(AuditReport {
        storms,
        on_per_second,
        off_per_second,
        ratio,
        passed: ratio >= RATIO_LIMIT,
        log_commits_per_access: on_commits as f64 / on_logged.max(1) as f64,
    })
}

pub async fn run(config_file: Option<PathBuf>, args: AuditBenchArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; build with --release for meaningful numbers");
    }
    crate::telemetry::init(crate::config::LogFormat::Text, "warn");
    let report = measure(config_file, &args).await?;
    println!(
        "shengshi bench audit: online verification storms of {} fresh hotel_checkin codes each, {} clients, access log on/off alternating ({})",
        args.requests,
        args.clients,
        machine_notes()
    );
    println!("  storm  access log  verifications/s  p50 ms  p99 ms  commits  entries logged");
    for (i, (on, s)) in report.storms.iter().enumerate() {
        println!(
            "  {:>5}  {:<10}  {:>15.0}  {:>6.2}  {:>6.2}  {:>7}  {:>14}",
            i + 1,
            if *on { "on" } else { "off" },
            s.per_second(),
            ms(s.p50),
            ms(s.p99),
            s.commits,
            s.logged
        );
    }
    println!(
        "  log on {:.0}/s, log off {:.0}/s: ratio {:.3} (limit {RATIO_LIMIT:.2}): {}",
        report.on_per_second,
        report.off_per_second,
        report.ratio,
        if report.passed { "PASS" } else { "FAIL" }
    );
    println!(
        "  fsyncs per logged access: {:.4} (access-log batches per access; one batch commit = one fsync of the SQLite WAL, synchronous=FULL; every access durable before its answer)",
        report.log_commits_per_access
    );
    if !report.passed {
        bail!(
            "FAIL: with the access log on the storm runs at {:.3} of its rate with the log off; the limit is {RATIO_LIMIT:.2}",
            report.ratio
        );
    }
    Ok(())
}
