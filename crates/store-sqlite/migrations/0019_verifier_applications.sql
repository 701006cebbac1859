-- Applications from organisations that want to verify e-ID codes online,
-- SQLite. An organisation applies on a public page; platform operations'
-- administrators approve (which registers a verifier) or refuse with a reason.

CREATE TABLE verifier_applications (
    id            BLOB    PRIMARY KEY,
    name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category      TEXT    NOT NULL
                  CHECK (category IN ('hotel', 'railway', 'airport', 'bank', 'government', 'retail')),
    -- Comma-separated purpose names, each allowed for the category.
    purposes      TEXT    NOT NULL CHECK (length(purposes) > 0),
    -- How the platform reaches the organisation (an office e-mail or phone).
    contact       TEXT    NOT NULL CHECK (length(contact) BETWEEN 1 AND 200),
    -- A keyed MAC of the applying address, only for the per-address limit.
    address_mac   BLOB    NOT NULL CHECK (length(address_mac) = 32),
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),
    submitted_at  INTEGER NOT NULL,
    decided_by    BLOB,
    decided_at    INTEGER,
    reason        TEXT    CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 500),
    -- The organisation an approval registered.
    verifier_id   BLOB    REFERENCES verifiers (id),
    CHECK ((status = 'pending') = (decided_by IS NULL AND decided_at IS NULL)),
    CHECK ((status = 'refused') = (reason IS NOT NULL)),
    CHECK (status = 'approved' OR verifier_id IS NULL)
) STRICT;

CREATE INDEX verifier_applications_pending ON verifier_applications (submitted_at)
    WHERE status = 'pending';
CREATE INDEX verifier_applications_by_address ON verifier_applications (address_mac, submitted_at);

-- Decided once; an approval then gains its verifier once.
CREATE TRIGGER verifier_applications_decided_once BEFORE UPDATE ON verifier_applications
WHEN NEW.id IS NOT OLD.id
  OR NEW.name IS NOT OLD.name
  OR NEW.category IS NOT OLD.category
  OR NEW.purposes IS NOT OLD.purposes
  OR NEW.contact IS NOT OLD.contact
  OR NEW.address_mac IS NOT OLD.address_mac
  OR NEW.submitted_at IS NOT OLD.submitted_at
  OR (OLD.status <> 'pending' AND (NEW.status IS NOT OLD.status
                                    OR NEW.decided_by IS NOT OLD.decided_by
                                    OR NEW.decided_at IS NOT OLD.decided_at
                                    OR NEW.reason IS NOT OLD.reason))
  OR (OLD.verifier_id IS NOT NULL AND NEW.verifier_id IS NOT OLD.verifier_id)
BEGIN
    SELECT RAISE(ABORT, 'a verifier application is decided once and otherwise never changes');
END;

CREATE TRIGGER verifier_applications_no_delete BEFORE DELETE ON verifier_applications
BEGIN
    SELECT RAISE(ABORT, 'verifier applications are never deleted');
END;
