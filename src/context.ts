/**
 * What every capability's handlers and services receive: built once in buildApp.
 * A capability that offers a service to later ones attaches it in its setup and declares the
 * field by interface merging, in its own module:
 *   declare module '../context.ts' { interface AppContext { keys: KeyService } }
 */
import type { Config } from './config.ts';
import type { Store } from './store/index.ts';
import type { WorkerPool } from './workers/pool.ts';
import type { CryptoBackend } from './crypto/backend.ts';
import type { Secrets } from './secrets.ts';
import type { AccessTokenVerifier } from './http/auth.ts';
import type { FastifyBaseLogger } from 'fastify';

export interface AppContext {
  config: Config;
  store: Store;
  pool: WorkerPool;
  backend: CryptoBackend;
  secrets: Secrets;
  log: FastifyBaseLogger;
  /** Verifies tenant access tokens; set by the token service. */
  tokenVerifier?: AccessTokenVerifier | undefined;
}
