//! `shengshi bench eid`: (a) strict Ed25519 verifications per second against
//! full offline verifications of a hotel_checkin `SS1` code on the same thread;
//! (b) the two strict signature checks of a holder-bound `SS2` code (issuer +
//! device ES256) against full `SS2` verifications, without and (reported
//! separately) with a credential cache. Both ratios must reach 0.90. Also
//! payload bytes and QR version per purpose. The measurement itself is
//! `shengshi_eid::bench`, shared with the crate's example.

use anyhow::{bail, Result};
use clap::Args;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct EidBenchArgs {
    /// Raw and full verification alternate in ~0.5 ms batches for rounds × round-ms × 2;
    /// the median of the adjacent pairs' ratios counts.
    #[arg(long, default_value_t = 5)]
    pub rounds: u32,
    /// Length of one round, in milliseconds.
    #[arg(long, default_value_t = 400)]
    pub round_ms: u64,
}

pub fn run(args: EidBenchArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; build with --release for meaningful numbers");
    }
    let report = shengshi_eid::bench::run(args.rounds, Duration::from_millis(args.round_ms))
        .map_err(anyhow::Error::msg)?;
    print!("{report}");
    if !report.passed {
        bail!(
            "FAIL: full verification reaches {:.3} (SS1) and {:.3} (SS2, no cache) of raw signature verification; the limit is {:.2}",
            report.ratio,
            report.holder_ratio,
            shengshi_eid::bench::RATIO_LIMIT
        );
    }
    Ok(())
}
