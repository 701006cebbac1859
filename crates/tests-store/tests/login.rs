//! SMS login and sessions on both backends.

use shengshi_app::login::{
    self, Device, EndSessionError, LoginError, SessionError, ABSOLUTE_TIMEOUT, IDLE_TIMEOUT,
};
use shengshi_app::phone_codes::{phone_mac, CodeSender, SendLimits, VerifyCodeError};
use shengshi_app::secrets::PlatformSecrets;
use shengshi_app::sms::DemoOutbox;
use shengshi_app::{SecurityLog, Services};
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::{AccountId, Clock, FixedClock, PhoneCode, PhoneNumber, SubjectId};
use shengshi_envelope::{Algorithm, DataKey, KeyRef};
use shengshi_i18n::Lang;
use shengshi_store::{StoredAccount, StoredDataKey};
use shengshi_test_support::{tests_on_both_backends, Backend, CountingStore, TestDb, TestServices};
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

/// A world whose store counts every call (the security log's writes included).
async fn counted_world(backend: Backend) -> Option<(World, Arc<CountingStore>)> {
    let mut w = world(backend).await?;
    let counter = Arc::new(CountingStore::new(w.services.store.clone()));
    w.services.store = counter.clone();
    w.services.security_log = SecurityLog::start(counter.clone(), w.services.clock.clone());
    Some((w, counter))
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
            in_person_verified_at: None,
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
        login::login_with_code(&self.services, &self.secrets, phone, &code, None).await
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
    let result = login::login_with_code(&w.services, &w.secrets, &known, &wrong, None).await;
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
    let forged = login::SessionToken::from_client("not-a-session");
    assert_eq!(
        login::authenticate(&w.services, &forged).await.unwrap_err(),
        SessionError::Unknown
    );
}

async fn a_resident_lists_and_ends_only_their_own_live_sessions(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (mine, theirs) = (phone(9), phone(10));
    w.account(&mine).await;
    w.account(&theirs).await;
    let login_from = |p: &PhoneNumber, ua: &'static str| {
        let p = p.clone();
        let w = &w;
        async move {
            w.clock.advance(Duration::seconds(61)); // past the resend interval
            let code = w.send_code(&p).await;
            let device = Device::from_user_agent(ua);
            let (token, _) = login::login_with_code(&w.services, &w.secrets, &p, &code, device)
                .await
                .unwrap();
            let session = login::authenticate(&w.services, &token).await.unwrap();
            (token, session)
        }
    };
    let (idle, _) = login_from(
        &mine,
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) Version/17.4 Safari/604.1",
    )
    .await;
    w.clock.advance(Duration::minutes(20));
    let (_, ended) = login_from(
        &mine,
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    )
    .await;
    login::logout(&w.services, &ended).await.unwrap();
    w.clock.advance(Duration::minutes(11));
    let (phone_token, _) = login_from(
        &mine,
        "Mozilla/5.0 (Linux; Android 14) Chrome/124.0 Mobile Safari/537.36",
    )
    .await;
    let (_, here) = login_from(&mine, "an unrecognisable client").await;
    let (other_token, other) = login_from(&theirs, "curl/8.5").await;

    // The iPad went idle past the limit, the Linux one was ended: neither is live.
    let live = login::live_sessions(&w.services, &here).await.unwrap();
    let devices: Vec<_> = live.iter().map(|s| s.device.as_deref()).collect();
    assert_eq!(devices.len(), 2, "{live:?}");
    assert!(devices.contains(&None) && devices.contains(&Some("Chrome on Android")));
    assert_eq!(live.iter().filter(|s| s.is_current).count(), 1);
    assert!(live.iter().find(|s| s.is_current).unwrap().device.is_none());
    assert_eq!(
        login::authenticate(&w.services, &idle).await.unwrap_err(),
        SessionError::Expired
    );

    // Someone else's handle, however obtained, ends nothing.
    let theirs_handle = login::live_sessions(&w.services, &other).await.unwrap()[0]
        .handle
        .clone();
    assert!(matches!(
        login::end_session(&w.services, &here, theirs_handle.as_str()).await,
        Err(EndSessionError::NotFound)
    ));
    login::authenticate(&w.services, &other_token)
        .await
        .unwrap();

    let phone_handle = live.iter().find(|s| !s.is_current).unwrap().handle.clone();
    assert!(
        !login::end_session(&w.services, &here, phone_handle.as_str())
            .await
            .unwrap(),
        "not this request's session"
    );
    assert!(matches!(
        login::end_session(&w.services, &here, phone_handle.as_str()).await,
        Err(EndSessionError::NotFound)
    ));
    assert_eq!(
        login::authenticate(&w.services, &phone_token)
            .await
            .unwrap_err(),
        SessionError::Revoked
    );
    let live = login::live_sessions(&w.services, &here).await.unwrap();
    assert_eq!(live.len(), 1);
    assert!(
        login::end_session(&w.services, &here, live[0].handle.as_str())
            .await
            .unwrap(),
        "this request's own session"
    );
}

