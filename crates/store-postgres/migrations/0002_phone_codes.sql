-- One-time SMS codes and the platform secrets that key their MACs (PostgreSQL).

CREATE TABLE platform_secrets (
    name        TEXT   PRIMARY KEY,
    kek_id      TEXT   NOT NULL,
    wrapped     BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Neither the phone number nor the code is stored: only keyed MACs.
CREATE TABLE phone_challenges (
    id           UUID    PRIMARY KEY,
    purpose      TEXT    NOT NULL,
    phone_mac    BYTEA   NOT NULL,
    code_mac     BYTEA   NOT NULL,
    created_at   BIGINT  NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    consumed_at  BIGINT
);

CREATE INDEX phone_challenges_latest ON phone_challenges (phone_mac, purpose, created_at);
CREATE INDEX phone_challenges_recent ON phone_challenges (phone_mac, created_at);

-- Daily sending caps: SMS costs money and is abused.
CREATE TABLE send_counters (
    scope  TEXT    NOT NULL,
    key    BYTEA   NOT NULL,
    day    TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (scope, key, day)
);
