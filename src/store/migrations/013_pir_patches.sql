-- 013: live updates of PIR databases (src/pir/patch.ts, issue 16). A patched version keeps its
-- parent's shape and seed; parent_version names it (NULL for a full upload) and changed_rows holds
-- the hint rows the patch touched (ascending little-endian uint32), so any instance can serve a hint
-- delta from an older version of the chain: the union of changed_rows, with the values read from the
-- newer version's hint; changed_records holds the patch's record differences (u32le index[k] ‖
-- i16le delta[k·recordSize], src/pir/delta.ts), the smaller "record delta" a client turns into hint
-- rows itself. Public data, like the rest of the PIR tables.
ALTER TABLE pir_databases ADD COLUMN IF NOT EXISTS parent_version integer;
ALTER TABLE pir_databases ADD COLUMN IF NOT EXISTS changed_rows bytea;
ALTER TABLE pir_databases ADD COLUMN IF NOT EXISTS changed_records bytea;
