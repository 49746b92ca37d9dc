/**
 * Creating public-key-only keys and adding imported public keys as versions (public-only.ts has the
 * marker and the refusals).
 */
import { isKemAlgorithm, isSignatureAlgorithm, parsePublicKey, type Algorithm } from '../crypto/index.ts';
import { invalid } from './inputs.ts';
import type { Keyring } from './keyring.ts';
import * as lifecycle from './lifecycle.ts';
import type { KeyInfo } from './lifecycle.ts';
import { latestIsPublicOnly, publicOnlyError } from './public-only.ts';

async function checkedPublicKey(ring: Keyring, algorithm: string, input: string | Record<string, unknown>): Promise<{ algorithm: Algorithm; publicKey: Uint8Array }> {
  if (!isSignatureAlgorithm(algorithm) && !isKemAlgorithm(algorithm)) throw invalid('algorithm', `unknown algorithm ${JSON.stringify(algorithm)}`);
  const publicKey = parsePublicKey(algorithm, input);
  // FIPS 203 §7.2 modulus check / a key the backend can import, in the pool.
  await ring.pool.run('keys.checkPublicKey', { algorithm, publicKey });
  return { algorithm, publicKey };
}

/** Creates a public-key-only key (version 1) from a public key (raw, SPKI, PEM or AKP JWK). */
export async function createPublicOnlyKey(ring: Keyring, owner: string, req: { name: string; algorithm: string; publicKey: string | Record<string, unknown>; exportable?: boolean | undefined; decapsulateAllowed?: boolean | undefined } & lifecycle.LifecycleRequest): Promise<KeyInfo> {
  if (req.exportable) throw invalid('exportable', 'a public-key-only key has no private material to export');
  if (req.decapsulateAllowed) throw invalid('decapsulateAllowed', 'a public-key-only key cannot decapsulate');
  if (req.rotationPeriod !== undefined && req.rotationPeriod !== null) throw publicOnlyError('rotate automatically (import new public keys as versions instead)');
  const { algorithm, publicKey } = await checkedPublicKey(ring, req.algorithm, req.publicKey);
  return lifecycle.createKey(ring, owner, { name: req.name, algorithm, exportable: false, maxVersions: req.maxVersions }, { publicKey, material: new Uint8Array(0) });
}

/** Adds an imported public key as the newest version of a public-key-only key. */
export async function importPublicKeyVersion(ring: Keyring, owner: string, name: string, input: string | Record<string, unknown>): Promise<KeyInfo> {
  const row = await ring.key(owner, name);
  if (!(await latestIsPublicOnly(ring, owner, name))) throw invalid('publicKey', 'this key holds private material; import a wrapped key through an import job instead');
  const { algorithm, publicKey } = await checkedPublicKey(ring, row.algorithm, input);
  return lifecycle.rotateKey(ring, owner, name, { algorithm, publicKey, material: new Uint8Array(0) });
}
