-- 009: purposes a KEM key was created with (issue 14). Today one: `decapsulate` (raw KEM decapsulation
-- returns secret material, so it is off unless asked for at creation). The flag is not a clear column:
-- `sealed` is the keyring's wrap (AES-256-GCM under the master key) of the purpose bytes, bound to the
-- key's id, owner and name as version 0 (src/keys/purposes.ts), so a database writer cannot turn it on,
-- nor copy it from another key. A missing row means no extra purpose (fails closed).
CREATE TABLE IF NOT EXISTS key_purposes (
  key_id text PRIMARY KEY REFERENCES keys (id) ON DELETE CASCADE,
  sealed bytea NOT NULL
);
