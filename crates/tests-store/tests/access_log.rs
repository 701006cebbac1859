//! The door and the access log, on both backends: personal data opens only
//! after its access is durable in the log; concurrent accesses are batched
//! into one signed checkpoint each; `audit::verify` passes on an honest log
//! (also after moving it to the other backend) and names the first bad entry
//! or checkpoint when someone edits, deletes or rewrites rows beneath the
//! store.

use shengshi_app::audit::{self, AuditError};
use shengshi_app::door::{self, AccessRequest};
use shengshi_app::keys;
use shengshi_app::transfer::{export, import};
use shengshi_domain::access::{AccessEntry, Accessor, Purpose};
use shengshi_domain::{Department, Role, StaffId, SubjectId};
use shengshi_store::{StoredAccessEntry, StoredCheckpoint};
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb, TestServices};

tests_on_both_backends!(
    data_opens_only_through_a_logged_access,
    concurrent_accesses_share_checkpoints_and_verify,
    an_edited_entry_is_named,
    a_rehashed_entry_breaks_its_checkpoint,
    a_deleted_entry_is_named_and_a_cut_tail_is_truncation,
    a_forged_checkpoint_signature_is_refused,
    two_writers_take_turns_and_the_log_verifies,
    other_writes_are_not_starved_by_a_busy_access_log,
);

fn request(subject: SubjectId, purpose: Purpose) -> AccessRequest {
    AccessRequest {
        subject,
        accessor: Accessor::Staff {
            staff: StaffId::new(),
            department: Department::PublicSecurity,
            role: Role::Clerk,
        },
        purpose,
        reference: Some("visit-1".into()),
        fields: vec!["name", "phone"],
    }
}

/// A subject with a key and a sealed value, and `n` logged accesses to it.
async fn world_with_accesses(backend: Backend, n: usize) -> Option<(TestServices, SubjectId)> {
    let t = TestServices::new(backend).await?;
    let subject = SubjectId::new();
    keys::create(&t.services, subject).await.unwrap();
    for i in 0..n {
        let purpose = if i % 2 == 0 {
            Purpose::OwnAccount
        } else {
            Purpose::CounterCheck
        };
        door::open(&t.services, request(subject, purpose))
            .await
            .unwrap();
    }
    Some((t, subject))
}

async fn verify(t: &TestServices) -> Result<audit::AuditReport, AuditError> {
    audit::verify(t.services.store.as_ref(), t.services.access_log.verifier()).await
}

async fn data_opens_only_through_a_logged_access(backend: Backend) {
    let Some(t) = TestServices::new(backend).await else {
        return;
    };
    let subject = SubjectId::new();
    let key = keys::create(&t.services, subject).await.unwrap();
    let sealed = key.seal("李四 13912345678".as_bytes(), b"test.field");
    drop(key);
    assert_eq!(verify(&t).await.unwrap().entries, 0);

    let opened = door::open(&t.services, request(subject, Purpose::CounterCheck))
        .await
        .unwrap();
    assert_eq!(
        &*opened.open(&sealed, b"test.field").unwrap(),
        "李四 13912345678".as_bytes()
    );
    // The entry was durable before the key came out.
    let entries = t
        .services
        .store
        .subject_access_entries(subject, None, 10)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].leaf_index, opened.leaf_index());
    let entry = AccessEntry::from_bytes(&entries[0].entry).unwrap();
    assert_eq!(entry.purpose, Purpose::CounterCheck);
    assert_eq!(entry.fields, vec!["name", "phone"]);
    assert!(
        !String::from_utf8_lossy(&entries[0].entry).contains("李四"),
        "an entry names fields, never their values"
    );
    let report = verify(&t).await.unwrap();
    assert_eq!((report.entries, report.checkpoints), (1, 1));

    // An erased subject: the attempt is logged, nothing opens.
    keys::destroy(&t.services, subject, shengshi_domain::Actor::Operator)
        .await
        .unwrap();
    assert!(
        door::open(&t.services, request(subject, Purpose::OwnAccount))
            .await
            .is_err()
    );
    assert_eq!(verify(&t).await.unwrap().entries, 2);
}

