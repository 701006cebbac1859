//! Printable identity documents (MOSIP Claim 169): what revoking and listing
//! them needs, and never the identity data they carry.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shengshi_domain::{AccountId, CardId, Timestamp};
use uuid::Uuid;

use crate::{CardStatus, CardStatusEntry, StoreError};

/// One document the resident asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDocument {
    pub id: Uuid,
    pub account: AccountId,
    /// The card it was made from: revoking the card revokes it.
    pub card: CardId,
    /// Its own place in the status list, drawn at random like a card's.
    pub status_index: u32,
    /// Hex of the issuer key id that signed it.
    pub kid: String,
    /// The field names the resident chose.
    pub fields: Vec<String>,
    #[serde(with = "shengshi_domain::security::millis")]
    pub issued_at: Timestamp,
    #[serde(with = "shengshi_domain::security::millis")]
    pub expires_at: Timestamp,
    #[serde(default, with = "crate::millis_opt")]
    pub revoked_at: Option<Timestamp>,
}

/// A document with the status of its card, for the resident's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentListing {
    pub document: StoredDocument,
    pub card_status: CardStatus,
}

#[async_trait]
pub trait EidDocumentStore: Send + Sync {
    /// Inserts a document. A status index already taken (by a card or a
    /// document) is a `Conflict` and changes nothing: the caller draws another.
    async fn insert_document(&self, document: &StoredDocument) -> Result<(), StoreError>;
    /// The account's documents, newest first, with their card's status.
    async fn account_documents(
        &self,
        account: AccountId,
    ) -> Result<Vec<DocumentListing>, StoreError>;
    /// Revokes one of the account's documents; `Ok(false)` if the account has
    /// no such document or it is revoked already (nothing changes).
    async fn revoke_document(
        &self,
        account: AccountId,
        document: Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Every document a verifier must not accept: revoked itself, or its card
    /// revoked (`Revoked`) or suspended (`Suspended`).
    async fn document_status_entries(&self) -> Result<Vec<CardStatusEntry>, StoreError>;
    /// The issuer keys (hex kid) that signed a document not yet expired at
    /// `now` and not revoked, with the last such expiry: these keys must stay
    /// in published trust lists until then.
    async fn live_document_keys(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(String, Timestamp)>, StoreError>;
    /// Documents ordered by id, after `after` (exclusive), for export.
    async fn documents(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredDocument>, StoreError>;
    /// Import: documents as they are (their cards first), in one transaction.
    async fn import_documents(&self, documents: &[StoredDocument]) -> Result<(), StoreError>;
}
