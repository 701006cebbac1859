//! Platform-wide secrets: random keys that the database holds only wrapped by
//! the key-encryption key, loaded into memory at start-up.

use rand::RngCore;
use shengshi_domain::Clock;
use shengshi_envelope::{KekError, KeyEncryptionKey};
use shengshi_store::{PlatformSecretStore, StoreError, StoredPlatformSecret};
use zeroize::Zeroizing;

/// Keys the MACs of phone numbers, one-time codes and addresses.
pub const OTP_MAC_KEY: &str = "otp-mac-key";
/// Seals short-lived tokens handed to browsers.
pub const TOKEN_KEY: &str = "token-key";
/// Keys the MACs of resident ID numbers in the population registry kept in our
/// own database. A key of its own: those MACs are long-lived lookup keys of
/// low-entropy numbers, and nothing else should be able to compute or join them.
pub const REGISTRY_MAC_KEY: &str = "registry-mac-key";
/// Seals staff members' TOTP secrets at rest (AES-256-GCM, the staff id bound
/// as associated data). A key of its own, so that no token can be confused with one.
pub const STAFF_TOTP_KEY: &str = "staff-totp-key";
/// The Ed25519 seed with which the access log signs its checkpoints. Witnesses
/// hold their own keys; this one only proves what the platform claimed.
pub const ACCESS_LOG_KEY: &str = "access-log-key";
/// Keys the MACs of verifier organisations' API keys (`svk_…`). A key of its
/// own rather than one derived from `otp-mac-key`: nothing else can compute
/// or join these MACs, and it is created, wrapped, rotated and exported like
/// every other platform secret.
pub const VERIFIER_KEY_MAC_KEY: &str = "verifier-key-mac-key";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("platform secret {name} is wrapped by key-encryption key {kek_id}, which is not configured; configure it among previous_kek_files (or previous_kms_keys) until `shengshi keys rotate` has re-wrapped every key")]
    WrappedByOtherKek { name: String, kek_id: String },
    #[error("platform secret {0} did not unwrap: {1}")]
    Unwrap(String, KekError),
    #[error("platform secret {0} has the wrong length")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kek(#[from] KekError),
}

/// The secrets in memory. Never printed.
pub struct PlatformSecrets {
    otp_mac_key: Zeroizing<Vec<u8>>,
    registry_mac_key: Zeroizing<Vec<u8>>,
    token_key: shengshi_envelope::TokenKey,
    staff_totp_key: shengshi_envelope::TokenKey,
    access_log_seed: Zeroizing<[u8; 32]>,
    verifier_key_mac_key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for PlatformSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlatformSecrets([redacted])")
    }
}

fn context(name: &str) -> Vec<u8> {
    format!("shengshi platform secret v1|{name}").into_bytes()
}

impl PlatformSecrets {
    /// Loads the secrets, creating any that do not exist yet.
    pub async fn load_or_create<S: PlatformSecretStore + ?Sized>(
        store: &S,
        kek: &dyn KeyEncryptionKey,
        clock: &dyn Clock,
    ) -> Result<Self, SecretsError> {
        let otp_mac_key = load_or_create_one(store, kek, clock, OTP_MAC_KEY).await?;
        let registry_mac_key = load_or_create_one(store, kek, clock, REGISTRY_MAC_KEY).await?;
        let token_key = load_or_create_one(store, kek, clock, TOKEN_KEY).await?;
        let token_key = shengshi_envelope::TokenKey::new(&token_key)
            .ok_or_else(|| SecretsError::Malformed(TOKEN_KEY.to_owned()))?;
        let staff_totp_key = load_or_create_one(store, kek, clock, STAFF_TOTP_KEY).await?;
        let staff_totp_key = shengshi_envelope::TokenKey::new(&staff_totp_key)
            .ok_or_else(|| SecretsError::Malformed(STAFF_TOTP_KEY.to_owned()))?;
        let seed = load_or_create_one(store, kek, clock, ACCESS_LOG_KEY).await?;
        let access_log_seed = Zeroizing::new(
            <[u8; 32]>::try_from(seed.as_slice())
                .map_err(|_| SecretsError::Malformed(ACCESS_LOG_KEY.to_owned()))?,
        );
        let verifier_key_mac_key =
            load_or_create_one(store, kek, clock, VERIFIER_KEY_MAC_KEY).await?;
        Ok(Self {
            otp_mac_key,
            registry_mac_key,
            token_key,
            staff_totp_key,
            access_log_seed,
            verifier_key_mac_key,
        })
    }

