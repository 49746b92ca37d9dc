/** What every capability's handlers and services receive: built once in buildApp. */
import type { Config } from './config.ts';
import type { Store } from './store/index.ts';
import type { WorkerPool } from './workers/pool.ts';
import type { CryptoBackend } from './crypto/backend.ts';
import type { Secrets } from './secrets.ts';
import type { FastifyBaseLogger } from 'fastify';

export interface AppContext {
  config: Config;
  store: Store;
  pool: WorkerPool;
  backend: CryptoBackend;
  secrets: Secrets;
  log: FastifyBaseLogger;
}
