//! A witness and the platform's client, over real HTTP, on both backends: the
//! witness cosigns checkpoints that extend what it saw; a log rewritten and
//! re-signed with the platform's own key passes the platform-only check but
//! fails the witnessed one, and the witness refuses to cosign it; a forged
//! cosignature is named.

use shengshi_app::audit::{self, AuditError};
use shengshi_app::door::{self, AccessRequest};
use shengshi_app::keys;
use shengshi_app::secrets::PlatformSecrets;
use shengshi_app::witnessing::{cosign_latest, WitnessError, WitnessingError};
use shengshi_domain::access::{AccessEntry, Accessor, Purpose};
use shengshi_domain::SubjectId;
use shengshi_test_support::{tests_on_both_backends, Backend, TestServices};
use shengshi_tlog::{Checkpoint, CompactRange, CosignatureVerifier, NoteSigner, SignedNote};
use shengshi_witness::{router, HttpWitness, Witness};
use std::sync::Arc;

tests_on_both_backends!(
    a_witness_vouches_for_the_log_and_catches_a_rewrite,
    a_forged_cosignature_is_named,
);

const WITNESS: &str = "audit.example.gov.cn/witness";

struct World {
    t: TestServices,
    subject: SubjectId,
    witness_url: String,
    witness: CosignatureVerifier,
    _dir: tempfile::TempDir,
}

async fn world(backend: Backend) -> Option<World> {
    let t = TestServices::new(backend).await?;
    let subject = SubjectId::new();
    keys::create(&t.services, subject).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = shengshi_witness::create_key(&dir.path().join("witness.key")).unwrap();
    let log_key = t.services.access_log.verifier().clone();
    let witness = Witness::open(
        WITNESS,
        &secret,
        vec![log_key],
        dir.path().join("state.json"),
    )
    .unwrap();
    let verifier = CosignatureVerifier::from_vkey(&witness.vkey()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let witness_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router(Arc::new(witness)))
            .await
            .unwrap();
    });
    Some(World {
        t,
        subject,
        witness_url,
        witness: verifier,
        _dir: dir,
    })
}

impl World {
    async fn accesses(&self, n: usize) {
        for _ in 0..n {
            door::open(
                &self.t.services,
                AccessRequest {
                    subject: self.subject,
                    accessor: Accessor::Subject,
                    purpose: Purpose::OwnAccount,
                    reference: None,
                    fields: vec!["name"],
                },
            )
            .await
            .unwrap();
        }
    }

    fn client(&self) -> HttpWitness {
        HttpWitness::new(&self.witness_url, self.witness.clone()).unwrap()
    }

    async fn verify_witnessed(&self) -> Result<u64, AuditError> {
        audit::verify_witnessed(
            self.t.services.store.as_ref(),
            self.t.services.access_log.verifier(),
            std::slice::from_ref(&self.witness),
        )
        .await
        .map(|(_, reports)| reports[0].cosigned_size)
    }
}

