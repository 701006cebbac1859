//! The `shengshi` binary as a library: configuration, start-up, and the CLI
//! commands, so that integration tests start exactly what operators start.

pub mod adapters;
pub mod bench_audit;
pub mod bench_eid;
pub mod bench_verify;
pub mod bench_web;
pub mod config;
pub mod demo;
pub mod eid_admin;
pub mod eid_cli;
pub mod keys_cli;
pub mod startup;
pub mod telemetry;
pub mod verifier_admin;

pub use config::{Config, Mode, Overrides};
pub use startup::Application;
