-- Staff accounts (SQLite). The password is an Argon2id PHC string; the TOTP
-- secret is sealed with the platform's staff TOTP key, never stored in clear.

CREATE TABLE staff (
    id                  BLOB    PRIMARY KEY,
    username            TEXT    NOT NULL UNIQUE,
    display_name        TEXT    NOT NULL,
    department          TEXT    NOT NULL,
    role                TEXT    NOT NULL CHECK (role IN ('clerk', 'reviewer', 'supervisor', 'auditor', 'administrator')),
    password_hash       TEXT    NOT NULL,
    sealed_totp_secret  BLOB    NOT NULL,
    disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    failed_logins       INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    first_failed_at     INTEGER,
    locked_until        INTEGER,
    last_totp_step      INTEGER,
    created_at          INTEGER NOT NULL
) STRICT;

CREATE INDEX staff_by_department ON staff (department, username);
