-- The population registry kept in our own database (PostgreSQL). Each registered
-- person is a data subject with a data key of their own; the whole record is
-- sealed with it (context "registry.record"). The ID number appears only as a
-- keyed MAC, the lookup key; no name, number, address or photo is a column.

CREATE TABLE registry_records (
    id             UUID    PRIMARY KEY,
    subject_id     UUID    NOT NULL UNIQUE REFERENCES data_keys (subject_id),
    id_number_mac  BYTEA   NOT NULL UNIQUE,
    sealed         BYTEA   NOT NULL,
    fictional      BOOLEAN NOT NULL,
    updated_at     BIGINT  NOT NULL
);