/// The expensive work of a login (store calls, in order, and SMS sends) must
/// not tell a number with an account from one without. Compared step by step:
/// asking for a code, typing a wrong code, typing the right code.
async fn known_and_unknown_numbers_make_the_same_store_calls(backend: Backend) {
    let Some((w, counter)) = counted_world(backend).await else {
        return;
    };
    let (known, unknown) = (phone(11), phone(12));
    w.account(&known).await;
    counter.take_calls();

    // Asking for a code: the same calls, one SMS each.
    let known_code = w.send_code(&known).await;
    let known_calls = counter.take_calls();
    let unknown_code = w.send_code(&unknown).await;
    let unknown_calls = counter.take_calls();
    assert!(!known_calls.is_empty());
    assert_eq!(known_calls, unknown_calls, "asking for a code");
    let sms_to = |p: &PhoneNumber| w.outbox.entries().iter().filter(|e| &e.to == p).count();
    assert_eq!((sms_to(&known), sms_to(&unknown)), (1, 1));

    // A wrong code: the same calls, the same answer.
    let wrong = |code: &PhoneCode| {
        let n: u32 = code.as_str().parse().unwrap();
        PhoneCode::parse(&format!("{:06}", (n + 1) % 1_000_000)).unwrap()
    };
    let known_answer =
        login::login_with_code(&w.services, &w.secrets, &known, &wrong(&known_code), None).await;
    let known_calls = counter.take_calls();
    let unknown_answer = login::login_with_code(
        &w.services,
        &w.secrets,
        &unknown,
        &wrong(&unknown_code),
        None,
    )
    .await;
    let unknown_calls = counter.take_calls();
    assert!(matches!(
        known_answer,
        Err(LoginError::Code(VerifyCodeError::Wrong { .. }))
    ));
    assert!(matches!(
        unknown_answer,
        Err(LoginError::Code(VerifyCodeError::Wrong { .. }))
    ));
    assert_eq!(known_calls, unknown_calls, "submitting a wrong code");

    // The right code: the same calls up to and including the account lookup.
    // Only then do the paths part, because the answer itself tells the holder
    // of the phone (and nobody else) that no account uses the number.
    login::login_with_code(&w.services, &w.secrets, &known, &known_code, None)
        .await
        .unwrap();
    let known_calls = counter.take_calls();
    let answer =
        login::login_with_code(&w.services, &w.secrets, &unknown, &unknown_code, None).await;
    let unknown_calls = counter.take_calls();
    assert!(matches!(answer, Err(LoginError::NoAccount)));
    let lookup = |calls: &[&str]| calls.iter().position(|c| *c == "active_accounts_by_phone");
    let at = lookup(&known_calls).expect("the known number is looked up");
    assert_eq!(
        lookup(&unknown_calls),
        Some(at),
        "{known_calls:?} vs {unknown_calls:?}"
    );
    assert_eq!(
        known_calls[..=at],
        unknown_calls[..=at],
        "submitting the right code"
    );
    assert_eq!(
        known_calls[at + 1..],
        ["create_session", "append_security_events"]
    );
    assert_eq!(unknown_calls[at + 1..], ["append_security_events"]);
}

tests_on_both_backends!(
    a_resident_lists_and_ends_only_their_own_live_sessions,
    known_and_unknown_numbers_make_the_same_store_calls,
    a_resident_logs_in_with_an_sms_code,
    an_unknown_number_costs_the_same_and_learns_only_after_the_code,
    sessions_end_when_idle_and_at_their_absolute_limit,
    activity_is_written_at_most_once_a_minute,
    log_out_everywhere_ends_every_session,
);
