/**
 * CPU-bound key operations, run in the worker pool (src/workers/tasks.ts spreads `keyTasks`).
 * Inputs are bytes; private material arrives unwrapped (the main thread holds the master key) and
 * never leaves the task except from `keys.generate`, which the caller wraps at once.
 *
 * Backend: the configured one (env CRYPTO_BACKEND). OpenSSL through node:crypto cannot express
 * HashML-DSA / HashSLH-DSA (prehash) nor ML-DSA external μ; those requests run on noble, which can
 * (documented in docs/KEYS.md). Deterministic signing is not redirected: on `native` it is a clear 400.
 *
 * Per-worker key caches (bounded LRU, keyed by the non-secret `cacheId` = `<keyId>#v<N>` plus the
 * backend): parsing a key costs a large share of a signature (native: an ML-DSA seed import is
 * ~1/4 of a sign; noble: expanding the seed ≈ one sign), so each worker keeps the imported
 * node:crypto KeyObject (native) or the expanded secret key (noble) of recently used versions. A
 * private entry is used only when the material presented with the task equals the cached one
 * (constant-time compare): a stale or colliding id can never sign with another key. Public
 * KeyObjects (verify) are compared with the presented public key the same way (plain compare:
 * public bytes).
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { getBackend, nobleBackend } from '../crypto/index.ts';
import type { CryptoBackend, PreHashAlgorithm, SignatureAlgorithm, Algorithm } from '../crypto/index.ts';
import { SIZES, isMlDsa, isSignatureAlgorithm } from '../crypto/algorithms.ts';
import { constantTimeEqual } from '../crypto/bytes.ts';
import { AppError, CryptoInputError, UnsupportedError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { WorkerPool } from '../workers/pool.ts';

const configured = (): CryptoBackend => getBackend((process.env.CRYPTO_BACKEND ?? 'native') as 'native' | 'noble');

/** The backend that serves a request: prehash and external μ need noble when native is configured. */
export function backendFor(opts: { prehash?: PreHashAlgorithm | undefined; mu?: boolean | undefined }): CryptoBackend {
  const b = configured();
  return b.name === 'native' && (opts.prehash !== undefined || opts.mu) ? nobleBackend : b;
}

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

interface PrivateEntry { material: Uint8Array; key: KeyObject | Uint8Array }
const privateKeys = new Lru<PrivateEntry>(WORKER_KEY_CACHE_MAX, (e) => {
  e.material.fill(0);
  if (e.key instanceof Uint8Array) e.key.fill(0);
});
const publicKeys = new Lru<{ publicKey: Uint8Array; key: KeyObject }>(WORKER_KEY_CACHE_MAX);

/** Sizes of this worker's caches (tests). */
export const workerCacheSizes = (): { privateKeys: number; publicKeys: number } => ({ privateKeys: privateKeys.size, publicKeys: publicKeys.size });

const nodeType = (alg: SignatureAlgorithm): string => alg.toLowerCase();

/**
 * The signing key of a version for backend `b`: native → a node:crypto KeyObject (ML-DSA from its
 * seed ξ, SLH-DSA from its 4n-byte secret key); noble → the expanded secret key (ML-DSA) or the
 * material itself (SLH-DSA is stored expanded).
 */
function signingKey(b: CryptoBackend, alg: SignatureAlgorithm, material: Uint8Array, cacheId: string | undefined): KeyObject | Uint8Array {
  const want = isMlDsa(alg) ? SIZES[alg].seed : SIZES[alg].secretKey;
  if (material.length !== want) throw new CryptoInputError(`${alg} key material must be ${want} bytes`);
  if (b.name !== 'native' && !isMlDsa(alg)) return material;
  const id = cacheId === undefined ? undefined : `${b.name}:${alg}:${cacheId}`;
  if (id !== undefined) {
    const hit = privateKeys.get(id);
    if (hit && constantTimeEqual(hit.material, material)) return hit.key;
  }
  const key = b.name === 'native'
    ? createPrivateKey({ key: Buffer.from(material), format: isMlDsa(alg) ? 'raw-seed' : 'raw-private', asymmetricKeyType: nodeType(alg) } as never)
    : b.signatureKeygen(alg, material).secretKey;
  if (id !== undefined) privateKeys.set(id, { material: material.slice(), key });
  return key;
}

/** The verification key of a version (native only), cached when the caller names it. */
function verifyingKey(alg: SignatureAlgorithm, publicKey: Uint8Array, cacheId: string | undefined): KeyObject {
  const id = cacheId === undefined ? undefined : `${alg}:${cacheId}`;
  if (id !== undefined) {
    const hit = publicKeys.get(id);
    if (hit && Buffer.compare(hit.publicKey, publicKey) === 0) return hit.key;
  }
  const key = createPublicKey({ key: Buffer.from(publicKey), format: 'raw-public', asymmetricKeyType: nodeType(alg) } as never);
  if (id !== undefined) publicKeys.set(id, { publicKey: publicKey.slice(), key });
  return key;
}

