-- Holder-bound e-ID codes, PostgreSQL: the codes a phone reported signing
-- offline, remembered by their id so that a report sent twice is logged once.
CREATE TABLE eid_device_presentations (
    cti          BYTEA   PRIMARY KEY CHECK (length(cti) = 16),
    card_id      UUID    NOT NULL REFERENCES eid_cards (id),
    issued_at    BIGINT  NOT NULL,
    reported_at  BIGINT  NOT NULL
);
