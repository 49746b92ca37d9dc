/**
 * The capabilities the service is made of, in set-up order. Each is an encapsulated fastify
 * plugin: its routes, hooks, parsers, timers and rate limits live in its own scope. What a
 * capability needs from earlier ones is typed (its `requires`), read from their interface
 * modules' context fields here, in the composition root, so capabilities never import each other.
 */
import type { AppContext, CapabilityPlugin } from './context.ts';
import { metaPlugin } from './http/meta.ts';
import { keysPlugin } from './keys/plugin.ts';
import { kexPlugin } from './kex/plugin.ts';
import { zkPlugin } from './zk/plugin.ts';
import { pirPlugin } from './pir/plugin.ts';
import { auditPlugin } from './audit/plugin.ts';
import type { KexRequires } from './kex/api.ts';
import type { ZkRequires } from './zk/api.ts';
import type { PirRequires } from './pir/api.ts';
import type { AuditRequires } from './audit/api.ts';

/** One capability: its name, the dependencies it picks from the context, and its plugin. */
export interface Capability<Deps = unknown> {
  name: string;
  /** Picks the declared dependencies from the context (set up by earlier capabilities). */
  requires(ctx: AppContext): Deps;
  plugin: CapabilityPlugin<Deps>;
}

const none = (): Record<string, never> => ({});
const define = <Deps>(c: Capability<Deps>): Capability => c as Capability;

/** A service an earlier capability provides, or a start-up error naming who needs it. */
function provided<K extends keyof AppContext>(ctx: AppContext, key: K, by: string, forName: string): NonNullable<AppContext[K]> {
  const value = ctx[key];
  if (value === undefined || value === null) throw new Error(`the ${forName} capability needs ctx.${String(key)} (from the ${by} capability, set up before it)`);
  return value as NonNullable<AppContext[K]>;
}

/** The registry, in set-up order; `requires` throws at start-up when a dependency is missing. */
export const capabilities: Capability[] = [
  define({ name: 'meta', requires: none, plugin: metaPlugin }),
  define({ name: 'keys', requires: none, plugin: keysPlugin }),
  define<KexRequires>({ name: 'kex', requires: (ctx) => ({ identity: provided(ctx, 'systemKeys', 'keys', 'kex') }), plugin: kexPlugin }),
  define<ZkRequires>({ name: 'zk', requires: (ctx) => ({ tokens: provided(ctx, 'tokens', 'keys', 'zk') }), plugin: zkPlugin }),
  define<PirRequires>({ name: 'pir', requires: (ctx) => ({ identity: provided(ctx, 'systemKeys', 'keys', 'pir'), publicKeys: provided(ctx, 'keys', 'keys', 'pir') }), plugin: pirPlugin }),
  define<AuditRequires>({ name: 'audit', requires: (ctx) => ({ identity: provided(ctx, 'systemKeys', 'keys', 'audit') }), plugin: auditPlugin }),
  // @capabilities-end (add new capabilities above this line, one per line)
];
