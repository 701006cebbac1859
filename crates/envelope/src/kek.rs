use crate::Algorithm;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const FILE_PREFIX: &str = "shengshi-kek-v1 ";
const CHECK_PLAINTEXT: &[u8] = b"shengshi key-encryption key check v1";
const CHECK_CONTEXT: &[u8] = b"kek-check";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KekError {
    #[error("the key-encryption key file {path} does not exist; create one with `shengshi keys init --kek-file {path}`")]
    Missing { path: PathBuf },
    #[error("cannot read the key-encryption key file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the key-encryption key file {path} is not in the expected format (one line: `shengshi-kek-v1 <base64 of 32 bytes>`)")]
    BadFormat { path: PathBuf },
    #[error("cannot create the key-encryption key file {path}: {reason}")]
    Create { path: PathBuf, reason: String },
    #[error(
        "a wrapped key did not unwrap: wrong key-encryption key, or the stored key was altered"
    )]
    Unwrap,
    #[error("the key management service failed: {0}")]
    Service(String),
}

/// Wraps and unwraps data keys. A KMS or HSM implements this in production; the
/// key material then never enters the server's memory.
#[async_trait::async_trait]
pub trait KeyEncryptionKey: AsDynKek + Send + Sync + std::fmt::Debug {
    /// A stable, non-secret name for this key, stored beside every wrapped key.
    fn id(&self) -> &str;

    /// The key among those held here whose id is `kek_id`: this key itself,
    /// or, for a [`KeyRing`], one of its previous keys. Whatever was wrapped
    /// is unwrapped with the key its stored `kek_id` names, never by trying keys.
    fn key_with_id(&self, kek_id: &str) -> Option<&dyn KeyEncryptionKey> {
        (self.id() == kek_id).then(|| self.as_dyn())
    }

    /// The ids of every key held here, the one that wraps first.
    fn held_ids(&self) -> Vec<String> {
        vec![self.id().to_owned()]
    }
    async fn wrap(&self, key: &[u8], context: &[u8]) -> Result<Vec<u8>, KekError>;
    async fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError>;

    /// A value stored with the installation that only this KEK can open, so that
    /// start-up can tell a wrong key from a right one before touching any data.
    async fn check_value(&self) -> Result<Vec<u8>, KekError> {
        self.wrap(CHECK_PLAINTEXT, CHECK_CONTEXT).await
    }

    async fn verify_check_value(&self, value: &[u8]) -> Result<(), KekError> {
        let opened = self.unwrap(value, CHECK_CONTEXT).await?;
        if opened.as_slice() == CHECK_PLAINTEXT {
            Ok(())
        } else {
            Err(KekError::Unwrap)
        }
    }
}

/// Lets a default method of [`KeyEncryptionKey`] hand out `self` as a trait
/// object. Implemented for every sized key; nothing to implement by hand.
pub trait AsDynKek {
    fn as_dyn(&self) -> &dyn KeyEncryptionKey;
}

impl<T: KeyEncryptionKey> AsDynKek for T {
    fn as_dyn(&self) -> &dyn KeyEncryptionKey {
        self
    }
}

/// The key-encryption keys of an installation during a rotation: the primary,
/// which wraps everything new (and is what [`KeyEncryptionKey::id`] and the
/// check value name), and previous keys that only unwrap what their id is
/// stored beside. With no previous keys it behaves exactly like its primary.
#[derive(Debug)]
pub struct KeyRing {
    primary: std::sync::Arc<dyn KeyEncryptionKey>,
    previous: Vec<std::sync::Arc<dyn KeyEncryptionKey>>,
}

impl KeyRing {
    /// Refuses two keys with the same id (a key listed twice, or the primary
    /// again among the previous ones): a configuration mistake to show, not merge.
    pub fn new(
        primary: std::sync::Arc<dyn KeyEncryptionKey>,
        previous: Vec<std::sync::Arc<dyn KeyEncryptionKey>>,
    ) -> Result<Self, String> {
        let mut seen = primary.held_ids();
        for id in previous.iter().flat_map(|k| k.held_ids()) {
            if seen.contains(&id) {
                return Err(format!("the key-encryption key {id} is configured twice"));
            }
            seen.push(id);
        }
        Ok(Self { primary, previous })
    }

