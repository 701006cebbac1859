//! The access log's own writer connection, driven directly.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands it every
//! statement through a channel, and its pool pings a connection on its way
//! back: each is a thread wake-up, and while the cores are busy each wake-up
//! waits for one. The access log's batch (its claims, entries and checkpoint:
//! a few statements per access) holds the database's write lock while every
//! access in it waits. So it has a connection of its own, opened with
//! rusqlite, and runs all of its statements on the calling thread in one go.
//!
//! Its transactions take turns with those of sqlx's writer
//! ([`SqliteStore::write_turn`]). Another process may still hold SQLite's
//! write lock: the connection does not wait for it inside SQLite, which would
//! hold up the thread, but tries again after an asynchronous pause, for as
//! long as the store's busy timeout.

use rusqlite::{OpenFlags, Transaction, TransactionBehavior};
use shengshi_store::StoreError;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::runtime::{Handle, RuntimeFlavor};

use crate::SqliteStore;

/// The first pause before trying a busy database again; it doubles up to
/// [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_micros(500);
const LONGEST_PAUSE: Duration = Duration::from_millis(20);

/// Opens the access log's connection to the store's (existing) database,
/// with the settings of its other connections.
pub(crate) fn open(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let unreachable = |e: rusqlite::Error| {
        StoreError::Unreachable(format!(
            "the access log's connection to {}: {e}",
            path.display()
        ))
    };
    let connection = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(unreachable)?;
    // A busy database is reported at once (see the module documentation).
    connection
        .busy_timeout(Duration::ZERO)
        .map_err(unreachable)?;
    connection
        .execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 10000;",
        )
        .map_err(unreachable)?;
    Ok(connection)
}

/// Why one attempt at a transaction did not commit.
enum Attempt {
    /// Another writer holds the write lock: try again later.
    Busy,
    Failed(StoreError),
}

impl SqliteStore {
    /// Closes the access log's connection (later batches are refused).
    pub(crate) fn close_direct(&self) {
        let closing = self
            .direct
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(closing);
    }

    /// Runs `work` in an immediate transaction on the access log's
    /// connection, on this thread, and commits it if `work` succeeds. `work`
    /// runs once the write lock is held (while another writer holds it, this
    /// waits without holding up the thread).
    pub(crate) async fn write_directly<T, F>(&self, mut work: F) -> Result<T, StoreError>
    where
        F: FnMut(&Transaction<'_>) -> Result<T, StoreError> + Send,
    {
        // The busy timeout counts from the first turn: waiting behind this
        // process's other writers is not another process holding the lock.
        let mut deadline = None;
        let mut pause = FIRST_PAUSE;
        loop {
            let turn = self.write_turn().await;
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + crate::BUSY_TIMEOUT);
            let attempt = self.attempt(&mut work);
            drop(turn);
            match attempt {
                Ok(done) => return Ok(done),
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::Busy) if Instant::now() >= deadline => {
                    return Err(StoreError::Unreachable(
                        "the database stayed busy: another writer held it too long".into(),
                    ))
                }
                Err(Attempt::Busy) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
            }
        }
    }

    fn attempt<T>(
        &self,
        work: &mut dyn FnMut(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, Attempt> {
        let connection: &Mutex<Option<rusqlite::Connection>> = &self.direct;
        let mut run = move || {
            // A panic in `work` left no transaction open (rusqlite's
            // transaction rolls back as it drops), so the connection is sound.
            let mut connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(connection) = connection.as_mut() else {
                return Err(Attempt::Failed(StoreError::Unreachable(
                    "the store is closed".into(),
                )));
            };
            let tx = match connection.transaction_with_behavior(TransactionBehavior::Immediate) {
                Ok(tx) => tx,
                Err(e) if is_busy(&e) => return Err(Attempt::Busy),
                Err(e) => return Err(Attempt::Failed(sqlite(e))),
            };
            let done = work(&tx).map_err(Attempt::Failed)?;
            tx.commit().map_err(|e| Attempt::Failed(sqlite(e)))?;
            Ok(done)
        };
        // Waiting for the disk holds up this thread, not the runtime: on a
        // multi-threaded runtime the thread's other tasks move elsewhere.
        let on_many_threads = Handle::try_current()
            .is_ok_and(|handle| handle.runtime_flavor() == RuntimeFlavor::MultiThread);
        if on_many_threads {
            tokio::task::block_in_place(run)
        } else {
            run()
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A rusqlite error as the store's.
pub(crate) fn sqlite(e: rusqlite::Error) -> StoreError {
    let unique = matches!(
        e.sqlite_error().map(|f| f.extended_code),
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
            | Some(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    );
    if unique {
        StoreError::Conflict(e.to_string())
    } else if is_busy(&e) {
        StoreError::Unreachable(e.to_string())
    } else {
        StoreError::Database(e.to_string())
    }
}
