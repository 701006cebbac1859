-- Verifier organisations and the online verification service, SQLite.

-- Organisations that verify e-ID codes online (hotels, stations, banks…).
-- The category never changes (register another organisation instead), and
-- rows are never deleted: access-log entries name them.
CREATE TABLE verifiers (
    id          BLOB    PRIMARY KEY,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category    TEXT    NOT NULL
                CHECK (category IN ('hotel', 'railway', 'airport', 'bank', 'government', 'retail')),
    -- Comma-separated purpose names, each allowed for the category.
    purposes    TEXT    NOT NULL CHECK (length(purposes) > 0),
    status      TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at  INTEGER NOT NULL,
    changed_at  INTEGER NOT NULL
) STRICT;

CREATE TRIGGER verifiers_keep_identity BEFORE UPDATE ON verifiers
WHEN NEW.id IS NOT OLD.id
  OR NEW.category IS NOT OLD.category
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'a verifier keeps its id, category and creation time');
END;

CREATE TRIGGER verifiers_no_delete BEFORE DELETE ON verifiers
BEGIN
    SELECT RAISE(ABORT, 'verifiers are never deleted: access-log entries name them');
END;

-- API keys, stored only as HMAC-SHA256 under the platform secret
-- `verifier-key-mac-key`. A key is revoked once, by its replacement, and
-- never comes back.
CREATE TABLE verifier_keys (
    id           BLOB    PRIMARY KEY,
    verifier_id  BLOB    NOT NULL REFERENCES verifiers (id),
    key_mac      BLOB    NOT NULL UNIQUE CHECK (length(key_mac) = 32),
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX verifier_keys_live ON verifier_keys (verifier_id) WHERE revoked_at IS NULL;

CREATE TRIGGER verifier_keys_revocation_is_final BEFORE UPDATE ON verifier_keys
WHEN OLD.revoked_at IS NOT NULL
  OR NEW.revoked_at IS NULL
  OR NEW.id IS NOT OLD.id
  OR NEW.verifier_id IS NOT OLD.verifier_id
  OR NEW.key_mac IS NOT OLD.key_mac
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'a verifier key is only ever revoked, once');
END;

CREATE TRIGGER verifier_keys_no_delete BEFORE DELETE ON verifier_keys
BEGIN
    SELECT RAISE(ABORT, 'verifier keys are never deleted');
END;

-- One row per presentation code accepted online: the first verifier to
-- claim a code's id (cti, hex) owns it. Rows are never rewritten.
CREATE TABLE eid_verifications (
    cti          TEXT    PRIMARY KEY CHECK (length(cti) = 32),
    verifier_id  BLOB    NOT NULL REFERENCES verifiers (id),
    card_id      BLOB    NOT NULL REFERENCES eid_cards (id),
    subject_id   BLOB    NOT NULL,
    verified_at  INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE TRIGGER eid_verifications_no_update BEFORE UPDATE ON eid_verifications
BEGIN
    SELECT RAISE(ABORT, 'a verification is never rewritten: the code belongs to its first verifier');
END;

CREATE TRIGGER eid_verifications_no_delete BEFORE DELETE ON eid_verifications
BEGIN
    SELECT RAISE(ABORT, 'verifications are never deleted');
END;
