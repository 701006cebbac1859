-- Purpose-bound staff access (issue 5), SQLite. Staff open a resident's record
-- only for work assigned to them: a correction request is assigned to one
-- member of the department that handles it, and only they may open the record
-- for it. An opening without assigned work is a break-glass access: justified
-- in writing, shown to the department's supervisors until one reviews it.

CREATE TABLE correction_assignments (
    correction_id  BLOB    PRIMARY KEY REFERENCES correction_requests (id),
    staff_id       BLOB    NOT NULL REFERENCES staff (id),
    assigned_by    BLOB    NOT NULL REFERENCES staff (id),
    assigned_at    INTEGER NOT NULL,
    decided_by     BLOB    REFERENCES staff (id),
    -- The decision's note to the resident, sealed with their data key.
    sealed_note    BLOB,
    CHECK ((decided_by IS NULL) = (sealed_note IS NULL))
) STRICT;

CREATE INDEX correction_assignments_by_staff ON correction_assignments (staff_id);

-- Once decided, an assignment no longer changes.
CREATE TRIGGER correction_assignments_decided_once BEFORE UPDATE ON correction_assignments
WHEN OLD.decided_by IS NOT NULL OR NEW.correction_id IS NOT OLD.correction_id
BEGIN
    SELECT RAISE(ABORT, 'a decided correction is not reassigned');
END;

CREATE TABLE break_glass_accesses (
    id             BLOB    PRIMARY KEY,
    staff_id       BLOB    NOT NULL REFERENCES staff (id),
    department     TEXT    NOT NULL,
    account_id     BLOB    NOT NULL REFERENCES accounts (id),
    justification  TEXT    NOT NULL CHECK (length(justification) > 0),
    created_at     INTEGER NOT NULL,
    reviewed_by    BLOB    REFERENCES staff (id),
    reviewed_at    INTEGER,
    outcome        TEXT    CHECK (outcome IN ('justified', 'referred')),
    review_note    TEXT,
    CHECK ((reviewed_at IS NULL) = (outcome IS NULL)),
    CHECK ((reviewed_at IS NULL) = (reviewed_by IS NULL)),
    CHECK (reviewed_by IS NULL OR reviewed_by <> staff_id)
) STRICT;

CREATE INDEX break_glass_by_department ON break_glass_accesses (department, created_at);

-- The access and its justification never change; the review is written once.
CREATE TRIGGER break_glass_reviewed_once BEFORE UPDATE ON break_glass_accesses
WHEN OLD.reviewed_at IS NOT NULL
  OR NEW.id IS NOT OLD.id
  OR NEW.staff_id IS NOT OLD.staff_id
  OR NEW.department IS NOT OLD.department
  OR NEW.account_id IS NOT OLD.account_id
  OR NEW.justification IS NOT OLD.justification
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'a break-glass access is reviewed once and never edited');
END;

CREATE TRIGGER break_glass_no_delete BEFORE DELETE ON break_glass_accesses
BEGIN
    SELECT RAISE(ABORT, 'break-glass accesses are never deleted');
END;
