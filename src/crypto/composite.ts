/**
 * Composite ML-DSA signatures (draft-ietf-lamps-pq-composite-sigs-19), the construction shared by
 * both backends. Pure module: the ML-DSA component, PH and randomness come from the calling backend
 * (`MlDsaPart`), the Ed25519 / ECDSA component from its `TraditionalPart` (node:crypto or @noble/curves).
 *
 *   M' = Prefix ‖ Label ‖ len(ctx) ‖ ctx ‖ PH(M)                                   (§2.1, §3.2)
 *   mldsaSig = ML-DSA.Sign(mldsaSK, M', ctx = Label)   pure ML-DSA, the Label as FIPS 204 context
 *   tradSig  = Trad.Sign(tradSK, M')                   Ed25519 pure / ECDSA with its own hash of M'
 *   pk = mldsaPK ‖ tradPK,  sk = mldsaSeed(32) ‖ tradSK,  s = mldsaSig ‖ tradSig   (§4, split at the ML-DSA sizes)
 *
 * Valid iff both components verify (§3.3). Malformed components are refused here, identically on both
 * backends: ECDSA secret keys must be the exact RFC 5915 ECPrivateKey template with 1 ≤ d < n; public
 * points must be on the curve (ECDSA: uncompressed, coordinates < p; Ed25519: canonical y < p,
 * decodable and not of small order). ECDSA signatures must be strict DER with 0 < r, s < n; high S
 * is accepted (the draft does not require low-S, and its own vectors have high-S signatures).
 *
 * @example
 * const b = getBackend('native');
 * const { publicKey, secretKey } = b.signatureKeygen('MLDSA65-ECDSA-P256-SHA512');
 * b.verify('MLDSA65-ECDSA-P256-SHA512', publicKey, msg, b.sign('MLDSA65-ECDSA-P256-SHA512', secretKey, msg, { context }), { context }); // true
 */
import { COMPOSITE, SIZES, TRADITIONAL_SIZES, signatureLengthOk } from './algorithms.ts';
import type { CompositeAlgorithm, MlDsaAlgorithm, TraditionalAlgorithm } from './algorithms.ts';
import type { KeyPair, PreparedSigningKey, PreparedVerifyingKey, SignOptions, VerifyOptions } from './backend.ts';
import { CryptoInputError } from '../errors.ts';
import { concatBytes } from './bytes.ts';
import { assertBytes, checkContext } from './_validate.ts';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** §2.1 Prefix: ASCII "CompositeAlgorithmSignatures2025". */
export const COMPOSITE_PREFIX = ascii('CompositeAlgorithmSignatures2025');

/** The backend's own ML-DSA, hashing and randomness, used for the ML-DSA component and PH. */
export interface MlDsaPart {
  prepareSigningKey(alg: MlDsaAlgorithm, seed: Uint8Array): PreparedSigningKey;
  prepareVerifyingKey(alg: MlDsaAlgorithm, publicKey: Uint8Array): PreparedVerifyingKey;
  hash(alg: 'SHA-256' | 'SHA-512', data: Uint8Array): Uint8Array;
  randomBytes(length: number): Uint8Array;
}

/** A traditional signer: its public key (Ed25519 raw / ECDSA 04‖X‖Y) and a signature over M'. */
export interface TraditionalSigner { publicKey: Uint8Array; sign(mPrime: Uint8Array, deterministic: boolean): Uint8Array; destroy(): void }

/**
 * The backend's traditional component. `secret` is the raw secret (Ed25519 32 B, ECDSA scalar d),
 * already checked here; `publicKey` and signatures reach it only after the checks of this module.
 */
export interface TraditionalPart {
  prepareSigner(trad: TraditionalAlgorithm, secret: Uint8Array): TraditionalSigner;
  /** The verification function; ECDSA signatures are DER (strict, checked), verified without a low-S rule. */
  prepareVerifier(trad: TraditionalAlgorithm, publicKey: Uint8Array): (mPrime: Uint8Array, signature: Uint8Array) => boolean;
}

// ------------------------------------------------------------------------- curve constants (public)

