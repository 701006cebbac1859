/// Seals short-lived tokens handed to browsers (for example the proof that a
/// phone was verified during registration): AES-256-GCM under a platform
/// secret, random nonce, the token's purpose bound as associated data. Nothing
/// about the token needs storing, and a client can neither read nor forge one.
pub struct TokenKey(zeroize::Zeroizing<[u8; 32]>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

impl TokenKey {
    /// `None` unless the secret is exactly 32 bytes.
    pub fn new(secret: &[u8]) -> Option<Self> {
        let bytes: [u8; 32] = secret.try_into().ok()?;
        Some(Self(zeroize::Zeroizing::new(bytes)))
    }

    pub fn seal(&self, plaintext: &[u8], purpose: &[u8]) -> Vec<u8> {
        use rand::RngCore;
        let mut nonce = [0u8; crate::Algorithm::NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let body = crate::Algorithm::Aes256Gcm
            .seal(self.0.as_ref(), &nonce, plaintext, purpose)
            .unwrap_or_default();
        [nonce.as_slice(), &body].concat()
    }

    /// `None` when the token was altered, made for another purpose, or by another key.
    pub fn open(&self, token: &[u8], purpose: &[u8]) -> Option<Vec<u8>> {
        if token.len() < crate::Algorithm::NONCE_LEN {
            return None;
        }
        let (nonce, body) = token.split_at(crate::Algorithm::NONCE_LEN);
        crate::Algorithm::Aes256Gcm.open(self.0.as_ref(), nonce, body, purpose)
    }
}

#[cfg(test)]
mod tests {
    use super::TokenKey;

    #[test]
    fn tokens_open_only_with_the_same_key_and_purpose() {
        let key = TokenKey::new(&[7; 32]).unwrap();
        let token = key.seal(b"payload", b"registration");
        assert_eq!(key.open(&token, b"registration").unwrap(), b"payload");
        assert!(key.open(&token, b"login").is_none());
        assert!(TokenKey::new(&[8; 32])
            .unwrap()
            .open(&token, b"registration")
            .is_none());
        let mut altered = token.clone();
        altered[20] ^= 1;
        assert!(key.open(&altered, b"registration").is_none());
        assert!(key.open(b"short", b"registration").is_none());
        assert!(TokenKey::new(&[0; 31]).is_none());
    }
}
