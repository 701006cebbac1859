-- The access log (postgres): one entry per opening of a resident's personal
-- data, in a Merkle tree whose signed checkpoints witnesses countersign.
-- `entry` holds the exact bytes that are hashed; the other columns are
-- copies for lookups. Entries are never changed or removed.

CREATE TABLE access_log (
    leaf_index  BIGINT  PRIMARY KEY CHECK (leaf_index >= 0),
    subject_id  UUID    NOT NULL,
    at          BIGINT  NOT NULL,
    entry       BYTEA   NOT NULL,
    leaf_hash   BYTEA   NOT NULL CHECK (length(leaf_hash) = 32)
);

CREATE INDEX access_log_by_subject ON access_log (subject_id, leaf_index);

CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_log is append-only';
END;
$$;
CREATE TRIGGER access_log_no_change BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();

-- One checkpoint per committed batch: the tree's size and root, the right
-- edge of the tree (so the next batch extends it without reading every leaf),
-- and the signed note (the platform's signature, then witnesses' cosignatures).
CREATE TABLE access_checkpoints (
    tree_size   BIGINT  PRIMARY KEY CHECK (tree_size > 0),
    root_hash   BYTEA   NOT NULL CHECK (length(root_hash) = 32),
    right_edge  TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- Only cosignatures may be added: the note may grow, the tree never changes.
CREATE FUNCTION access_checkpoints_only_cosign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.tree_size <> OLD.tree_size OR NEW.root_hash <> OLD.root_hash
        OR NEW.right_edge <> OLD.right_edge OR NEW.created_at <> OLD.created_at
        OR left(NEW.note, length(OLD.note)) <> OLD.note THEN
        RAISE EXCEPTION 'a checkpoint only gains cosignatures';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER access_checkpoints_no_change BEFORE UPDATE OR DELETE ON access_checkpoints
    FOR EACH ROW EXECUTE FUNCTION access_checkpoints_only_cosign();
CREATE TRIGGER access_checkpoints_no_truncate BEFORE TRUNCATE ON access_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
