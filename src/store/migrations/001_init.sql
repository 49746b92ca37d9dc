-- 001: the store's own bookkeeping. Each capability adds its numbered migration file.
CREATE TABLE IF NOT EXISTS service_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
