-- The access log (sqlite): one entry per opening of a resident's personal
-- data, in a Merkle tree whose signed checkpoints witnesses countersign.
-- `entry` holds the exact bytes that are hashed; the other columns are
-- copies for lookups. Entries are never changed or removed.

CREATE TABLE access_log (
    leaf_index  INTEGER PRIMARY KEY CHECK (leaf_index >= 0),
    subject_id  BLOB    NOT NULL,
    at          INTEGER NOT NULL,
    entry       BLOB    NOT NULL,
    leaf_hash   BLOB    NOT NULL CHECK (length(leaf_hash) = 32)
) STRICT;

CREATE INDEX access_log_by_subject ON access_log (subject_id, leaf_index);

CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN
    SELECT RAISE(ABORT, 'access_log is append-only');
END;

-- One checkpoint per committed batch: the tree's size and root, the right
-- edge of the tree (so the next batch extends it without reading every leaf),
-- and the signed note (the platform's signature, then witnesses' cosignatures).
CREATE TABLE access_checkpoints (
    tree_size   INTEGER PRIMARY KEY CHECK (tree_size > 0),
    root_hash   BLOB    NOT NULL CHECK (length(root_hash) = 32),
    right_edge  TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TRIGGER access_checkpoints_no_delete BEFORE DELETE ON access_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'access_checkpoints is append-only');
END;
-- Only cosignatures may be added: the note may grow, the tree never changes.
CREATE TRIGGER access_checkpoints_only_cosign BEFORE UPDATE ON access_checkpoints
WHEN NEW.tree_size IS NOT OLD.tree_size OR NEW.root_hash IS NOT OLD.root_hash
    OR NEW.right_edge IS NOT OLD.right_edge OR NEW.created_at IS NOT OLD.created_at
    OR substr(NEW.note, 1, length(OLD.note)) IS NOT OLD.note
BEGIN
    SELECT RAISE(ABORT, 'a checkpoint only gains cosignatures');
END;
