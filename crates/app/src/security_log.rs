//! Appends security events durably, grouping concurrent events into one
//! transaction: one commit (one fsync) serves every event that arrived while the
//! previous commit was in flight.

use shengshi_domain::{Actor, Clock, SecurityEvent, SecurityEventKind};
use shengshi_store::{SecurityEventStore, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum SecurityLogError {
    #[error("the security log is shut down")]
    Closed,
    #[error("the security log could not be written: {0}")]
    Store(String),
}

type Ack = oneshot::Sender<Result<(), SecurityLogError>>;

/// A handle to the one writer of the security event log. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SecurityLog {
    sender: mpsc::Sender<(SecurityEvent, Ack)>,
    clock: Arc<dyn Clock>,
}

impl SecurityLog {
    /// Starts the writer task. It ends when every handle has been dropped.
    pub fn start(store: Arc<dyn SecurityEventStore>, clock: Arc<dyn Clock>) -> Self {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(store, receiver));
        Self { sender, clock }
    }

    /// Records an event and returns once it is durable.
    pub async fn record(
        &self,
        actor: Actor,
        event: SecurityEventKind,
    ) -> Result<(), SecurityLogError> {
        let event = SecurityEvent::new(self.clock.now(), actor, event);
        let (kind, id) = (event.event.name(), event.id);
        let (ack, done) = oneshot::channel();
        self.sender
            .send((event, ack))
            .await
            .map_err(|_| SecurityLogError::Closed)?;
        done.await.map_err(|_| SecurityLogError::Closed)??;
        tracing::info!(target: "security", kind, %id, "security event recorded");
        Ok(())
    }
}

impl SecurityLog {
    /// Records many events and returns once all are durable. They are queued
    /// together, so the writer commits them in batches, not one per event.
    pub async fn record_all(
        &self,
        actor: Actor,
        events: Vec<SecurityEventKind>,
    ) -> Result<(), SecurityLogError> {
        let count = events.len();
        let mut pending = Vec::with_capacity(count);
        for event in events {
            let event = SecurityEvent::new(self.clock.now(), actor.clone(), event);
            let (ack, done) = oneshot::channel();
            self.sender
                .send((event, ack))
                .await
                .map_err(|_| SecurityLogError::Closed)?;
            pending.push(done);
        }
        for done in pending {
            done.await.map_err(|_| SecurityLogError::Closed)??;
        }
        if count > 0 {
            tracing::info!(target: "security", count, "security events recorded");
        }
        Ok(())
    }
}

async fn write_batches(
    store: Arc<dyn SecurityEventStore>,
    mut receiver: mpsc::Receiver<(SecurityEvent, Ack)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (events, acks): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let result = store.append_security_events(&events).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, events = events.len(), "security events not written");
        }
        for ack in acks {
            let outcome = result
                .as_ref()
                .map(|_| ())
                .map_err(|e: &StoreError| SecurityLogError::Store(e.to_string()));
            let _ = ack.send(outcome); // the caller may have given up waiting
        }
    }
}
