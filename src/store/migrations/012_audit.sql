-- 012: the tamper-evident audit log (issue 15 §3, src/audit/, docs/AUDIT.md). audit_records holds each
-- record's canonical leaf bytes (src/audit/format.ts) at its position seq; principal is a copy of the
-- record's principal for a tenant's own-records query (visibility only: the leaf is what is hashed).
-- audit_nodes holds the RFC 9162 hash of every complete subtree as it forms: (level, idx) covers leaves
-- [idx·2^level, (idx+1)·2^level); level 0 are the leaf hashes (≈ 2n rows for n records), so roots and
-- proofs read O(log n) rows. audit_head is the one row every appender locks (SELECT … FOR UPDATE):
-- it serializes appends across instances and says how many records are committed. audit_checkpoints
-- keeps signed checkpoints (tree size, root, time, identity version, ML-DSA-65 signature).
CREATE TABLE IF NOT EXISTS audit_records (
  seq       bigint PRIMARY KEY,
  principal text NOT NULL,
  leaf      bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_records_principal ON audit_records (principal, seq);
CREATE TABLE IF NOT EXISTS audit_nodes (
  level smallint NOT NULL,
  idx   bigint NOT NULL,
  hash  bytea NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE IF NOT EXISTS audit_head (
  id   smallint PRIMARY KEY CHECK (id = 1),
  size bigint NOT NULL
);
INSERT INTO audit_head (id, size) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  tree_size        bigint NOT NULL,
  root_hash        bytea NOT NULL,
  signed_at        text NOT NULL,
  identity_key_id  text NOT NULL,
  identity_version integer NOT NULL,
  signature        bytea NOT NULL,
  PRIMARY KEY (tree_size, signed_at)
);
