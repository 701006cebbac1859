//! Rotating the key-encryption key while the platform serves, on both
//! backends: servers hold the new key as primary and the old one as a previous
//! key; `keys::Rotation` re-wraps in batches (one transaction each), resumes
//! after being stopped, and names the new key in the installation only at the end.

use shengshi_app::door::{self, AccessRequest, DoorError};
use shengshi_app::installation::{self, InstallationError};
use shengshi_app::keys::{self, KeyError, Rotation};
use shengshi_app::secrets::PlatformSecrets;
use shengshi_app::Services;
use shengshi_domain::access::{Accessor, Purpose};
use shengshi_domain::{SubjectId, Timestamp};
use shengshi_envelope::{KeyEncryptionKey, KeyRing, LocalKek, Sealed};
use shengshi_store::{DataKeyRewrap, StoredDataKey};
use shengshi_test_support::{tests_on_both_backends, Backend, TestServices};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

tests_on_both_backends!(
    residents_keep_being_served_while_the_kek_rotates,
    an_interrupted_rotation_resumes_and_finishes,
    a_key_wrapped_by_a_stale_server_is_caught_by_the_final_pass,
    a_rewrap_applies_only_over_the_wrap_it_replaces,
);

const FIELD: &[u8] = b"test.field";

fn read(subject: SubjectId) -> AccessRequest {
    AccessRequest {
        subject,
        accessor: Accessor::Operator,
        purpose: Purpose::DataMigration,
        reference: None,
        fields: vec!["test.field"],
    }
}

/// An installation enrolled with its first key, `count` residents with data
/// sealed by their own keys, and a second key file.
struct World {
    t: TestServices,
    old: Arc<dyn KeyEncryptionKey>,
    new: Arc<dyn KeyEncryptionKey>,
    residents: Vec<(SubjectId, Sealed)>,
}

impl World {
    async fn new(backend: Backend, count: usize) -> Option<Self> {
        let t = TestServices::new(backend).await?;
        let old = t.services.kek.clone();
        let new: Arc<dyn KeyEncryptionKey> =
            Arc::new(LocalKek::create(&t.db.dir().join("new.kek")).unwrap());
        let mut residents = Vec::new();
        for i in 0..count {
            residents.push(resident(&t.services, i).await);
        }
        Some(Self {
            t,
            old,
            new,
            residents,
        })
    }

    /// A server after the rolling restart: the new key wraps, the old one unwraps.
    fn ring(&self) -> Arc<dyn KeyEncryptionKey> {
        Arc::new(KeyRing::new(self.new.clone(), vec![self.old.clone()]).unwrap())
    }

    fn with(&self, kek: Arc<dyn KeyEncryptionKey>) -> Services {
        Services {
            kek,
            ..self.t.services.clone()
        }
    }

    async fn kek_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let page = self.t.services.store.data_keys(after, 100).await.unwrap();
            let Some(last) = page.last() else {
                return ids;
            };
            after = Some(last.subject);
            ids.extend(page.into_iter().map(|k| k.kek_id));
        }
    }

    /// How many of the first residents a server holding only `kek` opens.
    async fn opened_by(&self, kek: &Arc<dyn KeyEncryptionKey>) -> usize {
        let services = self.with(kek.clone());
        let mut ok = 0;
        for r in &self.residents {
            ok += usize::from(opens(&services, r).await.is_ok());
        }
        ok
    }

    async fn installation_kek(&self) -> String {
        self.t
            .services
            .store
            .installation()
            .await
            .unwrap()
            .unwrap()
            .kek_id
    }
}

async fn resident(services: &Services, i: usize) -> (SubjectId, Sealed) {
    let subject = SubjectId::new();
    let key = keys::create(services, subject).await.unwrap();
    (subject, key.seal(format!("resident {i}").as_bytes(), FIELD))
}

async fn opens(services: &Services, (subject, sealed): &(SubjectId, Sealed)) -> Result<(), String> {
    let opened = door::open(services, read(*subject))
        .await
        .map_err(|e| e.to_string())?;
    let plain = opened.open(sealed, FIELD).map_err(|e| e.to_string())?;
    if plain.starts_with(b"resident ") {
        Ok(())
    } else {
        Err("wrong plaintext".into())
    }
}

