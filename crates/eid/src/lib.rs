//! Electronic resident ID card: credential formats and their verification.
//!
//! This crate has no server dependencies (no tokio, axum or sqlx) so that any
//! verifier — a hotel desk, a station gate, a third party — can use it offline.
//! The foundation ships the text encoding every code uses; the credential
//! formats arrive with the e-ID issues and are specified in docs/eid-format.md.

pub mod base45;
