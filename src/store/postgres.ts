/**
 * PostgreSQL store (DATABASE_URL): a bounded pg pool. Connection failures become
 * `store_unavailable` (503) quickly instead of hanging requests.
 */
import pg from 'pg';
import { AppError } from '../errors.ts';
import type { Queryable, Row, Store } from './store.ts';

// int8 and numeric come back as strings by default; the schema uses them only for counters that fit.
pg.types.setTypeParser(20, (v) => Number(v));

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300']);

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code && (CONNECTION_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(e?.message ?? '');
}

const toParam = (p: unknown): unknown => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p);

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isConnectionError(err)) throw new AppError('store_unavailable', 'the database is unavailable; retry later', { retryAfter: 2 });
    throw err;
  }
}

export async function openPostgres(url: string, opts: { max: number }): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max,
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
    query_timeout: 30_000,
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => {});
  const on = (client: pg.Pool | pg.PoolClient): Queryable => ({
    query: <T extends Row = Row>(sql: string, params: readonly unknown[] = []) =>
      guarded(async () => (await client.query(sql, params.map(toParam))).rows as T[]),
  });
  let closed = false;
  return {
    kind: 'postgres',
    ...on(pool),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => guarded(async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(on(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    }),
    async ping() {
      if (closed) return false;
      try { await pool.query('SELECT 1'); return true; } catch { return false; }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
