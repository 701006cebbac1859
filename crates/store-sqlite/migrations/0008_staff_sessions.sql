-- Staff sessions (sqlite), apart from residents' sessions: a staff cookie never
-- opens a resident session or the other way round. Only the SHA-256 of the
-- cookie's token is stored.

CREATE TABLE staff_sessions (
    token_hash    BLOB    PRIMARY KEY,
    staff_id      BLOB    NOT NULL REFERENCES staff (id),
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER
) STRICT;

CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id) WHERE revoked_at IS NULL;
