/**
 * SDK for managed keys and signatures: typed helpers over the generated client that take and
 * return bytes (Uint8Array), plus `computeMu`, which computes the FIPS 204 external μ locally so
 * a large message never has to be uploaded. Imports no `node:` module (runs in browsers).
 *
 * @example
 * const client = createClient(url, { token });
 * await client.keys.create({ name: 'release', algorithm: 'ML-DSA-65' });
 * const { signature } = await client.keys.sign('release', { message: bytes, context: utf8('v1') });
 * const { valid } = await client.keys.verify('release', { message: bytes, context: utf8('v1'), signature });
 */
import type { Client } from 'openapi-fetch';
import { shake256 } from '@noble/hashes/sha3.js';
import type { paths, components } from './schema.ts';
import { base64urlDecode, base64urlEncode } from '../crypto/bytes.ts';
import { SIZES } from '../crypto/algorithms.ts';
import { CryptoInputError } from '../errors.ts';

type S = components['schemas'];
export type Key = S['Key'];
export type KeyAlgorithm = S['KeyAlgorithm'];
export type SignatureAlgorithm = S['SignatureAlgorithm'];
export type PreHash = S['PreHash'];
export type PublicKeyResponse = S['PublicKey'];
export type SignResponse = S['SignResponse'];
export type Jwks = S['Jwks'];
export type AkpJwk = S['AkpJwk'];

type Unwrap = <T>(r: { data?: T; error?: unknown; response: Response }) => T;

export interface MessageInput {
  /** The message (1..262144 bytes), or */
  message?: Uint8Array;
  /** an external μ from `computeMu` (ML-DSA only; context is already inside μ). */
  mu?: Uint8Array;
  /** FIPS 204/205 context string, at most 255 bytes. */
  context?: Uint8Array;
}
export interface SignOptions extends MessageInput { prehash?: PreHash; deterministic?: boolean; version?: number; owner?: string }
export interface BatchItem extends MessageInput { reference?: string }

/**
 * FIPS 204 external μ (Alg. 7 line 6): μ = SHAKE256(tr ‖ M', 64) with tr = SHAKE256(pk, 64) and
 * M' = 0x00 ‖ |ctx| ‖ ctx ‖ M (pure ML-DSA). Send it as `mu` to sign or verify a message of any size.
 *
 * @example
 * const { publicKey } = await client.keys.publicKey('release');
 * const mu = computeMu(publicKey, hugeFile, utf8('release-v1'));
 * const { signature } = await client.keys.sign('release', { mu });
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

export interface KeysApi {
  create(req: { name: string; algorithm: KeyAlgorithm; exportable?: boolean }): Promise<Key>;
  list(opts?: { owner?: string; limit?: number; after?: string }): Promise<S['KeyList']>;
  get(name: string, opts?: { owner?: string }): Promise<Key>;
  rotate(name: string, opts?: { owner?: string }): Promise<Key>;
  update(name: string, patch: { minVersion?: number; deletionAllowed?: boolean }, opts?: { owner?: string }): Promise<Key>;
  delete(name: string, opts?: { owner?: string }): Promise<void>;
  /** Public key bytes (raw FIPS encoding) of the latest or given version. */
  publicKey(name: string, opts?: { version?: number; owner?: string }): Promise<{ algorithm: string; version: number; publicKey: Uint8Array }>;
  /** The public key in another format: der / spki (base64url), pem (text), jwk (object). */
  publicKeyAs(name: string, format: 'raw' | 'der' | 'spki' | 'pem' | 'jwk', opts?: { version?: number; owner?: string }): Promise<PublicKeyResponse>;
  export(name: string, opts?: { version?: number; format?: 'raw' | 'pkcs8' | 'pem' | 'jwk'; owner?: string }): Promise<S['ExportedKey']>;
  /** Signs one message (or μ); returns the `v<N>:<base64url>` signature. */
  sign(name: string, opts: SignOptions): Promise<{ signature: string; algorithm: string; version: number }>;
  /** Signs many messages in one call; per-item errors come back as problem objects. */
  signBatch(name: string, items: BatchItem[], opts?: Omit<SignOptions, keyof MessageInput>): Promise<SignResponse>;
  verify(name: string, req: MessageInput & { signature: string; prehash?: PreHash; owner?: string }): Promise<{ valid: boolean; version?: number }>;
  verifyWithPublicKey(req: MessageInput & { algorithm: SignatureAlgorithm; publicKey: Uint8Array | string | AkpJwk; signature: Uint8Array | string; prehash?: PreHash }): Promise<{ valid: boolean }>;
  jwks(): Promise<Jwks>;
}

/** Splits a service signature `v<N>:<base64url>` into its key version and raw bytes. @example parseSignature('v2:AAE') */
export function parseSignature(signature: string): { version: number; bytes: Uint8Array } {
  const m = /^v([1-9][0-9]{0,8}):([A-Za-z0-9_-]*)$/.exec(signature);
  if (!m) throw new CryptoInputError('signature must look like v<version>:<base64url>');
  return { version: Number(m[1]), bytes: base64urlDecode(m[2]!) };
}

export function keysApi(api: Client<paths>, unwrap: Unwrap): KeysApi {
  const q = (o?: { owner?: string | undefined }) => (o?.owner !== undefined ? { owner: o.owner } : {});
  const path = (name: string, o?: { owner?: string | undefined }) => ({ path: { name }, query: q(o) });
  return {
    create: async (body) => unwrap(await api.POST('/v1/keys', { body: { ...body, exportable: body.exportable ?? false } })),
    list: async (opts = {}) => unwrap(await api.GET('/v1/keys', { params: { query: opts } })),
    get: async (name, o) => unwrap(await api.GET('/v1/keys/{name}', { params: path(name, o) })),
    rotate: async (name, o) => unwrap(await api.POST('/v1/keys/{name}/rotate', { params: path(name, o) })),
    update: async (name, patch, o) => unwrap(await api.PATCH('/v1/keys/{name}', { params: path(name, o), body: patch })),
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
