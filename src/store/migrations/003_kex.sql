-- 003: hybrid key exchange (src/kex). No secret is ever stored here in a form the server can
-- open later on its own: prekey seeds and session keys live in instance memory, and travel
-- between instances only as grants encapsulated to an instance's ephemeral, rotating X-Wing key
-- (docs/PROTOCOL.md §8).

-- One row per live service instance: its current ephemeral grant key (public half only).
CREATE TABLE IF NOT EXISTS kex_instances (
  instance_id text PRIMARY KEY,
  key_id      text NOT NULL,
  public_key  bytea NOT NULL,
  seen_at     timestamptz NOT NULL DEFAULT now()
);

-- Signed X-Wing prekeys (public halves and the identity signature).
CREATE TABLE IF NOT EXISTS kex_prekeys (
  prekey_id           text PRIMARY KEY,
  public_key          bytea NOT NULL,
  not_before          timestamptz NOT NULL,
  not_after           timestamptz NOT NULL,
  signature           bytea NOT NULL,
  identity_key_id     text NOT NULL,
  identity_version    integer NOT NULL,
  identity_public_key bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS kex_prekeys_not_before ON kex_prekeys (not_before DESC);

-- Open sessions: public bookkeeping only (the keys are never here).
CREATE TABLE IF NOT EXISTS kex_sessions (
  session_id text PRIMARY KEY,
  prekey_id  text NOT NULL,
  recv_seq   bigint NOT NULL DEFAULT 0,
  confirmed  boolean NOT NULL DEFAULT false,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS kex_sessions_expires_at ON kex_sessions (expires_at);

-- Replay guard for openSession: SHA-256(lp(prekeyId) ‖ lp(ct1)); dropped with the prekey.
CREATE TABLE IF NOT EXISTS kex_handshakes (
  digest    bytea PRIMARY KEY,
  prekey_id text NOT NULL REFERENCES kex_prekeys (prekey_id) ON DELETE CASCADE
);

-- A secret (prekey seed or session keys) encapsulated to one instance's ephemeral grant key.
CREATE TABLE IF NOT EXISTS kex_grants (
  secret_id       text NOT NULL,
  instance_id     text NOT NULL,
  instance_key_id text NOT NULL,
  ciphertext      bytea NOT NULL,
  sealed          bytea NOT NULL,
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (secret_id, instance_id)
);
CREATE INDEX IF NOT EXISTS kex_grants_instance ON kex_grants (instance_id);
