//! The Transit client against the fake Transit server: what a real Vault or
//! OpenBao answers, including outages, slowness and refusals.

use secrecy::{ExposeSecret, SecretString};
use shengshi_envelope::{KekError, KeyEncryptionKey};
use shengshi_kms::{FakeVaultTransit, VaultTransitKek};
use std::time::Duration;

const KEY: &str = "shengshi-kek";

async fn vault() -> FakeVaultTransit {
    let vault = FakeVaultTransit::start().await.expect("the fake starts");
    vault.create_key(KEY);
    vault
}

fn kek(vault: &FakeVaultTransit, key: &str) -> VaultTransitKek {
    VaultTransitKek::builder(vault.url().clone(), vault.mount(), key, vault.token())
        .retries(2, Duration::from_millis(10))
        .build()
        .expect("valid settings")
}

fn service_message(result: Result<impl std::fmt::Debug, KekError>) -> String {
    match result {
        Err(KekError::Service(message)) => message,
        other => panic!("expected a service error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrapped_key_round_trips_and_is_stored_as_the_transit_ciphertext() {
    let vault = vault().await;
    let kek = kek(&vault, KEY);
    assert_eq!(kek.id(), "vault:transit/shengshi-kek");
    let key = [7u8; 32];
    let wrapped = kek.wrap(&key, b"data key|aes-256-gcm|1").await.unwrap();
    let text = std::str::from_utf8(&wrapped).unwrap();
    assert!(text.starts_with("vault:v1:"), "{text}");
    let opened = kek
        .unwrap(&wrapped, b"data key|aes-256-gcm|1")
        .await
        .unwrap();
    assert_eq!(opened.as_slice(), key);

    let check = kek.check_value().await.unwrap();
    kek.verify_check_value(&check).await.unwrap();
    shengshi_kms::self_test(&kek).await.unwrap();
}

#[tokio::test]
async fn a_wrong_context_or_a_wrong_key_is_refused_as_an_unwrap_failure() {
    let vault = vault().await;
    vault.create_key("other-key");
    let kek = kek(&vault, KEY);
    let wrapped = kek.wrap(&[1u8; 32], b"context a").await.unwrap();
    assert_eq!(
        kek.unwrap(&wrapped, b"context b").await.unwrap_err(),
        KekError::Unwrap
    );
    let other = self::kek(&vault, "other-key");
    assert_eq!(
        other.unwrap(&wrapped, b"context a").await.unwrap_err(),
        KekError::Unwrap
    );
    let check = kek.check_value().await.unwrap();
    assert_eq!(
        other.verify_check_value(&check).await.unwrap_err(),
        KekError::Unwrap
    );
    // Something that is not a Transit ciphertext never reaches the KMS.
    let before = vault.requests();
    assert_eq!(
        kek.unwrap(b"\x01\x02 not transit", b"context a")
            .await
            .unwrap_err(),
        KekError::Unwrap
    );
    assert_eq!(vault.requests(), before);
}

#[tokio::test]
async fn a_wrong_token_is_refused_at_once_with_a_clear_message_that_hides_it() {
    let vault = vault().await;
    let wrong = "s.wrong-token-4f1d";
    let kek = VaultTransitKek::builder(
        vault.url().clone(),
        "transit",
        KEY,
        SecretString::from(wrong),
    )
    .retries(2, Duration::from_millis(10))
    .build()
    .unwrap();
    let message = service_message(kek.wrap(&[1u8; 32], b"ctx").await);
    assert!(message.contains("token was refused"), "{message}");
    assert!(message.contains("HTTP 403"), "{message}");
    assert!(!message.contains(wrong), "{message}");
    assert!(
        !message.contains(vault.token().expose_secret()),
        "{message}"
    );
    assert_eq!(vault.requests(), 1, "a 4xx answer is never retried");

    let right = self::kek(&vault, KEY);
    let wrapped = right.wrap(&[1u8; 32], b"ctx").await.unwrap();
    let message = service_message(kek.unwrap(&wrapped, b"ctx").await);
    assert!(message.contains("token was refused"), "{message}");
}

#[tokio::test]
async fn two_injected_503s_are_retried_to_success() {
    let vault = vault().await;
    let kek = kek(&vault, KEY);
    vault.fail_next(2);
    let wrapped = kek.wrap(&[3u8; 32], b"ctx").await.unwrap();
    assert_eq!(vault.requests(), 3);
    vault.fail_next(2);
    assert_eq!(
        kek.unwrap(&wrapped, b"ctx").await.unwrap().as_slice(),
        [3u8; 32]
    );
    assert_eq!(vault.requests(), 6);
}

#[tokio::test]
async fn retries_are_bounded() {
    let vault = vault().await;
    let kek = kek(&vault, KEY);
    vault.fail_next(3);
    let message = service_message(kek.wrap(&[3u8; 32], b"ctx").await);
    assert!(message.contains("HTTP 503: Vault is sealed"), "{message}");
    assert!(message.contains("3 attempts"), "{message}");
    assert_eq!(vault.requests(), 3);
}

#[tokio::test]
async fn a_timeout_is_an_error_never_a_success() {
    let vault = vault().await;
    let kek = VaultTransitKek::builder(vault.url().clone(), "transit", KEY, vault.token())
        .timeout(Duration::from_millis(200))
        .retries(1, Duration::from_millis(10))
        .build()
        .unwrap();
    let wrapped = kek.wrap(&[5u8; 32], b"ctx").await.unwrap();

    vault.delay_next(2, Duration::from_secs(3));
    let message = service_message(kek.unwrap(&wrapped, b"ctx").await);
    assert!(message.contains("no answer within"), "{message}");
    assert!(message.contains("2 attempts"), "{message}");
    vault.delay_next(2, Duration::from_secs(3));
    let message = service_message(kek.wrap(&[5u8; 32], b"ctx").await);
    assert!(message.contains("no answer within"), "{message}");

    // One slow answer, then a prompt one: the retry succeeds.
    vault.delay_next(1, Duration::from_secs(3));
    let opened = kek.unwrap(&wrapped, b"ctx").await.unwrap();
    assert_eq!(opened.as_slice(), [5u8; 32]);
}

#[tokio::test]
async fn an_unreachable_kms_is_a_service_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let kek = VaultTransitKek::builder(
        format!("http://127.0.0.1:{port}").parse().unwrap(),
        "transit",
        KEY,
        SecretString::from("s.token"),
    )
    .retries(1, Duration::from_millis(10))
    .build()
    .unwrap();
    let message = service_message(kek.wrap(&[1u8; 32], b"ctx").await);
    assert!(message.contains("cannot connect (2 attempts)"), "{message}");
}

#[tokio::test]
async fn a_missing_key_or_mount_says_what_to_create() {
    let vault = vault().await;
    let message = service_message(kek(&vault, "no-such-key").wrap(&[1u8; 32], b"ctx").await);
    assert!(
        message.contains("vault write -f transit/keys/no-such-key derived=true"),
        "{message}"
    );
    let elsewhere = VaultTransitKek::builder(vault.url().clone(), "secret", KEY, vault.token())
        .build()
        .unwrap();
    let message = service_message(elsewhere.wrap(&[1u8; 32], b"ctx").await);
    assert!(message.contains("check kms_mount"), "{message}");
}

#[tokio::test]
async fn a_key_that_ignores_the_context_fails_the_self_test() {
    let vault = vault().await;
    vault.create_key_without_derivation("not-derived");
    let message = service_message(shengshi_kms::self_test(&kek(&vault, "not-derived")).await);
    assert!(message.contains("derived=true"), "{message}");
}

#[tokio::test]
async fn debug_shows_no_token() {
    let vault = vault().await;
    let kek = kek(&vault, KEY);
    let token = vault.token();
    for text in [format!("{kek:?}"), format!("{vault:?}")] {
        assert!(!text.contains(token.expose_secret()), "{text}");
    }
    assert!(format!("{kek:?}").contains("vault:transit/shengshi-kek"));
    let builder = VaultTransitKek::builder(vault.url().clone(), "transit", KEY, vault.token());
    assert!(!format!("{builder:?}").contains(token.expose_secret()));
}
