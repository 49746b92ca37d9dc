-- 010: import jobs (BYOK, issue 14, src/keys/import-jobs.ts). A short-lived X-Wing key pair per job:
-- the client wraps key material to public_key with HPKE; the private seed is stored only wrapped under the
-- master key and the row is deleted once expires_at has passed (lazy on use, plus a sweep). row_mac covers
-- the job id, owner, public key and expiry (integrity.ts version-row MAC), so a database writer cannot swap
-- in a public key of their own or extend a job.
CREATE TABLE IF NOT EXISTS import_jobs (
  id             text PRIMARY KEY,
  owner          text NOT NULL,
  public_key     bytea NOT NULL,
  wrapped_secret bytea NOT NULL,
  row_mac        bytea NOT NULL,
  expires_at     timestamptz NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS import_jobs_expires ON import_jobs (expires_at);
