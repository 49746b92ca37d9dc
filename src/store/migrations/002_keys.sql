-- 002: managed keys. A key is a named keyring of versions for one algorithm, owned by a principal
-- ('admin', 'tenant:<id>', or 'system' for the service's own identity and token-signing keys).
-- Private material is only ever stored wrapped (src/keys/wrap.ts); public keys are stored in clear.
CREATE TABLE IF NOT EXISTS keys (
  id               text PRIMARY KEY,
  owner            text NOT NULL,
  name             text NOT NULL,
  algorithm        text NOT NULL,
  exportable       boolean NOT NULL DEFAULT false,
  deletion_allowed boolean NOT NULL DEFAULT false,
  min_version      integer NOT NULL DEFAULT 1,
  latest_version   integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT keys_owner_name UNIQUE (owner, name),
  CONSTRAINT keys_versions_ok CHECK (min_version >= 1 AND min_version <= latest_version)
);

CREATE TABLE IF NOT EXISTS key_versions (
  key_id         text NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
  version        integer NOT NULL CHECK (version >= 1),
  public_key     bytea NOT NULL,
  wrapped_secret bytea NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key_id, version)
);
