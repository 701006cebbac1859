//! SMS login and sessions on both backends.

use shengshi_app::login::{self, LoginError, SessionError, ABSOLUTE_TIMEOUT, IDLE_TIMEOUT};
use shengshi_app::phone_codes::{phone_mac, CodeSender, SendLimits};
use shengshi_app::secrets::PlatformSecrets;
use shengshi_app::sms::DemoOutbox;
use shengshi_app::Services;
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::{AccountId, Clock, FixedClock, PhoneCode, PhoneNumber, SubjectId};
use shengshi_envelope::{Algorithm, DataKey, KeyRef};
use shengshi_i18n::Lang;
use shengshi_store::{StoredAccount, StoredDataKey};
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb, TestServices};
use std::sync::Arc;
use time::Duration;

struct World {
    _db: TestDb,
    services: Services,
    clock: FixedClock,
    secrets: PlatformSecrets,
    outbox: DemoOutbox,
}

async fn world(backend: Backend) -> Option<World> {
    let TestServices {
        db,
        services,
        clock,
    } = TestServices::new(backend).await?;
    let secrets =
        PlatformSecrets::load_or_create(services.store.as_ref(), services.kek.as_ref(), &clock)
            .await
            .unwrap();
    let outbox = DemoOutbox::new(Arc::new(clock.clone()));
    Some(World {
        _db: db,
        services,
        clock,
        secrets,
        outbox,
    })
}

fn phone(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("1370000{n:04}")).unwrap()
}

impl World {
    /// An active L2 account whose verified phone is `phone`.
    async fn account(&self, phone: &PhoneNumber) -> AccountId {
        let now = self.clock.now();
        let subject = SubjectId::new();
        let key_id = uuid::Uuid::now_v7();
        let key = DataKey::generate(KeyRef(*key_id.as_bytes()), Algorithm::Aes256Gcm);
        let account = StoredAccount {
            id: AccountId::new(),
            subject,
            assurance_level: 2,
            id_number_mac: Some(uuid::Uuid::new_v4().as_bytes().to_vec()),
            phone_mac: phone_mac(&self.secrets, phone),
            sealed_profile: key.seal(b"{}", b"account.profile").into_bytes(),
            status: "active".into(),
            created_at: now,
            updated_at: now,
        };
        let stored_key = StoredDataKey {
            subject,
            key_id,
            algorithm: "aes-256-gcm".into(),
            kek_id: self.services.kek.id().into(),
            wrapped_key: Some(key.wrap(self.services.kek.as_ref()).await.unwrap()),
            created_at: now,
            destroyed_at: None,
        };
        self.services
            .store
            .create_account(&account, &stored_key)
            .await
            .unwrap();
        account.id
    }

    async fn send_code(&self, phone: &PhoneNumber) -> PhoneCode {
        let sender = CodeSender {
            store: self.services.store.as_ref(),
            clock: &self.clock,
            secrets: &self.secrets,
            gateway: &self.outbox,
            limits: SendLimits::default(),
        };
        sender
            .send(
                phone,
                CodePurpose::Login,
                "192.0.2.9".parse().unwrap(),
                Lang::En,
            )
            .await
            .unwrap();
        let text = self.outbox.last_to(phone).unwrap().text;
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        PhoneCode::parse(&digits[..6]).unwrap()
    }

    async fn login(
        &self,
        phone: &PhoneNumber,
    ) -> Result<(login::SessionToken, AccountId), LoginError> {
        let code = self.send_code(phone).await;
        login::login_with_code(&self.services, &self.secrets, phone, &code).await
    }
}

async fn a_resident_logs_in_with_an_sms_code(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let p = phone(1);
    let account = w.account(&p).await;
    let (token, logged_in) = w.login(&p).await.unwrap();
    assert_eq!(logged_in, account);
    let session = login::authenticate(&w.services, &token).await.unwrap();
    assert_eq!(session.account.id, account);
    // A second login opens a new session; the old one keeps working.
    let (second, _) = {
        w.clock.advance(Duration::seconds(61));
        w.login(&p).await.unwrap()
    };
    assert_ne!(second, token);
    login::authenticate(&w.services, &token).await.unwrap();
}

