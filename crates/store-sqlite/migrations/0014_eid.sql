-- Electronic resident ID cards, SQLite.

-- Issuer signing keys. The secret is wrapped by the key-encryption key; the
-- public key reaches verifiers only through a trust list the offline root signed.
CREATE TABLE eid_issuer_keys (
    kid             TEXT    PRIMARY KEY CHECK (length(kid) = 16),
    algorithm       TEXT    NOT NULL CHECK (algorithm IN ('ed25519', 'p256', 'sm2')),
    public_key      BLOB    NOT NULL,
    wrapped_secret  BLOB    NOT NULL,
    kek_id          TEXT    NOT NULL,
    not_before      INTEGER NOT NULL,
    sign_until      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    CHECK (sign_until > not_before)
) STRICT;

CREATE TRIGGER eid_issuer_keys_no_delete BEFORE DELETE ON eid_issuer_keys
BEGIN
    SELECT RAISE(ABORT, 'issuer keys are never deleted: verifiers may still need them');
END;

-- Trust lists exactly as the offline root signed them.
CREATE TABLE eid_trust_lists (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    signed        BLOB    NOT NULL,
    issued_at     INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    published_at  INTEGER NOT NULL,
    CHECK (expires_at > issued_at)
) STRICT;

-- Cards. A card's status index is drawn at random (herd privacy) and never
-- reused; revocation is final.
CREATE TABLE eid_cards (
    id                 BLOB    PRIMARY KEY,
    account_id         BLOB    NOT NULL REFERENCES accounts (id),
    subject_id         BLOB    NOT NULL,
    status_index       INTEGER NOT NULL UNIQUE CHECK (status_index >= 0),
    status             TEXT    NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    reason             TEXT    NOT NULL,
    sealed_attributes  BLOB    NOT NULL,
    activated_at       INTEGER NOT NULL,
    changed_at         INTEGER NOT NULL
) STRICT;

-- At most one card per account that is not revoked.
CREATE UNIQUE INDEX eid_cards_one_current ON eid_cards (account_id) WHERE status <> 'revoked';
CREATE INDEX eid_cards_not_valid ON eid_cards (status_index) WHERE status <> 'active';

CREATE TRIGGER eid_cards_revocation_is_final BEFORE UPDATE ON eid_cards
WHEN OLD.status = 'revoked'
  OR NEW.id IS NOT OLD.id
  OR NEW.account_id IS NOT OLD.account_id
  OR NEW.subject_id IS NOT OLD.subject_id
  OR NEW.status_index IS NOT OLD.status_index
  OR NEW.activated_at IS NOT OLD.activated_at
BEGIN
    SELECT RAISE(ABORT, 'a revoked card stays revoked, and a card keeps its index');
END;

CREATE TRIGGER eid_cards_no_delete BEFORE DELETE ON eid_cards
BEGIN
    SELECT RAISE(ABORT, 'cards are never deleted: their index must stay taken');
END;
