//! Registration on both backends: phone code → registry → carrier → one L2
//! account per resident, enumeration-safe, and nothing half-created on failure.

use shengshi_app::carrier::{CarrierCheck, CarrierError, CarrierVerdict};
use shengshi_app::phone_codes::{CodeSender, SendLimits};
use shengshi_app::registration::{self, Checks, Registered, RegistrationError, VerifiedPhone};
use shengshi_app::registry::{
    LifeStatus, MaritalStatus, PopulationRegistry, RegistryAnswer, RegistryError, RegistryRecord,
};
use shengshi_app::secrets::PlatformSecrets;
use shengshi_app::sms::DemoOutbox;
use shengshi_app::Services;
use shengshi_domain::phone::CodePurpose;
use shengshi_domain::{
    Clock, FixedClock, PersonName, PhoneCode, PhoneNumber, ResidentIdNumber, SystemClock,
};
use shengshi_i18n::Lang;
use shengshi_test_support::{tests_on_both_backends, Backend, TestDb, TestServices};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::Duration;

/// A test double of the registry: a table of people.
#[derive(Debug, Default)]
struct TableRegistry {
    people: Mutex<HashMap<String, (String, LifeStatus)>>,
    down: Mutex<bool>,
}

#[async_trait::async_trait]
impl PopulationRegistry for TableRegistry {
    async fn check(
        &self,
        id: &ResidentIdNumber,
        name: &PersonName,
        _query: &shengshi_app::registry::RegistryQuery,
    ) -> Result<RegistryAnswer, RegistryError> {
        if *self.down.lock().unwrap() {
            return Err(RegistryError::Timeout);
        }
        let people = self.people.lock().unwrap();
        let Some((known, life)) = people.get(id.as_str()) else {
            return Ok(RegistryAnswer::NotFound);
        };
        Ok(match life {
            LifeStatus::Deceased => RegistryAnswer::Deceased,
            LifeStatus::Emigrated => RegistryAnswer::Emigrated,
            LifeStatus::Alive if !PersonName::parse(known).unwrap().matches(name) => {
                RegistryAnswer::NameMismatch
            }
            LifeStatus::Alive => RegistryAnswer::Match(Box::new(RegistryRecord {
                id_number: *id,
                name: name.clone(),
                sex: id.sex(),
                birth_date: id.birth_date(),
                address: "广东省广州市越秀区示例路 1 号".into(),
                marital_status: MaritalStatus::Unmarried,
                life_status: LifeStatus::Alive,
                photo: None,
                fictional: true,
            })),
        })
    }
}

/// A test double of the carrier check: which phone belongs to which ID number.
#[derive(Debug, Default)]
struct TableCarrier {
    owners: Mutex<HashMap<String, String>>,
}

#[async_trait::async_trait]
impl CarrierCheck for TableCarrier {
    async fn three_factor(
        &self,
        _: &PersonName,
        id: &ResidentIdNumber,
        phone: &PhoneNumber,
    ) -> Result<CarrierVerdict, CarrierError> {
        Ok(match self.owners.lock().unwrap().get(phone.as_str()) {
            None => CarrierVerdict::NoRecord,
            Some(owner) if owner == id.as_str() => CarrierVerdict::Consistent,
            Some(_) => CarrierVerdict::Inconsistent,
        })
    }
}

struct World {
    _db: TestDb,
    services: Services,
    clock: FixedClock,
    secrets: PlatformSecrets,
    outbox: DemoOutbox,
    registry: TableRegistry,
    carrier: TableCarrier,
}

/// A fictional resident: a valid Guangzhou (440104) number with a computed check character.
fn id_number(sequence: u32) -> ResidentIdNumber {
    let body = format!("44010419900307{sequence:03}");
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
    ResidentIdNumber::parse(&format!("{body}{check}"), SystemClock.today()).unwrap()
}

fn phone(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("1390000{n:04}")).unwrap()
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
        registry: TableRegistry::default(),
        carrier: TableCarrier::default(),
    })
}

