/**
 * The one interface every primitive of the service goes through.
 *
 * Two implementations: `native` (node:crypto, OpenSSL 3.5) and `noble` (@noble/*).
 * All byte inputs and outputs are Uint8Array; keys are stored as seeds (FIPS 203 d‖z,
 * FIPS 204 ξ, X-Wing 32-byte seed, FIPS 205 SK.seed‖SK.prf‖PK.seed) so both backends
 * derive identical key pairs.
 *
 * Methods are synchronous: CPU-heavy calls run in the worker pool, not on the event loop.
 * A backend that cannot express an operation throws `UnsupportedError` (src/errors.ts), never falls back;
 * bad bytes throw `CryptoInputError`, a failed AEAD open throws `DecryptionError`.
 *
 * Prepared keys (`prepareSigningKey`, `prepareVerifyingKey`, `prepareDecapsulationKey`,
 * `prepareEncapsulationKey`, and the ephemeral `generateDecapsulationKey`) import a
 * key once (native: an OpenSSL KeyObject; noble: the expanded secret key) and are then used for
 * many operations: importing costs a large share of one operation (an ML-DSA seed import is ~1/4
 * of a signature on OpenSSL; expanding it on noble costs about one signature).
 */
import type { KemAlgorithm, SignatureAlgorithm, PreHashAlgorithm, AeadCipher, HashAlgorithm, HmacHash } from './algorithms.ts';

/** A public key and its secret key, as raw bytes. */
export interface KeyPair {
  publicKey: Uint8Array;
  /** Expanded secret key in the standard's encoding (FIPS dk / sk). */
  secretKey: Uint8Array;
}

/** Result of encapsulation: the ciphertext to send and the shared secret to keep. */
export interface Encapsulation {
  cipherText: Uint8Array;
  sharedSecret: Uint8Array;
}

/** Options of pure, pre-hash and deterministic signing (FIPS 204 §5.2 / §5.4, FIPS 205 §10). */
export interface SignOptions {
  /** FIPS 204/205 context string, 0..255 bytes. */
  context?: Uint8Array;
  /** HashML-DSA / HashSLH-DSA pre-hash function; absent = pure. */
  prehash?: PreHashAlgorithm;
  /** Deterministic signing (ML-DSA rnd = 0^32, SLH-DSA opt_rand = PK.seed). */
  deterministic?: boolean;
  /** Explicit randomness (ML-DSA rnd 32 B, SLH-DSA opt_rand n B); for KATs. */
  random?: Uint8Array;
}

/** The context and pre-hash a signature was made with; they must match the signer's. */
export interface VerifyOptions {
  context?: Uint8Array;
  prehash?: PreHashAlgorithm;
}

/** A signing key imported once, then used for many signatures. */
export interface PreparedSigningKey {
  readonly algorithm: SignatureAlgorithm;
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array, opts?: SignOptions): Uint8Array;
  /** FIPS 204 external μ (ML-DSA only). */
  signMu(mu: Uint8Array, opts?: Pick<SignOptions, 'deterministic' | 'random'>): Uint8Array;
  /** Overwrites the secret bytes this handle holds (a native KeyObject is released to the GC). */
  destroy(): void;
}

/** A verification key imported once. */
export interface PreparedVerifyingKey {
  readonly algorithm: SignatureAlgorithm;
  readonly publicKey: Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array, opts?: VerifyOptions): boolean;
  verifyMu(mu: Uint8Array, signature: Uint8Array): boolean;
}

/** A KEM decapsulation key expanded and imported once. */
export interface PreparedDecapsulationKey {
  readonly algorithm: KemAlgorithm;
  readonly publicKey: Uint8Array;
  decapsulate(cipherText: Uint8Array): Uint8Array;
  destroy(): void;
}

/**
 * A KEM encapsulation (public) key checked and imported once (native: OpenSSL KeyObjects, the
 * FIPS 203 §7.2 modulus check done once), then used for many encapsulations to the same key.
 */
export interface PreparedEncapsulationKey {
  readonly algorithm: KemAlgorithm;
  readonly publicKey: Uint8Array;
  /** Fresh randomness on every call (no explicit m: use `encapsulate` for known-answer tests). */
  encapsulate(): Encapsulation;
}

