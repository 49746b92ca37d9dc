-- 006: session-bound access tokens (docs/PROTOCOL.md §"Token binding"). The base64url SHA-256 of
-- the X-Wing client public key sent in openSession: an access token with cnf {skt} is accepted
-- only on inner requests of a session whose client key has this thumbprint. Public, not secret.
-- NULL for sessions opened before this migration (bound tokens are refused in them).
ALTER TABLE kex_sessions ADD COLUMN IF NOT EXISTS client_key_thumbprint text;