impl World {
    fn person(
        &self,
        seq: u32,
        name: &str,
        phone_n: u32,
        life: LifeStatus,
    ) -> (ResidentIdNumber, PersonName, PhoneNumber) {
        let id = id_number(seq);
        self.registry
            .people
            .lock()
            .unwrap()
            .insert(id.as_str().to_owned(), (name.to_owned(), life));
        self.carrier
            .owners
            .lock()
            .unwrap()
            .insert(phone(phone_n).as_str().to_owned(), id.as_str().to_owned());
        (id, PersonName::parse(name).unwrap(), phone(phone_n))
    }

    /// The resident's side of step 1 and 2: request a code, read it, type it.
    async fn verified(&self, phone: &PhoneNumber) -> VerifiedPhone {
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
                CodePurpose::Register,
                "192.0.2.1".parse().unwrap(),
                Lang::ZhCn,
            )
            .await
            .unwrap();
        let text = self.outbox.last_to(phone).unwrap().text;
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let code = PhoneCode::parse(&digits[..6]).unwrap();
        registration::verify_phone(&self.services, &self.secrets, phone, &code)
            .await
            .unwrap()
    }

    async fn register(
        &self,
        proof: &VerifiedPhone,
        name: &PersonName,
        id: &ResidentIdNumber,
    ) -> Result<Registered, RegistrationError> {
        let checks = Checks {
            registry: &self.registry,
            carrier: &self.carrier,
            sms: &self.outbox,
        };
        registration::register(
            &self.services,
            &self.secrets,
            checks,
            proof,
            name,
            id,
            Lang::ZhCn,
        )
        .await
    }

    async fn account_count(&self) -> usize {
        self.services
            .store
            .accounts(None, 1000)
            .await
            .unwrap()
            .len()
    }
}

async fn a_verified_resident_gets_one_l2_account_with_a_sealed_profile(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (id, name, p) = w.person(11, "陈晓明", 1, LifeStatus::Alive);
    let proof = w.verified(&p).await;
    assert_eq!(
        w.register(&proof, &name, &id).await.unwrap(),
        Registered::CheckYourPhone
    );
    let accounts = w.services.store.accounts(None, 10).await.unwrap();
    assert_eq!(accounts.len(), 1);
    let account = &accounts[0];
    assert_eq!(account.assurance_level, 2);
    assert_eq!(account.status, "active");
    let profile = registration::open_profile(
        &w.services,
        account,
        shengshi_domain::access::Accessor::Subject,
        shengshi_domain::access::Purpose::OwnAccount,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            profile.name.as_str(),
            profile.id_number.as_str(),
            profile.phone.as_str()
        ),
        (name.as_str(), id.as_str(), p.as_str())
    );
    let sealed = String::from_utf8_lossy(&account.sealed_profile);
    assert!(
        !sealed.contains(id.as_str()) && !sealed.contains(p.as_str()),
        "the profile is sealed"
    );
    assert!(w.outbox.last_to(&p).unwrap().text.contains("账号已开通"));
}

