/**
 * The zk capability's interface module: what it needs from other capabilities (a token minter,
 * which the keys capability's token service is) and what it offers (ctx.zk, ctx.zkBatcher).
 */
import type { TokenMinter, ZkService } from './service.ts';
import type { VerifyBatcher } from './batcher.ts';

/** What zk needs to issue an access token after a login (provided by keys). */
export type { TokenMinter } from './service.ts';

/** The zk capability's dependencies. */
export interface ZkRequires {
  tokens: TokenMinter;
}

declare module '../context.ts' {
  interface AppContext {
    zk: ZkService;
    zkBatcher: VerifyBatcher;
  }
}
