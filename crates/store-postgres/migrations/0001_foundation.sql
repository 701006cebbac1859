-- Foundation schema (PostgreSQL). Never edit this file once landed; add a new migration.
-- Instants are stored as BIGINT milliseconds since the Unix epoch (UTC), like the
-- SQLite schema, so export and import move them without conversion.

CREATE TABLE installation (
    singleton           SMALLINT PRIMARY KEY CHECK (singleton = 1),
    id                  UUID     NOT NULL,
    created_at          BIGINT   NOT NULL,
    kek_id              TEXT     NOT NULL,
    kek_check           BYTEA    NOT NULL,
    envelope_algorithm  TEXT     NOT NULL,
    demo                BOOLEAN  NOT NULL
);

CREATE TABLE security_events (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id      UUID   NOT NULL UNIQUE,
    at      BIGINT NOT NULL,
    kind    TEXT   NOT NULL,
    actor   JSONB  NOT NULL,
    event   JSONB  NOT NULL
);

CREATE INDEX security_events_at ON security_events (at);

-- The security event log is append-only.
CREATE FUNCTION security_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'security_events is append-only';
END;
$$;
CREATE TRIGGER security_events_no_update BEFORE UPDATE OR DELETE ON security_events
    FOR EACH ROW EXECUTE FUNCTION security_events_append_only();
CREATE TRIGGER security_events_no_truncate BEFORE TRUNCATE ON security_events
    FOR EACH STATEMENT EXECUTE FUNCTION security_events_append_only();

-- One data key per subject, wrapped by the key-encryption key.
CREATE TABLE data_keys (
    subject_id   UUID   PRIMARY KEY,
    key_id       UUID   NOT NULL UNIQUE,
    algorithm    TEXT   NOT NULL,
    kek_id       TEXT   NOT NULL,
    wrapped_key  BYTEA,
    created_at   BIGINT NOT NULL,
    destroyed_at BIGINT,
    CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
);

CREATE FUNCTION data_keys_stay_destroyed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.wrapped_key IS NULL THEN
        RAISE EXCEPTION 'a destroyed data key cannot be restored';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER data_keys_stay_destroyed BEFORE UPDATE ON data_keys
    FOR EACH ROW EXECUTE FUNCTION data_keys_stay_destroyed();
