-- 005: private information retrieval (src/pir). Nothing here is secret: PIR databases are public
-- by construction (the service hides which record a client reads, not the records).

-- One row per immutable database version. params is the JSON of PirParams (src/pir/params.ts) as
-- computed at upload, so a later change of the shape rule never reinterprets an old version.
-- retired_at: when a newer version superseded this one; it stays answerable for PIR_GRACE_SECONDS
-- after that, then its blobs are purged (purged_at) and the row stays as a record.
CREATE TABLE IF NOT EXISTS pir_databases (
  name          text NOT NULL,
  version       integer NOT NULL CHECK (version > 0),
  params        text NOT NULL,
  seed          bytea NOT NULL,
  records_bytes bigint NOT NULL,
  records_sha256 bytea NOT NULL,
  hint_sha256   bytea NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  retired_at    timestamptz,
  purged_at     timestamptz,
  PRIMARY KEY (name, version)
);
CREATE INDEX IF NOT EXISTS pir_databases_retired_at ON pir_databases (retired_at);

-- The records (as uploaded) and the hint (little-endian uint32, row-major), in chunks so that no
-- single value approaches PostgreSQL's 1 GB bytea limit and an instance streams them in pieces.
CREATE TABLE IF NOT EXISTS pir_blobs (
  name    text NOT NULL,
  version integer NOT NULL,
  kind    text NOT NULL CHECK (kind IN ('records', 'hint')),
  seq     integer NOT NULL CHECK (seq >= 0),
  bytes   bytea NOT NULL,
  PRIMARY KEY (name, version, kind, seq),
  FOREIGN KEY (name, version) REFERENCES pir_databases (name, version) ON DELETE CASCADE
);
