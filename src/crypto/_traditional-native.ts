/**
 * The traditional components of composite signatures on node:crypto (OpenSSL): Ed25519 (raw keys)
 * and ECDSA P-256 / P-384 (ECPrivateKey DER in, JWK for the public point, DER signatures). Inputs
 * reach this module only after the checks of composite.ts.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { TraditionalAlgorithm } from './algorithms.ts';
import type { TraditionalPart } from './composite.ts';
import { encodeEcPrivateKey } from './composite.ts';
import { base64urlDecode, base64urlEncode, concatBytes } from './bytes.ts';
import { rethrow } from './_validate.ts';

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const NODE_HASH = { 'P-256': 'sha256', 'P-384': 'sha384' } as const;

function privateKey(trad: TraditionalAlgorithm, secret: Uint8Array): KeyObject {
  if (trad === 'Ed25519') return createPrivateKey({ key: buf(secret), format: 'raw-private', asymmetricKeyType: 'ed25519' } as never);
  return createPrivateKey({ key: Buffer.from(encodeEcPrivateKey(trad, secret)), format: 'der', type: 'sec1' });
}

function publicBytes(trad: TraditionalAlgorithm, key: KeyObject): Uint8Array {
  const pub = createPublicKey(key);
  if (trad === 'Ed25519') return new Uint8Array(pub.export({ format: 'raw-public' } as never) as Buffer);
  const jwk = pub.export({ format: 'jwk' });
  return concatBytes(Uint8Array.of(4), base64urlDecode(jwk.x!), base64urlDecode(jwk.y!));
}

function publicKey(trad: TraditionalAlgorithm, pk: Uint8Array): KeyObject {
  if (trad === 'Ed25519') return createPublicKey({ key: buf(pk), format: 'raw-public', asymmetricKeyType: 'ed25519' } as never);
  const half = (pk.length - 1) / 2;
  return createPublicKey({
    key: { kty: 'EC', crv: trad, x: base64urlEncode(pk.subarray(1, 1 + half)), y: base64urlEncode(pk.subarray(1 + half)) }, format: 'jwk',
  });
}

/** Ed25519 / ECDSA through node:crypto, for composite.ts. */
export const nativeTraditional: TraditionalPart = {
  prepareSigner(trad, secret) {
    let key: KeyObject;
    let pk: Uint8Array;
    try { key = privateKey(trad, secret); pk = publicBytes(trad, key); } catch (e) { return rethrow(e); }
    const alg = trad === 'Ed25519' ? null : NODE_HASH[trad];
    return {
      publicKey: pk,
      // OpenSSL draws the ECDSA nonce itself; deterministic composite signing is refused earlier by the ML-DSA part.
      sign: (mPrime) => new Uint8Array(nodeSign(alg, buf(mPrime), alg === null ? key : { key, dsaEncoding: 'der' })),
      destroy() { /* a KeyObject cannot be wiped from JS */ },
    };
  },
  prepareVerifier(trad, pk) {
    let key: KeyObject;
    try { key = publicKey(trad, pk); } catch (e) { return rethrow(e); }
    const alg = trad === 'Ed25519' ? null : NODE_HASH[trad];
    return (mPrime, sig) => nodeVerify(alg, buf(mPrime), alg === null ? key : { key, dsaEncoding: 'der' }, buf(sig));
  },
};
