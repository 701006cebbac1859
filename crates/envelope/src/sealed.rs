use crate::{Algorithm, KekError, KeyEncryptionKey};
use rand::RngCore;
use zeroize::Zeroizing;

const FORMAT_V1: u8 = 1;
const HEADER_LEN: usize = 1 + 1 + 16 + Algorithm::NONCE_LEN;

/// Names the data key a ciphertext was sealed with (the key's own id, a UUID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyRef(pub [u8; 16]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("the ciphertext is malformed")]
    Malformed,
    #[error("the ciphertext uses an unknown format version {0}")]
    UnknownFormat(u8),
    #[error("the ciphertext names an unknown algorithm tag {0}")]
    UnknownAlgorithm(u8),
    #[error("the ciphertext was sealed with a different data key")]
    WrongKey,
    #[error("the ciphertext failed authentication (tampered, or bound to another context)")]
    Authentication,
    #[error("the data key is malformed")]
    BadKey,
    #[error(transparent)]
    Kek(#[from] KekError),
}

/// One subject's data key in memory. Zeroed on drop; never printed.
pub struct DataKey {
    id: KeyRef,
    algorithm: Algorithm,
    bytes: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .field("bytes", &"[redacted]")
            .finish()
    }
}

impl DataKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate(id: KeyRef, algorithm: Algorithm) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; algorithm.key_len()]);
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self {
            id,
            algorithm,
            bytes,
        }
    }

    pub fn id(&self) -> KeyRef {
        self.id
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Seals `plaintext`. `context` binds the ciphertext to where it belongs (for
    /// example "resident.name"), so a ciphertext moved to another field fails.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Sealed {
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.push(FORMAT_V1);
        header.push(self.algorithm.tag());
        header.extend_from_slice(&self.id.0);
        let mut nonce = [0u8; Algorithm::NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        header.extend_from_slice(&nonce);
        let aad = [header.as_slice(), context].concat();
        let body = self
            .algorithm
            .seal(&self.bytes, &nonce, plaintext, &aad)
            .unwrap_or_default(); // unreachable: key length is fixed by `generate`/`unwrap`
        header.extend_from_slice(&body);
        Sealed(header)
    }

    pub fn open(
        &self,
        sealed: &Sealed,
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let (algorithm, key, nonce, body) = sealed.parts()?;
        if key != self.id {
            return Err(EnvelopeError::WrongKey);
        }
        if algorithm != self.algorithm {
            return Err(EnvelopeError::Authentication);
        }
        let aad = [&sealed.0[..HEADER_LEN], context].concat();
        algorithm
            .open(&self.bytes, nonce, body, &aad)
            .map(Zeroizing::new)
            .ok_or(EnvelopeError::Authentication)
    }

    /// Wraps this key with the key-encryption key for storage.
    pub async fn wrap(&self, kek: &dyn KeyEncryptionKey) -> Result<Vec<u8>, EnvelopeError> {
        Ok(kek.wrap(&self.bytes, &self.wrap_context()).await?)
    }

    /// Restores a stored key. Fails if the KEK is wrong or the stored bytes were altered.
    pub async fn unwrap(
        id: KeyRef,
        algorithm: Algorithm,
        wrapped: &[u8],
        kek: &dyn KeyEncryptionKey,
    ) -> Result<Self, EnvelopeError> {
        let context = wrap_context(id, algorithm);
        let bytes = kek.unwrap(wrapped, &context).await?;
        if bytes.len() != algorithm.key_len() {
            return Err(EnvelopeError::BadKey);
        }
        Ok(Self {
            id,
            algorithm,
            bytes,
        })
    }

    fn wrap_context(&self) -> Vec<u8> {
        wrap_context(self.id, self.algorithm)
    }
}

fn wrap_context(id: KeyRef, algorithm: Algorithm) -> Vec<u8> {
    let mut context = b"shengshi data key v1|".to_vec();
    context.extend_from_slice(algorithm.name().as_bytes());
    context.push(b'|');
    context.extend_from_slice(&id.0);
    context
}

/// A parsed ciphertext: algorithm, key, nonce, and the AEAD output.
type Parts<'a> = (Algorithm, KeyRef, &'a [u8], &'a [u8]);

/// A ciphertext: format version, algorithm, key id, nonce, then the AEAD output.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(Vec<u8>);

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

impl Sealed {
    /// Parses stored bytes, checking the header but not the contents.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, EnvelopeError> {
        let sealed = Self(bytes);
        sealed.parts()?;
        Ok(sealed)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn key_ref(&self) -> Result<KeyRef, EnvelopeError> {
        self.parts().map(|(_, key, _, _)| key)
    }

    pub fn algorithm(&self) -> Result<Algorithm, EnvelopeError> {
        self.parts().map(|(alg, _, _, _)| alg)
    }

    fn parts(&self) -> Result<Parts<'_>, EnvelopeError> {
        let b = &self.0;
        // 16 is the GCM tag: an empty plaintext still carries one.
        if b.len() < HEADER_LEN + 16 {
            return Err(EnvelopeError::Malformed);
        }
        if b[0] != FORMAT_V1 {
            return Err(EnvelopeError::UnknownFormat(b[0]));
        }
        let algorithm = Algorithm::from_tag(b[1]).ok_or(EnvelopeError::UnknownAlgorithm(b[1]))?;
        let mut key = [0u8; 16];
        key.copy_from_slice(&b[2..18]);
        Ok((algorithm, KeyRef(key), &b[18..HEADER_LEN], &b[HEADER_LEN..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalKek;

    fn key(alg: Algorithm) -> DataKey {
        DataKey::generate(KeyRef([9; 16]), alg)
    }

    #[test]
    fn seal_then_open_round_trips_for_every_algorithm() {
        for alg in [Algorithm::Aes256Gcm, Algorithm::Sm4Gcm] {
            let k = key(alg);
            let sealed = k.seal("张三".as_bytes(), b"resident.name");
            assert_eq!(sealed.algorithm().unwrap(), alg);
            assert_eq!(sealed.key_ref().unwrap(), KeyRef([9; 16]));
            let parsed = Sealed::from_bytes(sealed.as_bytes().to_vec()).unwrap();
            assert_eq!(
                &*k.open(&parsed, b"resident.name").unwrap(),
                "张三".as_bytes()
            );
        }
    }

    #[test]
    fn a_ciphertext_moved_to_another_field_does_not_open() {
        let k = key(Algorithm::Aes256Gcm);
        let sealed = k.seal(b"13800138000", b"resident.phone");
        assert_eq!(
            k.open(&sealed, b"resident.name").unwrap_err(),
            EnvelopeError::Authentication
        );
    }

    #[test]
    fn another_subjects_key_is_refused_by_name() {
        let sealed = key(Algorithm::Aes256Gcm).seal(b"x", b"c");
        let other = DataKey::generate(KeyRef([1; 16]), Algorithm::Aes256Gcm);
        assert_eq!(
            other.open(&sealed, b"c").unwrap_err(),
            EnvelopeError::WrongKey
        );
    }

    #[test]
    fn header_tampering_is_refused() {
        let k = key(Algorithm::Aes256Gcm);
        let sealed = k.seal(b"secret", b"c");
        let mut bytes = sealed.into_bytes();
        bytes[1] = 2; // claim SM4
        let tampered = Sealed::from_bytes(bytes.clone()).unwrap();
        assert!(k.open(&tampered, b"c").is_err());
        bytes[1] = 99;
        assert_eq!(
            Sealed::from_bytes(bytes.clone()).unwrap_err(),
            EnvelopeError::UnknownAlgorithm(99)
        );
        bytes[0] = 7;
        assert_eq!(
            Sealed::from_bytes(bytes).unwrap_err(),
            EnvelopeError::UnknownFormat(7)
        );
        assert_eq!(
            Sealed::from_bytes(vec![1, 1, 0]).unwrap_err(),
            EnvelopeError::Malformed
        );
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let text = format!("{:?}", key(Algorithm::Aes256Gcm));
        assert!(text.contains("redacted"));
    }

    #[tokio::test]
    async fn wrapped_keys_restore_only_with_the_same_kek() {
        let dir = tempfile::tempdir().unwrap();
        let kek = LocalKek::create(&dir.path().join("kek")).unwrap();
        let other = LocalKek::create(&dir.path().join("other")).unwrap();
        let k = key(Algorithm::Sm4Gcm);
        let sealed = k.seal(b"record", b"c");
        let wrapped = k.wrap(&kek).await.unwrap();
        let restored = DataKey::unwrap(k.id(), k.algorithm(), &wrapped, &kek)
            .await
            .unwrap();
        assert_eq!(&*restored.open(&sealed, b"c").unwrap(), b"record");
        assert!(DataKey::unwrap(k.id(), k.algorithm(), &wrapped, &other)
            .await
            .is_err());
        // A wrapped key is bound to its id: it cannot be replayed as another subject's key.
        assert!(
            DataKey::unwrap(KeyRef([2; 16]), k.algorithm(), &wrapped, &kek)
                .await
                .is_err()
        );
    }
}
