-- Correction requests (PIPL Art. 46). The proposed value and the explanation
-- are personal data: they are sealed with the resident's data key, so closing
-- the account (destroying the key) erases them. The field and status are not.

CREATE TABLE correction_requests (
    id                  UUID    PRIMARY KEY,
    account_id          UUID    NOT NULL REFERENCES accounts (id),
    field               TEXT    NOT NULL CHECK (field IN ('name', 'phone', 'address', 'other')),
    sealed_value        BYTEA    NOT NULL,
    sealed_explanation  BYTEA    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('open', 'done', 'rejected')),
    created_at          BIGINT NOT NULL,
    decided_at          BIGINT,
    CHECK ((status = 'open') = (decided_at IS NULL))
);

CREATE INDEX correction_requests_by_account ON correction_requests (account_id);
