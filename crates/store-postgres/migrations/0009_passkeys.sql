-- Passkeys (postgres): WebAuthn credentials of residents and staff, the state of
-- ceremonies in progress, and the in-person check that L3 needs.

ALTER TABLE accounts ADD COLUMN in_person_verified_at BIGINT;

CREATE TABLE passkeys (
    credential_id  BYTEA   PRIMARY KEY,
    owner_kind     TEXT    NOT NULL CHECK (owner_kind IN ('resident', 'staff')),
    owner_id       UUID    NOT NULL,
    label          TEXT    NOT NULL,
    -- The WebAuthn library's passkey as JSON: public key, algorithm, counter.
    passkey        TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    last_used_at   BIGINT,
    revoked_at     BIGINT
);

CREATE INDEX passkeys_by_owner ON passkeys (owner_kind, owner_id) WHERE revoked_at IS NULL;

-- A ceremony lives minutes and is taken once; the id is the SHA-256 of the
-- token the browser holds.
CREATE TABLE webauthn_ceremonies (
    id_hash     BYTEA   PRIMARY KEY,
    purpose     TEXT    NOT NULL,
    owner_kind  TEXT    CHECK (owner_kind IN ('resident', 'staff')),
    owner_id    UUID,
    state       TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL
);

CREATE INDEX webauthn_ceremonies_by_expiry ON webauthn_ceremonies (expires_at);
