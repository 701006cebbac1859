-- Correction requests (PIPL Art. 46). The proposed value and the explanation
-- are personal data: they are sealed with the resident's data key, so closing
-- the account (destroying the key) erases them. The field and status are not.

CREATE TABLE correction_requests (
    id                  BLOB    PRIMARY KEY,
    account_id          BLOB    NOT NULL REFERENCES accounts (id),
    field               TEXT    NOT NULL CHECK (field IN ('name', 'phone', 'address', 'other')),
    sealed_value        BLOB    NOT NULL,
    sealed_explanation  BLOB    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('open', 'done', 'rejected')),
    created_at          INTEGER NOT NULL,
    decided_at          INTEGER,
    CHECK ((status = 'open') = (decided_at IS NULL))
) STRICT;

CREATE INDEX correction_requests_by_account ON correction_requests (account_id);