interface Curve { p: bigint; b: bigint; n: bigint; oid: Uint8Array }
/** FIPS 186-5 / SEC 2 domain parameters (a = −3); checked against @noble/curves in the tests. */
export const CURVES: Record<'P-256' | 'P-384', Curve> = {
  'P-256': {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    oid: Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07),
  },
  'P-384': {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    oid: Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22),
  },
};
const ED_P = (1n << 255n) - 19n;
const ED_D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
/** y of the order-8 points (little-endian c7176a70…ac037a); the small-order points have y ∈ {0, 1, p − 1, ±Y8}. */
const ED_Y8 = 0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n;
const ED_SMALL_ORDER_Y = new Set([0n, 1n, ED_P - 1n, ED_Y8, ED_P - ED_Y8]);

const be = (b: Uint8Array): bigint => b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function pow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  for (b = mod(b, m); e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

const toBytes = (v: bigint, len: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => Number((v >> BigInt(8 * (len - 1 - i))) & 0xffn));
const ORDER_BYTES = { 'P-256': toBytes(CURVES['P-256'].n, 32), 'P-384': toBytes(CURVES['P-384'].n, 48) };

/** Whether the secret big-endian scalar d is in [1, n − 1], in constant time (no BigInt of the secret). */
function scalarInRange(trad: 'P-256' | 'P-384', d: Uint8Array): boolean {
  const n = ORDER_BYTES[trad];
  let borrow = 0;
  let any = 0;
  for (let i = d.length - 1; i >= 0; i--) {
    borrow = ((d[i]! - n[i]! - borrow) >> 8) & 1; // 1 while d < n on the bytes so far
    any |= d[i]!;
  }
  return (borrow & (((any | -any) >> 31) & 1)) === 1;
}

/** Whether `pk` is a valid traditional public key (public data: variable time is fine). */
export function tradPublicKeyOk(trad: TraditionalAlgorithm, pk: Uint8Array): boolean {
  if (pk.length !== TRADITIONAL_SIZES[trad].publicKey) return false;
  if (trad === 'Ed25519') {
    // RFC 8032 §5.1.3: y < p (canonical) and x² = (y² − 1) / (d·y² + 1) has a root; x = 0 with the sign bit set is invalid.
    const bytes = Uint8Array.from(pk).reverse(); // little-endian → big-endian; the sign of x is the top bit
    const sign = bytes[0]! >> 7;
    bytes[0] = bytes[0]! & 0x7f;
    const y = be(bytes);
    if (y >= ED_P || ED_SMALL_ORDER_Y.has(y)) return false; // non-canonical, or a point of small order (no key)
    const y2 = (y * y) % ED_P;
    const x2 = mod((y2 - 1n) * pow(ED_D * y2 + 1n, ED_P - 2n, ED_P), ED_P);
    if (x2 === 0n) return sign === 0;
    return pow(x2, (ED_P - 1n) / 2n, ED_P) === 1n;
  }
  const { p, b } = CURVES[trad];
  const len = TRADITIONAL_SIZES[trad].scalar;
  if (pk[0] !== 0x04) return false;
  const x = be(pk.subarray(1, 1 + len)), y = be(pk.subarray(1 + len));
  if (x >= p || y >= p) return false;
  return mod(y * y - (x * x * x - 3n * x + b), p) === 0n;
}

// ------------------------------------------------------------------------- key and signature encodings

/** RFC 5915 ECPrivateKey as the draft writes it: version 1, the fixed-length scalar, [0] named curve, no public key. */
export function encodeEcPrivateKey(trad: 'P-256' | 'P-384', d: Uint8Array): Uint8Array {
  const { oid } = CURVES[trad];
  const body = concatBytes(Uint8Array.of(0x02, 0x01, 0x01, 0x04, d.length), d, Uint8Array.of(0xa0, oid.length), oid);
  return concatBytes(Uint8Array.of(0x30, body.length), body);
}

/** The components of a composite secret key: ML-DSA seed ξ and the raw traditional secret; refuses a malformed tradSK. */
export function splitSecretKey(alg: CompositeAlgorithm, sk: Uint8Array): { seed: Uint8Array; secret: Uint8Array } {
  assertBytes(sk, 'secret key', SIZES[alg].secretKey);
  const { trad } = COMPOSITE[alg];
  const seed = sk.subarray(0, 32), t = sk.subarray(32);
  if (trad === 'Ed25519') return { seed, secret: t };
  const len = TRADITIONAL_SIZES[trad].scalar;
  const d = t.subarray(7, 7 + len);
  const template = encodeEcPrivateKey(trad, d);
  let diff = 0;
  for (let i = 0; i < template.length; i++) diff |= template[i]! ^ t[i]!;
  if (diff !== 0) throw new CryptoInputError(`malformed ${trad} ECPrivateKey in the composite secret key`);
  if (!scalarInRange(trad, d)) throw new CryptoInputError(`${trad} private scalar out of range`);
  return { seed, secret: d };
}

/** The components of a composite public key, each checked; throws CryptoInputError. */
export function splitPublicKey(alg: CompositeAlgorithm, pk: Uint8Array): { mldsa: Uint8Array; trad: Uint8Array } {
  assertBytes(pk, 'public key', SIZES[alg].publicKey);
  const { mldsa, trad } = COMPOSITE[alg];
  const out = { mldsa: pk.subarray(0, SIZES[mldsa].publicKey), trad: pk.subarray(SIZES[mldsa].publicKey) };
  if (!tradPublicKeyOk(trad, out.trad)) throw new CryptoInputError(`malformed ${trad} component in the composite public key`);
  return out;
}

/** Strict DER Ecdsa-Sig-Value with 0 < r, s < n (no low-S rule). */
export function ecdsaSignatureOk(trad: 'P-256' | 'P-384', sig: Uint8Array): boolean {
  if (sig.length < 8 || sig[0] !== 0x30 || sig[1] !== sig.length - 2 || sig[1]! >= 0x80) return false;
  const { n } = CURVES[trad];
  let off = 2;
  for (let k = 0; k < 2; k++) {
    if (sig[off] !== 0x02) return false;
    const len = sig[off + 1]!;
    const v = sig.subarray(off + 2, off + 2 + len);
    if (len === 0 || v.length !== len || (v[0]! & 0x80) !== 0) return false;
    if (v[0] === 0 && (len === 1 || (v[1]! & 0x80) === 0)) return false; // minimal, positive
    const x = be(v);
    if (x === 0n || x >= n) return false;
    off += 2 + len;
  }
  return off === sig.length;
}

/** The components of a composite signature, or undefined when its length or the traditional part is malformed. */
export function splitSignature(alg: CompositeAlgorithm, sig: Uint8Array): { mldsa: Uint8Array; trad: Uint8Array } | undefined {
  if (!signatureLengthOk(alg, sig.length)) return undefined;
  const { mldsa, trad } = COMPOSITE[alg];
  const out = { mldsa: sig.subarray(0, SIZES[mldsa].signature), trad: sig.subarray(SIZES[mldsa].signature) };
  if (trad !== 'Ed25519' && !ecdsaSignatureOk(trad, out.trad)) return undefined;
  return out;
}

// ------------------------------------------------------------------------- the construction

const LABELS = Object.fromEntries(Object.entries(COMPOSITE).map(([a, c]) => [a, ascii(c.label)])) as Record<CompositeAlgorithm, Uint8Array>;

/** §3.2 step 2: M' = Prefix ‖ Label ‖ len(ctx) ‖ ctx ‖ PH(M); ctx > 255 bytes is an error. */
export function compositeMessage(alg: CompositeAlgorithm, message: Uint8Array, ctx: Uint8Array | undefined, hash: MlDsaPart['hash']): Uint8Array {
  const c = checkContext(ctx);
  assertBytes(message, 'message');
  return concatBytes(COMPOSITE_PREFIX, LABELS[alg], Uint8Array.of(c.length), c, hash(COMPOSITE[alg].ph, message));
}

/** The Label of `alg` as bytes (the ML-DSA component's context). */
export const compositeLabel = (alg: CompositeAlgorithm): Uint8Array => LABELS[alg].slice();

const noPrehash = (o: { prehash?: unknown }): void => {
  if (o.prehash !== undefined) throw new CryptoInputError('composite ML-DSA signatures have no pre-hash variant: PH is fixed by the algorithm');
};
const noMu = (): never => { throw new CryptoInputError('external mu is defined for ML-DSA only, not for composite signatures'); };

/** A fresh composite secret key: random ξ ‖ random tradSK (ECDSA: d uniform in [1, n − 1] by rejection). */
export function randomSecretKey(ml: MlDsaPart, alg: CompositeAlgorithm): Uint8Array {
  const { trad } = COMPOSITE[alg];
  const seed = ml.randomBytes(32);
  if (trad === 'Ed25519') return concatBytes(seed, ml.randomBytes(32));
  for (let i = 0; i < 128; i++) {
    const d = ml.randomBytes(TRADITIONAL_SIZES[trad].scalar);
    if (scalarInRange(trad, d)) return concatBytes(seed, encodeEcPrivateKey(trad, d));
    d.fill(0);
  }
  throw new CryptoInputError('randomness source failed to produce an ECDSA scalar');
}

/** Prepares a composite signing key from its secret key (the stored form, §5.3). */
export function prepareCompositeSigningKey(ml: MlDsaPart, tp: TraditionalPart, alg: CompositeAlgorithm, material: Uint8Array): PreparedSigningKey {
  const { mldsa, trad } = COMPOSITE[alg];
  const { seed, secret } = splitSecretKey(alg, material);
  const mlKey = ml.prepareSigningKey(mldsa, seed);
  let tKey: TraditionalSigner;
  try { tKey = tp.prepareSigner(trad, secret); } catch (e) { mlKey.destroy(); throw e; }
  const label = LABELS[alg];
  return {
    algorithm: alg,
    publicKey: concatBytes(mlKey.publicKey, tKey.publicKey),
    sign(message, opts: SignOptions = {}) {
      noPrehash(opts);
      const mp = compositeMessage(alg, message, opts.context, ml.hash);
      const det = opts.deterministic === true;
      const mlSig = mlKey.sign(mp, { context: label, ...(det ? { deterministic: true } : {}), ...(opts.random ? { random: opts.random } : {}) });
      return concatBytes(mlSig, tKey.sign(mp, det));
    },
    signMu: noMu,
    destroy() { mlKey.destroy(); tKey.destroy(); },
  };
}

/** Prepares a composite verification key; a malformed component throws CryptoInputError. */
export function prepareCompositeVerifyingKey(ml: MlDsaPart, tp: TraditionalPart, alg: CompositeAlgorithm, publicKey: Uint8Array): PreparedVerifyingKey {
  const { mldsa, trad } = COMPOSITE[alg];
  const parts = splitPublicKey(alg, publicKey);
  const mlKey = ml.prepareVerifyingKey(mldsa, parts.mldsa);
  const tVerify = tp.prepareVerifier(trad, parts.trad);
  const label = LABELS[alg];
  return {
    algorithm: alg,
    publicKey: publicKey.slice(),
    verify(message, signature, opts: VerifyOptions = {}) {
      noPrehash(opts);
      assertBytes(signature, 'signature');
      const mp = compositeMessage(alg, message, opts.context, ml.hash);
      const s = splitSignature(alg, signature);
      if (s === undefined) return false;
      // Both components are always checked; the composite is valid only when both verify (§3.3).
      const okMl = mlKey.verify(mp, s.mldsa, { context: label });
      let okTrad = false;
      try { okTrad = tVerify(mp, s.trad); } catch { okTrad = false; }
      return okMl && okTrad;
    },
    verifyMu: noMu,
  };
}

/** Composite key generation: `seed` is a whole composite secret key (random when omitted); returns it with its public key. */
export function compositeKeygen(ml: MlDsaPart, tp: TraditionalPart, alg: CompositeAlgorithm, seed?: Uint8Array): KeyPair {
  const secretKey = seed === undefined ? randomSecretKey(ml, alg) : seed.slice();
  const key = prepareCompositeSigningKey(ml, tp, alg, secretKey);
  try { return { publicKey: key.publicKey, secretKey }; } finally { key.destroy(); }
}

/** The SignatureBackend methods of a backend for composite algorithms, over its ML-DSA and traditional parts. */
export function compositeMethods(ml: () => MlDsaPart, tp: TraditionalPart) {
  return {
    keygen: (alg: CompositeAlgorithm, seed?: Uint8Array): KeyPair => compositeKeygen(ml(), tp, alg, seed),
    prepareSigningKey: (alg: CompositeAlgorithm, material: Uint8Array) => prepareCompositeSigningKey(ml(), tp, alg, material),
    prepareVerifyingKey: (alg: CompositeAlgorithm, publicKey: Uint8Array) => prepareCompositeVerifyingKey(ml(), tp, alg, publicKey),
    sign(alg: CompositeAlgorithm, secretKey: Uint8Array, message: Uint8Array, opts?: SignOptions): Uint8Array {
      const key = prepareCompositeSigningKey(ml(), tp, alg, secretKey);
      try { return key.sign(message, opts); } finally { key.destroy(); }
    },
    verify(alg: CompositeAlgorithm, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, opts?: VerifyOptions): boolean {
      return prepareCompositeVerifyingKey(ml(), tp, alg, publicKey).verify(message, signature, opts);
    },
    internal: (): never => { throw new CryptoInputError('composite signatures have no internal interface (signInternal / verifyInternal)'); },
  };
}
