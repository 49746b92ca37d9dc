/**
 * SDK for managed keys and signatures (docs/KEYS.md): typed helpers over the generated client that
 * take and return bytes (Uint8Array) where the wire carries base64url, plus `computeMu`, which
 * computes the FIPS 204 external μ locally so a large message never has to be uploaded. Every
 * helper throws a ServiceError when the service answers with an error. Imports no `node:` module
 * (runs in browsers).
 *
 * @example
 *
 * ```ts
 * const client = createClient(url, { token });
 * const context = new TextEncoder().encode('v1');
 * await client.keys.create({ name: 'release', algorithm: 'ML-DSA-65' });
 * const { signature } = await client.keys.sign('release', { message: bytes, context });
 * const { valid } = await client.keys.verify('release', { message: bytes, context, signature });
 * ```
 */
import type { Client } from 'openapi-fetch';
import { shake256 } from '@noble/hashes/sha3.js';
import type { paths, components } from './schema.ts';
import { base64urlDecode, base64urlEncode } from '../crypto/bytes.ts';
import { SIZES } from '../crypto/algorithms.ts';
import { CryptoInputError } from '../errors.ts';
import { encryptionApi, type EncryptionApi } from './encryption-api.ts';

type S = components['schemas'];
/** A managed key's metadata (name, owner, algorithm, versions, flags); never private material. */
export type Key = S['Key'];
/** An algorithm a managed key can have: ML-DSA, SLH-DSA and composite ML-DSA (e.g. MLDSA65-ECDSA-P256-SHA512) keys sign; ML-KEM and X-Wing keys may be created for later use. */
export type KeyAlgorithm = S['KeyAlgorithm'];
/** A signature algorithm (ML-DSA-44/65/87, one of the 12 SLH-DSA sets or a composite ML-DSA of draft-ietf-lamps-pq-composite-sigs-19), as `verifyWithPublicKey` takes it. */
export type SignatureAlgorithm = S['SignatureAlgorithm'];
/** A pre-hash function for HashML-DSA / HashSLH-DSA signing (FIPS 204 §5.4, FIPS 205 §10.2). */
export type PreHash = S['PreHash'];
/** A public key in the format asked of `publicKeyAs`. */
export type PublicKeyResponse = S['PublicKey'];
/** The answer of a sign call: one signature, or one result per batch item. */
export type SignResponse = S['SignResponse'];
/** The JWK Set of the keys that sign access tokens (GET /.well-known/jwks.json). */
export type Jwks = S['Jwks'];
/** An ML-DSA public key as a JWK (kty AKP). */
export type AkpJwk = S['AkpJwk'];

type Unwrap = <T>(r: { data?: T; error?: unknown; response: Response }) => T;

/** What is signed or verified: a message or its external μ, with an optional context. */
export interface MessageInput {
  /** The message (1..262144 bytes), or */
  message?: Uint8Array;
  /** an external μ from `computeMu` (ML-DSA only; context is already inside μ). */
  mu?: Uint8Array;
  /** FIPS 204/205 context string, at most 255 bytes. */
  context?: Uint8Array;
}
/**
 * Options of `sign`: the message input, plus `prehash` (sign a pre-hash of the message),
 * `deterministic` (no per-signature randomness; the noble backend only, 400 on native), `version`
 * (sign with a given key version, default the latest) and
 * `owner` (admin only: another owner's key).
 */
export interface SignOptions extends MessageInput { prehash?: PreHash; deterministic?: boolean; version?: number; owner?: string }
/** One message of `signBatch`; `reference` is echoed back beside its result. */
export interface BatchItem extends MessageInput { reference?: string }

/**
 * FIPS 204 external μ (Alg. 7 line 6): μ = SHAKE256(tr ‖ M', 64) with tr = SHAKE256(pk, 64) and
 * M' = 0x00 ‖ |ctx| ‖ ctx ‖ M (pure ML-DSA). Send it as `mu` to sign or verify a message of any size.
 *
 * Throws a CryptoInputError unless `publicKey` has an ML-DSA-44/65/87 size and `context` at most 255 bytes.
 *
 * @example
 *
 * ```ts
 * const { publicKey } = await client.keys.publicKey('release');
 * const mu = computeMu(publicKey, hugeFile, new TextEncoder().encode('release-v1'));
 * const { signature } = await client.keys.sign('release', { mu });
 * ```
 */
export function computeMu(publicKey: Uint8Array, message: Uint8Array, context: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (![SIZES['ML-DSA-44'].publicKey, SIZES['ML-DSA-65'].publicKey, SIZES['ML-DSA-87'].publicKey].includes(publicKey.length)) {
    throw new CryptoInputError('computeMu needs an ML-DSA-44/65/87 public key');
  }
  if (context.length > 255) throw new CryptoInputError('context must be at most 255 bytes');
  const tr = shake256(publicKey, { dkLen: 64 });
  return shake256.create({ dkLen: 64 }).update(tr).update(Uint8Array.of(0, context.length)).update(context).update(message).digest();
}