const view = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export interface GenerateInput { algorithm: Algorithm }
export interface GenerateOutput { publicKey: Uint8Array; material: Uint8Array }

/** New key: material = ML-DSA ξ (32 B), SLH-DSA secret key (4n B), ML-KEM d‖z (64 B), X-Wing seed (32 B). */
function generate({ algorithm }: GenerateInput): GenerateOutput {
  const b = configured();
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

export function sign(input: SignInput): { signature: Uint8Array } {
  const { algorithm } = input;
  const b = backendFor({ prehash: input.prehash, mu: input.mu !== undefined });
  if (input.deterministic && b.name === 'native') {
    throw new UnsupportedError('deterministic signing is not available on the native (OpenSSL) backend; omit `deterministic` or run the service with CRYPTO_BACKEND=noble');
  }
  if (input.context !== undefined && input.context.length > 255) throw new CryptoInputError('context must be at most 255 bytes');
  const sk = signingKey(b, algorithm, input.material, input.cacheId);
  if (!(sk instanceof Uint8Array)) {
    // native, pure (no prehash / μ / deterministic, all refused or redirected above)
    if (input.message === undefined) throw new CryptoInputError('message or mu is required');
    const options = input.context && input.context.length > 0 ? { key: sk, context: view(input.context) } : sk;
    return { signature: new Uint8Array(nodeSign(null, view(input.message), options as never)) };
  }
  const det = input.deterministic ? { deterministic: true } : {};
  if (input.mu !== undefined) return { signature: b.signMu(algorithm, sk, input.mu, det) };
  if (input.message === undefined) throw new CryptoInputError('message or mu is required');
  return {
    signature: b.sign(algorithm, sk, input.message, {
      ...det, ...(input.context ? { context: input.context } : {}), ...(input.prehash ? { prehash: input.prehash } : {}),
    }),
  };
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

export function verify(input: VerifyInput): { valid: boolean } {
  const b = backendFor({ prehash: input.prehash, mu: input.mu !== undefined });
  if (b.name === 'native' && input.mu === undefined && input.prehash === undefined) {
    const { algorithm: alg, publicKey, signature, message, context } = input;
    if (message === undefined) throw new CryptoInputError('message or mu is required');
    if (publicKey.length !== SIZES[alg].publicKey) throw new CryptoInputError(`${alg} public key must be ${SIZES[alg].publicKey} bytes`);
    if (context !== undefined && context.length > 255) throw new CryptoInputError('context must be at most 255 bytes');
    if (signature.length !== SIZES[alg].signature) return { valid: false };
    let key: KeyObject;
    try {
      key = verifyingKey(alg, publicKey, input.cacheId);
    } catch {
      throw new CryptoInputError('invalid key or input');
    }
    try {
      const options = context && context.length > 0 ? { key, context: view(context) } : key;
      return { valid: nodeVerify(null, view(message), options as never, view(signature)) };
    } catch {
      return { valid: false };
    }
  }
  if (input.mu !== undefined) return { valid: b.verifyMu(input.algorithm, input.publicKey, input.mu, input.signature) };
  if (input.message === undefined) throw new CryptoInputError('message or mu is required');
  return {
    valid: b.verify(input.algorithm, input.publicKey, input.message, input.signature, {
      ...(input.context ? { context: input.context } : {}), ...(input.prehash ? { prehash: input.prehash } : {}),
    }),
  };
}

/**
 * An Error crossing the worker boundary is structured-cloned and loses its `code`, so a task
 * returns its AppError as a value and `runKeyTask` rethrows it on the main thread.
 */
type Outcome<T> = { ok: T } | { error: { code: ErrorCode; detail: string; extra?: Record<string, unknown> | undefined } };
const guarded = <I, O>(fn: (input: I) => O) => (input: I): Outcome<O> => {
  try {
    return { ok: fn(input) };
  } catch (e) {
    if (e instanceof AppError) return { error: { code: e.code, detail: e.message, extra: e.extra } };
    throw e;
  }
};

export const keyTasks = {
  'keys.generate': guarded(generate),
  'keys.sign': guarded(sign),
  'keys.verify': guarded(verify),
};

type KeyTaskName = keyof typeof keyTasks;
type Out<N extends KeyTaskName> = ReturnType<(typeof keyTasks)[N]> extends Outcome<infer O> ? O : never;

/** Runs a key task in the pool; AppErrors thrown in the worker come back as AppErrors. */
export async function runKeyTask<N extends KeyTaskName>(pool: WorkerPool, name: N, input: Parameters<(typeof keyTasks)[N]>[0]): Promise<Out<N>> {
  const r = await pool.run(name, input as never) as Outcome<Out<N>>;
  if ('error' in r) throw new AppError(r.error.code, r.error.detail, r.error.extra);
  return r.ok;
}