    /// For tests: fixed secrets, no storage (the registry key is the given key
    /// reversed and the verifier key MAC key it XOR 0x5a, so that the keys differ).
    pub fn for_tests(otp_mac_key: &[u8]) -> Self {
        Self {
            otp_mac_key: Zeroizing::new(otp_mac_key.to_vec()),
            registry_mac_key: Zeroizing::new(otp_mac_key.iter().rev().copied().collect()),
            token_key: shengshi_envelope::TokenKey::new(&[42; 32])
                .unwrap_or_else(|| unreachable!("32 bytes")),
            staff_totp_key: shengshi_envelope::TokenKey::new(&[43; 32])
                .unwrap_or_else(|| unreachable!("32 bytes")),
            access_log_seed: Zeroizing::new([44; 32]),
            verifier_key_mac_key: Zeroizing::new(otp_mac_key.iter().map(|b| b ^ 0x5a).collect()),
        }
    }

    /// The Ed25519 seed that signs the access log's checkpoints.
    pub fn access_log_seed(&self) -> &[u8; 32] {
        &self.access_log_seed
    }

    pub fn otp_mac_key(&self) -> &[u8] {
        &self.otp_mac_key
    }

    pub fn token_key(&self) -> &shengshi_envelope::TokenKey {
        &self.token_key
    }

    pub fn staff_totp_key(&self) -> &shengshi_envelope::TokenKey {
        &self.staff_totp_key
    }

    pub fn registry_mac_key(&self) -> &[u8] {
        &self.registry_mac_key
    }

    /// The key of verifier API key MACs.
    pub fn verifier_key_mac_key(&self) -> &[u8] {
        &self.verifier_key_mac_key
    }
}

/// Development and demo only: the seed of a stand-in e-ID trust root, kept
/// in the database so that codes verify across restarts. In production the
/// trust root is offline (`shengshi eid trust-root init` on another machine)
/// and this secret is never created.
pub const EID_DEVELOPMENT_ROOT: &str = "eid-development-trust-root";

/// Loads (or creates) the development trust root's seed.
pub async fn development_eid_root_seed<S: PlatformSecretStore + ?Sized>(
    store: &S,
    kek: &dyn KeyEncryptionKey,
    clock: &dyn Clock,
) -> Result<Zeroizing<[u8; 32]>, SecretsError> {
    let seed = load_or_create_one(store, kek, clock, EID_DEVELOPMENT_ROOT).await?;
    Ok(Zeroizing::new(
        <[u8; 32]>::try_from(seed.as_slice())
            .map_err(|_| SecretsError::Malformed(EID_DEVELOPMENT_ROOT.to_owned()))?,
    ))
}

async fn load_or_create_one<S: PlatformSecretStore + ?Sized>(
    store: &S,
    kek: &dyn KeyEncryptionKey,
    clock: &dyn Clock,
    name: &str,
) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
    let existing = store
        .platform_secrets()
        .await?
        .into_iter()
        .find(|s| s.name == name);
    let stored = match existing {
        Some(stored) => stored,
        None => {
            let mut fresh = Zeroizing::new(vec![0u8; 32]);
            rand::rngs::OsRng.fill_bytes(&mut fresh);
            let candidate = StoredPlatformSecret {
                name: name.to_owned(),
                kek_id: kek.id().to_owned(),
                wrapped: kek.wrap(&fresh, &context(name)).await?,
                created_at: clock.now(),
            };
            // Another process may have created it first: whatever is stored wins.
            store.insert_platform_secret(&candidate).await?
        }
    };
    unwrap(&stored, kek).await
}

async fn unwrap(
    stored: &StoredPlatformSecret,
    kek: &dyn KeyEncryptionKey,
) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
    let Some(kek) = kek.key_with_id(&stored.kek_id) else {
        return Err(SecretsError::WrappedByOtherKek {
            name: stored.name.clone(),
            kek_id: stored.kek_id.clone(),
        });
    };
    kek.unwrap(&stored.wrapped, &context(&stored.name))
        .await
        .map_err(|e| SecretsError::Unwrap(stored.name.clone(), e))
}

/// Re-wraps every platform secret not yet under `new` (part of key rotation);
/// `old` unwraps each with the key its stored id names (a key ring, or the one
/// old key).
pub async fn rewrap_all<S: PlatformSecretStore + ?Sized>(
    store: &S,
    old: &dyn KeyEncryptionKey,
    new: &dyn KeyEncryptionKey,
) -> Result<u64, SecretsError> {
    let mut rewrapped = 0;
    for stored in store.platform_secrets().await? {
        if stored.kek_id == new.id() {
            continue;
        }
        let plain = unwrap(&stored, old).await?;
        store
            .rewrap_platform_secret(
                &stored.name,
                new.id(),
                &new.wrap(&plain, &context(&stored.name)).await?,
            )
            .await?;
        rewrapped += 1;
    }
    Ok(rewrapped)
}
