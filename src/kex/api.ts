/**
 * The kex capability's interface module: what it needs from other capabilities (the identity
 * key that signs prekeys, which the keys capability provides) and what it offers (ctx.kex).
 */
import type { IdentitySigner, KexService } from './service.ts';

/** The identity key that signs prekeys, as kex needs it (provided by keys). */
export type { IdentitySigner } from './service.ts';

/** The kex capability's dependencies. */
export interface KexRequires {
  identity: IdentitySigner;
}

declare module '../context.ts' {
  interface AppContext {
    kex: KexService;
  }
}
