/**
 * The service's own keys, stored like managed keys under the owner `system` (never reachable
 * through the API): a long-term ML-DSA-65 identity key (the kex capability signs prekeys with it,
 * PIR signs configs) and the ML-DSA-65 token-signing key (tokens.ts).
 *
 * Created on first start with insert-if-absent, then read back: several instances starting
 * together on one PostgreSQL end up with one key. Wrapped at rest like every key; rotatable.
 *
 * @example
 * const sig = await ctx.systemKeys.signIdentity(prekeyBytes, utf8('pqzk prekey v1'));
 * const { publicKey, version } = await ctx.systemKeys.identity();
 */
import type { KeyService } from './service.ts';
import { SYSTEM_OWNER } from './owners.ts';
import { SIZES } from '../crypto/algorithms.ts';
import { jwkThumbprint } from '../crypto/thumbprint.ts';

/** Name of the service's long-term identity key (owner `system`). */
export const IDENTITY_KEY = 'identity';
/** Name of the access-token signing key (owner `system`), used by tokens.ts. */
export const TOKEN_KEY = 'token-signing';
/** Algorithm of both system keys. */
export const SYSTEM_KEY_ALG = 'ML-DSA-65' as const;
const ALG = SYSTEM_KEY_ALG;

export interface IdentityInfo { keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: Uint8Array }

export interface SystemKeys {
  /** Current identity key version. keyId is the RFC 7638-style thumbprint of its AKP JWK. */
  identity(): Promise<IdentityInfo>;
  /** All identity versions (for clients that pin an older one). */
  identityVersions(): Promise<IdentityInfo[]>;
  signIdentity(message: Uint8Array, context?: Uint8Array): Promise<Uint8Array>;
  /** Verifies with any identity version (the latest first). */
  verifyIdentity(message: Uint8Array, signature: Uint8Array, context?: Uint8Array): Promise<boolean>;
  rotateIdentity(): Promise<void>;
}

/** Creates the system keys if absent and returns the identity operations other capabilities use. */
export async function createSystemKeys(keys: KeyService): Promise<SystemKeys> {
  await keys.ensure(SYSTEM_OWNER, IDENTITY_KEY, ALG);
  await keys.ensure(SYSTEM_OWNER, TOKEN_KEY, ALG);

  const versions = async (): Promise<IdentityInfo[]> => {
    const { versions: vs } = await keys.versions(SYSTEM_OWNER, IDENTITY_KEY);
    return vs.map((v) => ({ keyId: jwkThumbprint(ALG, v.public_key), version: v.version, algorithm: ALG, publicKey: v.public_key })).reverse();
  };

  return {
    identity: async () => (await versions())[0]!,
    identityVersions: versions,
    async signIdentity(message, context) {
      return (await keys.signRaw(SYSTEM_OWNER, IDENTITY_KEY, message, context)).signature;
    },
    async verifyIdentity(message, signature, context) {
      if (signature.length !== SIZES[ALG].signature) return false;
      for (const v of await versions()) {
        const { valid } = await keys.verifyRaw(ALG, v.publicKey, message, signature, context);
        if (valid) return true;
      }
      return false;
    },
    async rotateIdentity() {
      await keys.rotate(SYSTEM_OWNER, IDENTITY_KEY);
    },
  };
}
