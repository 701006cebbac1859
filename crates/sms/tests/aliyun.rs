//! The Alibaba Cloud SMS gateway against the fake provider, over real HTTP on loopback.

use secrecy::SecretString;
use shengshi_app::sms::{SmsError, SmsGateway, SmsMessage};
use shengshi_domain::PhoneNumber;
use shengshi_sms::signature::{self, RpcCall};
use shengshi_sms::{AliyunSms, FakeAliyunSms, Options, FAKE_SIGN_NAME, FAKE_TEMPLATE_CODE};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const AK: &str = "LTAI5tTestAccessKey";
const SECRET: &str = "fake-secret-4f1c9a";
const PHONE: &str = "13800138000";
const CODE: &str = "042917";

async fn fake() -> FakeAliyunSms {
    FakeAliyunSms::start(AK, SecretString::from(SECRET.to_owned()))
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

fn phone() -> PhoneNumber {
    PhoneNumber::parse(PHONE).unwrap()
}

fn code_message() -> SmsMessage {
    SmsMessage {
        template: "SMS_CODE",
        params: vec![("code", CODE.to_owned())],
        text: format!("【盛世政务】您的验证码是 {CODE}，5 分钟内有效。"),
    }
}

fn assert_no_personal_data(text: &str) {
    assert!(!text.contains(PHONE), "the full number leaked: {text}");
    assert!(!text.contains(CODE), "the code leaked: {text}");
    assert!(!text.contains(SECRET), "the secret leaked: {text}");
}

#[tokio::test]
async fn round_trip_through_the_fake() {
    let fake = fake().await;
    let gateway = AliyunSms::with_options(fake.client_config(), quick()).unwrap();

    gateway.send(&phone(), &code_message()).await.unwrap();

    let outbox = fake.outbox();
    assert_eq!(outbox.len(), 1);
    let sms = &outbox[0];
    assert_eq!(sms.phone_numbers, PHONE);
    assert_eq!(sms.sign_name, FAKE_SIGN_NAME);
    assert_eq!(sms.template_code, FAKE_TEMPLATE_CODE);
    assert_eq!(sms.param("code"), Some(CODE));
    assert_eq!(sms.template_param.len(), 1);
    assert!(sms.biz_id.ends_with("^0"));
    assert_eq!(fake.last_to(PHONE).as_ref(), Some(sms));
    assert_eq!(fake.requests(), 1);
    assert!(fake.rejections().is_empty());

    // Each message is signed with a fresh nonce: a second send is not a replay.
    gateway.send(&phone(), &code_message()).await.unwrap();
    assert_eq!(fake.outbox().len(), 2);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_signature_does_not_match() {
    let fake = fake().await;
    let mut config = fake.client_config();
    config.access_key_secret = SecretString::from("not-the-secret".to_owned());
    let gateway = AliyunSms::with_options(config, quick()).unwrap();

    let error = gateway.send(&phone(), &code_message()).await.unwrap_err();

    let SmsError::Refused(text) = &error else {
        panic!("expected a refusal, got {error:?}")
    };
    assert!(text.starts_with("SignatureDoesNotMatch: "), "{text}");
    assert_no_personal_data(&error.to_string());
    assert!(fake.outbox().is_empty());
    assert_eq!(fake.requests(), 1, "a refusal is not retried");
    assert_eq!(fake.rejections(), ["SignatureDoesNotMatch"]);
}

#[tokio::test]
async fn an_unknown_access_key_is_refused() {
    let fake = fake().await;
    let mut config = fake.client_config();
    config.access_key_id = "LTAI-unknown".into();
    let gateway = AliyunSms::with_options(config, quick()).unwrap();

    let error = gateway.send(&phone(), &code_message()).await.unwrap_err();
    assert!(
        matches!(&error, SmsError::Refused(t) if t.starts_with("InvalidAccessKeyId.NotFound: ")),
        "{error:?}"
    );
}

#[tokio::test]
async fn business_errors_are_refusals_with_code_and_message() {
    let fake = fake().await;
    let gateway = AliyunSms::with_options(fake.client_config(), quick()).unwrap();

    for (code, message) in [
        ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"),
        ("isv.MOBILE_NUMBER_ILLEGAL", "invalid mobile number"),
        ("isv.SMS_TEMPLATE_ILLEGAL", "模版不合法(不存在或被拉黑)"),
    ] {
        fake.refuse_next(code, message);
        let error = gateway.send(&phone(), &code_message()).await.unwrap_err();
        assert_eq!(error, SmsError::Refused(format!("{code}: {message}")));
    }
    assert_eq!(fake.requests(), 3, "business refusals are not retried");
    assert!(fake.outbox().is_empty());
}

#[tokio::test]
async fn a_template_without_a_provider_code_is_refused_before_sending() {
    let fake = fake().await;
    let gateway = AliyunSms::with_options(fake.client_config(), quick()).unwrap();
    let message = SmsMessage {
        template: "SMS_UNKNOWN",
        params: vec![],
        text: String::new(),
    };

    let error = gateway.send(&phone(), &message).await.unwrap_err();
    assert!(
        matches!(&error, SmsError::Refused(t) if t.contains("SMS_UNKNOWN")),
        "{error:?}"
    );
    assert_eq!(fake.requests(), 0);
}

#[tokio::test]
async fn two_503s_then_success() {
    let fake = fake().await;
    let gateway = AliyunSms::with_options(fake.client_config(), quick()).unwrap();
    fake.fail_next(2);

    gateway.send(&phone(), &code_message()).await.unwrap();

    assert_eq!(fake.requests(), 3);
    assert_eq!(
        fake.rejections(),
        ["ServiceUnavailable", "ServiceUnavailable"]
    );
    assert_eq!(fake.outbox().len(), 1, "one message, not three");
}

#[tokio::test]
async fn persistent_503s_make_the_gateway_unreachable_after_bounded_retries() {
    let fake = fake().await;
    let gateway = AliyunSms::with_options(fake.client_config(), quick()).unwrap();
    fake.fail_next(10);

    let error = gateway.send(&phone(), &code_message()).await.unwrap_err();

    let SmsError::Unreachable(text) = &error else {
        panic!("expected unreachable, got {error:?}")
    };
    assert!(
        text.contains("503") && text.contains("3 attempts"),
        "{text}"
    );
    assert_eq!(fake.requests(), 3, "bounded retries");
    assert!(fake.outbox().is_empty());
}

#[tokio::test]
async fn a_timeout_is_an_error_and_is_not_retried() {
    let fake = fake().await;
    let options = Options {
        timeout: Duration::from_millis(300),
        ..quick()
    };
    let gateway = AliyunSms::with_options(fake.client_config(), options).unwrap();
    fake.delay_next(1, Duration::from_secs(3));

    let error = gateway.send(&phone(), &code_message()).await.unwrap_err();

    let SmsError::Unreachable(text) = &error else {
        panic!("expected unreachable, got {error:?}")
    };
    assert!(text.contains("may have been sent"), "{text}");
    assert_no_personal_data(text);
    assert_eq!(
        fake.requests(),
        1,
        "a request that may have been accepted is not sent again"
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_unreachable() {
    // A port with nothing listening: bind, note it, close.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut config = fake().await.client_config();
    config.endpoint = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let gateway = AliyunSms::with_options(config, quick()).unwrap();

    let error = gateway.send(&phone(), &code_message()).await.unwrap_err();

    let SmsError::Unreachable(text) = &error else {
        panic!("expected unreachable, got {error:?}")
    };
    assert!(
        text.contains("could not connect") && text.contains("3 attempts"),
        "{text}"
    );
    assert_no_personal_data(text);
}

#[tokio::test]
async fn debug_never_shows_the_secret() {
    let fake = fake().await;
    let config = fake.client_config();
    let gateway = AliyunSms::new(config.clone()).unwrap();
    for text in [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{gateway:?}"),
        format!("{fake:?}"),
    ] {
        assert!(!text.contains(SECRET), "{text}");
    }
    assert!(format!("{gateway:?}").contains("[redacted]"));
}

// ---------------------------------------------------------------------------
// The fake checks requests as the provider does. Requests are signed by hand here.

struct Manual<'a> {
    date: String,
    nonce: String,
    secret: &'a str,
    params: Vec<(&'a str, &'a str)>,
}

impl<'a> Manual<'a> {
    fn new() -> Self {
        Self {
            date: now_date(time::Duration::ZERO),
            nonce: uuid::Uuid::new_v4().simple().to_string(),
            secret: SECRET,
            params: vec![
                ("PhoneNumbers", PHONE),
                ("SignName", FAKE_SIGN_NAME),
                ("TemplateCode", FAKE_TEMPLATE_CODE),
                ("TemplateParam", r#"{"code":"042917"}"#),
            ],
        }
    }

    /// Signs, then sends with `query` (the signed one unless overridden).
    async fn send(
        &self,
        fake: &FakeAliyunSms,
        query_override: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let endpoint = fake.endpoint();
        let host = format!(
            "{}:{}",
            endpoint.host_str().unwrap(),
            endpoint.port().unwrap()
        );
        let call = RpcCall {
            method: "POST",
            host: &host,
            action: "SendSms",
            version: "2017-05-25",
            date: &self.date,
            nonce: &self.nonce,
            params: &self.params,
            body: b"",
        };
        let signed = signature::sign_rpc(&call, AK, &SecretString::from(self.secret.to_owned()));
        let mut url = endpoint.clone();
        url.set_query(Some(query_override.unwrap_or(&signed.query)));
        let mut request = reqwest::Client::new()
            .post(url)
            .header("authorization", &signed.authorization);
        for (name, value) in &signed.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

fn now_date(offset: time::Duration) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    (time::OffsetDateTime::now_utc() + offset)
        .format(format)
        .unwrap()
}

#[tokio::test]
async fn the_fake_accepts_a_correct_request_and_refuses_a_replayed_nonce() {
    let fake = fake().await;
    let manual = Manual::new();

    let (status, body) = manual.send(&fake, None).await;
    assert_eq!((status, body["Code"].as_str()), (200, Some("OK")), "{body}");
    assert!(body["BizId"].is_string() && body["RequestId"].is_string());

    let (status, body) = manual.send(&fake, None).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("SignatureNonceUsed")),
        "{body}"
    );
    assert_eq!(fake.outbox().len(), 1);
}

#[tokio::test]
async fn the_fake_refuses_a_date_more_than_15_minutes_off() {
    let fake = fake().await;
    for offset in [time::Duration::minutes(-16), time::Duration::minutes(16)] {
        let manual = Manual {
            date: now_date(offset),
            ..Manual::new()
        };
        let (status, body) = manual.send(&fake, None).await;
        assert_eq!(
            (status, body["Code"].as_str()),
            (400, Some("InvalidTimeStamp.Expired")),
            "{body}"
        );
    }
    let manual = Manual {
        date: now_date(time::Duration::minutes(-14)),
        ..Manual::new()
    };
    let (status, body) = manual.send(&fake, None).await;
    assert_eq!((status, body["Code"].as_str()), (200, Some("OK")), "{body}");
}

#[tokio::test]
async fn the_fake_refuses_a_tampered_query_and_a_wrong_secret() {
    let fake = fake().await;
    let tampered = "PhoneNumbers=13900139000&SignName=%E7%9B%9B%E4%B8%96%E6%94%BF%E5%8A%A1&TemplateCode=SMS_000000001&TemplateParam=%7B%22code%22%3A%22042917%22%7D";
    let (status, body) = Manual::new().send(&fake, Some(tampered)).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("SignatureDoesNotMatch")),
        "{body}"
    );

    let (status, body) = Manual {
        secret: "wrong",
        ..Manual::new()
    }
    .send(&fake, None)
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("SignatureDoesNotMatch")),
        "{body}"
    );
    assert!(fake.outbox().is_empty());
}

