/**
 * The keys capability's interface module: the services it offers other capabilities, on the
 * context (set by src/keys/plugin.ts). Another capability imports nothing else from src/keys/.
 *
 * @example
 * const sig = await ctx.systemKeys.signIdentity(prekeyBytes, utf8('pqzk prekey v1'));
 * const { token } = await ctx.tokens.mint('alice', { cnf: sessionPublicKey });
 */
import type { KeyService } from './service.ts';
import type { SystemKeys } from './system.ts';
import type { TokenService } from './tokens.ts';

export type { SystemKeys, IdentityInfo } from './system.ts';
export type { TokenService } from './tokens.ts';
/** Owner strings of managed keys (the key directory names a tenant's key by owner and name). */
export { ADMIN_OWNER, tenantOwner } from './owners.ts';

declare module '../context.ts' {
  interface AppContext {
    /** Managed keys (the keys capability's own service). */
    keys: KeyService;
    /** The service's identity key: signs kex prekeys and PIR configs. */
    systemKeys: SystemKeys;
    /** Mints and verifies tenant access tokens. */
    tokens: TokenService;
  }
}
