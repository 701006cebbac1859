//! The Alibaba Cloud three-factor check against the fake provider, over real HTTP
//! on loopback.

use secrecy::SecretString;
use shengshi_app::carrier::{CarrierCheck, CarrierError, CarrierVerdict};
use shengshi_carrier::{AliyunThreeElements, FakeThreeElements, Options};
use shengshi_domain::{CivilDate, PersonName, PhoneNumber, ResidentIdNumber};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const AK: &str = "LTAI5tTestAccessKey";
const SECRET: &str = "fake-secret-7d2e0b";
const NAME: &str = "张三丰";
/// Made up: a Guangdong body with its check character computed.
const ID: &str = "440106199003071231";
const OTHER_ID: &str = "44010619851112004X";
const PHONE: &str = "13800138000";
const OTHER_PHONE: &str = "13900139000";

async fn fake() -> FakeThreeElements {
    FakeThreeElements::start(AK, SecretString::from(SECRET.to_owned()))
        .await
        .unwrap()
}

fn quick() -> Options {
    Options {
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        backoff: Duration::from_millis(10),
    }
}

fn name(text: &str) -> PersonName {
    PersonName::parse(text).unwrap()
}

fn id(text: &str) -> ResidentIdNumber {
    ResidentIdNumber::parse(text, CivilDate::new(time::macros::date!(2026 - 05 - 20))).unwrap()
}

fn phone(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text).unwrap()
}

/// The fake with `PHONE` registered to `NAME` / `ID`, and a client for it.
async fn registered() -> (FakeThreeElements, AliyunThreeElements) {
    let fake = fake().await;
    fake.register(&name(NAME), &id(ID), &phone(PHONE));
    let client = AliyunThreeElements::with_options(fake.client_config(), quick()).unwrap();
    (fake, client)
}

fn assert_no_personal_data(text: &str) {
    for secret in [PHONE, ID, NAME, SECRET] {
        assert!(!text.contains(secret), "{secret:?} leaked: {text}");
    }
    // Nor the hashes sent in their place.
    for hash in [
        shengshi_carrier::sha256_field(PHONE),
        shengshi_carrier::sha256_field(ID),
        shengshi_carrier::sha256_field(NAME),
    ] {
        assert!(!text.contains(&hash), "a hash leaked: {text}");
    }
}

#[tokio::test]
async fn consistent_when_the_number_is_registered_to_this_person() {
    let (fake, client) = registered().await;
    let verdict = client
        .three_factor(&name(NAME), &id(ID), &phone(PHONE))
        .await
        .unwrap();
    assert_eq!(verdict, CarrierVerdict::Consistent);
    assert_eq!(fake.requests(), 1);
    assert!(fake.rejections().is_empty());

    // The name in another normal-form-equal spelling still matches (the hash is of
    // the normalised text), and a second call is not a replay (fresh nonce).
    let verdict = client
        .three_factor(&name(" 张三丰 "), &id(ID), &phone(PHONE))
        .await
        .unwrap();
    assert_eq!(verdict, CarrierVerdict::Consistent);
}

#[tokio::test]
async fn inconsistent_when_the_name_or_the_id_number_differ() {
    let (_fake, client) = registered().await;
    for (who, id_number) in [(NAME, OTHER_ID), ("李四", ID)] {
        let verdict = client
            .three_factor(&name(who), &id(id_number), &phone(PHONE))
            .await
            .unwrap();
        assert_eq!(verdict, CarrierVerdict::Inconsistent, "{who} {id_number}");
    }
}

#[tokio::test]
async fn no_record_when_the_number_is_unknown() {
    let (fake, client) = registered().await;
    let verdict = client
        .three_factor(&name(NAME), &id(ID), &phone(OTHER_PHONE))
        .await
        .unwrap();
    assert_eq!(verdict, CarrierVerdict::NoRecord);

    fake.unregister(&phone(PHONE));
    let verdict = client
        .three_factor(&name(NAME), &id(ID), &phone(PHONE))
        .await
        .unwrap();
    assert_eq!(verdict, CarrierVerdict::NoRecord);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_signature_does_not_match() {
    let (fake, _) = registered().await;
    let mut config = fake.client_config();
    config.access_key_secret = SecretString::from("not-the-secret".to_owned());
    let client = AliyunThreeElements::with_options(config, quick()).unwrap();

    let error = client
        .three_factor(&name(NAME), &id(ID), &phone(PHONE))
        .await
        .unwrap_err();

    let CarrierError::Refused(text) = &error else {
        panic!("expected a refusal, got {error:?}")
    };
    assert!(text.starts_with("SignatureDoesNotMatch: "), "{text}");
    assert_no_personal_data(&error.to_string());
    assert_eq!(fake.requests(), 1, "a refusal is not retried");
    assert_eq!(fake.rejections(), ["SignatureDoesNotMatch"]);
}

#[tokio::test]
async fn a_wrong_auth_code_is_refused() {
    let (fake, _) = registered().await;
    let mut config = fake.client_config();
    config.auth_code = "NOT-OURS".into();
    let client = AliyunThreeElements::with_options(config, quick()).unwrap();
    let error = client
        .three_factor(&name(NAME), &id(ID), &phone(PHONE))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CarrierError::Refused(t) if t.starts_with("AuthCodeNotExist: ")),
        "{error:?}"
    );
}

