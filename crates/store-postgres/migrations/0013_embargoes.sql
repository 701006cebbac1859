-- Embargoes (deferred disclosure), PostgreSQL. A clerk asks to withhold
-- accesses from a subject under a cited law until a date; a supervisor of the
-- same department decides once. The accesses themselves are in access_log from
-- the start; this table is the approval they cite.

CREATE TABLE embargoes (
    id            UUID    PRIMARY KEY,
    subject_id    UUID    NOT NULL,
    requested_by  UUID    NOT NULL REFERENCES staff (id),
    department    TEXT    NOT NULL,
    legal_basis   TEXT    NOT NULL CHECK (length(legal_basis) > 0),
    until         BIGINT  NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('requested', 'approved', 'refused')),
    approved_by   UUID    REFERENCES staff (id),  -- the deciding supervisor (also for a refusal)
    decided_at    BIGINT,
    created_at    BIGINT  NOT NULL,
    CHECK (until > created_at),
    CHECK ((status = 'requested') = (decided_at IS NULL)),
    CHECK (approved_by IS NULL OR approved_by <> requested_by)
);

CREATE INDEX embargoes_by_subject ON embargoes (subject_id);

-- An embargo is decided once; nothing else about it changes.
CREATE FUNCTION embargoes_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'embargoes are never deleted';
    END IF;
    IF OLD.status <> 'requested'
       OR (NEW.id, NEW.subject_id, NEW.requested_by, NEW.department, NEW.legal_basis,
           NEW.until, NEW.created_at)
          IS DISTINCT FROM
          (OLD.id, OLD.subject_id, OLD.requested_by, OLD.department, OLD.legal_basis,
           OLD.until, OLD.created_at)
    THEN
        RAISE EXCEPTION 'an embargo is decided once';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER embargoes_decided_once BEFORE UPDATE OR DELETE ON embargoes
FOR EACH ROW EXECUTE FUNCTION embargoes_decided_once();
