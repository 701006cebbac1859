-- Staff accounts (PostgreSQL). The password is an Argon2id PHC string; the TOTP
-- secret is sealed with the platform's staff TOTP key, never stored in clear.

CREATE TABLE staff (
    id                  UUID    PRIMARY KEY,
    username            TEXT    NOT NULL UNIQUE,
    display_name        TEXT    NOT NULL,
    department          TEXT    NOT NULL,
    role                TEXT    NOT NULL CHECK (role IN ('clerk', 'reviewer', 'supervisor', 'auditor', 'administrator')),
    password_hash       TEXT    NOT NULL,
    sealed_totp_secret  BYTEA   NOT NULL,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins       BIGINT  NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    first_failed_at     BIGINT,
    locked_until        BIGINT,
    last_totp_step      BIGINT,
    created_at          BIGINT  NOT NULL
);

CREATE INDEX staff_by_department ON staff (department, username);
