-- Server-side sessions (sqlite). Only the SHA-256 of the cookie's token is stored.

CREATE TABLE sessions (
    token_hash    BLOB    PRIMARY KEY,
    account_id    BLOB  NOT NULL REFERENCES accounts (id),
    created_at    INTEGER   NOT NULL,
    last_seen_at  INTEGER   NOT NULL,
    expires_at    INTEGER   NOT NULL,
    revoked_at    INTEGER
) STRICT;

CREATE INDEX sessions_by_account ON sessions (account_id) WHERE revoked_at IS NULL;
