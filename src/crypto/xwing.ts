/**
 * X-Wing hybrid KEM (draft-connolly-cfrg-xwing-kem, -06 construction), built generically from a
 * backend's ML-KEM-768, X25519, SHAKE-256 and SHA3-256, so native and noble share one definition.
 *
 *   expandDecapsulationKey(sk): e = SHAKE256(sk, 96); (pk_M, sk_M) = ML-KEM-768.KeyGen_internal(e[0:32], e[32:64]);
 *                               sk_X = e[64:96]; pk_X = X25519(sk_X, 9)
 *   Combiner = SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ "\.//^\")   (label LAST)
 *   Encaps(pk, eseed): m = eseed[0:32], ek_X = eseed[32:64]
 *
 * The secret key is the 32-byte seed. X25519 low-order inputs (all-zero shared secret) are rejected
 * with CryptoInputError on both backends (noble refuses them, OpenSSL fails the derivation); the
 * X25519 ciphertext is public, so this is no oracle on the ML-KEM part.
 */
import type { CryptoBackend, Encapsulation, KeyPair, PreparedDecapsulationKey } from './backend.ts';
import { concatBytes, wipe } from './bytes.ts';
import { assertBytes } from './_validate.ts';

type XWingDeps = Pick<CryptoBackend, 'keygen' | 'encapsulate' | 'decapsulate' | 'x25519Keygen' | 'x25519' | 'hash' | 'randomBytes'>;
type XWingPrepareDeps = XWingDeps & Pick<CryptoBackend, 'prepareDecapsulationKey'>;

/** "\.//^\" */
const LABEL = Uint8Array.of(0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c);
const PK_M = 1184;
const CT_M = 1088;

function expand(b: XWingDeps, sk: Uint8Array) {
  assertBytes(sk, 'X-Wing secret key', 32);
  const e = b.hash('SHAKE-256', sk, 96);
  const m = b.keygen('ML-KEM-768', e.subarray(0, 64));
  const skX = e.slice(64, 96);
  const x = b.x25519Keygen(skX);
  wipe(e);
  return { skM: m.secretKey, pkM: m.publicKey, skX, pkX: x.publicKey };
}

function combine(b: Pick<CryptoBackend, 'hash'>, ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  return b.hash('SHA3-256', concatBytes(ssM, ssX, ctX, pkX, LABEL));
}

/** X-Wing key generation from a 32-byte seed (random when omitted); the secret key is the seed. */
export function xwingKeygen(b: XWingDeps, seed?: Uint8Array): KeyPair {
  const sk = seed === undefined ? b.randomBytes(32) : (assertBytes(seed, 'X-Wing seed', 32), seed.slice());
  const k = expand(b, sk);
  wipe(k.skM, k.skX);
  return { publicKey: concatBytes(k.pkM, k.pkX), secretKey: sk };
}

/** X-Wing encapsulation; `eseed` (64 B) is for known-answer tests; throws CryptoInputError on bad sizes. */
export function xwingEncapsulate(b: XWingDeps, publicKey: Uint8Array, eseed?: Uint8Array): Encapsulation {
  assertBytes(publicKey, 'X-Wing public key', PK_M + 32);
  if (eseed !== undefined) assertBytes(eseed, 'X-Wing eseed', 64);
  const pkM = publicKey.subarray(0, PK_M);
  const pkX = publicKey.subarray(PK_M);
  // With no eseed the ML-KEM part uses the backend's own randomness (OpenSSL cannot take m).
  const m = b.encapsulate('ML-KEM-768', pkM, eseed?.subarray(0, 32));
  const ekX = eseed === undefined ? b.randomBytes(32) : eseed.slice(32, 64);
  const ctX = b.x25519Keygen(ekX).publicKey;
  const ssX = b.x25519(ekX, pkX);
  const sharedSecret = combine(b, m.sharedSecret, ssX, ctX, pkX);
  wipe(ekX, ssX, m.sharedSecret);
  return { cipherText: concatBytes(m.cipherText, ctX), sharedSecret };
}

/** X-Wing decapsulation (ML-KEM implicit rejection applies); throws CryptoInputError on bad sizes. */
export function xwingDecapsulate(b: XWingDeps, cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertBytes(cipherText, 'X-Wing ciphertext', CT_M + 32);
  const k = expand(b, secretKey);
  try {
    const ctX = cipherText.subarray(CT_M);
    const ssM = b.decapsulate('ML-KEM-768', cipherText.subarray(0, CT_M), k.skM);
    const ssX = b.x25519(k.skX, ctX);
    const ss = combine(b, ssM, ssX, ctX, k.pkX);
    wipe(ssM, ssX);
    return ss;
  } finally {
    wipe(k.skM, k.skX);
  }
}

/** X25519 with a fixed secret key imported once (native: an OpenSSL KeyObject); same checks as `x25519`. */
export type PrepareX25519 = (secretKey: Uint8Array) => (publicKey: Uint8Array) => Uint8Array;

/** Bytes of the X-Wing public key (pk_M ‖ pk_X) and ciphertext (ct_M ‖ ct_X). */
export const XWING_PUBLIC_KEY_BYTES = PK_M + 32;
export const XWING_CIPHERTEXT_BYTES = CT_M + 32;

/** SHA3-256 combiner of the draft (label last), for backends composing X-Wing from their own halves. */
export const xwingCombine = combine;

/**
 * A prepared X-Wing decapsulation key from its two halves: `decapsulateM` (ML-KEM-768 under the
 * held secret key), `dhX` (X25519 under the held secret key, all-zero output rejected) and pk_X.
 */
export function xwingPreparedFrom(
  b: Pick<CryptoBackend, 'hash'>, publicKey: Uint8Array, pkX: Uint8Array,
  decapsulateM: (ctM: Uint8Array) => Uint8Array, dhX: (ctX: Uint8Array) => Uint8Array, destroy: () => void,
): PreparedDecapsulationKey {
  return {
    algorithm: 'X-Wing',
    publicKey,
    decapsulate(cipherText) {
      assertBytes(cipherText, 'X-Wing ciphertext', CT_M + 32);
      const ctX = cipherText.subarray(CT_M);
      const ssM = decapsulateM(cipherText.subarray(0, CT_M));
      const ssX = dhX(ctX);
      const ss = combine(b, ssM, ssX, ctX, pkX);
      wipe(ssM, ssX);
      return ss;
    },
    destroy,
  };
}

/**
 * X-Wing decapsulation key expanded once: the ML-KEM-768 half prepared by the backend, the X25519
 * half through `prepareX25519` when the backend has one (default: the backend's byte-string x25519).
 */
export function xwingPrepare(b: XWingPrepareDeps, seed: Uint8Array, prepareX25519?: PrepareX25519): PreparedDecapsulationKey {
  assertBytes(seed, 'X-Wing secret key', 32);
  const e = b.hash('SHAKE-256', seed, 96);
  const m = b.prepareDecapsulationKey('ML-KEM-768', e.subarray(0, 64));
  const skX = e.slice(64, 96);
  const pkX = b.x25519Keygen(skX).publicKey;
  wipe(e);
  const dhX = prepareX25519 ? prepareX25519(skX) : (ctX: Uint8Array) => b.x25519(skX, ctX);
  return xwingPreparedFrom(b, concatBytes(m.publicKey, pkX), pkX, (ctM) => m.decapsulate(ctM), dhX, () => { m.destroy(); wipe(skX); });
}