    pub fn primary(&self) -> &dyn KeyEncryptionKey {
        self.primary.as_ref()
    }

    pub fn previous(&self) -> impl Iterator<Item = &dyn KeyEncryptionKey> {
        self.previous.iter().map(|k| k.as_ref())
    }
}

#[async_trait::async_trait]
impl KeyEncryptionKey for KeyRing {
    fn id(&self) -> &str {
        self.primary.id()
    }

    async fn wrap(&self, key: &[u8], context: &[u8]) -> Result<Vec<u8>, KekError> {
        self.primary.wrap(key, context).await
    }

    async fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError> {
        self.primary.unwrap(wrapped, context).await
    }

    async fn check_value(&self) -> Result<Vec<u8>, KekError> {
        self.primary.check_value().await
    }

    async fn verify_check_value(&self, value: &[u8]) -> Result<(), KekError> {
        self.primary.verify_check_value(value).await
    }

    fn key_with_id(&self, kek_id: &str) -> Option<&dyn KeyEncryptionKey> {
        // A previous key may itself be a ring (an old configuration wrapped in a new one).
        std::iter::once(&self.primary)
            .chain(&self.previous)
            .find_map(|k| k.key_with_id(kek_id))
    }

    fn held_ids(&self) -> Vec<String> {
        std::iter::once(&self.primary)
            .chain(&self.previous)
            .flat_map(|k| k.held_ids())
            .collect()
    }
}

/// A 256-bit key-encryption key read from a file (development, or a secret
/// mounted by the orchestrator). Wraps with AES-256-GCM and a random nonce.
pub struct LocalKek {
    id: String,
    key: Zeroizing<[u8; 32]>,
    path: PathBuf,
}

