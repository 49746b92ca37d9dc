/**
 * What every capability's plugin receives: the context built once in buildApp, its declared
 * dependencies and the binder of its operations. A capability that offers a service to later
 * ones attaches it in its plugin and declares the field in its interface module (api.ts):
 *   declare module '../context.ts' { interface AppContext { keys: KeyService } }
 */
import type { Config } from './config.ts';
import type { Store } from './store/index.ts';
import type { WorkerPool } from './workers/pool.ts';
import type { CryptoBackend } from './crypto/backend.ts';
import type { Secrets } from './secrets.ts';
import type { AccessTokenVerifier } from './http/auth.ts';
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { BindOptions, Handlers } from './http/openapi.ts';
import type { CostModel } from './workers/cost.ts';
import type { CpuBudget } from './http/budget.ts';

/** Shared services built once in buildApp; capabilities add their own fields (declaration merging in their api.ts). */
export interface AppContext {
  config: Config;
  store: Store;
  pool: WorkerPool;
  backend: CryptoBackend;
  secrets: Secrets;
  log: FastifyBaseLogger;
  /** Estimated CPU-seconds of every operation (src/workers/cost.ts), published in /v1/algorithms. */
  costs: CostModel;
  /** Per-address CPU budget of anonymous expensive operations; undefined when ANON_CPU_MS_PER_MINUTE=0. */
  budget: CpuBudget | undefined;
  /** Verifies tenant access tokens; set by the token service. */
  tokenVerifier?: AccessTokenVerifier | undefined;
}

/** What a capability's plugin receives. */
export interface CapabilityOptions<Deps> {
  ctx: AppContext;
  /** The services of other capabilities this one declared it needs. */
  deps: Deps;
  /** Binds the handlers to their operations in openapi.yaml, on the capability's own scope. */
  bind(scope: FastifyInstance, handlers: Handlers, opts?: BindOptions): Promise<void>;
}

/** A capability's fastify plugin, registered encapsulated with its CapabilityOptions. */
export type CapabilityPlugin<Deps = Record<string, never>> = FastifyPluginAsync<CapabilityOptions<Deps>>;
