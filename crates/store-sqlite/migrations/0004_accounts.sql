-- Resident accounts (SQLite). The profile is sealed with the account's data key;
-- the ID number and the phone number appear only as keyed MACs.

CREATE TABLE accounts (
    id               BLOB    PRIMARY KEY,
    subject_id       BLOB    NOT NULL UNIQUE REFERENCES data_keys (subject_id),
    assurance_level  INTEGER NOT NULL CHECK (assurance_level IN (1, 2, 3)),
    id_number_mac    BLOB,
    phone_mac        BLOB    NOT NULL,
    sealed_profile   BLOB    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('active', 'evicted', 'closed')),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CHECK ((assurance_level >= 2) = (id_number_mac IS NOT NULL))
) STRICT;

-- One active account per resident: concurrent registrations end with exactly one.
CREATE UNIQUE INDEX accounts_one_active_per_id_number ON accounts (id_number_mac) WHERE status = 'active';
CREATE INDEX accounts_by_phone ON accounts (phone_mac) WHERE status = 'active';
