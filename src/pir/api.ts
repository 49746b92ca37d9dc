/**
 * The pir capability's interface module: what it needs from other capabilities (the identity
 * key that signs database configs, which the keys capability provides) and what it offers (ctx.pir).
 */
import type { PirService, PirSigner } from './service.ts';

/** The identity key that signs database configs, as pir needs it (provided by keys). */
export type { PirSigner } from './service.ts';

/** The pir capability's dependencies. */
export interface PirRequires {
  identity: PirSigner;
}

declare module '../context.ts' {
  interface AppContext {
    pir: PirService;
  }
}
