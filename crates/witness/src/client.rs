//! The platform's side of C2SP tlog-witness: an HTTP client for a witness.

use reqwest::StatusCode;
use shengshi_app::witnessing::{WitnessAnswer, WitnessClient, WitnessError};
use shengshi_tlog::{CosignatureVerifier, Hash};
use std::time::Duration;

/// A witness at `base_url` (its `/add-checkpoint` endpoint is appended).
#[derive(Debug)]
pub struct HttpWitness {
    base_url: String,
    verifier: CosignatureVerifier,
    http: reqwest::Client,
}

impl HttpWitness {
    pub fn new(base_url: &str, verifier: CosignatureVerifier) -> Result<Self, WitnessError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| WitnessError::Unreachable(e.to_string()))?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            verifier,
            http,
        })
    }
}

#[async_trait::async_trait]
impl WitnessClient for HttpWitness {
    fn verifier(&self) -> &CosignatureVerifier {
        &self.verifier
    }

    async fn add_checkpoint(
        &self,
        old_size: u64,
        proof: &[Hash],
        note: &str,
    ) -> Result<WitnessAnswer, WitnessError> {
        let response = self
            .http
            .post(format!("{}/add-checkpoint", self.base_url))
            .body(crate::request_body(old_size, proof, note))
            .send()
            .await
            .map_err(|e| WitnessError::Unreachable(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| WitnessError::Unreachable(e.to_string()))?;
        match status {
            StatusCode::OK => Ok(WitnessAnswer::Cosigned(text)),
            StatusCode::CONFLICT => text
                .trim()
                .parse()
                .map(|witness_size| WitnessAnswer::Conflict { witness_size })
                .map_err(|_| WitnessError::Malformed(format!("a 409 without a size: {text:?}"))),
            other => Err(WitnessError::Refused {
                status: other.as_u16(),
                message: text.trim().to_owned(),
            }),
        }
    }
}
