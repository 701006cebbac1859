-- Mandates (亲友代办), SQLite. A resident (grantor) authorises another (grantee)
-- to act for them, for named services, for a bounded time, revocably.
-- Expiry is never stored: it is derived from valid_until and the clock.

CREATE TABLE mandates (
    id            BLOB    PRIMARY KEY,
    grantor       BLOB    NOT NULL REFERENCES accounts (id),
    grantee       BLOB    NOT NULL REFERENCES accounts (id),
    relationship  TEXT    NOT NULL CHECK (relationship IN
                      ('spouse', 'parent', 'child', 'sibling', 'guardian', 'other_relative')),
    services      TEXT    NOT NULL,  -- JSON array of service codes
    valid_from    INTEGER NOT NULL,
    valid_until   INTEGER NOT NULL,
    revoked_at    INTEGER,
    created_at    INTEGER NOT NULL,
    CHECK (grantor <> grantee),
    CHECK (valid_until > valid_from)
) STRICT;

CREATE INDEX mandates_by_grantor ON mandates (grantor);
CREATE INDEX mandates_by_grantee ON mandates (grantee);

-- A mandate changes once: from not revoked to revoked. Nothing else is updated.
CREATE TRIGGER mandates_only_revoke BEFORE UPDATE ON mandates
WHEN OLD.revoked_at IS NOT NULL
  OR NEW.revoked_at IS NULL
  OR NEW.id IS NOT OLD.id
  OR NEW.grantor IS NOT OLD.grantor
  OR NEW.grantee IS NOT OLD.grantee
  OR NEW.relationship IS NOT OLD.relationship
  OR NEW.services IS NOT OLD.services
  OR NEW.valid_from IS NOT OLD.valid_from
  OR NEW.valid_until IS NOT OLD.valid_until
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'a mandate can only be revoked, once');
END;

-- Every action taken under a mandate; the grantor reads them all.
CREATE TABLE mandate_actions (
    id          BLOB    PRIMARY KEY,
    mandate_id  BLOB    NOT NULL REFERENCES mandates (id),
    actor       BLOB    NOT NULL REFERENCES accounts (id),
    service     TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    at          INTEGER NOT NULL
) STRICT;

CREATE INDEX mandate_actions_by_mandate ON mandate_actions (mandate_id, at);

-- The record of actions is append-only.
CREATE TRIGGER mandate_actions_no_update BEFORE UPDATE ON mandate_actions
BEGIN
    SELECT RAISE(ABORT, 'mandate_actions is append-only');
END;
CREATE TRIGGER mandate_actions_no_delete BEFORE DELETE ON mandate_actions
BEGIN
    SELECT RAISE(ABORT, 'mandate_actions is append-only');
END;
