/**
 * Worker side of the keys capability: `keys.generate`, `keys.sign`, `keys.verify`, registered in
 * src/workers/tasks.ts. Inputs are bytes; private material arrives unwrapped (the main thread holds
 * the master key) and never leaves a task except from `keys.generate`, which the caller wraps at once.
 *
 * Backend: the configured one, handed to the worker at pool creation (`env.backend`); a pre-hash
 * or external-μ request on native is served by noble, by the explicit choice in
 * src/crypto/routing.ts (published in /v1/algorithms). Deterministic signing is not redirected:
 * on native it is a clear 400.
 *
 * Per-worker prepared-key caches (bounded LRU, keyed by the non-secret `cacheId` = `<keyId>#v<N>`
 * plus the backend): importing a key costs a large share of a signature, so each worker keeps the
 * backend's prepared handle of recently used versions. A private entry is used only when the
 * material presented with the task equals the cached one (constant-time compare): a stale or
 * colliding id can never sign with another key. Public entries are compared with the presented
 * public key the same way (plain compare: public bytes).
 */
import { SIZES, isComposite, isMlDsa, isSignatureAlgorithm, constantTimeEqual, signatureLengthOk } from '../crypto/index.ts';
import type {
  Algorithm, CryptoBackend, PreHashAlgorithm, PreparedSigningKey, PreparedVerifyingKey, SignatureAlgorithm,
} from '../crypto/index.ts';
import { signatureBackendFor } from '../crypto/routing.ts';
import { DEFAULT_SUITES, encLength, hpkeOpen, hpkeSeal } from '../crypto/hpke.ts';
import type { KemAlgorithm, PreparedDecapsulationKey } from '../crypto/index.ts';
import { concatBytes, nobleBackend } from '../crypto/index.ts';
import { CryptoInputError, DecryptionError, UnsupportedError } from '../errors.ts';
import type { WorkerEnv } from '../workers/env.ts';

/** Entries per worker and cache (private keys, public keys). */
export const WORKER_KEY_CACHE_MAX = 256;