async fn concurrent_accesses_share_checkpoints_and_verify(backend: Backend) {
    let Some((t, subject)) = world_with_accesses(backend, 0).await else {
        return;
    };
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let services = t.services.clone();
        tasks.push(tokio::spawn(async move {
            door::open(&services, request(subject, Purpose::OwnAccount))
                .await
                .unwrap()
                .leaf_index()
        }));
    }
    let mut indexes = Vec::new();
    for task in tasks {
        indexes.push(task.await.unwrap());
    }
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..64).collect::<Vec<u64>>(),
        "one leaf each, no gaps"
    );
    let report = verify(&t).await.unwrap();
    assert_eq!(report.entries, 64);
    assert!(report.checkpoints >= 1 && report.checkpoints <= 64);
    let newest = t
        .services
        .store
        .subject_access_entries(subject, None, 3)
        .await
        .unwrap();
    let order: Vec<u64> = newest.iter().map(|e| e.leaf_index).collect();
    assert_eq!(order, vec![63, 62, 61], "newest first");

    // The log survives export and import into the other backend unchanged.
    let mut file = Vec::new();
    export(t.services.store.as_ref(), &mut file).await.unwrap();
    let other = match backend {
        Backend::Sqlite => TestDb::postgres().await,
        Backend::Postgres => Some(TestDb::sqlite()),
    };
    if let Some(other) = other {
        let store = other.store().await;
        import(store.as_ref(), &mut file.as_slice()).await.unwrap();
        let moved = audit::verify(store.as_ref(), t.services.access_log.verifier())
            .await
            .unwrap();
        assert_eq!(moved, report);
    }
}

/// Replaces an entry's bytes (and, if asked, its leaf hash to match).
async fn rewrite_entry(t: &TestServices, index: u64, rehash: bool) {
    let stored = t.services.store.access_entries(index, 1).await.unwrap();
    let text = String::from_utf8(stored[0].entry.clone()).unwrap();
    let forged = if text.contains("own_account") {
        text.replace("own_account", "counter_check")
    } else {
        text.replace("counter_check", "own_account")
    };
    assert_ne!(forged, text);
    let mut sql = format!(
        "UPDATE access_log SET entry = {}",
        t.db.bytes_literal(forged.as_bytes())
    );
    if rehash {
        let leaf = shengshi_tlog::leaf_hash(forged.as_bytes());
        sql += &format!(", leaf_hash = {}", t.db.bytes_literal(&leaf));
    }
    sql += &format!(" WHERE leaf_index = {index}");
    assert_eq!(t.db.exec(&sql).await.unwrap(), 1);
}

async fn an_edited_entry_is_named(backend: Backend) {
    let Some((t, _)) = world_with_accesses(backend, 6).await else {
        return;
    };
    // The database refuses the edit while its protection stands.
    let refused =
        t.db.exec("UPDATE access_log SET at = at + 1 WHERE leaf_index = 3")
            .await;
    assert!(refused.is_err(), "append-only: {refused:?}");
    t.db.unprotect_access_log().await;
    rewrite_entry(&t, 3, false).await;
    assert_eq!(
        verify(&t).await,
        Err(AuditError::BadEntry {
            index: 3,
            reason: "its bytes do not match its leaf hash (the entry was edited)".into()
        })
    );
}

async fn a_rehashed_entry_breaks_its_checkpoint(backend: Backend) {
    let Some((t, _)) = world_with_accesses(backend, 6).await else {
        return;
    };
    t.db.unprotect_access_log().await;
    rewrite_entry(&t, 4, true).await;
    match verify(&t).await {
        Err(AuditError::BadCheckpoint { from, to, .. }) => {
            assert!(
                from <= 4 && 4 <= to,
                "the range {from}..={to} holds entry 4"
            );
        }
        other => panic!("expected a bad checkpoint, got {other:?}"),
    }
}

async fn a_deleted_entry_is_named_and_a_cut_tail_is_truncation(backend: Backend) {
    let Some((t, _)) = world_with_accesses(backend, 6).await else {
        return;
    };
    t.db.unprotect_access_log().await;
    t.db.exec("DELETE FROM access_log WHERE leaf_index = 2")
        .await
        .unwrap();
    match verify(&t).await {
        Err(AuditError::BadEntry { index: 2, reason }) => assert!(reason.contains("deleted")),
        other => panic!("expected entry 2 missing, got {other:?}"),
    }
    t.db.exec("DELETE FROM access_log WHERE leaf_index >= 2")
        .await
        .unwrap();
    assert!(matches!(verify(&t).await, Err(AuditError::Truncated(_))));
}

async fn a_forged_checkpoint_signature_is_refused(backend: Backend) {
    let Some((t, _)) = world_with_accesses(backend, 3).await else {
        return;
    };
    t.db.unprotect_access_log().await;
    // A checkpoint signed by someone else's key under the log's name.
    let forger = shengshi_tlog::NoteSigner::new(
        t.services.access_log.verifier().name(),
        &shengshi_tlog::generate_ed25519_secret(),
    )
    .unwrap();
    let latest = t
        .services
        .store
        .latest_access_checkpoint()
        .await
        .unwrap()
        .unwrap();
    let body = shengshi_tlog::SignedNote::parse(&latest.note).unwrap().body;
    let mut forged = shengshi_tlog::SignedNote::new(&body).unwrap();
    forged.add_signature_line(&forger.sign(&body)).unwrap();
    let sql = format!(
        "UPDATE access_checkpoints SET note = '{}' WHERE tree_size = {}",
        forged.to_text().replace('\'', "''"),
        latest.tree_size
    );
    t.db.exec(&sql).await.unwrap();
    match verify(&t).await {
        Err(AuditError::BadCheckpoint { size, reason, .. }) => {
            assert_eq!(size, latest.tree_size);
            assert!(reason.contains("signature"), "{reason}");
        }
        other => panic!("expected a bad signature, got {other:?}"),
    }
}