async fn each_failed_check_has_its_own_answer_and_creates_nothing(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (id, _, p) = w.person(12, "李娜", 2, LifeStatus::Alive);
    let proof = w.verified(&p).await;
    let wrong_name = PersonName::parse("李四").unwrap();
    assert!(matches!(
        w.register(&proof, &wrong_name, &id).await,
        Err(RegistrationError::NameMismatch)
    ));
    assert!(matches!(
        w.register(&proof, &wrong_name, &id_number(99)).await,
        Err(RegistrationError::NotInRegistry)
    ));
    let (dead, dead_name, _) = w.person(13, "王伟", 3, LifeStatus::Deceased);
    assert!(matches!(
        w.register(&proof, &dead_name, &dead).await,
        Err(RegistrationError::Deceased)
    ));
    let (gone, gone_name, _) = w.person(14, "张敏", 4, LifeStatus::Emigrated);
    assert!(matches!(
        w.register(&proof, &gone_name, &gone).await,
        Err(RegistrationError::Emigrated)
    ));
    // Someone else's phone: the carrier says it belongs to another ID number.
    let (other, other_name, _) = w.person(15, "刘洋", 5, LifeStatus::Alive);
    assert!(matches!(
        w.register(&proof, &other_name, &other).await,
        Err(RegistrationError::CarrierMismatch)
    ));
    *w.registry.down.lock().unwrap() = true;
    let name = PersonName::parse("李娜").unwrap();
    assert!(matches!(
        w.register(&proof, &name, &id).await,
        Err(RegistrationError::RegistryUnavailable(
            RegistryError::Timeout
        ))
    ));
    assert_eq!(w.account_count().await, 0, "nothing was created");
    assert!(
        w.services
            .store
            .data_keys(None, 10)
            .await
            .unwrap()
            .is_empty(),
        "no orphan data keys"
    );
    let refused = w.services.store.security_events(0, 100).await.unwrap();
    let reasons: Vec<_> = refused
        .iter()
        .filter_map(|e| match &e.event.event {
            shengshi_domain::SecurityEventKind::RegistrationRefused { reason } => {
                Some(reason.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "name_mismatch",
            "not_in_registry",
            "deceased",
            "emigrated",
            "carrier_mismatch",
            "registry_unavailable"
        ]
    );
}

async fn a_second_registration_for_one_id_number_creates_nothing_and_tells_the_owner(
    backend: Backend,
) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (id, name, owner_phone) = w.person(16, "黄丽", 6, LifeStatus::Alive);
    let owner = w.verified(&owner_phone).await;
    w.register(&owner, &name, &id).await.unwrap();
    // The same person (or someone with their phone) tries again from a second phone
    // the carrier also lists under this ID number.
    w.carrier
        .owners
        .lock()
        .unwrap()
        .insert(phone(7).as_str().to_owned(), id.as_str().to_owned());
    let again = w.verified(&phone(7)).await;
    let messages_before = w.outbox.entries().len();
    assert_eq!(
        w.register(&again, &name, &id).await.unwrap(),
        Registered::CheckYourPhone,
        "the same answer as a success"
    );
    assert_eq!(w.account_count().await, 1);
    assert_eq!(
        w.outbox.entries().len(),
        messages_before + 1,
        "one message, as on success"
    );
    assert!(
        w.outbox
            .last_to(&owner_phone)
            .unwrap()
            .text
            .contains("尝试用您的身份证号注册"),
        "the owner is told"
    );
}

async fn concurrent_registrations_of_one_number_end_with_one_account(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (id, name, p1) = w.person(17, "周杰", 8, LifeStatus::Alive);
    w.carrier
        .owners
        .lock()
        .unwrap()
        .insert(phone(9).as_str().to_owned(), id.as_str().to_owned());
    let proofs = [w.verified(&p1).await, w.verified(&phone(9)).await];
    let w = Arc::new(w);
    let runs = proofs.into_iter().map(|proof| {
        let (w, name, id) = (w.clone(), name.clone(), id);
        tokio::spawn(async move { w.register(&proof, &name, &id).await })
    });
    for result in futures_util::future::join_all(runs).await {
        assert_eq!(result.unwrap().unwrap(), Registered::CheckYourPhone);
    }
    assert_eq!(w.account_count().await, 1);
    assert_eq!(
        w.services.store.data_keys(None, 10).await.unwrap().len(),
        1,
        "the loser's key was never written"
    );
}

async fn a_phone_proof_expires_after_thirty_minutes(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (id, name, p) = w.person(18, "吴芳", 10, LifeStatus::Alive);
    let proof = w.verified(&p).await;
    w.clock.advance(Duration::minutes(30));
    assert!(matches!(
        w.register(&proof, &name, &id).await,
        Err(RegistrationError::PhoneProofExpired)
    ));
    assert_eq!(w.account_count().await, 0);
}

tests_on_both_backends!(
    a_verified_resident_gets_one_l2_account_with_a_sealed_profile,
    each_failed_check_has_its_own_answer_and_creates_nothing,
    a_second_registration_for_one_id_number_creates_nothing_and_tells_the_owner,
    concurrent_registrations_of_one_number_end_with_one_account,
    a_phone_proof_expires_after_thirty_minutes,
);
