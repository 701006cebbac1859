-- One-time SMS codes and the platform secrets that key their MACs (SQLite).

-- Platform-wide secrets, wrapped by the key-encryption key.
CREATE TABLE platform_secrets (
    name        TEXT    PRIMARY KEY,
    kek_id      TEXT    NOT NULL,
    wrapped     BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

-- Neither the phone number nor the code is stored: only keyed MACs.
CREATE TABLE phone_challenges (
    id           BLOB    PRIMARY KEY,
    purpose      TEXT    NOT NULL,
    phone_mac    BLOB    NOT NULL,
    code_mac     BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    consumed_at  INTEGER
) STRICT;

CREATE INDEX phone_challenges_latest ON phone_challenges (phone_mac, purpose, created_at);
CREATE INDEX phone_challenges_recent ON phone_challenges (phone_mac, created_at);

-- Daily sending caps: SMS costs money and is abused.
CREATE TABLE send_counters (
    scope  TEXT    NOT NULL,
    key    BLOB    NOT NULL,
    day    TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (scope, key, day)
) STRICT;