const b64 = (b: Uint8Array | undefined) => (b === undefined ? undefined : base64urlEncode(b));
const msgFields = (m: MessageInput) => ({
  ...(m.message !== undefined ? { message: b64(m.message) } : {}),
  ...(m.mu !== undefined ? { mu: b64(m.mu) } : {}),
  ...(m.context !== undefined ? { context: b64(m.context) } : {}),
});

/**
 * `client.keys`: managed keys and signatures. `owner` (admin only) names another owner's key
 * (`admin` or `tenant:<id>`); by default the caller's.
 */
export interface KeysApi extends EncryptionApi {
  /**
   * Creates a key (version 1); `exportable` (default false) cannot be changed later. `rotationPeriod`:
   * automatic rotation every that many seconds (3600 to 315360000; `parseDuration('30d')` converts);
   * `maxVersions`: how many of the newest versions keep their private material (older ones are destroyed on rotation).
   */
  create(req: { name: string; algorithm: KeyAlgorithm; exportable?: boolean; decapsulateAllowed?: boolean; rotationPeriod?: number; maxVersions?: number }): Promise<Key>;
  /** One page of keys ordered by owner/name; pass the page's `next` as `after` for the next one. */
  list(opts?: { owner?: string; limit?: number; after?: string }): Promise<S['KeyList']>;
  /** A key's metadata and the public key of every version. */
  get(name: string, opts?: { owner?: string }): Promise<Key>;
  /** Adds a new version; signing uses it from now on. */
  rotate(name: string, opts?: { owner?: string }): Promise<Key>;
  /**
   * Sets `minVersion` (older versions are refused for signing and verification), `deletionAllowed`,
   * `rotationPeriod` (seconds; null turns automatic rotation off) and/or `maxVersions` (null keeps all).
   */
  update(name: string, patch: { minVersion?: number; deletionAllowed?: boolean; rotationPeriod?: number | null; maxVersions?: number | null }, opts?: { owner?: string }): Promise<Key>;
  /**
   * Destroys one version's private material (not the current one): it stays listed as `destroyed`, its
   * signatures still verify, and sign / decrypt / export with it are refused (410 key_version_destroyed).
   */
  destroyVersion(name: string, version: number, opts?: { owner?: string }): Promise<Key>;
  /** Deletes the key and all its versions; refused (409) unless `deletionAllowed` was set first. */
  delete(name: string, opts?: { owner?: string }): Promise<void>;
  /** Public key bytes (raw FIPS encoding) of the latest or given version. */
  publicKey(name: string, opts?: { version?: number; owner?: string }): Promise<{ algorithm: string; version: number; publicKey: Uint8Array }>;
  /** The public key in another format: der / spki (base64url), pem (text), jwk (object). */
  publicKeyAs(name: string, format: 'raw' | 'der' | 'spki' | 'pem' | 'jwk', opts?: { version?: number; owner?: string }): Promise<PublicKeyResponse>;
  /** The private key of one version (default the latest) in `format` (default raw); keys created exportable only. */
  export(name: string, opts?: { version?: number; format?: 'raw' | 'pkcs8' | 'pem' | 'jwk'; owner?: string }): Promise<S['ExportedKey']>;
  /** Signs one message (or μ); returns the `v<N>:<base64url>` signature. */
  sign(name: string, opts: SignOptions): Promise<{ signature: string; algorithm: string; version: number }>;
  /** Signs many messages in one call; per-item errors come back as problem objects. */
  signBatch(name: string, items: BatchItem[], opts?: Omit<SignOptions, keyof MessageInput>): Promise<SignResponse>;
  /** Verifies a `v<N>:<base64url>` signature made by this key; `version` is the key version the signature names. */
  verify(name: string, req: MessageInput & { signature: string; prehash?: PreHash; owner?: string }): Promise<{ valid: boolean; version?: number }>;
  /** Verifies a signature with a given public key (bytes, base64url or JWK) instead of a managed key. */
  verifyWithPublicKey(req: MessageInput & { algorithm: SignatureAlgorithm; publicKey: Uint8Array | string | AkpJwk; signature: Uint8Array | string; prehash?: PreHash }): Promise<{ valid: boolean }>;
  /** The public keys that sign access tokens, as a JWK Set. */
  jwks(): Promise<Jwks>;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/**
 * A duration as whole seconds, for `rotationPeriod`: a number of seconds (`3600`) or a number with one
 * unit, s, m, h, d, w or y (365 days): `90m`, `12h`, `30d`, `1y`. Throws a CryptoInputError otherwise.
 * The range (1 hour to 10 years) is the service's to check.
 *
 * @example
 *
 * ```ts
 * parseDuration('30d');   // 2592000
 * parseDuration('3600');  // 3600
 * ```
 */
export function parseDuration(text: string): number {
  const m = /^([0-9]{1,12})([smhdwy]?)$/.exec(text.trim());
  if (!m) throw new CryptoInputError('a duration is a whole number of seconds, or a number with one of s, m, h, d, w, y (e.g. 30d)');
  return Number(m[1]) * DURATION_UNITS[m[2] || 's']!;
}

/**
 * Splits a service signature `v<N>:<base64url>` into its key version and raw bytes; throws a
 * CryptoInputError for anything else.
 *
 * @example
 *
 * ```ts
 * parseSignature('v2:AAE');   // { version: 2, bytes: Uint8Array [0, 1] }
 * ```
 */
export function parseSignature(signature: string): { version: number; bytes: Uint8Array } {
  const m = /^v([1-9][0-9]{0,8}):([A-Za-z0-9_-]*)$/.exec(signature);
  if (!m) throw new CryptoInputError('signature must look like v<version>:<base64url>');
  return { version: Number(m[1]), bytes: base64urlDecode(m[2]!) };
}

/** Builds `client.keys` over a generated client; createClient does this for you. */
export function keysApi(api: Client<paths>, unwrap: Unwrap): KeysApi {
  const q = (o?: { owner?: string | undefined }) => (o?.owner !== undefined ? { owner: o.owner } : {});
  const path = (name: string, o?: { owner?: string | undefined }) => ({ path: { name }, query: q(o) });
  return {
    ...encryptionApi(api, unwrap),
    create: async (body) => unwrap(await api.POST('/v1/keys', { body: { ...body, exportable: body.exportable ?? false } })),
    list: async (opts = {}) => unwrap(await api.GET('/v1/keys', { params: { query: opts } })),
    get: async (name, o) => unwrap(await api.GET('/v1/keys/{name}', { params: path(name, o) })),
    rotate: async (name, o) => unwrap(await api.POST('/v1/keys/{name}/rotate', { params: path(name, o) })),
    update: async (name, patch, o) => unwrap(await api.PATCH('/v1/keys/{name}', { params: path(name, o), body: patch })),
    destroyVersion: async (name, version, o) => unwrap(await api.DELETE('/v1/keys/{name}/versions/{version}', { params: { path: { name, version: String(version) }, query: q(o) } })),
    delete: async (name, o) => { unwrap(await api.DELETE('/v1/keys/{name}', { params: path(name, o), parseAs: 'text' })); },
    async publicKey(name, o = {}) {
      const r = unwrap(await api.GET('/v1/keys/{name}/public', { params: { path: { name }, query: { ...q(o), ...(o.version ? { version: o.version } : {}), format: 'raw' } } }));
      return { algorithm: r.algorithm, version: r.version, publicKey: base64urlDecode(r.publicKey as string) };
    },
    publicKeyAs: async (name, format, o = {}) =>
      unwrap(await api.GET('/v1/keys/{name}/public', { params: { path: { name }, query: { ...q(o), ...(o.version ? { version: o.version } : {}), format } } })),
    export: async (name, { owner, version, format } = {}) => unwrap(await api.POST('/v1/keys/{name}/export', {
      params: path(name, { owner }), body: { format: format ?? 'raw', ...(version ? { version } : {}) },
    })),
    async sign(name, { owner, prehash, deterministic, version, ...m }) {
      const r = unwrap(await api.POST('/v1/keys/{name}/sign', {
        params: path(name, { owner }),
        body: { ...msgFields(m), ...(prehash ? { prehash } : {}), ...(deterministic ? { deterministic } : {}), ...(version ? { version } : {}) },
      }));
      return { signature: r.signature!, algorithm: r.algorithm, version: r.version };
    },
    signBatch: async (name, items, { owner, prehash, deterministic, version } = {}) => unwrap(await api.POST('/v1/keys/{name}/sign', {
      params: path(name, { owner }),
      body: {
        batch: items.map((i) => ({ ...msgFields(i), ...(i.reference !== undefined ? { reference: i.reference } : {}) })),
        ...(prehash ? { prehash } : {}), ...(deterministic ? { deterministic } : {}), ...(version ? { version } : {}),
      },
    })),
    verify: async (name, { owner, signature, prehash, ...m }) => unwrap(await api.POST('/v1/keys/{name}/verify', {
      params: path(name, { owner }), body: { ...msgFields(m), signature, ...(prehash ? { prehash } : {}) },
    })),
    verifyWithPublicKey: async ({ algorithm, publicKey, signature, prehash, ...m }) => unwrap(await api.POST('/v1/verify', {
      body: {
        algorithm, ...msgFields(m), ...(prehash ? { prehash } : {}),
        publicKey: publicKey instanceof Uint8Array ? base64urlEncode(publicKey) : publicKey,
        signature: signature instanceof Uint8Array ? base64urlEncode(signature) : signature,
      },
    })),
    jwks: async () => unwrap(await api.GET('/.well-known/jwks.json')),
  };
}
