/**
 * Migrations: numbered SQL files in ./migrations, applied in order, once, in one transaction
 * under an advisory lock so several instances starting together do not race. An applied
 * migration whose file changed afterwards stops start-up (edit by adding a new file instead).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { sha256Hex } from '../crypto/hash.ts';
import type { Store } from './store.ts';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const LOCK_KEY = 0x7071_7a6b; // 'pqzk'

/** One migration file: number, file name, SQL and its SHA-256 checksum. */
export interface Migration { version: number; name: string; sql: string; checksum: string }

/** The migration files of ./migrations, in order. */
export function listMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8');
      return { version: Number(file.slice(0, 3)), name: file, sql, checksum: sha256Hex(sql) };
    });
}

/** Applies pending migrations; returns the names applied by this call. */
export async function migrate(store: Store): Promise<string[]> {
  const migrations = listMigrations();
  return store.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = new Map(
      (await tx.query<{ version: number; checksum: string; name: string }>('SELECT version, name, checksum FROM schema_migrations'))
        .map((r) => [r.version, r]),
    );
    const done: string[] = [];
    for (const m of migrations) {
      const prior = applied.get(m.version);
      if (prior) {
        if (prior.checksum !== m.checksum) throw new Error(`migration ${m.name} changed after it was applied (was ${prior.name}); add a new migration instead`);
        continue;
      }
      await tx.query(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      done.push(m.name);
    }
    return done;
  });
}
