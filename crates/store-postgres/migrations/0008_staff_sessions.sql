-- Staff sessions (postgres), apart from residents' sessions: a staff cookie
-- never opens a resident session or the other way round. Only the SHA-256 of
-- the cookie's token is stored.

CREATE TABLE staff_sessions (
    token_hash    BYTEA   PRIMARY KEY,
    staff_id      UUID    NOT NULL REFERENCES staff (id),
    created_at    BIGINT  NOT NULL,
    last_seen_at  BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    revoked_at    BIGINT
);

CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id) WHERE revoked_at IS NULL;
