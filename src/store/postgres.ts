/**
 * PostgreSQL store (DATABASE_URL): a bounded pg pool. Connection failures become
 * `store_unavailable` (503) quickly instead of hanging requests. Every wait is bounded, so a
 * database that is down or stops answering (frozen, partitioned) costs a request at most a few
 * seconds: connecting or waiting for a pooled client (CONNECT_TIMEOUT_MS), a statement on the
 * server (STATEMENT_TIMEOUT_MS), an answer on the wire (QUERY_TIMEOUT_MS), the ready probe
 * (PING_TIMEOUT_MS). A client that failed that way is destroyed, never handed out again.
 */
import pg from 'pg';
import { AppError } from '../errors.ts';
import { assertStorableParams, type Queryable, type Row, type Store } from './store.ts';

// int8 and numeric come back as strings by default; the schema uses them only for counters that fit.
pg.types.setTypeParser(20, (v) => Number(v));

/** Bound on connecting or waiting for a pooled client, ms. */
export const CONNECT_TIMEOUT_MS = 3000;
/** Server-side statement_timeout, ms. */
export const STATEMENT_TIMEOUT_MS = 8000;
/** Client-side bound on waiting for an answer, ms. */
export const QUERY_TIMEOUT_MS = 10_000;
/** Bound on the ready probe, ms. */
export const PING_TIMEOUT_MS = 2000;

// 57014: statement_timeout (or a cancel); 55P03: lock_not_available. Both say "busy, retry", not "bad request".
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', '57P01', '57P02', '57P03', '53300', '57014', '55P03']);

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code && (CONNECTION_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|Query read timeout/i.test(e?.message ?? '');
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

/** Opens a pg pool of at most `opts.max` clients on `url`. Connection failures surface later, per query, as `store_unavailable`. */
export async function openPostgres(url: string, opts: { max: number }): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    // The server cancels a long statement first (clean error, connection kept); the client-side
    // read timeout is the backstop for a server that answers nothing at all.
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    // A transaction left open by a vanished instance must not hold row locks for long.
    idle_in_transaction_session_timeout: 30_000,
    keepAlive: true,
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => {});
  const on = (client: pg.Pool | pg.PoolClient): Queryable => ({
    query: <T extends Row = Row>(sql: string, params: readonly unknown[] = []) =>
      guarded(async () => {
        assertStorableParams(params);
        return (await client.query(sql, params.map(toParam))).rows as T[];
      }),
  });
  let closed = false;
  return {
    kind: 'postgres',
    ...on(pool),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => guarded(async () => {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(on(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (isConnectionError(err) || (err instanceof AppError && err.code === 'store_unavailable')) broken = err as Error;
        else await client.query('ROLLBACK').catch((e: unknown) => { broken = e as Error; });
        throw err;
      } finally {
        // A client whose connection failed or timed out is destroyed (the server rolls back).
        client.release(broken);
      }
    }),
    async ping() {
      if (closed) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS); });
      try {
        return await Promise.race([pool.query('SELECT 1').then(() => true, () => false), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