/** Least-recently-used map: a hit moves the entry to the back, inserting past the bound drops the front. */
class Lru<V> {
  readonly #map = new Map<string, V>();
  readonly #max: number;
  readonly #onDrop: (v: V) => void;
  constructor(max: number, onDrop: (v: V) => void = () => {}) { this.#max = max; this.#onDrop = onDrop; }
  get(k: string): V | undefined {
    const v = this.#map.get(k);
    if (v !== undefined) { this.#map.delete(k); this.#map.set(k, v); }
    return v;
  }
  set(k: string, v: V): void {
    const old = this.#map.get(k);
    if (old !== undefined) { this.#map.delete(k); this.#onDrop(old); }
    if (this.#map.size >= this.#max) {
      const [first, dropped] = this.#map.entries().next().value!;
      this.#map.delete(first);
      this.#onDrop(dropped);
    }
    this.#map.set(k, v);
  }
  get size(): number { return this.#map.size; }
}

interface PrivateEntry { material: Uint8Array; key: PreparedSigningKey }
const privateKeys = new Lru<PrivateEntry>(WORKER_KEY_CACHE_MAX, (e) => { e.material.fill(0); e.key.destroy(); });
const publicKeys = new Lru<PreparedVerifyingKey>(WORKER_KEY_CACHE_MAX);

/** Sizes of this worker's caches (tests). */
export const workerCacheSizes = (): { privateKeys: number; publicKeys: number } => ({ privateKeys: privateKeys.size, publicKeys: publicKeys.size });

/**
 * Runs `use` with the prepared private key of `material`: from `cache` under `id` when the cached
 * material equals the presented one (constant time), else prepared now — and kept under `id`, or
 * destroyed after this call when there is no id. One rule for signing and decapsulation keys.
 */
function withPrivateKey<K extends { destroy(): void }, T>(
  cache: Lru<{ material: Uint8Array; key: K }>, id: string | undefined, material: Uint8Array, prepare: () => K, use: (k: K) => T,
): T {
  if (id !== undefined) {
    const hit = cache.get(id);
    if (hit && constantTimeEqual(hit.material, material)) return use(hit.key);
  }
  const key = prepare();
  if (id === undefined) {
    try { return use(key); } finally { key.destroy(); }
  }
  cache.set(id, { material: material.slice(), key });
  return use(key);
}

const cacheKey = (b: CryptoBackend, alg: string, cacheId: string | undefined): string | undefined =>
  cacheId === undefined ? undefined : `${b.name}:${alg}:${cacheId}`;

/** Runs `use` with the prepared signing key of `material` (cached under `cacheId` when given). */
function withSigningKey<T>(b: CryptoBackend, alg: SignatureAlgorithm, material: Uint8Array, cacheId: string | undefined, use: (k: PreparedSigningKey) => T): T {
  const want = isMlDsa(alg) ? SIZES[alg].seed : SIZES[alg].secretKey;
  if (material.length !== want) throw new CryptoInputError(`${alg} key material must be ${want} bytes`);
  return withPrivateKey(privateKeys, cacheKey(b, alg, cacheId), material, () => b.prepareSigningKey(alg, material), use);
}

/** The prepared verification key of a version, cached when the caller names it. */
function verifyingKey(b: CryptoBackend, alg: SignatureAlgorithm, publicKey: Uint8Array, cacheId: string | undefined): PreparedVerifyingKey {
  const id = cacheKey(b, alg, cacheId);
  if (id !== undefined) {
    const hit = publicKeys.get(id);
    if (hit && hit.publicKey.length === publicKey.length && hit.publicKey.every((x, i) => x === publicKey[i])) return hit;
  }
  const key = b.prepareVerifyingKey(alg, publicKey);
  if (id !== undefined) publicKeys.set(id, key);
  return key;
}

export interface GenerateInput { algorithm: Algorithm }
export interface GenerateOutput { publicKey: Uint8Array; material: Uint8Array }

/** New key: material = ML-DSA ξ (32 B), SLH-DSA secret key (4n B), composite ξ ‖ tradSK, ML-KEM d‖z (64 B), X-Wing seed (32 B). */
export function generate({ algorithm }: GenerateInput, { backend: b }: WorkerEnv): GenerateOutput {
  if (isSignatureAlgorithm(algorithm)) {
    if (isMlDsa(algorithm)) {
      const seed = b.randomBytes(32);
      return { publicKey: b.signatureKeygen(algorithm, seed).publicKey, material: seed };
    }
    const kp = b.signatureKeygen(algorithm);
    return { publicKey: kp.publicKey, material: kp.secretKey };
  }
  const seed = b.randomBytes(SIZES[algorithm].seed);
  return { publicKey: b.keygen(algorithm, seed).publicKey, material: seed };
}

export interface SignInput {
  algorithm: SignatureAlgorithm;
  material: Uint8Array;
  /** Identifies the key version for the worker key cache (`<keyId>#v<N>`); absent = no caching. */
  cacheId?: string;
  message?: Uint8Array;
  mu?: Uint8Array;
  context?: Uint8Array;
  prehash?: PreHashAlgorithm;
  deterministic?: boolean;
}

/** One signature: pure (with context), HashML-DSA / HashSLH-DSA, or ML-DSA on an external μ. */
export function sign(input: SignInput, env: WorkerEnv): { signature: Uint8Array } {
  const b = signatureBackendFor(env.backend, input);
  if (input.deterministic && b.name === 'native') {
    throw new UnsupportedError('deterministic signing is not available on the native (OpenSSL) backend; omit `deterministic` or run the service with CRYPTO_BACKEND=noble');
  }
  if (input.context !== undefined && input.context.length > 255) throw new CryptoInputError('context must be at most 255 bytes');
  return withSigningKey(b, input.algorithm, input.material, input.cacheId, (key) => {
    const det = input.deterministic ? { deterministic: true } : {};
    if (input.mu !== undefined) return { signature: key.signMu(input.mu, det) };
    if (input.message === undefined) throw new CryptoInputError('message or mu is required');
    return {
      signature: key.sign(input.message, {
        ...det, ...(input.context ? { context: input.context } : {}), ...(input.prehash ? { prehash: input.prehash } : {}),
      }),
    };
  });
}

export interface VerifyInput {
  algorithm: SignatureAlgorithm;
  publicKey: Uint8Array;
  /** Identifies the key version for the public-key cache (`<keyId>#v<N>`); absent = no caching. */
  cacheId?: string;
  signature: Uint8Array;
  message?: Uint8Array;
  mu?: Uint8Array;
  context?: Uint8Array;
  prehash?: PreHashAlgorithm;
}

/** Verification; a signature of the wrong length or a malformed one is simply invalid. */
export function verify(input: VerifyInput, env: WorkerEnv): { valid: boolean } {
  const { algorithm: alg, publicKey, signature, context } = input;
  const b = signatureBackendFor(env.backend, input);
  if (publicKey.length !== SIZES[alg].publicKey) throw new CryptoInputError(`${alg} public key must be ${SIZES[alg].publicKey} bytes`);
  if (context !== undefined && context.length > 255) throw new CryptoInputError('context must be at most 255 bytes');
  if (!signatureLengthOk(alg, signature.length)) return { valid: false };
  let key: PreparedVerifyingKey;
  try {
    key = verifyingKey(b, alg, publicKey, input.cacheId);
  } catch {
    throw new CryptoInputError('invalid key or input');
  }
  if (input.mu !== undefined) return { valid: key.verifyMu(input.mu, signature) };
  if (input.message === undefined) throw new CryptoInputError('message or mu is required');
  return { valid: key.verify(input.message, signature, { ...(context ? { context } : {}), ...(input.prehash ? { prehash: input.prehash } : {}) }) };
}

// ---------- HPKE (docs/ENCRYPTION.md): the key's default suite, single-shot base mode ----------

interface KemEntry { material: Uint8Array; key: PreparedDecapsulationKey }
const kemKeys = new Lru<KemEntry>(WORKER_KEY_CACHE_MAX, (e) => { e.material.fill(0); e.key.destroy(); });

/** The prepared decapsulation key of `material` (ML-KEM d‖z, X-Wing seed), cached like signing keys. */
function withKemKey<T>(b: CryptoBackend, alg: KemAlgorithm, material: Uint8Array, cacheId: string | undefined, use: (k: PreparedDecapsulationKey) => T): T {
  if (material.length !== SIZES[alg].seed) throw new CryptoInputError(`${alg} key material must be ${SIZES[alg].seed} bytes`);
  return withPrivateKey(kemKeys, cacheKey(b, alg, cacheId), material, () => b.prepareDecapsulationKey(alg, material), use);
}

export interface SealInput { algorithm: KemAlgorithm; publicKey: Uint8Array; plaintext: Uint8Array; aad?: Uint8Array; info?: Uint8Array }
export interface OpenInput { algorithm: KemAlgorithm; material: Uint8Array; cacheId?: string; ciphertext: Uint8Array; aad?: Uint8Array; info?: Uint8Array }

const opts = (i: { aad?: Uint8Array | undefined; info?: Uint8Array | undefined }) => ({ aad: i.aad, info: i.info });

/** SealBase to a public key: enc ‖ ct. */
export function seal(input: SealInput, { backend: b }: WorkerEnv): { ciphertext: Uint8Array } {
  const { enc, ct } = hpkeSeal(b, DEFAULT_SUITES[input.algorithm], input.publicKey, input.plaintext, opts(input));
  return { ciphertext: concatBytes(enc, ct) };
}

/** OpenBase of enc ‖ ct: any failure (length, KEM, tag) is the one DecryptionError. */
function openWith(b: CryptoBackend, input: OpenInput): Uint8Array {
  const alg = input.algorithm;
  const n = encLength(alg);
  if (input.ciphertext.length < n + 16) throw new DecryptionError();
  return withKemKey(b, alg, input.material, input.cacheId, (key) =>
    hpkeOpen(b, DEFAULT_SUITES[alg], (e) => key.decapsulate(e), input.ciphertext.subarray(0, n), input.ciphertext.subarray(n), opts(input)));
}

export function open(input: OpenInput, { backend: b }: WorkerEnv): { plaintext: Uint8Array } {
  return { plaintext: openWith(b, input) };
}

/** Open under one version and seal under another in one task: the plaintext never leaves the worker. */
export function rewrap(input: OpenInput & { to: { algorithm: KemAlgorithm; publicKey: Uint8Array } }, { backend: b }: WorkerEnv): { ciphertext: Uint8Array } {
  const pt = openWith(b, input);
  try {
    const { enc, ct } = hpkeSeal(b, DEFAULT_SUITES[input.to.algorithm], input.to.publicKey, pt, opts(input));
    return { ciphertext: concatBytes(enc, ct) };
  } finally {
    pt.fill(0);
  }
}

/** A fresh AEAD key of `bytes` bytes, sealed to the public key; the plaintext key only when asked for. */
export function dataKey(input: Omit<SealInput, 'plaintext'> & { bytes: 16 | 32; withPlaintext: boolean }, { backend: b }: WorkerEnv): { ciphertext: Uint8Array; plaintext?: Uint8Array } {
  const key = b.randomBytes(input.bytes);
  const { enc, ct } = hpkeSeal(b, DEFAULT_SUITES[input.algorithm], input.publicKey, key, opts(input));
  if (input.withPlaintext) return { ciphertext: concatBytes(enc, ct), plaintext: key };
  key.fill(0);
  return { ciphertext: concatBytes(enc, ct) };
}

/** Raw KEM decapsulation (FIPS 203 implicit rejection: a wrong-but-well-sized ciphertext gives a pseudo-random secret). */
export function decapsulate(input: { algorithm: KemAlgorithm; material: Uint8Array; cacheId?: string; ciphertext: Uint8Array }, { backend: b }: WorkerEnv): { sharedSecret: Uint8Array } {
  const alg = input.algorithm;
  if (input.ciphertext.length !== SIZES[alg].cipherText) throw new CryptoInputError(`ciphertext must be ${SIZES[alg].cipherText} bytes for ${alg}`);
  return withKemKey(b, alg, input.material, input.cacheId, (key) => {
    try {
      return { sharedSecret: key.decapsulate(input.ciphertext) };
    } catch {
      // X-Wing: a low-order X25519 share (public bytes) is refused, never reported in detail.
      throw new CryptoInputError('invalid ciphertext');
    }
  });
}

export interface ImportUnwrapInput { jobSeed: Uint8Array; wrapped: Uint8Array; aad: Uint8Array; info: Uint8Array; algorithm: Algorithm }

/**
 * Opens key material wrapped to an import job's X-Wing key (docs/ENCRYPTION.md "Import jobs") and
 * derives its public key; SLH-DSA material must be a consistent secret key (its PK.root recomputed
 * from SK.seed ‖ SK.prf ‖ PK.seed on noble, as OpenSSL cannot take an SLH-DSA seed).
 */
export function importUnwrap(input: ImportUnwrapInput, { backend: b }: WorkerEnv): GenerateOutput {
  const n = encLength('X-Wing');
  if (input.wrapped.length < n + 16) throw new DecryptionError();
  const material = withKemKey(b, 'X-Wing', input.jobSeed, undefined, (key) =>
    hpkeOpen(b, DEFAULT_SUITES['X-Wing'], (e) => key.decapsulate(e), input.wrapped.subarray(0, n), input.wrapped.subarray(n), { aad: input.aad, info: input.info }));
  const alg = input.algorithm;
  const want = isSignatureAlgorithm(alg) && !isMlDsa(alg) ? SIZES[alg].secretKey : SIZES[alg].seed;
  if (material.length !== want) {
    material.fill(0);
    throw new CryptoInputError(`the unwrapped key material is ${material.length} bytes; ${alg} needs ${want}`);
  }
  try {
    if (!isSignatureAlgorithm(alg)) return { publicKey: b.keygen(alg, material).publicKey, material };
    // ML-DSA ξ and a composite secret key (its components checked) derive their public key directly.
    if (isMlDsa(alg) || isComposite(alg)) return { publicKey: b.signatureKeygen(alg, material).publicKey, material };
    const kp = nobleBackend.signatureKeygen(alg, material.subarray(0, (material.length / 4) * 3));
    if (!constantTimeEqual(kp.secretKey, material)) throw new CryptoInputError(`the unwrapped ${alg} secret key is inconsistent (PK.root does not match)`);
    return { publicKey: kp.publicKey, material };
  } catch (e) {
    material.fill(0);
    throw e;
  }
}

/** Refuses a public key the backend cannot use (size, FIPS 203 §7.2 modulus check, an ML-DSA/SLH-DSA key OpenSSL rejects). */
export function checkPublicKey({ algorithm, publicKey }: { algorithm: Algorithm; publicKey: Uint8Array }, { backend: b }: WorkerEnv): { ok: true } {
  try {
    if (isSignatureAlgorithm(algorithm)) b.prepareVerifyingKey(algorithm, publicKey);
    else b.encapsulate(algorithm, publicKey).sharedSecret.fill(0);
  } catch {
    throw new CryptoInputError(`publicKey is not a valid ${algorithm} public key`);
  }
  return { ok: true };
}

/** The keys capability's worker tasks, for the registry in src/workers/tasks.ts. */
export const keysWorker = {
  'keys.generate': generate,
  'keys.sign': sign,
  'keys.verify': verify,
  'keys.seal': seal,
  'keys.open': open,
  'keys.rewrap': rewrap,
  'keys.datakey': dataKey,
  'keys.decapsulate': decapsulate,
  'keys.importUnwrap': importUnwrap,
  'keys.checkPublicKey': checkPublicKey,
};
