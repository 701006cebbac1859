-- Electronic resident ID cards, PostgreSQL.

-- Issuer signing keys. The secret is wrapped by the key-encryption key; the
-- public key reaches verifiers only through a trust list the offline root signed.
CREATE TABLE eid_issuer_keys (
    kid             TEXT    PRIMARY KEY CHECK (length(kid) = 16),
    algorithm       TEXT    NOT NULL CHECK (algorithm IN ('ed25519', 'p256', 'sm2')),
    public_key      BYTEA   NOT NULL,
    wrapped_secret  BYTEA   NOT NULL,
    kek_id          TEXT    NOT NULL,
    not_before      BIGINT  NOT NULL,
    sign_until      BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    CHECK (sign_until > not_before)
);

CREATE FUNCTION eid_issuer_keys_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'issuer keys are never deleted: verifiers may still need them';
END;
$$;
CREATE TRIGGER eid_issuer_keys_no_delete BEFORE DELETE ON eid_issuer_keys
FOR EACH ROW EXECUTE FUNCTION eid_issuer_keys_no_delete();

-- Trust lists exactly as the offline root signed them.
CREATE TABLE eid_trust_lists (
    seq           BIGSERIAL PRIMARY KEY,
    signed        BYTEA   NOT NULL,
    issued_at     BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    published_at  BIGINT  NOT NULL,
    CHECK (expires_at > issued_at)
);

-- Cards. A card's status index is drawn at random (herd privacy) and never
-- reused; revocation is final.
CREATE TABLE eid_cards (
    id                 UUID    PRIMARY KEY,
    account_id         UUID    NOT NULL REFERENCES accounts (id),
    subject_id         UUID    NOT NULL,
    status_index       BIGINT  NOT NULL UNIQUE CHECK (status_index >= 0),
    status             TEXT    NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    reason             TEXT    NOT NULL,
    sealed_attributes  BYTEA   NOT NULL,
    activated_at       BIGINT  NOT NULL,
    changed_at         BIGINT  NOT NULL
);

-- At most one card per account that is not revoked.
CREATE UNIQUE INDEX eid_cards_one_current ON eid_cards (account_id) WHERE status <> 'revoked';
CREATE INDEX eid_cards_not_valid ON eid_cards (status_index) WHERE status <> 'active';

CREATE FUNCTION eid_cards_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'cards are never deleted: their index must stay taken';
    END IF;
    IF OLD.status = 'revoked'
       OR (NEW.id, NEW.account_id, NEW.subject_id, NEW.status_index, NEW.activated_at)
          IS DISTINCT FROM
          (OLD.id, OLD.account_id, OLD.subject_id, OLD.status_index, OLD.activated_at)
    THEN
        RAISE EXCEPTION 'a revoked card stays revoked, and a card keeps its index';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER eid_cards_guard BEFORE UPDATE OR DELETE ON eid_cards
FOR EACH ROW EXECUTE FUNCTION eid_cards_guard();