#[tokio::test]
async fn the_fake_checks_the_sms_parameters() {
    let fake = fake().await;
    let mut manual = Manual::new();
    manual.params[0] = ("PhoneNumbers", "12345");
    let (status, body) = manual.send(&fake, None).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (200, Some("isv.MOBILE_NUMBER_ILLEGAL")),
        "{body}"
    );

    let mut manual = Manual::new();
    manual.params[3] = ("TemplateParam", r#"{"code":42917}"#);
    let (status, body) = manual.send(&fake, None).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (200, Some("isv.INVALID_JSON_PARAM")),
        "{body}"
    );

    let mut manual = Manual::new();
    manual.params.remove(1);
    let (status, body) = manual.send(&fake, None).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("MissingSignName")),
        "{body}"
    );
    assert!(fake.outbox().is_empty());
}

// ---------------------------------------------------------------------------
// Logs: masked number, never the code, the text or the secret.

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
async fn logs_mask_the_number_and_never_show_the_code() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = fake().await;
    let gateway = AliyunSms::with_options(fake.client_config(), quick()).unwrap();
    fake.fail_next(1);
    gateway.send(&phone(), &code_message()).await.unwrap(); // a retry, then success
    fake.refuse_next("isv.BUSINESS_LIMIT_CONTROL", "limit");
    gateway.send(&phone(), &code_message()).await.unwrap_err(); // a refusal

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("138****8000"), "{logs}");
    assert!(
        logs.contains("retrying") && logs.contains("accepted") && logs.contains("refused"),
        "{logs}"
    );
    assert_no_personal_data(&logs);
}
