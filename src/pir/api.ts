/**
 * The pir capability's interface module: what it needs from other capabilities (the identity
 * key that signs database configs, which the keys capability provides) and what it offers (ctx.pir).
 */
import type { PirService, PirSigner } from './service.ts';
import type { DirectoryKeySource, DirectoryService } from './directory.ts';
import type { KeywordPirService } from './keyword-service.ts';

/** The identity key that signs database configs, as pir needs it (provided by keys). */
export type { PirSigner } from './service.ts';
/** The managed keys' public keys, as the key directory needs them (provided by keys). */
export type { DirectoryKeySource } from './directory.ts';

/** The pir capability's dependencies. */
export interface PirRequires {
  identity: PirSigner;
  /** Current public keys of managed keys, for the key directory. */
  publicKeys: DirectoryKeySource;
}

declare module '../context.ts' {
  interface AppContext {
    pir: PirService;
    /** Keyword PIR uploads (keyword-service.ts). */
    pirKeyword: KeywordPirService;
    /** The private public-key directory (directory.ts). */
    pirDirectory: DirectoryService;
  }
}
