/**
 * Internal input checks shared by both backends, so that both reject the same bytes with the same
 * typed error (CryptoInputError) before any library sees them. Pure module.
 */
import { AppError, CryptoInputError } from '../errors.ts';
import { SIZES, ML_KEM, HASH_ALGORITHMS, AEAD_CIPHERS, AEAD_KEY_BYTES, isMlDsa, type AeadCipher } from './algorithms.ts';
import type { MlKemAlgorithm, MlDsaAlgorithm, KemAlgorithm, SignatureAlgorithm, HashAlgorithm } from './algorithms.ts';
import { constantTimeEqual } from './bytes.ts';

/** Asserts `value` is a Uint8Array (of `length` bytes when given); throws CryptoInputError. */
export function assertBytes(value: unknown, what: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CryptoInputError(`${what} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new CryptoInputError(`${what} must be ${length} bytes, got ${value.length}`);
  }
}

/** Asserts `alg` names a KEM of the registry; throws CryptoInputError. */
export function assertKem(alg: string): asserts alg is KemAlgorithm {
  if (!(alg in SIZES) || SIZES[alg as KemAlgorithm].kind !== 'kem') throw new CryptoInputError('unknown KEM algorithm');
}

/** Asserts `alg` names a signature algorithm of the registry; throws CryptoInputError. */
export function assertSignature(alg: string): asserts alg is SignatureAlgorithm {
  if (!(alg in SIZES) || SIZES[alg as SignatureAlgorithm].kind !== 'signature') {
    throw new CryptoInputError('unknown signature algorithm');
  }
}

/** Whether `alg` is an ML-KEM parameter set (FIPS 203), not X-Wing. */
export const isMlKem = (alg: string): alg is MlKemAlgorithm => (ML_KEM as readonly string[]).includes(alg);

/** FIPS 204 §5.2 / FIPS 205 §10.2: ctx is at most 255 bytes. */
export function checkContext(ctx: Uint8Array | undefined): Uint8Array {
  if (ctx === undefined) return new Uint8Array(0);
  assertBytes(ctx, 'context');
  if (ctx.length > 255) throw new CryptoInputError('context must be at most 255 bytes');
  return ctx;
}

const Q = 3329;

/**
 * FIPS 203 §7.2 encapsulation-key check: ByteEncode12(ByteDecode12(ek)) == ek, i.e. every 12-bit
 * coefficient of t̂ is < q. (The trailing 32 bytes are ρ and are unconstrained.)
 */
export function mlKemEkModulusOk(ek: Uint8Array, k: number): boolean {
  const n = 384 * k;
  let bad = 0;
  for (let i = 0; i < n; i += 3) {
    const b0 = ek[i]!, b1 = ek[i + 1]!, b2 = ek[i + 2]!;
    const c0 = b0 | ((b1 & 15) << 8);
    const c1 = (b1 >> 4) | (b2 << 4);
    // Branch-free accumulate: (c - Q) >> 31 is -1 when c < Q, 0 otherwise.
    bad |= ~((c0 - Q) >> 31) | ~((c1 - Q) >> 31);
  }
  return bad === 0;
}

/** The module rank k of an ML-KEM parameter set (FIPS 203 §8: 2, 3 or 4). */
export const mlKemK = (alg: MlKemAlgorithm): number => (alg === 'ML-KEM-512' ? 2 : alg === 'ML-KEM-768' ? 3 : 4);

/** Checks length and the §7.2 modulus check of an ML-KEM encapsulation key. */
export function checkMlKemPublicKey(alg: MlKemAlgorithm, ek: Uint8Array): void {
  assertBytes(ek, 'public key', SIZES[alg].publicKey);
  if (!mlKemEkModulusOk(ek, mlKemK(alg))) throw new CryptoInputError('ML-KEM encapsulation key fails the modulus check');
}

/**
 * FIPS 203 §7.3 decapsulation-key check: H(ek) stored in dk equals SHA3-256 of the ek stored in dk.
 * `sha3_256` is the backend's own hash, so this module stays library-free.
 */
export function checkMlKemSecretKey(alg: MlKemAlgorithm, dk: Uint8Array, sha3_256: (d: Uint8Array) => Uint8Array): void {
  assertBytes(dk, 'secret key', SIZES[alg].secretKey);
  const k = mlKemK(alg);
  const ek = dk.subarray(384 * k, 768 * k + 32);
  const h = dk.subarray(768 * k + 32, 768 * k + 64);
  if (!constantTimeEqual(sha3_256(ek), h)) throw new CryptoInputError('ML-KEM decapsulation key fails the hash check');
  if (!mlKemEkModulusOk(ek, k)) throw new CryptoInputError('ML-KEM decapsulation key fails the modulus check');
}

/** SLH-DSA security parameter n (bytes). */
export const SLH_N = (alg: SignatureAlgorithm): number => SIZES[alg].publicKey / 2;

/** Explicit signing randomness: ML-DSA rnd is 32 bytes, SLH-DSA opt_rand is n bytes. */
export function checkRandomLength(alg: SignatureAlgorithm, random: Uint8Array): void {
  assertBytes(random, 'signing randomness', isMlDsa(alg) ? 32 : SLH_N(alg));
}

/** External μ is an ML-DSA notion (FIPS 204 §6.2, 64 bytes). */
export function checkMlDsaMu(alg: SignatureAlgorithm, mu: Uint8Array): MlDsaAlgorithm {
  assertSignature(alg);
  if (!isMlDsa(alg)) throw new CryptoInputError('external mu is defined for ML-DSA only');
  assertBytes(mu, 'mu', 64);
  return alg;
}

/** Fixed-output hashes take no length (or their own); SHAKE defaults to 32 (SHAKE-128) / 64 (SHAKE-256) bytes. */
export function checkHashLength(alg: HashAlgorithm, outputLength: number | undefined): number {
  const fixed: Partial<Record<HashAlgorithm, number>> = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64, 'SHA3-256': 32, 'SHA3-512': 64 };
  if (!(HASH_ALGORITHMS as readonly string[]).includes(alg)) throw new CryptoInputError('unknown hash algorithm');
  const f = fixed[alg];
  if (f !== undefined) {
    if (outputLength !== undefined && outputLength !== f) throw new CryptoInputError(`${alg} output is ${f} bytes`);
    return f;
  }
  if (outputLength === undefined) return alg === 'SHAKE-128' ? 32 : 64;
  if (!Number.isSafeInteger(outputLength) || outputLength < 1 || outputLength > 1 << 20) {
    throw new CryptoInputError('invalid XOF output length');
  }
  return outputLength;
}

/** Checks HKDF inputs (hash SHA-256 / SHA-512, byte arrays, L ≤ 255·HashLen, RFC 5869 §2.3); throws CryptoInputError. */
export function checkHkdf(h: string, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): void {
  if (h !== 'SHA-256' && h !== 'SHA-512') throw new CryptoInputError('unknown HKDF hash');
  assertBytes(ikm, 'ikm');
  assertBytes(salt, 'salt');
  assertBytes(info, 'info');
  // RFC 5869 §2.3: L ≤ 255·HashLen.
  const max = 255 * (h === 'SHA-256' ? 32 : 64);
  if (!Number.isSafeInteger(length) || length < 1 || length > max) throw new CryptoInputError(`HKDF length must be 1..${max}`);
}

/** Every AEAD: 32-byte key (AES-128-GCM: 16), 12-byte nonce, 16-byte tag appended to the ciphertext. */
export function checkAead(alg: string, key: Uint8Array, nonce: Uint8Array, data: Uint8Array, aad: Uint8Array | undefined): void {
  if (!(AEAD_CIPHERS as readonly string[]).includes(alg)) throw new CryptoInputError('unknown AEAD algorithm');
  assertBytes(key, 'key', AEAD_KEY_BYTES[alg as AeadCipher]);
  assertBytes(nonce, 'nonce', 12);
  assertBytes(data, 'data');
  if (aad !== undefined) assertBytes(aad, 'aad');
}

/** RFC 7748 §6.1: reject an all-zero X25519 output (checked in constant time). */
export function checkX25519Output(out: Uint8Array): Uint8Array {
  let acc = 0;
  // Indexed loop: for…of on a Uint8Array stays slow (iterator protocol) until the function is optimized.
  for (let i = 0; i < out.length; i++) acc |= out[i]!;
  if (acc === 0) throw new CryptoInputError('X25519 shared secret is all-zero (low-order public key)');
  return out;
}

/**
 * Library exceptions become typed errors: our own AppErrors pass through, anything else (a library's
 * TypeError/RangeError on bytes it dislikes) becomes a CryptoInputError with a fixed message, so no
 * untyped error, and no library text that might echo input, leaves a backend.
 */
export function rethrow(e: unknown): never {
  if (e instanceof AppError) throw e;
  throw new CryptoInputError('invalid key or input');
}