async fn a_witness_vouches_for_the_log_and_catches_a_rewrite(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let services = &w.t.services;
    assert_eq!(
        w.verify_witnessed().await,
        Err(AuditError::NotWitnessed(WITNESS.into())),
        "an empty log is vouched for by nobody"
    );
    w.accesses(3).await;
    assert_eq!(cosign_latest(services, &w.client()).await.unwrap(), Some(3));
    assert_eq!(w.verify_witnessed().await, Ok(3));

    // The log grows; the witness cosigns again, from the size it saw.
    w.accesses(4).await;
    assert_eq!(cosign_latest(services, &w.client()).await.unwrap(), Some(7));
    assert_eq!(w.verify_witnessed().await, Ok(7));
    // Already cosigned: nothing to do.
    assert_eq!(cosign_latest(services, &w.client()).await.unwrap(), Some(7));

    // An operator with the platform's signing key rewrites entry 1 and
    // re-signs every checkpoint (dropping the cosignatures, which no longer fit).
    let secrets = PlatformSecrets::load_or_create(
        services.store.as_ref(),
        services.kek.as_ref(),
        services.clock.as_ref(),
    )
    .await
    .unwrap();
    let signer = NoteSigner::new(
        services.access_log.verifier().name(),
        secrets.access_log_seed(),
    )
    .unwrap();
    let db = &w.t.db;
    db.unprotect_access_log().await;
    let mut entries = services.store.access_entries(0, 100).await.unwrap();
    let mut forged = AccessEntry::from_bytes(&entries[1].entry).unwrap();
    forged.purpose = Purpose::CounterCheck;
    entries[1].entry = forged.to_bytes();
    entries[1].leaf_hash = shengshi_tlog::leaf_hash(&entries[1].entry).to_vec();
    let sql = format!(
        "UPDATE access_log SET entry = {}, leaf_hash = {} WHERE leaf_index = 1",
        db.bytes_literal(&entries[1].entry),
        db.bytes_literal(&entries[1].leaf_hash)
    );
    db.exec(&sql).await.unwrap();
    let leaves: Vec<_> = entries
        .iter()
        .map(|e| <[u8; 32]>::try_from(e.leaf_hash.as_slice()).unwrap())
        .collect();
    for checkpoint in services.store.access_checkpoints(0, 100).await.unwrap() {
        let size = checkpoint.tree_size;
        let range = CompactRange::from_leaves(&leaves[..size as usize]).unwrap();
        let body = Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root: range.root(),
        }
        .body();
        let mut note = SignedNote::new(&body).unwrap();
        note.add_signature_line(&signer.sign(&body)).unwrap();
        let sql = format!(
            "UPDATE access_checkpoints SET root_hash = {}, note = '{}' WHERE tree_size = {size}",
            db.bytes_literal(&range.root()),
            note.to_text().replace('\'', "''")
        );
        db.exec(&sql).await.unwrap();
    }

    // The platform's own signature proves nothing against its operator…
    let platform_only = audit::verify(services.store.as_ref(), services.access_log.verifier())
        .await
        .unwrap();
    assert_eq!(platform_only.entries, 7);
    // …the witness does.
    assert_eq!(
        w.verify_witnessed().await,
        Err(AuditError::NotWitnessed(WITNESS.into()))
    );
    // And the witness will not cosign the rewritten log.
    match cosign_latest(services, &w.client()).await {
        Err(WitnessingError::Witness(WitnessError::Refused { status, message })) => {
            assert_eq!(status, 422, "{message}");
            assert!(message.contains("does not extend"), "{message}");
        }
        other => panic!("expected the witness to refuse, got {other:?}"),
    }
}

async fn a_forged_cosignature_is_named(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    w.accesses(2).await;
    let services = &w.t.services;
    let latest = services
        .store
        .latest_access_checkpoint()
        .await
        .unwrap()
        .unwrap();
    // A cosignature under the witness's name and key id, by another key.
    let impostor =
        shengshi_tlog::Cosigner::new(WITNESS, &shengshi_tlog::generate_ed25519_secret()).unwrap();
    let mut note = SignedNote::parse(&latest.note).unwrap();
    let line = impostor.cosign(&note.body, 1_800_000_000);
    // The impostor's key id differs, so the forgery must claim the real one.
    let forged_payload = {
        use base64::Engine;
        let b64 = line.rsplit(' ').next().unwrap().to_owned();
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        bytes[..4].copy_from_slice(&w.witness.key_id());
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let line = format!("— {WITNESS} {forged_payload}");
    note.add_signature_line(&line).unwrap();
    assert!(services
        .store
        .add_checkpoint_cosignature(latest.tree_size, &note.to_text())
        .await
        .unwrap());
    assert_eq!(
        w.verify_witnessed().await,
        Err(AuditError::BadCosignature {
            size: latest.tree_size,
            witness: WITNESS.into()
        })
    );
}
