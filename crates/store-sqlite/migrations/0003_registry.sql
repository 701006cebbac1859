-- The population registry kept in our own database (SQLite). Each registered
-- person is a data subject with a data key of their own; the whole record is
-- sealed with it (context "registry.record"). The ID number appears only as a
-- keyed MAC, the lookup key; no name, number, address or photo is a column.

CREATE TABLE registry_records (
    id             BLOB    PRIMARY KEY,
    subject_id     BLOB    NOT NULL UNIQUE REFERENCES data_keys (subject_id),
    id_number_mac  BLOB    NOT NULL UNIQUE,
    sealed         BLOB    NOT NULL,
    fictional      INTEGER NOT NULL CHECK (fictional IN (0, 1)),
    updated_at     INTEGER NOT NULL
) STRICT;
