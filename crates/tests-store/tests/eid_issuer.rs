//! The issuer's keys and trust lists on both backends: a key signs only once
//! a trust list signed by the configured offline root names it; a list signed
//! by another root, naming a key the platform does not hold, for another
//! issuer, or expired is refused and changes nothing; a rollover hands over
//! at the announced moment; the status list verifies under the published list.

use shengshi_app::eid::{self, EidError, EidSettings, Issuer};
use shengshi_eid::{Algorithm, SoftwareKey};
use shengshi_test_support::{tests_on_both_backends, Backend, TestServices};
use time::Duration;

tests_on_both_backends!(
    a_key_signs_only_once_a_signed_trust_list_names_it,
    bad_trust_lists_are_refused_and_change_nothing,
    a_rollover_hands_over_at_the_announced_moment,
);

const ISSUER: &str = "https://shengshi.example.gov.cn";

fn root_key(n: u8) -> SoftwareKey {
    SoftwareKey::from_seed(Algorithm::Ed25519, &[n; 32]).unwrap()
}

fn settings(root: &SoftwareKey) -> EidSettings {
    EidSettings {
        issuer: ISSUER.into(),
        status_uri: format!("{ISSUER}/eid/status/1"),
        algorithm: Algorithm::Ed25519,
        trust_root: Some(root.public_key()),
        development_root: false,
    }
}

fn unix(t: shengshi_domain::Timestamp) -> i64 {
    t.unix_millis() / 1000
}

async fn a_key_signs_only_once_a_signed_trust_list_names_it(backend: Backend) {
    let Some(test) = TestServices::new(backend).await else {
        return;
    };
    let (services, clock) = (&test.services, &test.clock);
    use shengshi_domain::Clock;
    let root = root_key(1);
    let issuer = Issuer::load(services, settings(&root)).await.unwrap();
    assert!(matches!(
        issuer.ready(clock.now()),
        Err(EidError::NotReady(_))
    ));
    assert!(matches!(
        eid::trust_list_to_sign(services, &issuer, Duration::days(30)).await,
        Err(EidError::NotReady(_))
    ));

    for algorithm in [Algorithm::Ed25519, Algorithm::EcdsaP256, Algorithm::Sm2] {
        let key = eid::create_key(services, &issuer, algorithm, clock.now())
            .await
            .unwrap();
        assert_eq!(key.kid.len(), 16);
    }
    // Created, but no verifier can know them yet: nothing is signed.
    assert!(matches!(
        issuer.ready(clock.now()),
        Err(EidError::NotReady(_))
    ));
    assert!(matches!(
        eid::status_list(services, &issuer).await,
        Err(EidError::NotReady(_))
    ));

    let list = eid::trust_list_to_sign(services, &issuer, Duration::days(30))
        .await
        .unwrap();
    assert_eq!(list.keys.len(), 3);
    let signed = shengshi_eid::sign_trust_list(list.to_jwks_json().as_bytes(), &root).unwrap();
    eid::publish_trust_list(services, &issuer, &signed)
        .await
        .unwrap();
    let signing = issuer.signing_key(clock.now()).unwrap();
    assert!(list
        .keys
        .iter()
        .any(|k| hex::encode(k.public_key.key_id().0) == signing));
    assert_eq!(issuer.signed_trust_list(), Some(signed.clone()));

    // What verifiers fetch: the status list opens under the published list.
    let opened =
        shengshi_eid::open_signed_trust_list(&signed, &root.public_key(), unix(clock.now()))
            .unwrap();
    let token = eid::status_list(services, &issuer).await.unwrap();
    let status = shengshi_eid::open_status_list(&token, &opened, unix(clock.now())).unwrap();
    assert_eq!(status.uri, format!("{ISSUER}/eid/status/1"));

    // Another process (the CLI) publishing is picked up by `refresh`; a
    // second issuer loaded from the same database agrees.
    let again = Issuer::load(services, settings(&root)).await.unwrap();
    assert_eq!(again.signing_key(clock.now()).unwrap(), signing);
    assert!(!again.refresh(services).await.unwrap());
}

