//! The SMS gateway adapter. Production implements a provider's protocol; demo
//! mode and tests use [`DemoOutbox`], which keeps messages in memory only (never
//! at rest) and shows them on a demo page.

use shengshi_domain::{PhoneNumber, Timestamp};
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS gateway refused the message: {0}")]
    Refused(String),
    #[error("the SMS gateway is unreachable: {0}")]
    Unreachable(String),
}

/// A text to send, already in the recipient's language.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsMessage {
    /// The provider's template id (providers require pre-approved templates).
    pub template: &'static str,
    /// Template parameters, e.g. `code`.
    pub params: Vec<(&'static str, String)>,
    /// The full text, for gateways that send free text and for the demo outbox.
    pub text: String,
}

impl std::fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The text carries the code: never print it.
        f.debug_struct("SmsMessage")
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
pub trait SmsGateway: Send + Sync + std::fmt::Debug {
    async fn send(&self, to: &PhoneNumber, message: &SmsMessage) -> Result<(), SmsError>;
}

/// A message the demo outbox holds.
#[derive(Clone, Debug)]
pub struct OutboxEntry {
    pub to: PhoneNumber,
    pub text: String,
    pub at: Timestamp,
}

/// A fake gateway for demo mode and tests: keeps the newest messages in memory.
#[derive(Debug)]
pub struct DemoOutbox {
    entries: Mutex<Vec<OutboxEntry>>,
    clock: std::sync::Arc<dyn shengshi_domain::Clock>,
}

const OUTBOX_SIZE: usize = 50;

impl DemoOutbox {
    pub fn new(clock: std::sync::Arc<dyn shengshi_domain::Clock>) -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
            clock,
        }
    }

    /// Newest first.
    pub fn entries(&self) -> Vec<OutboxEntry> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.iter().rev().cloned().collect()
    }

    /// The newest message sent to `to`, for tests.
    pub fn last_to(&self, to: &PhoneNumber) -> Option<OutboxEntry> {
        self.entries().into_iter().find(|e| &e.to == to)
    }
}

#[async_trait::async_trait]
impl SmsGateway for DemoOutbox {
    async fn send(&self, to: &PhoneNumber, message: &SmsMessage) -> Result<(), SmsError> {
        let at = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.push(OutboxEntry {
            to: to.clone(),
            text: message.text.clone(),
            at,
        });
        if entries.len() > OUTBOX_SIZE {
            entries.remove(0);
        }
        Ok(())
    }
}
