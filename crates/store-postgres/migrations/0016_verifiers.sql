-- Verifier organisations and the online verification service, PostgreSQL.

-- Organisations that verify e-ID codes online (hotels, stations, banks…).
-- The category never changes (register another organisation instead), and
-- rows are never deleted: access-log entries name them.
CREATE TABLE verifiers (
    id          UUID    PRIMARY KEY,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category    TEXT    NOT NULL
                CHECK (category IN ('hotel', 'railway', 'airport', 'bank', 'government', 'retail')),
    -- Comma-separated purpose names, each allowed for the category.
    purposes    TEXT    NOT NULL CHECK (length(purposes) > 0),
    status      TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at  BIGINT  NOT NULL,
    changed_at  BIGINT  NOT NULL
);

CREATE FUNCTION verifiers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'verifiers are never deleted: access-log entries name them';
    END IF;
    IF (NEW.id, NEW.category, NEW.created_at) IS DISTINCT FROM (OLD.id, OLD.category, OLD.created_at) THEN
        RAISE EXCEPTION 'a verifier keeps its id, category and creation time';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER verifiers_guard BEFORE UPDATE OR DELETE ON verifiers
FOR EACH ROW EXECUTE FUNCTION verifiers_guard();

-- API keys, stored only as HMAC-SHA256 under the platform secret
-- `verifier-key-mac-key`. A key is revoked once, by its replacement, and
-- never comes back.
CREATE TABLE verifier_keys (
    id           UUID    PRIMARY KEY,
    verifier_id  UUID    NOT NULL REFERENCES verifiers (id),
    key_mac      BYTEA   NOT NULL UNIQUE CHECK (length(key_mac) = 32),
    created_at   BIGINT  NOT NULL,
    revoked_at   BIGINT
);

CREATE INDEX verifier_keys_live ON verifier_keys (verifier_id) WHERE revoked_at IS NULL;

CREATE FUNCTION verifier_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'verifier keys are never deleted';
    END IF;
    IF OLD.revoked_at IS NOT NULL
       OR NEW.revoked_at IS NULL
       OR (NEW.id, NEW.verifier_id, NEW.key_mac, NEW.created_at)
          IS DISTINCT FROM (OLD.id, OLD.verifier_id, OLD.key_mac, OLD.created_at)
    THEN
        RAISE EXCEPTION 'a verifier key is only ever revoked, once';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER verifier_keys_guard BEFORE UPDATE OR DELETE ON verifier_keys
FOR EACH ROW EXECUTE FUNCTION verifier_keys_guard();

-- One row per presentation code accepted online: the first verifier to
-- claim a code's id (cti, hex) owns it. Rows are never rewritten.
CREATE TABLE eid_verifications (
    cti          TEXT    PRIMARY KEY CHECK (length(cti) = 32),
    verifier_id  UUID    NOT NULL REFERENCES verifiers (id),
    card_id      UUID    NOT NULL REFERENCES eid_cards (id),
    subject_id   UUID    NOT NULL,
    verified_at  BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);

CREATE FUNCTION eid_verifications_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a verification is never rewritten or deleted: the code belongs to its first verifier';
END;
$$;
CREATE TRIGGER eid_verifications_guard BEFORE UPDATE OR DELETE ON eid_verifications
FOR EACH ROW EXECUTE FUNCTION eid_verifications_guard();
