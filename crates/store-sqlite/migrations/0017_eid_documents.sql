-- Printable identity documents (MOSIP Claim 169), SQLite.

-- Every place in the status list that is taken, by a card or a document: an
-- index is never reused, and a card and a document never share one. Cards
-- and documents claim theirs by triggers, so a taken index is a unique
-- violation whichever table inserts first.
CREATE TABLE eid_status_indices (
    status_index  INTEGER PRIMARY KEY CHECK (status_index >= 0)
) STRICT;

INSERT INTO eid_status_indices (status_index) SELECT status_index FROM eid_cards;

CREATE TRIGGER eid_cards_claim_index AFTER INSERT ON eid_cards
BEGIN
    INSERT INTO eid_status_indices (status_index) VALUES (NEW.status_index);
END;

CREATE TRIGGER eid_status_indices_append_only BEFORE UPDATE ON eid_status_indices
BEGIN
    SELECT RAISE(ABORT, 'a status index stays taken');
END;

CREATE TRIGGER eid_status_indices_no_delete BEFORE DELETE ON eid_status_indices
BEGIN
    SELECT RAISE(ABORT, 'a status index stays taken');
END;

-- A document's own place in the status list, so it can be revoked alone.
-- Only what revoking and listing need: never the identity data it carries.
CREATE TABLE eid_documents (
    id            BLOB    PRIMARY KEY,
    account_id    BLOB    NOT NULL REFERENCES accounts (id),
    card_id       BLOB    NOT NULL REFERENCES eid_cards (id),
    status_index  INTEGER NOT NULL UNIQUE CHECK (status_index >= 0),
    -- The issuer key that signed it (hex kid): it must stay in trust lists
    -- while the document lives.
    kid           TEXT    NOT NULL CHECK (length(kid) = 16),
    -- The field names the resident chose, comma-separated.
    fields        TEXT    NOT NULL CHECK (fields <> ''),
    issued_at     INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    CHECK (expires_at > issued_at),
    CHECK (revoked_at IS NULL OR revoked_at >= issued_at)
) STRICT;

CREATE INDEX eid_documents_by_account ON eid_documents (account_id, issued_at);

CREATE TRIGGER eid_documents_claim_index AFTER INSERT ON eid_documents
BEGIN
    INSERT INTO eid_status_indices (status_index) VALUES (NEW.status_index);
END;

-- Revocation is final, and nothing but revocation ever changes.
CREATE TRIGGER eid_documents_only_revoke BEFORE UPDATE ON eid_documents
WHEN OLD.revoked_at IS NOT NULL
  OR NEW.revoked_at IS NULL
  OR NEW.id IS NOT OLD.id
  OR NEW.account_id IS NOT OLD.account_id
  OR NEW.card_id IS NOT OLD.card_id
  OR NEW.status_index IS NOT OLD.status_index
  OR NEW.kid IS NOT OLD.kid
  OR NEW.fields IS NOT OLD.fields
  OR NEW.issued_at IS NOT OLD.issued_at
  OR NEW.expires_at IS NOT OLD.expires_at
BEGIN
    SELECT RAISE(ABORT, 'a document is only ever revoked, once');
END;

CREATE TRIGGER eid_documents_no_delete BEFORE DELETE ON eid_documents
BEGIN
    SELECT RAISE(ABORT, 'documents are never deleted: their index must stay taken');
END;