impl std::fmt::Debug for LocalKek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKek")
            .field("id", &self.id)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LocalKek {
    /// Creates a new random key file (mode 0600). Refuses to overwrite one.
    pub fn create(path: &Path) -> Result<Self, KekError> {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        let text = Zeroizing::new(format!(
            "{FILE_PREFIX}{}\n",
            base64::engine::general_purpose::STANDARD.encode(key.as_ref())
        ));
        let create_err = |e: std::io::Error| KekError::Create {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(create_err)?;
        file.write_all(text.as_bytes()).map_err(create_err)?;
        file.sync_all().map_err(create_err)?;
        Ok(Self::from_key(key, path))
    }

    pub fn load(path: &Path) -> Result<Self, KekError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => Zeroizing::new(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KekError::Missing {
                    path: path.to_owned(),
                })
            }
            Err(e) => {
                return Err(KekError::Unreadable {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })
            }
        };
        let bad = || KekError::BadFormat {
            path: path.to_owned(),
        };
        let encoded = text.trim_end().strip_prefix(FILE_PREFIX).ok_or_else(bad)?;
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| bad())?,
        );
        let mut key = Zeroizing::new([0u8; 32]);
        if decoded.len() != 32 {
            return Err(bad());
        }
        key.copy_from_slice(&decoded);
        Ok(Self::from_key(key, path))
    }

    fn from_key(key: Zeroizing<[u8; 32]>, path: &Path) -> Self {
        // The id is a fingerprint: it tells keys apart without revealing them.
        let digest = Sha256::new_with_prefix(b"shengshi kek id v1")
            .chain_update(key.as_ref())
            .finalize();
        let id = format!("local:{}", hex::encode(&digest[..8]));
        Self {
            id,
            key,
            path: path.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait::async_trait]
impl KeyEncryptionKey for LocalKek {
    fn id(&self) -> &str {
        &self.id
    }

    async fn wrap(&self, key: &[u8], context: &[u8]) -> Result<Vec<u8>, KekError> {
        let mut nonce = [0u8; Algorithm::NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let body = Algorithm::Aes256Gcm
            .seal(self.key.as_ref(), &nonce, key, context)
            .ok_or(KekError::Unwrap)?;
        Ok([nonce.as_slice(), &body].concat())
    }

    async fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError> {
        if wrapped.len() < Algorithm::NONCE_LEN {
            return Err(KekError::Unwrap);
        }
        let (nonce, body) = wrapped.split_at(Algorithm::NONCE_LEN);
        Algorithm::Aes256Gcm
            .open(self.key.as_ref(), nonce, body, context)
            .map(Zeroizing::new)
            .ok_or(KekError::Unwrap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_ring_wraps_with_its_primary_and_unwraps_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let old: std::sync::Arc<dyn KeyEncryptionKey> =
            std::sync::Arc::new(LocalKek::create(&dir.path().join("old")).unwrap());
        let new: std::sync::Arc<dyn KeyEncryptionKey> =
            std::sync::Arc::new(LocalKek::create(&dir.path().join("new")).unwrap());
        let stray = LocalKek::create(&dir.path().join("stray")).unwrap();
        let ring = KeyRing::new(new.clone(), vec![old.clone()]).unwrap();
        assert_eq!(ring.id(), new.id());
        assert_eq!(
            ring.held_ids(),
            vec![new.id().to_owned(), old.id().to_owned()]
        );
        let wrapped = ring.wrap(b"secret", b"ctx").await.unwrap();
        assert_eq!(&*new.unwrap(&wrapped, b"ctx").await.unwrap(), b"secret");
        let by_old = old.wrap(b"older", b"ctx").await.unwrap();
        let key = ring.key_with_id(old.id()).expect("the previous key");
        assert_eq!(&*key.unwrap(&by_old, b"ctx").await.unwrap(), b"older");
        assert!(ring.key_with_id(stray.id()).is_none());
        assert_eq!(
            stray.key_with_id(stray.id()).map(|k| k.id().to_owned()),
            Some(stray.id().to_owned())
        );
        assert!(KeyRing::new(new.clone(), vec![old.clone(), new.clone()]).is_err());
    }

    #[tokio::test]
    async fn a_created_key_file_loads_back_with_the_same_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        let created = LocalKek::create(&path).unwrap();
        let loaded = LocalKek::load(&path).unwrap();
        assert_eq!(created.id(), loaded.id());
        let check = created.check_value().await.unwrap();
        loaded.verify_check_value(&check).await.unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode, 0o600,
                "the key file must be readable by its owner only"
            );
        }
        assert!(
            matches!(LocalKek::create(&path), Err(KekError::Create { .. })),
            "never overwrite a key"
        );
    }

    #[tokio::test]
    async fn a_wrong_key_fails_the_check_value() {
        let dir = tempfile::tempdir().unwrap();
        let right = LocalKek::create(&dir.path().join("a")).unwrap();
        let wrong = LocalKek::create(&dir.path().join("b")).unwrap();
        let check = right.check_value().await.unwrap();
        assert_eq!(
            wrong.verify_check_value(&check).await.unwrap_err(),
            KekError::Unwrap
        );
    }

    #[test]
    fn missing_and_malformed_files_get_specific_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        assert!(matches!(
            LocalKek::load(&path),
            Err(KekError::Missing { .. })
        ));
        std::fs::write(&path, "not a key\n").unwrap();
        assert!(matches!(
            LocalKek::load(&path),
            Err(KekError::BadFormat { .. })
        ));
        std::fs::write(&path, "shengshi-kek-v1 AAAA\n").unwrap();
        assert!(matches!(
            LocalKek::load(&path),
            Err(KekError::BadFormat { .. })
        ));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let dir = tempfile::tempdir().unwrap();
        let kek = LocalKek::create(&dir.path().join("kek")).unwrap();
        let text = format!("{kek:?}");
        assert!(text.contains("local:") && !text.contains("key:"));
    }
}
