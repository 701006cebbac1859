-- Resident accounts (PostgreSQL). The profile is sealed with the account's data key;
-- the ID number and the phone number appear only as keyed MACs.

CREATE TABLE accounts (
    id               UUID     PRIMARY KEY,
    subject_id       UUID     NOT NULL UNIQUE REFERENCES data_keys (subject_id),
    assurance_level  SMALLINT NOT NULL CHECK (assurance_level IN (1, 2, 3)),
    id_number_mac    BYTEA,
    phone_mac        BYTEA    NOT NULL,
    sealed_profile   BYTEA    NOT NULL,
    status           TEXT     NOT NULL CHECK (status IN ('active', 'evicted', 'closed')),
    created_at       BIGINT   NOT NULL,
    updated_at       BIGINT   NOT NULL,
    CHECK ((assurance_level >= 2) = (id_number_mac IS NOT NULL))
);

-- One active account per resident: concurrent registrations end with exactly one.
CREATE UNIQUE INDEX accounts_one_active_per_id_number ON accounts (id_number_mac) WHERE status = 'active';
CREATE INDEX accounts_by_phone ON accounts (phone_mac) WHERE status = 'active';
