//! Registration through the real protocols: the server configured with the
//! Alibaba Cloud SMS and carrier adapters and the HTTP registry, each pointed at
//! its local fake, which checks signatures and tokens as the real systems do.

use secrecy::SecretString;
use serde_json::{json, Value};
use shengshi::config::{Config, DatabaseUrl, Mode};
use shengshi::Application;
use shengshi_app::registry::{LifeStatus, MaritalStatus, RegistryRecord};
use shengshi_carrier::FakeThreeElements;
use shengshi_domain::{Clock, PersonName, PhoneNumber, ResidentIdNumber, SystemClock};
use shengshi_registry_http::FakeRegistry;
use shengshi_sms::FakeAliyunSms;
use shengshi_test_support::TestDb;
use std::sync::Arc;

/// A fictional Guangzhou resident with a computed check character.
fn id_number() -> ResidentIdNumber {
    let body = "44010419850412033";
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
    ResidentIdNumber::parse(&format!("{body}{check}"), SystemClock.today()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_runs_over_the_sms_carrier_and_registry_protocols() {
    let db = TestDb::sqlite();
    let sms = FakeAliyunSms::start("LTAI-sms-test", SecretString::from("sms-secret"))
        .await
        .unwrap();
    let carrier =
        FakeThreeElements::start("LTAI-carrier-test", SecretString::from("carrier-secret"))
            .await
            .unwrap();
    let registry = FakeRegistry::start().await.unwrap();

    let id = id_number();
    let name = PersonName::parse("郑雨桐").unwrap();
    let phone = PhoneNumber::parse("13800001234").unwrap();
    registry.insert(RegistryRecord {
        id_number: id,
        name: name.clone(),
        sex: id.sex(),
        birth_date: id.birth_date(),
        address: "广东省广州市海珠区示例街 8 号".into(),
        marital_status: MaritalStatus::Unmarried,
        life_status: LifeStatus::Alive,
        photo: None,
        fictional: true,
    });
    carrier.register(&name, &id, &phone);

    let mut sms_config = sms.client_config();
    sms_config
        .templates
        .insert("SMS_ACCOUNT_READY".into(), "SMS_200".into());
    let mut config = Config {
        mode: Mode::Development,
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: db.dir().join("data"),
        database_url: Some(DatabaseUrl::new(db.url().to_owned())),
        ..Config::default()
    };
    config.adapters.sms_aliyun = Some(sms_config);
    config.adapters.carrier_aliyun = Some(carrier.client_config());
    config.adapters.registry_http = Some((registry.url().clone(), registry.token()));

    let app = Application::build(&config, Arc::new(SystemClock))
        .await
        .unwrap();
    let origin = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let request = client.post(format!("{origin}{path}")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };

    let (status, _) = post(
        "/api/v1/registration/codes",
        json!({"phone": phone.as_str()}),
    )
    .await;
    assert_eq!(status, 202);
    let sent = sms
        .last_to(phone.as_str())
        .expect("the code went out through the SMS protocol");
    let code = sent.template_param["code"].clone();
    let (status, proof) = post(
        "/api/v1/registration/phone-proofs",
        json!({"phone": phone.as_str(), "code": code}),
    )
    .await;
    assert_eq!(status, 201, "{proof}");
    let (status, body) = post(
        "/api/v1/registrations",
        json!({"proof": proof["proof"], "name": name.as_str(), "id_number": id.as_str()}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert!(
        registry.requests() >= 1 && carrier.requests() >= 1,
        "both checks were asked"
    );
    assert_eq!(
        sms.last_to(phone.as_str()).unwrap().template_code,
        "SMS_200",
        "the account-ready notice"
    );

    // Someone else's phone: the carrier says it is not theirs.
    let other = PhoneNumber::parse("13800005678").unwrap();
    let (status, _) = post(
        "/api/v1/registration/codes",
        json!({"phone": other.as_str()}),
    )
    .await;
    assert_eq!(status, 202);
    let code = sms.last_to(other.as_str()).unwrap().template_param["code"].clone();
    let (_, proof) = post(
        "/api/v1/registration/phone-proofs",
        json!({"phone": other.as_str(), "code": code}),
    )
    .await;
    let (status, problem) = post(
        "/api/v1/registrations",
        json!({"proof": proof["proof"], "name": name.as_str(), "id_number": id.as_str()}),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("urn:shengshi:problem:carrier-no-record"))
    );

    // The registry down: nothing is created and the answer says so.
    registry.fail_next(10);
    let (status, problem) = post(
        "/api/v1/registrations",
        json!({"proof": proof["proof"], "name": name.as_str(), "id_number": id.as_str()}),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (503, Some("urn:shengshi:problem:dependency-unavailable"))
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
