//! Electronic resident ID card: credential formats and their verification.
//!
//! This crate has no server dependencies (no tokio, axum or sqlx) so that any
//! verifier — a hotel desk, a station gate, a third party — can use it offline.
//! The formats are specified in docs/eid-format.md:
//! - presentation codes: `SS1:` + base45(COSE_Sign1 over a CWT), minted with
//!   [`mint_presentation`] and checked with [`verify_presentation`];
//! - holder-bound codes: `SS2:` + base45(a device COSE_Sign1 carrying a holder
//!   credential from [`issue_holder_credential`] and the disclosed items),
//!   signed on the phone and checked by the same [`verify_presentation`];
//! - the trust list: issuer keys as a JWK Set signed by an offline trust root
//!   ([`sign_trust_list`], [`open_signed_trust_list`]);
//! - the printable identity document: MOSIP Claim 169 (no prefix, base45 of
//!   zlib of a COSE_Sign1 over a CWT with claim 169), [`mint_document`] and
//!   [`verify_document`];
//! - status: an IETF Token Status List in CWT form ([`sign_status_list`],
//!   [`open_status_list`]).

pub mod base45;
#[cfg(feature = "bench")]
pub mod bench;
mod cbor;
mod claim169;
mod claims;
mod compress;
mod holder;
mod keys;
mod presentation;
#[cfg(feature = "qr")]
mod qr;
mod status;
#[doc(hidden)]
pub mod testing;
mod trust;

pub use claim169::{
    is_compact_date, mint_document, verify_document, verify_document_with_key, DocumentError,
    DocumentRequest, DocumentVerifyError, Gender, Identity, PhotoFormat, VerifiedDocument,
    CLAIM_IDENTITY, DOCUMENT_VERSION, MAX_DOCUMENT_LIFETIME_SECONDS, MAX_DOCUMENT_TEXT_CHARS,
};
pub use claims::{AttributeKey, Attributes, Disclosed, Purpose, Sex, StatusRef, VerifierCategory};
pub use holder::{
    holder_payload, issue_holder_credential, mint_holder_presentation, verify_holder_presentation,
    CredentialCache, HolderCredentialRequest, HolderPresentationRequest, IssuedHolderCredential,
    CLAIM_CNF, CLAIM_HOLDER_DIGESTS, DEVICE_PROTECTED_HEADER, HOLDER_PREFIX,
    MAX_CREDENTIAL_LIFETIME_SECONDS, SALT_BYTES,
};
pub use keys::{
    Algorithm, KeyError, KeyId, PublicKey, SignError, SignatureError, Signer, SoftwareKey,
    COSE_ALG_EDDSA, COSE_ALG_ES256, COSE_ALG_SM2_SM3, SM2_DEFAULT_USER_ID,
};
pub use presentation::{
    decode_text, encode_text, mint_presentation, verify_presentation, HolderBinding, MintError,
    PresentationMode, PresentationRequest, StatusUnknownReason, VerifiedPresentation, VerifyError,
    VerifyPolicy, CLAIM_SHENGSHI, MAX_INFLATED_BYTES, MAX_LIFETIME_SECONDS, MAX_TEXT_CHARS, PREFIX,
};
#[cfg(feature = "qr")]
pub use qr::{qr_version, QrError};
pub use status::{
    open_status_list, sign_status_list, CardStatus, StatusList, StatusListError, StatusListToken,
    STATUS_LIST_TYP,
};
pub use trust::{
    open_signed_trust_list, sign_trust_list, TrustList, TrustListError, TrustedKey,
    TRUST_LIST_CONTENT_TYPE,
};

/// The status list draft this crate implements.
pub const STATUS_LIST_DRAFT: &str = "draft-ietf-oauth-status-list-21";
