/**
 * The Store: one schema, one set of SQL queries, two engines.
 * - `pglite`: PostgreSQL compiled to WASM, in process, files in DATA_DIR (the default).
 * - `postgres`: a PostgreSQL server via DATABASE_URL, for several instances behind a load balancer.
 * Capabilities keep their SQL in their own repository module and talk to this interface only.
 */
export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Store extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction (BEGIN … COMMIT; ROLLBACK on throw). */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** True when the engine answers a trivial query. Never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** PostgreSQL SQLSTATE 23505, the same on both engines. */
export const isUniqueViolation = (err: unknown): boolean => (err as { code?: unknown })?.code === '23505';
