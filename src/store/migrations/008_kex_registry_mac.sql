-- 008: kex instance registry entries are authenticated with a key derived from the master key, so a
-- database writer without it cannot register a fake instance and receive grants of live secrets.
ALTER TABLE kex_instances ADD COLUMN IF NOT EXISTS registry_mac bytea;
