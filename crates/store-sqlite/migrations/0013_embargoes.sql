-- Embargoes (deferred disclosure), SQLite. A clerk asks to withhold accesses
-- from a subject under a cited law until a date; a supervisor of the same
-- department decides once. The accesses themselves are in access_log from the
-- start; this table is the approval they cite.

CREATE TABLE embargoes (
    id            BLOB    PRIMARY KEY,
    subject_id    BLOB    NOT NULL,
    requested_by  BLOB    NOT NULL REFERENCES staff (id),
    department    TEXT    NOT NULL,
    legal_basis   TEXT    NOT NULL CHECK (length(legal_basis) > 0),
    until         INTEGER NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('requested', 'approved', 'refused')),
    approved_by   BLOB    REFERENCES staff (id),  -- the deciding supervisor (also for a refusal)
    decided_at    INTEGER,
    created_at    INTEGER NOT NULL,
    CHECK (until > created_at),
    CHECK ((status = 'requested') = (decided_at IS NULL)),
    CHECK (approved_by IS NULL OR approved_by <> requested_by)
) STRICT;

CREATE INDEX embargoes_by_subject ON embargoes (subject_id);

-- An embargo is decided once; nothing else about it changes.
CREATE TRIGGER embargoes_decided_once BEFORE UPDATE ON embargoes
WHEN OLD.status <> 'requested'
  OR NEW.id IS NOT OLD.id
  OR NEW.subject_id IS NOT OLD.subject_id
  OR NEW.requested_by IS NOT OLD.requested_by
  OR NEW.department IS NOT OLD.department
  OR NEW.legal_basis IS NOT OLD.legal_basis
  OR NEW.until IS NOT OLD.until
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'an embargo is decided once');
END;

CREATE TRIGGER embargoes_no_delete BEFORE DELETE ON embargoes
BEGIN
    SELECT RAISE(ABORT, 'embargoes are never deleted');
END;
