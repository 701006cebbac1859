//! The e-ID benchmark without the server:
//! `cargo run --release -p shengshi-eid --features bench --example bench_eid`
//! (the same code as `shengshi bench eid`).

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    match shengshi_eid::bench::run(5, Duration::from_millis(400)) {
        Ok(report) => {
            print!("{report}");
            if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