async fn residents_keep_being_served_while_the_kek_rotates(backend: Backend) {
    let Some(w) = World::new(backend, 40).await else {
        return;
    };
    let ring = w.ring();
    let served = w.with(ring.clone());
    let residents = Arc::new(tokio::sync::Mutex::new(w.residents.clone()));
    let rotating = Arc::new(AtomicBool::new(true));
    let opened_during = Arc::new(AtomicU64::new(0));

    // Two "servers" keep opening residents' data, and one registers new
    // residents, for as long as the rotation runs.
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (served, residents, rotating, opened_during) = (
            served.clone(),
            residents.clone(),
            rotating.clone(),
            opened_during.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while rotating.load(Ordering::SeqCst) {
                let all = residents.lock().await.clone();
                for r in &all {
                    if let Err(e) = opens(&served, r).await {
                        failures.push(e);
                    } else if rotating.load(Ordering::SeqCst) {
                        opened_during.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            failures
        }));
    }
    let registering = {
        let (served, residents, rotating) = (served.clone(), residents.clone(), rotating.clone());
        tokio::spawn(async move {
            let mut i = 1000;
            while rotating.load(Ordering::SeqCst) {
                let r = resident(&served, i).await;
                residents.lock().await.push(r);
                i += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Vec::new()
        })
    };
    tasks.push(registering);

    let store = w.t.services.store.clone();
    let mut rotation =
        Rotation::new(store.as_ref(), ring.as_ref(), ring.as_ref()).with_batch_size(3);
    let mut batches = 0;
    while rotation.next_batch().await.unwrap() {
        batches += 1;
        // Let the servers interleave with every batch.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        if batches == 5 {
            assert_eq!(
                w.installation_kek().await,
                w.old.id(),
                "the installation names the new key only at the end"
            );
        }
    }
    let report = rotation.finish().await.unwrap();
    // Serve a little longer after the rotation, then stop.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    rotating.store(false, Ordering::SeqCst);
    for task in tasks {
        let failures = task.await.unwrap();
        assert!(failures.is_empty(), "{failures:?}");
    }
    assert!(batches > 5, "{batches} batches");
    assert!(
        opened_during.load(Ordering::SeqCst) > 0,
        "residents' data was opened while the rotation ran"
    );
    assert_eq!(report.rewrapped, 40, "{report:?}");
    assert_eq!(report.late, 0);
    assert_eq!(w.installation_kek().await, w.new.id());
    let ids = w.kek_ids().await;
    assert!(ids.len() > 40, "new residents were registered meanwhile");
    assert!(ids.iter().all(|id| id == w.new.id()), "{ids:?}");

    // After the rotation the old key can go: the new key alone opens everyone
    // (registered before, during and after), and the old one alone no one.
    let only_new = w.with(w.new.clone());
    let only_old = w.with(w.old.clone());
    for r in residents.lock().await.iter() {
        opens(&only_new, r).await.unwrap();
        assert!(matches!(
            door::open(&only_old, read(r.0)).await,
            Err(DoorError::Key(KeyError::WrappedByOtherKek { .. }))
        ));
    }
    PlatformSecrets::load_or_create(store.as_ref(), w.new.as_ref(), &w.t.clock)
        .await
        .unwrap();
    installation::verify_kek(store.as_ref(), w.new.as_ref())
        .await
        .unwrap();
}

