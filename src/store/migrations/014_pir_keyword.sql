-- 014: keyword PIR and the private public-key directory (src/pir/keyword.ts, src/pir/directory.ts).
-- Nothing here is secret: keyword databases are public like every PIR database, and a directory
-- entry names a public key.

-- keyword: the JSON of the KeywordLayout (cuckoo table over the records) of a keyword database
-- version, NULL for an index database; it is published in the signed config. source_sha256: the
-- SHA-256 of the framed upload the table was built from (the directory skips a rebuild when its
-- entries did not change).
ALTER TABLE pir_databases ADD COLUMN IF NOT EXISTS keyword text;
ALTER TABLE pir_databases ADD COLUMN IF NOT EXISTS source_sha256 bytea;

-- The directory: a name a tenant published, and the managed key (owner, key name) whose current
-- public key the service publishes under it. The service rebuilds the directory database from
-- this table (src/pir/directory.ts). signed_*: the identity signature of the entry as last built
-- (key version, SHA-256 of the public key, identity "keyId:version", signing time), reused by
-- later rebuilds while they still match.
CREATE TABLE IF NOT EXISTS pir_directory (
  entry_name       text PRIMARY KEY,
  owner            text NOT NULL,
  key_name         text NOT NULL,
  published_at     timestamptz NOT NULL DEFAULT now(),
  signed_version   integer,
  signed_pk_sha256 bytea,
  signed_identity  text,
  signed_at        text,
  signature        bytea
);
CREATE INDEX IF NOT EXISTS pir_directory_owner ON pir_directory (owner);
