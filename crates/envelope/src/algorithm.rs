use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};

/// SM4 in Galois/Counter Mode with a 96-bit nonce (RFC 8998's SM4_GCM).
type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

/// An authenticated cipher for personal data. The byte tag is written into every
/// ciphertext; never reuse a tag for a different algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// AES-256-GCM, 96-bit random nonce, 128-bit tag. The default.
    Aes256Gcm,
    /// SM4-GCM (GB/T 32907 block cipher, RFC 8998 mode), 96-bit nonce, 128-bit tag.
    Sm4Gcm,
}

impl Algorithm {
    pub const NONCE_LEN: usize = 12;

    pub fn tag(self) -> u8 {
        match self {
            Self::Aes256Gcm => 1,
            Self::Sm4Gcm => 2,
        }
    }

    pub fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::Aes256Gcm),
            2 => Some(Self::Sm4Gcm),
            _ => None,
        }
    }

    /// The name used in configuration and in the database.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes256Gcm => "aes-256-gcm",
            Self::Sm4Gcm => "sm4-gcm",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "aes-256-gcm" => Some(Self::Aes256Gcm),
            "sm4-gcm" => Some(Self::Sm4Gcm),
            _ => None,
        }
    }

    pub fn key_len(self) -> usize {
        match self {
            Self::Aes256Gcm => 32,
            Self::Sm4Gcm => 16,
        }
    }

    /// Encrypts; `None` only if the key has the wrong length (a programming error
    /// the callers rule out by construction).
    pub(crate) fn seal(
        self,
        key: &[u8],
        nonce: &[u8; 12],
        plaintext: &[u8],
        aad: &[u8],
    ) -> Option<Vec<u8>> {
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        let nonce = Nonce::from_slice(nonce);
        match self {
            Self::Aes256Gcm => Aes256Gcm::new_from_slice(key)
                .ok()?
                .encrypt(nonce, payload)
                .ok(),
            Self::Sm4Gcm => Sm4Gcm::new_from_slice(key)
                .ok()?
                .encrypt(nonce, payload)
                .ok(),
        }
    }

    /// Decrypts and authenticates; `None` when the tag does not verify.
    pub(crate) fn open(
        self,
        key: &[u8],
        nonce: &[u8],
        ciphertext: &[u8],
        aad: &[u8],
    ) -> Option<Vec<u8>> {
        if nonce.len() != Self::NONCE_LEN {
            return None;
        }
        let payload = Payload {
            msg: ciphertext,
            aad,
        };
        let nonce = Nonce::from_slice(nonce);
        match self {
            Self::Aes256Gcm => Aes256Gcm::new_from_slice(key)
                .ok()?
                .decrypt(nonce, payload)
                .ok(),
            Self::Sm4Gcm => Sm4Gcm::new_from_slice(key)
                .ok()?
                .decrypt(nonce, payload)
                .ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// RFC 8998, Appendix A.1 (SM4-GCM test vector).
    #[test]
    fn sm4_gcm_matches_rfc_8998() {
        let key = unhex("0123456789ABCDEFFEDCBA9876543210");
        let nonce: [u8; 12] = unhex("00001234567800000000ABCD").try_into().unwrap();
        let aad = unhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        let plaintext = unhex(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
             EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        );
        let expected = unhex(
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
             D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D\
             83DE3541E4C2B58177E065A9BF7B62EC",
        );
        let sealed = Algorithm::Sm4Gcm
            .seal(&key, &nonce, &plaintext, &aad)
            .unwrap();
        assert_eq!(hex::encode_upper(&sealed), hex::encode_upper(&expected));
        let opened = Algorithm::Sm4Gcm.open(&key, &nonce, &sealed, &aad).unwrap();
        assert_eq!(opened, plaintext);
    }

    /// NIST GCM test vector (gcmEncryptExtIV256, Count 0 with a 128-bit plaintext).
    #[test]
    fn aes_256_gcm_matches_nist_vector() {
        let key = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        let nonce: [u8; 12] = unhex("cafebabefacedbaddecaf888").try_into().unwrap();
        let plaintext = unhex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        );
        let expected = unhex(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad\
             b094dac5d93471bdec1a502270e3cc6c",
        );
        let sealed = Algorithm::Aes256Gcm
            .seal(&key, &nonce, &plaintext, &[])
            .unwrap();
        assert_eq!(hex::encode(&sealed), hex::encode(&expected));
    }

    #[test]
    fn tampering_is_detected() {
        for alg in [Algorithm::Aes256Gcm, Algorithm::Sm4Gcm] {
            let key = vec![7u8; alg.key_len()];
            let nonce = [1u8; 12];
            let mut sealed = alg.seal(&key, &nonce, b"hello", b"ctx").unwrap();
            assert!(
                alg.open(&key, &nonce, &sealed, b"other").is_none(),
                "{alg:?}: aad is bound"
            );
            sealed[0] ^= 1;
            assert!(
                alg.open(&key, &nonce, &sealed, b"ctx").is_none(),
                "{alg:?}: tamper detected"
            );
        }
    }

    #[test]
    fn names_and_tags_round_trip() {
        for alg in [Algorithm::Aes256Gcm, Algorithm::Sm4Gcm] {
            assert_eq!(Algorithm::from_tag(alg.tag()), Some(alg));
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        assert_eq!(Algorithm::from_tag(0), None);
        assert_eq!(Algorithm::from_name("des"), None);
    }
}
