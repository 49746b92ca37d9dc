/**
 * The capabilities the service is made of, in set-up order (later ones may use services
 * that earlier ones attached to the context). Each returns its handlers keyed by operationId.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from './context.ts';
import type { Handlers } from './http/openapi.ts';
import { metaHandlers } from './http/meta.ts';
import { setupKeys } from './keys/routes.ts';
import { setupKex } from './kex/routes.ts';
import { setupZk } from './zk/routes.ts';
import { setupPir } from './pir/routes.ts';

export interface Capability {
  name: string;
  setup(ctx: AppContext, app: FastifyInstance): Promise<Handlers> | Handlers;
}

export const capabilities: Capability[] = [
  { name: 'meta', setup: (ctx) => metaHandlers(ctx) },
  { name: 'keys', setup: setupKeys },
  { name: 'kex', setup: setupKex },
  { name: 'zk', setup: setupZk },
  { name: 'pir', setup: setupPir },
  // @capabilities-end (add new capabilities above this line, one per line)
];
