-- 007: integrity of key rows at rest (src/keys/integrity.ts). HMAC-SHA-256 under a key derived from
-- the master key over the columns the service acts on, so a database writer without the master key
-- cannot swap a public key, flip exportable, change the algorithm or lower min_version unnoticed.
-- Rows written before this migration have no MAC and fail the check (fresh deployments only).
ALTER TABLE keys ADD COLUMN IF NOT EXISTS row_mac bytea;
ALTER TABLE key_versions ADD COLUMN IF NOT EXISTS row_mac bytea;
