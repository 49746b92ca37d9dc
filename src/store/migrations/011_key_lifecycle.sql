-- 011: key lifecycle (issue 15 §2, src/keys/rotation.ts, src/keys/destroy.ts).
-- rotation_period_seconds: automatic rotation (NULL = none); next_rotation_at: when the periodic sweeper
-- adds the next version (whole seconds; moved by the one transaction that rotates). max_versions: the
-- number of versions that keep private material; older ones are destroyed on rotation (NULL = all).
-- Both policy columns are covered by the key-row MAC (src/keys/integrity.ts); next_rotation_at is not.
-- A destroyed version keeps its row and public key; its wrapped_secret is emptied (zero bytes, the one
-- mark of destruction the service acts on) and destroyed_at records when.
ALTER TABLE keys ADD COLUMN IF NOT EXISTS rotation_period_seconds integer CHECK (rotation_period_seconds > 0);
ALTER TABLE keys ADD COLUMN IF NOT EXISTS next_rotation_at timestamptz;
ALTER TABLE keys ADD COLUMN IF NOT EXISTS max_versions integer CHECK (max_versions > 0);
ALTER TABLE key_versions ADD COLUMN IF NOT EXISTS destroyed_at timestamptz;
CREATE INDEX IF NOT EXISTS keys_next_rotation ON keys (next_rotation_at) WHERE next_rotation_at IS NOT NULL;
