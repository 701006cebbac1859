-- Holder-bound e-ID codes, SQLite: the codes a phone reported signing offline,
-- remembered by their id so that a report sent twice is logged once.
CREATE TABLE eid_device_presentations (
    cti          BLOB    PRIMARY KEY CHECK (length(cti) = 16),
    card_id      BLOB    NOT NULL REFERENCES eid_cards (id),
    issued_at    INTEGER NOT NULL,
    reported_at  INTEGER NOT NULL
) STRICT;
