/**
 * Verification: by key name (the version comes from the signature's `v<N>:` prefix, down to
 * minVersion) or with a public key the caller supplies (raw, SPKI, PEM or AKP JWK). Verify never
 * unwraps private material.
 */
import { isSignatureAlgorithm, parsePublicKey } from '../crypto/index.ts';
import { checkSignatureLength, decodeField, invalid, parseMessage, parsePrehash, parseVersionedSignature } from './inputs.ts';
import type { Keyring } from './keyring.ts';
import { signingAlgorithm } from './sign.ts';
import type { VerifyInput } from './worker.ts';

export interface VerifyRequest { message?: string | undefined; mu?: string | undefined; signature: string; context?: string | undefined; prehash?: string | undefined }
export interface VerifyWithPublicKeyRequest extends Omit<VerifyRequest, 'signature'> {
  algorithm: string; publicKey: string | Record<string, unknown>; signature: string;
}

/** Verifies against the version named by the signature prefix (`v<N>:`), down to minVersion. */
export async function verify(ring: Keyring, owner: string, name: string, req: VerifyRequest): Promise<{ valid: boolean; version: number }> {
  const sig = parseVersionedSignature('signature', req.signature);
  const row = await ring.cachedRow(owner, name, sig.version);
  if (row.version === null) throw invalid('signature', `the signature names version ${sig.version}, which key ${name} does not have (latest is ${row.latest_version})`);
  const alg = signingAlgorithm(row, row.version);
  checkSignatureLength(alg, sig.bytes);
  const prehash = parsePrehash(alg, req.prehash);
  const msg = parseMessage(alg, req, prehash);
  const { valid } = await ring.pool.run('keys.verify', {
    algorithm: alg, publicKey: row.public_key!, cacheId: `${row.id}#v${row.version}`, signature: sig.bytes, ...msg, ...(prehash ? { prehash } : {}),
  } satisfies VerifyInput);
  return { valid, version: row.version };
}

/** Verifies with a caller-supplied public key (raw, SPKI, PEM or JWK); the `v<N>:` prefix is optional. */
export async function verifyWithPublicKey(ring: Keyring, req: VerifyWithPublicKeyRequest): Promise<{ valid: boolean }> {
  if (!isSignatureAlgorithm(req.algorithm)) throw invalid('algorithm', `unknown signature algorithm ${JSON.stringify(req.algorithm)}`);
  const alg = req.algorithm;
  const publicKey = parsePublicKey(alg, req.publicKey);
  const sigBytes = req.signature.startsWith('v') && req.signature.includes(':')
    ? parseVersionedSignature('signature', req.signature).bytes
    : decodeField('signature', req.signature);
  checkSignatureLength(alg, sigBytes);
  const prehash = parsePrehash(alg, req.prehash);
  const msg = parseMessage(alg, req, prehash);
  return ring.pool.run('keys.verify', { algorithm: alg, publicKey, signature: sigBytes, ...msg, ...(prehash ? { prehash } : {}) } satisfies VerifyInput);
}