/// A server and an operator command (two sequencers on one database) both
/// append: each catches up with the other instead of failing its callers.
async fn two_writers_take_turns_and_the_log_verifies(backend: Backend) {
    let Some((t, subject)) = world_with_accesses(backend, 1).await else {
        return;
    };
    let other = shengshi_app::Services {
        access_log: shengshi_test_support::start_access_log(
            t.services.store.clone(),
            t.services.kek.as_ref(),
            t.services.clock.clone(),
        )
        .await,
        ..t.services.clone()
    };
    for round in 0..4 {
        let writer = if round % 2 == 0 { &other } else { &t.services };
        door::open(writer, request(subject, Purpose::OwnAccount))
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    assert_eq!(verify(&t).await.unwrap().entries, 5);
}

/// While accesses keep the log's batches committing back to back, other
/// writes still get their turn (on SQLite the log has a connection of its
/// own, and SQLite alone would only poll a busy database, up to its busy
/// timeout).
async fn other_writes_are_not_starved_by_a_busy_access_log(backend: Backend) {
    let Some((t, subject)) = world_with_accesses(backend, 1).await else {
        return;
    };
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (services, busy) = (t.services.clone(), busy.clone());
        readers.push(tokio::spawn(async move {
            let mut opened = 0;
            while busy.load(std::sync::atomic::Ordering::SeqCst) {
                door::open(&services, request(subject, Purpose::OwnAccount))
                    .await
                    .unwrap();
                opened += 1;
            }
            opened
        }));
    }
    for i in 0..30 {
        keys::create(&t.services, SubjectId::new())
            .await
            .unwrap_or_else(|e| panic!("write {i} while the log is busy: {e}"));
    }
    busy.store(false, std::sync::atomic::Ordering::SeqCst);
    let mut opened = 0;
    for reader in readers {
        opened += reader.await.unwrap();
    }
    assert!(opened > 0);
    assert_eq!(verify(&t).await.unwrap().entries, 1 + opened);
}

/// On SQLite the access log writes through a connection of its own: while
/// another writer holds the database, a batch waits for it without holding
/// up its thread. (On this one-threaded runtime, a batch that blocked its
/// thread until the lock came free would wait for ever: the lock is released
/// by a task of the same thread.)
#[tokio::test(flavor = "current_thread")]
async fn on_sqlite_a_batch_waits_for_another_writer_without_holding_up_its_thread() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let now = shengshi_domain::Timestamp::from_unix_millis(1_790_000_000_000).unwrap();
    let entry = StoredAccessEntry {
        leaf_index: 0,
        subject: SubjectId::new(),
        at: now,
        entry: b"an entry".to_vec(),
        leaf_hash: vec![1; 32],
    };
    let checkpoint = StoredCheckpoint {
        tree_size: 1,
        root_hash: vec![1; 32],
        right_edge: "{}".into(),
        note: "checkpoint 1".into(),
        created_at: now,
    };

    let other_writer = db.lock_sqlite_for_writing().await;
    let released = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // The lock may come free just before `release` returns: the time
        // is taken before.
        let releasing_at = std::time::Instant::now();
        other_writer.release().await;
        releasing_at
    };
    let appended = async {
        let result = store
            .append_access_batch(0, std::slice::from_ref(&entry), &checkpoint)
            .await;
        (result, std::time::Instant::now())
    };
    let (released_at, (result, appended_at)) = tokio::join!(released, appended);
    result.expect("the batch is written once the other writer is done");
    assert!(appended_at >= released_at, "the batch waited for the lock");
    assert_eq!(
        store.access_entries(0, 10).await.unwrap(),
        vec![entry.clone()]
    );
    assert_eq!(
        store.latest_access_checkpoint().await.unwrap(),
        Some(checkpoint.clone())
    );

    // A closed store writes nothing more, through either connection.
    store.close().await;
    let next = StoredAccessEntry {
        leaf_index: 1,
        ..entry
    };
    let refused = store
        .append_access_batch(
            1,
            &[next],
            &StoredCheckpoint {
                tree_size: 2,
                ..checkpoint
            },
        )
        .await;
    assert!(
        matches!(refused, Err(shengshi_store::StoreError::Unreachable(_))),
        "{refused:?}"
    );
}
