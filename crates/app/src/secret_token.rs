//! Random secrets that browsers hold (session cookies, passkey ceremony
//! tokens). The server stores only their SHA-256, so a copy of the table
//! cannot be replayed. Each use gets its own type from [`secret_token!`], so
//! one kind of token can never be passed where another is expected.

/// Declares a token type: 32 random bytes as unpadded base64url, redacted in
/// `Debug`, hashed with SHA-256 for storage.
macro_rules! secret_token {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl $name {
            pub(crate) fn generate() -> Self {
                use base64::Engine;
                use rand::RngCore;
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
            }

            /// The token as the browser sent it (a cookie value or a JSON field).
            pub fn from_client(value: &str) -> Self {
                Self(value.to_owned())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// What the database keeps instead of the token.
            pub(crate) fn hash(&self) -> Vec<u8> {
                use sha2::Digest;
                sha2::Sha256::digest(self.0.as_bytes()).to_vec()
            }
        }
    };
}

pub(crate) use secret_token;
