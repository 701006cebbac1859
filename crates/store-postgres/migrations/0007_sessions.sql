-- Server-side sessions (postgres). Only the SHA-256 of the cookie's token is stored.

CREATE TABLE sessions (
    token_hash    BYTEA    PRIMARY KEY,
    account_id    UUID  NOT NULL REFERENCES accounts (id),
    created_at    BIGINT   NOT NULL,
    last_seen_at  BIGINT   NOT NULL,
    expires_at    BIGINT   NOT NULL,
    revoked_at    BIGINT
);

CREATE INDEX sessions_by_account ON sessions (account_id) WHERE revoked_at IS NULL;