#[tokio::test]
async fn business_errors_are_refusals_with_the_providers_code() {
    let (fake, client) = registered().await;
    for (code, message) in [
        ("OperatorLimit", "The number is limited by the operator."),
        ("MobileNumberIllegal", "Wrong format of phone number"),
        (
            "Throttling.User",
            "Request was denied due to user flow control.",
        ),
    ] {
        fake.refuse_next(code, message);
        let error = client
            .three_factor(&name(NAME), &id(ID), &phone(PHONE))
            .await
            .unwrap_err();
        assert_eq!(error, CarrierError::Refused(format!("{code}: {message}")));
    }
    assert_eq!(fake.requests(), 3, "refusals are not retried");
}

#[tokio::test]
async fn a_503_then_success() {
    let (fake, client) = registered().await;
    fake.fail_next(2);
    let verdict = client
        .three_factor(&name(NAME), &id(ID), &phone(PHONE))
        .await
        .unwrap();
    assert_eq!(verdict, CarrierVerdict::Consistent);
    assert_eq!(fake.requests(), 3);
    assert_eq!(
        fake.rejections(),
        ["ServiceUnavailable", "ServiceUnavailable"]
    );
}

#[tokio::test]
async fn persistent_503s_are_unavailable_after_bounded_retries() {
    let (fake, client) = registered().await;
    fake.fail_next(10);
    let error = client
        .three_factor(&name(NAME), &id(ID), &phone(PHONE))
        .await
        .unwrap_err();
    let CarrierError::Unavailable(text) = &error else {
        panic!("expected unavailable, got {error:?}")
    };
    assert!(
        text.contains("503") && text.contains("3 attempts"),
        "{text}"
    );
    assert_eq!(fake.requests(), 3, "bounded retries");
}

#[tokio::test]
async fn a_timeout_is_a_timeout_never_a_verdict() {
    let (fake, _) = registered().await;
    let options = Options {
        timeout: Duration::from_millis(300),
        ..quick()
    };
    let client = AliyunThreeElements::with_options(fake.client_config(), options).unwrap();
    fake.delay_next(1, Duration::from_secs(3));

    let result = client
        .three_factor(&name(NAME), &id(ID), &phone(PHONE))
        .await;

    assert_eq!(result, Err(CarrierError::Timeout));
    assert_eq!(fake.requests(), 1, "a timeout is not retried");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut config = fake().await.client_config();
    config.endpoint = url_for(port);
    let client = AliyunThreeElements::with_options(config, quick()).unwrap();

    let error = client
        .three_factor(&name(NAME), &id(ID), &phone(PHONE))
        .await
        .unwrap_err();
    let CarrierError::Unavailable(text) = &error else {
        panic!("expected unavailable, got {error:?}")
    };
    assert!(
        text.contains("could not connect") && text.contains("3 attempts"),
        "{text}"
    );
    assert_no_personal_data(text);
}

fn url_for(port: u16) -> url::Url {
    format!("http://127.0.0.1:{port}/").parse().unwrap()
}

#[tokio::test]
async fn debug_never_shows_the_secret() {
    let fake = fake().await;
    let config = fake.client_config();
    let client = AliyunThreeElements::new(config.clone()).unwrap();
    for text in [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{client:?}"),
        format!("{fake:?}"),
    ] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
}

// ---------------------------------------------------------------------------
// Logs: masked forms only.

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_only_masked_forms() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (fake, client) = registered().await;
    let (who, id_number, number) = (name(NAME), id(ID), phone(PHONE));
    fake.fail_next(1);
    client
        .three_factor(&who, &id_number, &number)
        .await
        .unwrap(); // a retry, then a verdict
    fake.refuse_next("OperatorLimit", "The number is limited by the operator.");
    client
        .three_factor(&who, &id_number, &number)
        .await
        .unwrap_err(); // a refusal
    fake.delay_next(1, Duration::from_secs(3));
    let slow = AliyunThreeElements::with_options(
        fake.client_config(),
        Options {
            timeout: Duration::from_millis(200),
            ..quick()
        },
    )
    .unwrap();
    slow.three_factor(&who, &id_number, &number)
        .await
        .unwrap_err(); // a timeout

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains(&number.masked())
            && logs.contains(&id_number.masked())
            && logs.contains(&who.masked()),
        "{logs}"
    );
    assert!(
        logs.contains("retrying")
            && logs.contains("answered")
            && logs.contains("refused")
            && logs.contains("timed out"),
        "{logs}"
    );
    assert_no_personal_data(&logs);
}
