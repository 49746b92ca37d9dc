-- 004: zero-knowledge login (src/zk). Nothing here is secret: commitments are public by design,
-- challenges are single-use nonces.

-- Registered users: the canonical decimal commitment Poseidon(DOMAIN_COMMIT, secret, salt).
CREATE TABLE IF NOT EXISTS zk_users (
  username   text PRIMARY KEY,
  commitment text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Outstanding challenges. No foreign key to zk_users on purpose: a challenge is issued for any
-- username (existence is not revealed), and login looks the commitment up at verification time.
-- purpose 'login' binds session_key_hash to a session public key (session_key_thumbprint goes into
-- the token's cnf); purpose 'rotate' binds it to new_commitment.
CREATE TABLE IF NOT EXISTS zk_challenges (
  challenge_id           text PRIMARY KEY,
  username               text NOT NULL,
  purpose                text NOT NULL CHECK (purpose IN ('login', 'rotate')),
  challenge              text NOT NULL,
  session_key_hash       text NOT NULL,
  session_key_thumbprint text,
  new_commitment         text,
  expires_at             timestamptz NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS zk_challenges_expires_at ON zk_challenges (expires_at);
