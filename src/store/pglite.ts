/** Embedded store: PGlite (PostgreSQL in WASM) with its files in DATA_DIR/pglite. */
import { PGlite } from '@electric-sql/pglite';
import { assertStorableParams, type Queryable, type Row, type Store } from './store.ts';

/** Opens PGlite with its files in `dir` (in memory when undefined). */
export async function openPglite(dir: string | undefined): Promise<Store> {
  // undefined = in memory (tests); otherwise a directory that survives restarts.
  const db = dir === undefined ? new PGlite() : new PGlite(dir);
  await db.waitReady;
  const run = (q: { query: PGlite['query'] }): Queryable => ({
    async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
      // Multi-statement text without parameters (migrations) goes through exec.
      if (params.length === 0 && sql.includes(';')) {
        const results = await (q as unknown as PGlite).exec(sql);
        return (results.at(-1)?.rows ?? []) as T[];
      }
      assertStorableParams(params);
      return (await q.query<T>(sql, params as unknown[])).rows;
    },
  });
  let closed = false;
  return {
    kind: 'pglite',
    ...run(db),
    transaction: (fn) => db.transaction((tx) => fn(run(tx as unknown as PGlite))),
    async ping() {
      if (closed) return false;
      try { await db.query('SELECT 1'); return true; } catch { return false; }
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
