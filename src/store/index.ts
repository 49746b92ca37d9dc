/**
 * The store: opens PostgreSQL (DATABASE_URL) or embedded PGlite, applies migrations, and re-exports
 * the Store interface, its error classification helpers and the migration runner.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';
import { migrate } from './migrate.ts';
import type { Store } from './store.ts';

/** The store interface and helpers (store.ts), the migration runner (migrate.ts). */
export type { Store, Queryable, Row } from './store.ts';
export { isUniqueViolation, isForeignKeyViolation } from './store.ts';
export { migrate } from './migrate.ts';

/**
 * Opens the configured store (PostgreSQL when `databaseUrl` is set, else PGlite in dataDir/pglite)
 * and applies pending migrations; rejects, with the store closed, when a migration fails.
 */
export async function openStore(opts: { dataDir: string; databaseUrl?: string | undefined; pgPoolMax?: number }): Promise<Store> {
  let store: Store;
  if (opts.databaseUrl) {
    store = await openPostgres(opts.databaseUrl, { max: opts.pgPoolMax ?? 10 });
  } else {
    const dir = join(opts.dataDir, 'pglite');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    store = await openPglite(dir);
  }
  try {
    await migrate(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
