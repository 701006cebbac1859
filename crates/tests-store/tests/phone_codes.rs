//! One-time SMS codes on both backends: sent within caps, verified once, in
//! time, within five attempts — also when requests race.

use shengshi_app::phone_codes::{verify, CodeSender, SendCodeError, SendLimits, VerifyCodeError};
use shengshi_app::secrets::PlatformSecrets;
use shengshi_app::sms::DemoOutbox;
use shengshi_domain::phone::{CodePurpose, DeadReason};
use shengshi_domain::{Clock, FixedClock, PhoneCode, PhoneNumber, SystemClock};
use shengshi_envelope::{KeyEncryptionKey, LocalKek};
use shengshi_i18n::Lang;
use shengshi_store::Store;
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb};
use std::net::IpAddr;
use std::sync::Arc;
use time::Duration;

struct World {
    db: TestDb,
    store: Arc<dyn Store>,
    clock: FixedClock,
    kek: LocalKek,
    secrets: PlatformSecrets,
    outbox: DemoOutbox,
}

async fn world(backend: Backend) -> Option<World> {
    let db = TestDb::new(backend).await?;
    let store = db.store().await;
    let clock = FixedClock::at(SystemClock.now());
    let kek = LocalKek::create(&db.dir().join("kek")).unwrap();
    let secrets = PlatformSecrets::load_or_create(store.as_ref(), &kek, &clock)
        .await
        .unwrap();
    let outbox = DemoOutbox::new(Arc::new(clock.clone()));
    Some(World {
        db,
        store,
        clock,
        kek,
        secrets,
        outbox,
    })
}

impl World {
    fn sender(&self, limits: SendLimits) -> CodeSender<'_> {
        CodeSender {
            store: self.store.as_ref(),
            clock: &self.clock,
            secrets: &self.secrets,
            gateway: &self.outbox,
            limits,
        }
    }

    async fn send(&self, phone: &PhoneNumber) -> Result<(), SendCodeError> {
        self.sender(SendLimits::default())
            .send(phone, CodePurpose::Register, ip(1), Lang::ZhCn)
            .await
            .map(|_| ())
    }

    /// The code as the resident reads it from the message.
    fn received(&self, phone: &PhoneNumber) -> PhoneCode {
        let text = self.outbox.last_to(phone).expect("a message was sent").text;
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        PhoneCode::parse(&digits[..6]).unwrap()
    }

    async fn verify(&self, phone: &PhoneNumber, code: &PhoneCode) -> Result<(), VerifyCodeError> {
        verify(
            self.store.as_ref(),
            &self.clock,
            &self.secrets,
            phone,
            CodePurpose::Register,
            code,
        )
        .await
    }
}

fn phone(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("1380013{n:04}")).unwrap()
}

fn ip(n: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, n])
}

fn wrong(code: &PhoneCode) -> PhoneCode {
    let n: u32 = code.as_str().parse().unwrap();
    PhoneCode::from_random(n + 1)
}

async fn a_code_is_delivered_and_works_exactly_once(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let p = phone(1);
    w.send(&p).await.unwrap();
    let message = w.outbox.last_to(&p).unwrap().text;
    assert!(
        message.contains("【省事】") && message.contains("5 分钟"),
        "{message}"
    );
    let code = w.received(&p);
    w.verify(&p, &code).await.unwrap();
    assert_eq!(
        w.verify(&p, &code).await,
        Err(VerifyCodeError::Dead(DeadReason::AlreadyUsed)),
        "a replay is refused"
    );
}

async fn five_wrong_guesses_kill_the_code(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let p = phone(2);
    w.send(&p).await.unwrap();
    let code = w.received(&p);
    for remaining in (0..5).rev() {
        assert_eq!(
            w.verify(&p, &wrong(&code)).await,
            Err(VerifyCodeError::Wrong { remaining })
        );
    }
    assert_eq!(
        w.verify(&p, &code).await,
        Err(VerifyCodeError::Dead(DeadReason::TooManyAttempts))
    );
}

async fn concurrent_guesses_never_exceed_five(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let w = Arc::new(w);
    let p = phone(3);
    w.send(&p).await.unwrap();
    let bad = wrong(&w.received(&p));
    let guesses = (0..20).map(|_| {
        let (w, p, bad) = (w.clone(), p.clone(), bad.clone());
        tokio::spawn(async move { w.verify(&p, &bad).await })
    });
    let results: Vec<_> = futures_util::future::join_all(guesses)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let compared = results
        .iter()
        .filter(|r| matches!(r, Err(VerifyCodeError::Wrong { .. })))
        .count();
    assert_eq!(compared, 5, "{results:?}");
    assert!(results.iter().all(|r| r.is_err()));
}