/** Key encapsulation: ML-KEM (FIPS 203) and X-Wing; throws CryptoInputError on bad inputs. */
export interface KemBackend {
  /** seed: ML-KEM 64 B (d‖z), X-Wing 32 B. Random when omitted. */
  keygen(alg: KemAlgorithm, seed?: Uint8Array): KeyPair;
  /** m: explicit encapsulation randomness (ML-KEM 32 B, X-Wing 64 B eseed); for KATs. */
  encapsulate(alg: KemAlgorithm, publicKey: Uint8Array, m?: Uint8Array): Encapsulation;
  /** Follows FIPS 203 implicit rejection: a malformed-but-right-length ciphertext yields a pseudo-random key. */
  decapsulate(alg: KemAlgorithm, cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** seed: ML-KEM 64 B (d‖z), X-Wing 32 B: the stored form of a KEM key. */
  prepareDecapsulationKey(alg: KemAlgorithm, seed: Uint8Array): PreparedDecapsulationKey;
  /**
   * A fresh random key pair that exists only inside the returned handle: for ephemeral keys that
   * are never stored (the kex client's key). It has no seed to export; a backend may draw its
   * parts from independent randomness instead of expanding a seed (native X-Wing does, see
   * _xwing-native.ts), which encapsulation cannot tell apart.
   */
  generateDecapsulationKey(alg: KemAlgorithm): PreparedDecapsulationKey;
  /** Checks and imports a public key once for many `encapsulate()` calls; same checks and errors as `encapsulate`. */
  prepareEncapsulationKey(alg: KemAlgorithm, publicKey: Uint8Array): PreparedEncapsulationKey;
}

/** Signatures: ML-DSA (FIPS 204) and SLH-DSA (FIPS 205); verify returns false, never throws, on a bad signature. */
export interface SignatureBackend {
  /** seed: ML-DSA 32 B (ξ); SLH-DSA 3n B (SK.seed‖SK.prf‖PK.seed). Random when omitted. */
  signatureKeygen(alg: SignatureAlgorithm, seed?: Uint8Array): KeyPair;
  sign(alg: SignatureAlgorithm, secretKey: Uint8Array, message: Uint8Array, opts?: SignOptions): Uint8Array;
  verify(alg: SignatureAlgorithm, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, opts?: VerifyOptions): boolean;
  /** FIPS 204 ML-DSA.Sign_internal on an external μ (64 B). */
  signMu(alg: SignatureAlgorithm, secretKey: Uint8Array, mu: Uint8Array, opts?: Pick<SignOptions, 'deterministic' | 'random'>): Uint8Array;
  verifyMu(alg: SignatureAlgorithm, publicKey: Uint8Array, mu: Uint8Array, signature: Uint8Array): boolean;
  /**
   * The internal interface on a raw M′ (FIPS 204 ML-DSA.Sign_internal, FIPS 205 slh_sign_internal),
   * without the 0x00‖|ctx|‖ctx prefix. For known-answer tests only; the service always signs through `sign`.
   */
  signInternal(alg: SignatureAlgorithm, secretKey: Uint8Array, mPrime: Uint8Array, opts?: Pick<SignOptions, 'deterministic' | 'random'>): Uint8Array;
  verifyInternal(alg: SignatureAlgorithm, publicKey: Uint8Array, mPrime: Uint8Array, signature: Uint8Array): boolean;
  /** material: the stored form of a signing key: ML-DSA seed ξ (32 B), SLH-DSA secret key (4n B). */
  prepareSigningKey(alg: SignatureAlgorithm, material: Uint8Array): PreparedSigningKey;
  prepareVerifyingKey(alg: SignatureAlgorithm, publicKey: Uint8Array): PreparedVerifyingKey;
}

/** X25519, hashes, HKDF, HMAC, AEAD and randomness. */
export interface PrimitiveBackend {
  x25519Keygen(secretKey?: Uint8Array): KeyPair;
  /** RFC 7748 X25519; throws CryptoInputError on an all-zero shared secret. */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  hash(alg: HashAlgorithm, data: Uint8Array, outputLength?: number): Uint8Array;
  hkdf(hash: 'SHA-256' | 'SHA-512', ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  hmac(hash: HmacHash, key: Uint8Array, data: Uint8Array): Uint8Array;
  aeadSeal(alg: AeadCipher, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  /** Throws DecryptionError (fixed message) on any failure. */
  aeadOpen(alg: AeadCipher, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array;
  randomBytes(length: number): Uint8Array;
}

/** A whole backend (`native` or `noble`); what it cannot do throws UnsupportedError. */
export interface CryptoBackend extends KemBackend, SignatureBackend, PrimitiveBackend {
  readonly name: 'native' | 'noble';
  /** Operations this backend cannot express, each with the reason. */
  readonly unsupported: ReadonlyArray<{ operation: string; reason: string }>;
}
