-- Purpose-bound staff access (issue 5), PostgreSQL. Staff open a resident's
-- record only for work assigned to them: a correction request is assigned to
-- one member of the department that handles it, and only they may open the
-- record for it. An opening without assigned work is a break-glass access:
-- justified in writing, shown to the department's supervisors until one
-- reviews it.

CREATE TABLE correction_assignments (
    correction_id  UUID    PRIMARY KEY REFERENCES correction_requests (id),
    staff_id       UUID    NOT NULL REFERENCES staff (id),
    assigned_by    UUID    NOT NULL REFERENCES staff (id),
    assigned_at    BIGINT  NOT NULL,
    decided_by     UUID    REFERENCES staff (id),
    -- The decision's note to the resident, sealed with their data key.
    sealed_note    BYTEA,
    CHECK ((decided_by IS NULL) = (sealed_note IS NULL))
);

CREATE INDEX correction_assignments_by_staff ON correction_assignments (staff_id);

-- Once decided, an assignment no longer changes.
CREATE FUNCTION correction_assignments_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.decided_by IS NOT NULL OR NEW.correction_id IS DISTINCT FROM OLD.correction_id THEN
        RAISE EXCEPTION 'a decided correction is not reassigned';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER correction_assignments_decided_once BEFORE UPDATE ON correction_assignments
FOR EACH ROW EXECUTE FUNCTION correction_assignments_decided_once();

CREATE TABLE break_glass_accesses (
    id             UUID    PRIMARY KEY,
    staff_id       UUID    NOT NULL REFERENCES staff (id),
    department     TEXT    NOT NULL,
    account_id     UUID    NOT NULL REFERENCES accounts (id),
    justification  TEXT    NOT NULL CHECK (length(justification) > 0),
    created_at     BIGINT  NOT NULL,
    reviewed_by    UUID    REFERENCES staff (id),
    reviewed_at    BIGINT,
    outcome        TEXT    CHECK (outcome IN ('justified', 'referred')),
    review_note    TEXT,
    CHECK ((reviewed_at IS NULL) = (outcome IS NULL)),
    CHECK ((reviewed_at IS NULL) = (reviewed_by IS NULL)),
    CHECK (reviewed_by IS NULL OR reviewed_by <> staff_id)
);

CREATE INDEX break_glass_by_department ON break_glass_accesses (department, created_at);

-- The access and its justification never change; the review is written once.
CREATE FUNCTION break_glass_reviewed_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'break-glass accesses are never deleted';
    END IF;
    IF OLD.reviewed_at IS NOT NULL
       OR (NEW.id, NEW.staff_id, NEW.department, NEW.account_id, NEW.justification, NEW.created_at)
          IS DISTINCT FROM
          (OLD.id, OLD.staff_id, OLD.department, OLD.account_id, OLD.justification, OLD.created_at)
    THEN
        RAISE EXCEPTION 'a break-glass access is reviewed once and never edited';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER break_glass_reviewed_once BEFORE UPDATE OR DELETE ON break_glass_accesses
FOR EACH ROW EXECUTE FUNCTION break_glass_reviewed_once();
