-- Mandates (亲友代办), PostgreSQL. A resident (grantor) authorises another (grantee)
-- to act for them, for named services, for a bounded time, revocably.
-- Expiry is never stored: it is derived from valid_until and the clock.

CREATE TABLE mandates (
    id            UUID    PRIMARY KEY,
    grantor       UUID    NOT NULL REFERENCES accounts (id),
    grantee       UUID    NOT NULL REFERENCES accounts (id),
    relationship  TEXT    NOT NULL CHECK (relationship IN
                      ('spouse', 'parent', 'child', 'sibling', 'guardian', 'other_relative')),
    services      TEXT    NOT NULL,  -- JSON array of service codes
    valid_from    BIGINT  NOT NULL,
    valid_until   BIGINT  NOT NULL,
    revoked_at    BIGINT,
    created_at    BIGINT  NOT NULL,
    CHECK (grantor <> grantee),
    CHECK (valid_until > valid_from)
);

CREATE INDEX mandates_by_grantor ON mandates (grantor);
CREATE INDEX mandates_by_grantee ON mandates (grantee);

-- A mandate changes once: from not revoked to revoked. Nothing else is updated.
CREATE FUNCTION mandates_only_revoke() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL
       OR NEW.revoked_at IS NULL
       OR (NEW.id, NEW.grantor, NEW.grantee, NEW.relationship, NEW.services,
           NEW.valid_from, NEW.valid_until, NEW.created_at)
          IS DISTINCT FROM
          (OLD.id, OLD.grantor, OLD.grantee, OLD.relationship, OLD.services,
           OLD.valid_from, OLD.valid_until, OLD.created_at) THEN
        RAISE EXCEPTION 'a mandate can only be revoked, once';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER mandates_only_revoke BEFORE UPDATE ON mandates
    FOR EACH ROW EXECUTE FUNCTION mandates_only_revoke();

-- Every action taken under a mandate; the grantor reads them all.
CREATE TABLE mandate_actions (
    id          UUID    PRIMARY KEY,
    mandate_id  UUID    NOT NULL REFERENCES mandates (id),
    actor       UUID    NOT NULL REFERENCES accounts (id),
    service     TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    at          BIGINT  NOT NULL
);

CREATE INDEX mandate_actions_by_mandate ON mandate_actions (mandate_id, at);

-- The record of actions is append-only.
CREATE FUNCTION mandate_actions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'mandate_actions is append-only';
END;
$$;
CREATE TRIGGER mandate_actions_no_update BEFORE UPDATE OR DELETE ON mandate_actions
    FOR EACH ROW EXECUTE FUNCTION mandate_actions_append_only();
CREATE TRIGGER mandate_actions_no_truncate BEFORE TRUNCATE ON mandate_actions
    FOR EACH STATEMENT EXECUTE FUNCTION mandate_actions_append_only();
