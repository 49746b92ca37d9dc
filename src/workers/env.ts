/**
 * What every worker task receives besides its input: set once per worker thread, from the options
 * the pool was created with (src/workers/pool.ts), never read from the environment by a task.
 */
import type { CryptoBackend } from '../crypto/backend.ts';

/** The per-thread environment of worker tasks. */
export interface WorkerEnv {
  /** The configured crypto backend (CRYPTO_BACKEND), chosen once at pool creation. */
  readonly backend: CryptoBackend;
}

/** A worker task: synchronous or async, bytes in, bytes out; an AppError it throws keeps its code. */
export type Task<I, O> = (input: I, env: WorkerEnv) => O | Promise<O>;
