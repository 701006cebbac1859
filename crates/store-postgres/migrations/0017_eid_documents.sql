-- Printable identity documents (MOSIP Claim 169), PostgreSQL.

-- Every place in the status list that is taken, by a card or a document: an
-- index is never reused, and a card and a document never share one. Cards
-- and documents claim theirs by triggers, so a taken index is a unique
-- violation whichever table inserts first (and concurrent claims of one index
-- wait on the primary key).
CREATE TABLE eid_status_indices (
    status_index  BIGINT PRIMARY KEY CHECK (status_index >= 0)
);

INSERT INTO eid_status_indices (status_index) SELECT status_index FROM eid_cards;

CREATE FUNCTION eid_claim_status_index() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO eid_status_indices (status_index) VALUES (NEW.status_index);
    RETURN NEW;
END;
$$;

CREATE TRIGGER eid_cards_claim_index AFTER INSERT ON eid_cards
FOR EACH ROW EXECUTE FUNCTION eid_claim_status_index();

CREATE FUNCTION eid_status_indices_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a status index stays taken';
END;
$$;

CREATE TRIGGER eid_status_indices_guard BEFORE UPDATE OR DELETE ON eid_status_indices
FOR EACH ROW EXECUTE FUNCTION eid_status_indices_guard();

-- A document's own place in the status list, so it can be revoked alone.
-- Only what revoking and listing need: never the identity data it carries.
CREATE TABLE eid_documents (
    id            UUID    PRIMARY KEY,
    account_id    UUID    NOT NULL REFERENCES accounts (id),
    card_id       UUID    NOT NULL REFERENCES eid_cards (id),
    status_index  BIGINT  NOT NULL UNIQUE CHECK (status_index >= 0),
    -- The issuer key that signed it (hex kid): it must stay in trust lists
    -- while the document lives.
    kid           TEXT    NOT NULL CHECK (length(kid) = 16),
    -- The field names the resident chose, comma-separated.
    fields        TEXT    NOT NULL CHECK (fields <> ''),
    issued_at     BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    revoked_at    BIGINT,
    CHECK (expires_at > issued_at),
    CHECK (revoked_at IS NULL OR revoked_at >= issued_at)
);

CREATE INDEX eid_documents_by_account ON eid_documents (account_id, issued_at);

CREATE TRIGGER eid_documents_claim_index AFTER INSERT ON eid_documents
FOR EACH ROW EXECUTE FUNCTION eid_claim_status_index();

CREATE FUNCTION eid_documents_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'documents are never deleted: their index must stay taken';
    END IF;
    IF OLD.revoked_at IS NOT NULL
       OR NEW.revoked_at IS NULL
       OR (NEW.id, NEW.account_id, NEW.card_id, NEW.status_index, NEW.kid, NEW.fields,
           NEW.issued_at, NEW.expires_at)
          IS DISTINCT FROM
          (OLD.id, OLD.account_id, OLD.card_id, OLD.status_index, OLD.kid, OLD.fields,
           OLD.issued_at, OLD.expires_at)
    THEN
        RAISE EXCEPTION 'a document is only ever revoked, once';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER eid_documents_guard BEFORE UPDATE OR DELETE ON eid_documents
FOR EACH ROW EXECUTE FUNCTION eid_documents_guard();
