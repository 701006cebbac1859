//! Staff passwords: rules, and Argon2id hashing off the async runtime.
//!
//! Each hash takes about 19 MiB and tens of milliseconds of CPU, so hashes run
//! on the blocking pool and at most [`MAX_CONCURRENT_HASHES`] at a time across
//! the whole process: a burst of logins queues instead of exhausting memory.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Argon2id computations allowed at once, process-wide.
pub const MAX_CONCURRENT_HASHES: usize = 2;
static HASH_PERMITS: Semaphore = Semaphore::const_new(MAX_CONCURRENT_HASHES);

/// OWASP's first recommendation for Argon2id: 19 MiB, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

/// A hash with our parameters whose password nobody knows (its salt and output
/// are random). Unknown usernames are verified against it, so that they cost
/// exactly what a known one does.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2hlbmdzaGlkdW1teXNhbHQ$Hq3YpnLw2ZCm7f0Qx8eU1kT9sJbR4aVyN6oGdE5uMiA";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRuleError {
    #[error("the password must have at least {MIN_CHARS} characters")]
    TooShort,
    #[error("the password must have at most {MAX_CHARS} characters")]
    TooLong,
    #[error("the password must mix at least two kinds of character (lower case, upper case, digits, others)")]
    OneClass,
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the stored password hash is malformed: {0}")]
    Malformed(String),
    #[error("password hashing was interrupted")]
    Interrupted,
}

/// Checks a new password against the rules (length in characters, not bytes).
pub fn check_rules(password: &str) -> Result<(), PasswordRuleError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordRuleError::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordRuleError::TooLong);
    }
    let class = |c: char| {
        if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else if c.is_numeric() {
            2
        } else {
            3
        }
    };
    let mut classes = password.chars().map(class);
    let first = classes.next();
    if classes.all(|c| Some(c) == first) {
        return Err(PasswordRuleError::OneClass);
    }
    Ok(())
}

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes and verifies passwords; counts the Argon2 computations it made (a
/// test proves with it that unknown usernames cost as much as known ones).
#[derive(Clone, Debug, Default)]
pub struct PasswordHasher {
    computations: Arc<AtomicU64>,
}

impl PasswordHasher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Argon2 computations made by this hasher (hashes and verifications).
    pub fn computations(&self) -> u64 {
        self.computations.load(Ordering::Relaxed)
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub async fn hash(&self, password: &SecretString) -> Result<String, PasswordError> {
        let password = Zeroizing::new(password.expose_secret().to_owned());
        self.run(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2()?
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Hash(e.to_string()))
        })
        .await
    }

    /// True when the password matches the PHC string. Always costs one full
    /// computation with the stored parameters.
    pub async fn verify(&self, password: &SecretString, phc: &str) -> Result<bool, PasswordError> {
        let password = Zeroizing::new(password.expose_secret().to_owned());
        let phc = phc.to_owned();
        self.run(move || {
            let parsed =
                PasswordHash::new(&phc).map_err(|e| PasswordError::Malformed(e.to_string()))?;
            match argon2()?.verify_password(password.as_bytes(), &parsed) {
                Ok(()) => Ok(true),
                Err(argon2::password_hash::Error::Password) => Ok(false),
                Err(e) => Err(PasswordError::Hash(e.to_string())),
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = HASH_PERMITS
            .acquire()
            .await
            .map_err(|_| PasswordError::Interrupted)?;
        self.computations.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| PasswordError::Interrupted)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_refuse_short_long_and_single_class_passwords() {
        assert_eq!(check_rules("Ab1"), Err(PasswordRuleError::TooShort));
        assert_eq!(
            check_rules("abcdefghijklmnop"),
            Err(PasswordRuleError::OneClass)
        );
        assert_eq!(
            check_rules("123456789012"),
            Err(PasswordRuleError::OneClass)
        );
        assert_eq!(
            check_rules(&"aB".repeat(65)),
            Err(PasswordRuleError::TooLong)
        );
        assert_eq!(check_rules("correct horse battery"), Ok(()));
        assert_eq!(check_rules("长城长城长城长城长城长城1"), Ok(()));
        // Characters, not bytes: twelve CJK characters of one class are refused.
        assert_eq!(
            check_rules("长城长城长城长城长城长城"),
            Err(PasswordRuleError::OneClass)
        );
    }

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let hasher = PasswordHasher::new();
        let password = SecretString::from("Tr0ub4dor&3-staff".to_owned());
        let phc = hasher.hash(&password).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(&password, &phc).await.expect("verify"));
        let wrong = SecretString::from("Tr0ub4dor&4-staff".to_owned());
        assert!(!hasher.verify(&wrong, &phc).await.expect("verify"));
        assert!(!hasher.verify(&password, DUMMY_HASH).await.expect("dummy"));
        assert_eq!(hasher.computations(), 4);
    }

    #[test]
    fn the_dummy_hash_has_our_parameters() {
        let parsed = PasswordHash::new(DUMMY_HASH).expect("dummy parses");
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(parsed.hash.map(|h| h.len()), Some(32));
    }
}