async fn an_interrupted_rotation_resumes_and_finishes(backend: Backend) {
    let Some(w) = World::new(backend, 25).await else {
        return;
    };
    let ring = w.ring();
    let store = w.t.services.store.clone();

    // Stopped after three batches of four, as by kill -9: nothing is held in
    // memory that a new run needs.
    {
        let mut rotation =
            Rotation::new(store.as_ref(), ring.as_ref(), ring.as_ref()).with_batch_size(4);
        for _ in 0..3 {
            assert!(rotation.next_batch().await.unwrap());
        }
        assert_eq!(rotation.report().rewrapped, 12);
    }
    let ids = w.kek_ids().await;
    assert_eq!(ids.iter().filter(|id| *id == w.new.id()).count(), 12);
    assert_eq!(ids.iter().filter(|id| *id == w.old.id()).count(), 13);
    assert_eq!(w.installation_kek().await, w.old.id());

    // Half-way, a server with both keys opens everyone; one with either key
    // alone does not, and one with only the new key is refused at start-up.
    let served = w.with(ring.clone());
    for r in &w.residents {
        opens(&served, r).await.unwrap();
    }
    assert_eq!(w.opened_by(&w.old).await, 13);
    assert_eq!(w.opened_by(&w.new).await, 12);
    match installation::verify_kek(store.as_ref(), w.new.as_ref()).await {
        Err(e @ InstallationError::WrongKek { .. }) => {
            let message = e.to_string();
            assert!(message.contains(w.old.id()), "{message}");
        }
        other => panic!("{other:?}"),
    }
    installation::verify_kek(store.as_ref(), ring.as_ref())
        .await
        .unwrap();

    // Run again: it finishes what is left.
    let report = keys::rotate_kek(store.as_ref(), ring.as_ref(), ring.as_ref())
        .await
        .unwrap();
    assert_eq!(
        (report.rewrapped, report.already_done),
        (13, 12),
        "{report:?}"
    );
    // Six platform secrets, the verifier key MAC key (issue 8) the sixth.
    assert_eq!(report.secrets_rewrapped, 6, "{report:?}");
    assert_eq!(w.installation_kek().await, w.new.id());
    // And again: nothing left to do.
    let again = keys::rotate_kek(store.as_ref(), ring.as_ref(), ring.as_ref())
        .await
        .unwrap();
    assert_eq!(
        (
            again.rewrapped,
            again.already_done,
            again.secrets_rewrapped,
            again.late
        ),
        (0, 25, 0, 0)
    );
    assert_eq!(w.opened_by(&w.new).await, 25);
}

async fn a_key_wrapped_by_a_stale_server_is_caught_by_the_final_pass(backend: Backend) {
    let Some(w) = World::new(backend, 5).await else {
        return;
    };
    let ring = w.ring();
    let store = w.t.services.store.clone();
    let mut rotation = Rotation::new(store.as_ref(), ring.as_ref(), ring.as_ref());
    while rotation.next_batch().await.unwrap() {}
    // A server never restarted with the new key registers someone after the
    // first pass went by.
    let stale = w.with(w.old.clone());
    let late = resident(&stale, 99).await;
    let report = rotation.finish().await.unwrap();
    assert_eq!((report.rewrapped, report.late), (5, 1), "{report:?}");
    assert!(w.kek_ids().await.iter().all(|id| id == w.new.id()));
    opens(&w.with(w.new.clone()), &late).await.unwrap();
}

async fn a_rewrap_applies_only_over_the_wrap_it_replaces(backend: Backend) {
    let Some(t) = TestServices::new(backend).await else {
        return;
    };
    let store = &t.services.store;
    let key = |subject| StoredDataKey {
        subject,
        key_id: uuid::Uuid::now_v7(),
        algorithm: "aes-256-gcm".into(),
        kek_id: "local:a".into(),
        wrapped_key: Some(vec![7; 60]),
        created_at: Timestamp::from_unix_millis(1_764_000_000_000).unwrap(),
        destroyed_at: None,
    };
    let rewrap = |subject, from: &str| DataKeyRewrap {
        subject,
        from_kek_id: from.into(),
        kek_id: "local:b".into(),
        wrapped_key: vec![8; 60],
    };
    let (live, destroyed) = (SubjectId::new(), SubjectId::new());
    store
        .insert_data_keys(&[key(live), key(destroyed)])
        .await
        .unwrap();
    store
        .destroy_data_key(
            destroyed,
            Timestamp::from_unix_millis(1_765_000_000_000).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .rewrap_data_keys(&[rewrap(live, "local:c")])
            .await
            .unwrap(),
        0,
        "not over a wrap by another key"
    );
    assert_eq!(
        store
            .rewrap_data_keys(&[rewrap(live, "local:a"), rewrap(destroyed, "local:a")])
            .await
            .unwrap(),
        1,
        "never over a destroyed key"
    );
    let stored = store.data_key(live).await.unwrap().unwrap();
    assert_eq!(
        (stored.kek_id.as_str(), stored.wrapped_key),
        ("local:b", Some(vec![8; 60]))
    );
    assert_eq!(
        store
            .rewrap_data_keys(&[rewrap(live, "local:a")])
            .await
            .unwrap(),
        0,
        "a second writer finds it done"
    );
    let gone = store.data_key(destroyed).await.unwrap().unwrap();
    assert_eq!((gone.kek_id.as_str(), gone.wrapped_key), ("local:a", None));
}
