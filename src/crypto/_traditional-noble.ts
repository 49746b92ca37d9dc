/**
 * The traditional components of composite signatures on @noble/curves: Ed25519 (RFC 8032, strict,
 * zip215 off) and ECDSA P-256 / P-384 (the curve's own hash of M', DER, hedged unless deterministic,
 * low-S not required on verify). Inputs reach this module only after the checks of composite.ts.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import type { TraditionalPart } from './composite.ts';
import { rethrow } from './_validate.ts';

const ECDSA = { 'P-256': p256, 'P-384': p384 } as const;

/** Ed25519 / ECDSA through @noble/curves, for composite.ts. */
export const nobleTraditional: TraditionalPart = {
  prepareSigner(trad, secret) {
    const sk = secret.slice();
    let pk: Uint8Array;
    try { pk = trad === 'Ed25519' ? ed25519.getPublicKey(sk) : ECDSA[trad].getPublicKey(sk, false); } catch (e) { return rethrow(e); }
    return {
      publicKey: pk,
      sign: (mPrime, deterministic) => (trad === 'Ed25519'
        ? ed25519.sign(mPrime, sk)
        : ECDSA[trad].sign(mPrime, sk, { prehash: true, format: 'der', extraEntropy: !deterministic })),
      destroy: () => sk.fill(0),
    };
  },
  prepareVerifier(trad, pk) {
    const key = pk.slice();
    return trad === 'Ed25519'
      ? (mPrime, sig) => ed25519.verify(sig, mPrime, key, { zip215: false })
      : (mPrime, sig) => ECDSA[trad].verify(sig, mPrime, key, { prehash: true, format: 'der', lowS: false });
  },
};
