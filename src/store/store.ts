/**
 * The Store: one schema, one set of SQL queries, two engines.
 * - `pglite`: PostgreSQL compiled to WASM, in process, files in DATA_DIR (the default).
 * - `postgres`: a PostgreSQL server via DATABASE_URL, for several instances behind a load balancer.
 * Capabilities keep their SQL in their own repository module and talk to this interface only.
 */
import { AppError } from '../errors.ts';

/** A result row, column name to value. */
export type Row = Record<string, unknown>;

/** Anything that runs SQL: the store itself or a transaction. */
export interface Queryable {
  /**
   * Runs one parameterized statement ($1, $2, …); resolves to its rows.
   * @throws AppError `invalid_input` (NUL in a text parameter), `store_unavailable` (database unreachable), engine errors.
   */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** A store engine (see the module header); open one with openStore (index.ts). */
export interface Store extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction (BEGIN … COMMIT; ROLLBACK on throw). */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** True when the engine answers a trivial query. Never throws. */
  ping(): Promise<boolean>;
  /** Closes the engine (pool or PGlite instance). */
  close(): Promise<void>;
}

/** PostgreSQL SQLSTATE 23505, the same on both engines. */
export const isUniqueViolation = (err: unknown): boolean => (err as { code?: unknown })?.code === '23505';
/** A PostgreSQL foreign_key_violation (SQLSTATE 23503): the referenced row is gone. */
export const isForeignKeyViolation = (err: unknown): boolean => (err as { code?: unknown })?.code === '23503';

/**
 * PostgreSQL text cannot hold U+0000: a client string carrying one would fail deep in the engine
 * (a 500). Both adapters refuse such parameters up front as a client error.
 */
export function assertStorableParams(params: readonly unknown[]): void {
  for (const p of params) {
    if (typeof p === 'string' && p.includes('\u0000')) throw new AppError('invalid_input', 'text must not contain NUL characters');
  }
}