async fn a_code_expires_after_five_minutes(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let p = phone(4);
    w.send(&p).await.unwrap();
    let code = w.received(&p);
    w.clock.advance(Duration::minutes(5));
    assert_eq!(
        w.verify(&p, &code).await,
        Err(VerifyCodeError::Dead(DeadReason::Expired))
    );
}

async fn a_code_for_one_purpose_or_number_does_not_work_for_another(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let p = phone(5);
    w.send(&p).await.unwrap();
    let code = w.received(&p);
    let login = verify(
        w.store.as_ref(),
        &w.clock,
        &w.secrets,
        &p,
        CodePurpose::Login,
        &code,
    )
    .await;
    assert_eq!(login, Err(VerifyCodeError::NoCode));
    assert_eq!(
        w.verify(&phone(6), &code).await,
        Err(VerifyCodeError::NoCode)
    );
    w.verify(&p, &code).await.unwrap();
}

async fn resends_wait_a_minute_and_daily_caps_hold(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let limits = SendLimits {
        per_phone_daily: 2,
        per_ip_daily: 3,
        global_daily: 4,
    };
    let send = |n: u32, from: u8| {
        let sender = w.sender(limits);
        async move {
            sender
                .send(&phone(n), CodePurpose::Register, ip(from), Lang::En)
                .await
                .map(|_| ())
        }
    };
    send(7, 1).await.unwrap();
    assert!(matches!(send(7, 1).await, Err(SendCodeError::TooSoon)));
    w.clock.advance(Duration::seconds(61));
    send(7, 1).await.unwrap();
    w.clock.advance(Duration::seconds(61));
    assert!(matches!(
        send(7, 2).await,
        Err(SendCodeError::CapReached("phone"))
    ));
    send(8, 1).await.unwrap();
    assert!(matches!(
        send(9, 1).await,
        Err(SendCodeError::CapReached("ip"))
    ));
    send(9, 2).await.unwrap();
    assert!(matches!(
        send(10, 3).await,
        Err(SendCodeError::CapReached("global"))
    ));
    assert_eq!(
        w.outbox.entries().len(),
        4,
        "a refused request sends nothing"
    );
    // The caps are per civil day in Asia/Shanghai.
    w.clock.advance(Duration::days(1));
    send(10, 3).await.unwrap();
}

async fn concurrent_requests_for_one_number_send_one_code(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let w = Arc::new(w);
    let requests = (0..10).map(|_| {
        let w = w.clone();
        tokio::spawn(async move { w.send(&phone(11)).await })
    });
    let results: Vec<_> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert_eq!(w.outbox.entries().len(), 1);
}

async fn codes_survive_a_restart_and_a_key_rotation(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let p = phone(12);
    w.send(&p).await.unwrap();
    let code = w.received(&p);
    // A restart loads the same secret from storage.
    let reloaded = PlatformSecrets::load_or_create(w.store.as_ref(), &w.kek, &w.clock)
        .await
        .unwrap();
    // Rotating the KEK re-wraps the secret too.
    let new = LocalKek::create(&w.db.dir().join("new-kek")).unwrap();
    let report = shengshi_app::keys::rotate_kek(w.store.as_ref(), &w.kek, &new)
        .await
        .unwrap();
    assert_eq!(
        report.secrets_rewrapped, 6,
        "the OTP and registry MAC keys, the token key, the staff TOTP key, the access-log key and the verifier key MAC key"
    );
    let rotated = PlatformSecrets::load_or_create(w.store.as_ref(), &new, &w.clock)
        .await
        .unwrap();
    assert!(
        PlatformSecrets::load_or_create(w.store.as_ref(), &w.kek, &w.clock)
            .await
            .is_err(),
        "the old KEK no longer opens it"
    );
    for secrets in [&reloaded, &rotated] {
        assert_eq!(secrets.otp_mac_key(), w.secrets.otp_mac_key());
    }
    verify(
        w.store.as_ref(),
        &w.clock,
        &rotated,
        &p,
        CodePurpose::Register,
        &code,
    )
    .await
    .unwrap();
    assert_ne!(new.id(), w.kek.id());
}

tests_on_both_backends!(
    a_code_is_delivered_and_works_exactly_once,
    five_wrong_guesses_kill_the_code,
    concurrent_guesses_never_exceed_five,
    a_code_expires_after_five_minutes,
    a_code_for_one_purpose_or_number_does_not_work_for_another,
    resends_wait_a_minute_and_daily_caps_hold,
    concurrent_requests_for_one_number_send_one_code,
    codes_survive_a_restart_and_a_key_rotation,
);
