-- Foundation schema (SQLite). Never edit this file once landed; add a new migration.
-- Instants are stored as INTEGER milliseconds since the Unix epoch (UTC);
-- ids are 16-byte UUIDs.

CREATE TABLE installation (
    singleton           INTEGER PRIMARY KEY CHECK (singleton = 1),
    id                  BLOB    NOT NULL,
    created_at          INTEGER NOT NULL,
    kek_id              TEXT    NOT NULL,
    kek_check           BLOB    NOT NULL,
    envelope_algorithm  TEXT    NOT NULL,
    demo                INTEGER NOT NULL CHECK (demo IN (0, 1))
) STRICT;

CREATE TABLE security_events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      BLOB    NOT NULL UNIQUE,
    at      INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    actor   TEXT    NOT NULL,  -- JSON
    event   TEXT    NOT NULL   -- JSON, carries the kind and its details
) STRICT;

CREATE INDEX security_events_at ON security_events (at);

-- The security event log is append-only.
CREATE TRIGGER security_events_no_update BEFORE UPDATE ON security_events
BEGIN
    SELECT RAISE(ABORT, 'security_events is append-only');
END;
CREATE TRIGGER security_events_no_delete BEFORE DELETE ON security_events
BEGIN
    SELECT RAISE(ABORT, 'security_events is append-only');
END;

-- One data key per subject, wrapped by the key-encryption key.
-- Destroying a key sets wrapped_key to NULL: the subject's ciphertexts are then
-- unreadable everywhere, backups included.
CREATE TABLE data_keys (
    subject_id   BLOB    PRIMARY KEY,
    key_id       BLOB    NOT NULL UNIQUE,
    algorithm    TEXT    NOT NULL,
    kek_id       TEXT    NOT NULL,
    wrapped_key  BLOB,
    created_at   INTEGER NOT NULL,
    destroyed_at INTEGER,
    CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
) STRICT;

-- A destroyed key stays destroyed.
CREATE TRIGGER data_keys_stay_destroyed BEFORE UPDATE ON data_keys
WHEN OLD.wrapped_key IS NULL
BEGIN
    SELECT RAISE(ABORT, 'a destroyed data key cannot be restored');
END;