async fn bad_trust_lists_are_refused_and_change_nothing(backend: Backend) {
    let Some(test) = TestServices::new(backend).await else {
        return;
    };
    let (services, clock) = (&test.services, &test.clock);
    use shengshi_domain::Clock;
    let root = root_key(2);
    let issuer = Issuer::load(services, settings(&root)).await.unwrap();
    eid::create_key(services, &issuer, Algorithm::Ed25519, clock.now())
        .await
        .unwrap();
    let list = eid::trust_list_to_sign(services, &issuer, Duration::days(30))
        .await
        .unwrap();
    let refused = |result: Result<shengshi_eid::TrustList, EidError>| {
        assert!(matches!(result, Err(EidError::TrustList(_))), "{result:?}");
    };

    // Signed by a root that is not the configured one.
    let forged =
        shengshi_eid::sign_trust_list(list.to_jwks_json().as_bytes(), &root_key(3)).unwrap();
    refused(eid::publish_trust_list(services, &issuer, &forged).await);

    // Naming a key the platform does not hold.
    let mut foreign = list.clone();
    foreign.keys.push(shengshi_eid::TrustedKey {
        public_key: root_key(4).public_key(),
        not_before: foreign.keys[0].not_before,
        not_after: foreign.keys[0].not_after,
    });
    let signed = shengshi_eid::sign_trust_list(foreign.to_jwks_json().as_bytes(), &root).unwrap();
    refused(eid::publish_trust_list(services, &issuer, &signed).await);

    // Stretching a key's signing period beyond the platform's record.
    let mut stretched = list.clone();
    stretched.keys[0].not_after += 86_400 * 365;
    let signed = shengshi_eid::sign_trust_list(stretched.to_jwks_json().as_bytes(), &root).unwrap();
    refused(eid::publish_trust_list(services, &issuer, &signed).await);

    // For another issuer.
    let mut other = list.clone();
    other.issuer = "https://elsewhere.example".into();
    let signed = shengshi_eid::sign_trust_list(other.to_jwks_json().as_bytes(), &root).unwrap();
    refused(eid::publish_trust_list(services, &issuer, &signed).await);

    // Expired by the time it is published.
    let signed = shengshi_eid::sign_trust_list(list.to_jwks_json().as_bytes(), &root).unwrap();
    clock.advance(Duration::days(31));
    refused(eid::publish_trust_list(services, &issuer, &signed).await);

    assert_eq!(services.store.latest_trust_list().await.unwrap(), None);
    assert!(matches!(
        issuer.ready(clock.now()),
        Err(EidError::NotReady(_))
    ));
}

async fn a_rollover_hands_over_at_the_announced_moment(backend: Backend) {
    let Some(test) = TestServices::new(backend).await else {
        return;
    };
    let (services, clock) = (&test.services, &test.clock);
    use shengshi_domain::Clock;
    let root = root_key(5);
    let issuer = Issuer::load(services, settings(&root)).await.unwrap();
    let old = eid::create_key(services, &issuer, Algorithm::Ed25519, clock.now())
        .await
        .unwrap();
    let publish = || async {
        let list = eid::trust_list_to_sign(services, &issuer, Duration::days(60))
            .await
            .unwrap();
        let signed = shengshi_eid::sign_trust_list(list.to_jwks_json().as_bytes(), &root).unwrap();
        eid::publish_trust_list(services, &issuer, &signed)
            .await
            .unwrap()
    };
    publish().await;
    assert_eq!(issuer.signing_key(clock.now()).unwrap(), old.kid);

    let new = eid::rollover(services, &issuer, Algorithm::EcdsaP256, Duration::days(7))
        .await
        .unwrap();
    let list = publish().await;
    assert_eq!(
        list.keys.len(),
        2,
        "both keys are listed during the overlap"
    );
    // During the overlap the old key still signs; the new one is announced.
    clock.advance(Duration::days(6));
    assert_eq!(issuer.signing_key(clock.now()).unwrap(), old.kid);
    clock.advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(issuer.signing_key(clock.now()).unwrap(), new.kid);

    // The old key stays listed until its last credential has expired.
    let list = eid::trust_list_to_sign(services, &issuer, Duration::days(30))
        .await
        .unwrap();
    assert_eq!(list.keys.len(), 2);
    clock.advance(eid::MAX_CREDENTIAL_LIFETIME);
    let list = eid::trust_list_to_sign(services, &issuer, Duration::days(30))
        .await
        .unwrap();
    assert_eq!(list.keys.len(), 1);
    assert_eq!(hex::encode(list.keys[0].public_key.key_id().0), new.kid);
}