async fn an_unknown_number_costs_the_same_and_learns_only_after_the_code(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let known = phone(2);
    w.account(&known).await;
    let unknown = phone(3);
    w.send_code(&known).await;
    w.send_code(&unknown).await;
    assert_eq!(
        w.outbox.entries().len(),
        2,
        "one SMS each, whether or not an account exists"
    );
    w.clock.advance(Duration::seconds(61));
    assert!(matches!(
        w.login(&unknown).await,
        Err(LoginError::NoAccount)
    ));
    let wrong = PhoneCode::parse("000000").unwrap();
    w.clock.advance(Duration::seconds(61));
    w.send_code(&known).await;
    let result = login::login_with_code(&w.services, &w.secrets, &known, &wrong).await;
    assert!(
        matches!(result, Err(LoginError::Code(_))),
        "a wrong code is a wrong code, account or not"
    );
}

async fn sessions_end_when_idle_and_at_their_absolute_limit(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let p = phone(4);
    w.account(&p).await;
    let (token, _) = w.login(&p).await.unwrap();
    w.clock.advance(IDLE_TIMEOUT);
    assert_eq!(
        login::authenticate(&w.services, &token).await.unwrap_err(),
        SessionError::Expired
    );

    w.clock.advance(Duration::seconds(61));
    let (busy, _) = w.login(&p).await.unwrap();
    let started = w.clock.now();
    // Active every 20 minutes: idle never ends it, the absolute limit does.
    while w.clock.now() < started.plus(ABSOLUTE_TIMEOUT - Duration::minutes(20)) {
        w.clock.advance(Duration::minutes(20));
        login::authenticate(&w.services, &busy).await.unwrap();
    }
    w.clock.set(started.plus(ABSOLUTE_TIMEOUT));
    assert_eq!(
        login::authenticate(&w.services, &busy).await.unwrap_err(),
        SessionError::Expired
    );
}

async fn activity_is_written_at_most_once_a_minute(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let p = phone(5);
    w.account(&p).await;
    let (token, _) = w.login(&p).await.unwrap();
    let hash = {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_str().as_bytes()).to_vec()
    };
    let created = w
        .services
        .store
        .session(&hash)
        .await
        .unwrap()
        .unwrap()
        .last_seen_at;
    w.clock.advance(Duration::seconds(30));
    login::authenticate(&w.services, &token).await.unwrap();
    assert_eq!(
        w.services
            .store
            .session(&hash)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        created,
        "no write within a minute"
    );
    w.clock.advance(Duration::seconds(31));
    login::authenticate(&w.services, &token).await.unwrap();
    assert_eq!(
        w.services
            .store
            .session(&hash)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        w.clock.now()
    );
}

async fn log_out_everywhere_ends_every_session(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let p = phone(6);
    w.account(&p).await;
    let (phone_session, _) = w.login(&p).await.unwrap();
    w.clock.advance(Duration::seconds(61));
    let (laptop, _) = w.login(&p).await.unwrap();
    let session = login::authenticate(&w.services, &laptop).await.unwrap();
    assert_eq!(
        login::logout_everywhere(&w.services, &session)
            .await
            .unwrap(),
        2
    );
    for token in [&phone_session, &laptop] {
        assert_eq!(
            login::authenticate(&w.services, token).await.unwrap_err(),
            SessionError::Revoked
        );
    }
    let forged = login::SessionToken::from_cookie("not-a-session");
    assert_eq!(
        login::authenticate(&w.services, &forged).await.unwrap_err(),
        SessionError::Unknown
    );
}

tests_on_both_backends!(
    a_resident_logs_in_with_an_sms_code,
    an_unknown_number_costs_the_same_and_learns_only_after_the_code,
    sessions_end_when_idle_and_at_their_absolute_limit,
    activity_is_written_at_most_once_a_minute,
    log_out_everywhere_ends_every_session,
);
