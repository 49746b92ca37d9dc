-- 015: sequence windows for envelopes (docs/PROTOCOL.md §6.2). An instance that accepts a session's
-- envelopes reserves a window of sequence numbers (recv_seq is then the highest number reserved by
-- anyone, the fence) under a short lease, and accepts numbers inside it from memory. Another
-- instance reserves only above the fence and only once the lease has ended, so no number is ever
-- accepted twice. Public bookkeeping, like recv_seq.
ALTER TABLE kex_sessions ADD COLUMN IF NOT EXISTS lease_owner text;
ALTER TABLE kex_sessions ADD COLUMN IF NOT EXISTS lease_until timestamptz;
