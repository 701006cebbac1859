-- Applications from organisations that want to verify e-ID codes online,
-- PostgreSQL. An organisation applies on a public page; platform operations'
-- administrators approve (which registers a verifier) or refuse with a reason.

CREATE TABLE verifier_applications (
    id            UUID    PRIMARY KEY,
    name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category      TEXT    NOT NULL
                  CHECK (category IN ('hotel', 'railway', 'airport', 'bank', 'government', 'retail')),
    -- Comma-separated purpose names, each allowed for the category.
    purposes      TEXT    NOT NULL CHECK (length(purposes) > 0),
    -- How the platform reaches the organisation (an office e-mail or phone).
    contact       TEXT    NOT NULL CHECK (length(contact) BETWEEN 1 AND 200),
    -- A keyed MAC of the applying address, only for the per-address limit.
    address_mac   BYTEA   NOT NULL CHECK (length(address_mac) = 32),
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),
    submitted_at  BIGINT  NOT NULL,
    decided_by    UUID,
    decided_at    BIGINT,
    reason        TEXT    CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 500),
    -- The organisation an approval registered.
    verifier_id   UUID    REFERENCES verifiers (id),
    CHECK ((status = 'pending') = (decided_by IS NULL AND decided_at IS NULL)),
    CHECK ((status = 'refused') = (reason IS NOT NULL)),
    CHECK (status = 'approved' OR verifier_id IS NULL)
);

CREATE INDEX verifier_applications_pending ON verifier_applications (submitted_at)
    WHERE status = 'pending';
CREATE INDEX verifier_applications_by_address ON verifier_applications (address_mac, submitted_at);

-- Decided once; an approval then gains its verifier once.
CREATE FUNCTION verifier_applications_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'verifier applications are never deleted';
    END IF;
    IF (NEW.id, NEW.name, NEW.category, NEW.purposes, NEW.contact, NEW.address_mac, NEW.submitted_at)
       IS DISTINCT FROM (OLD.id, OLD.name, OLD.category, OLD.purposes, OLD.contact, OLD.address_mac, OLD.submitted_at)
       OR (OLD.status <> 'pending'
           AND (NEW.status, NEW.decided_by, NEW.decided_at, NEW.reason)
               IS DISTINCT FROM (OLD.status, OLD.decided_by, OLD.decided_at, OLD.reason))
       OR (OLD.verifier_id IS NOT NULL AND NEW.verifier_id IS DISTINCT FROM OLD.verifier_id) THEN
        RAISE EXCEPTION 'a verifier application is decided once and otherwise never changes';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER verifier_applications_guard BEFORE UPDATE OR DELETE ON verifier_applications
FOR EACH ROW EXECUTE FUNCTION verifier_applications_guard();
