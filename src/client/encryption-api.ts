/**
 * `client.keys` methods for encryption with managed KEM keys (docs/ENCRYPTION.md). `seal` encrypts
 * locally (the service never sees the plaintext); the others call the service. Pure (browsers too).
 *
 * @example
 * const c = await client.keys.seal('inbox', bytes, { pin });          // local HPKE, 'v1:…'
 * const { plaintext } = await client.keys.decrypt('inbox', c);        // through the service
 * const { plaintext: key, ciphertext } = await client.keys.generateDataKey('inbox');
 */
import type { Client } from 'openapi-fetch';
import { sha256 } from '@noble/hashes/sha2.js';
import type { paths, components } from './schema.ts';
import { base64urlDecode, base64urlEncode, constantTimeEqual } from '../crypto/bytes.ts';
import { isKemAlgorithm, type KemAlgorithm } from '../crypto/algorithms.ts';
import { CryptoInputError } from '../errors.ts';
import { sealTo, wrapForImport, type SealOptions } from './encryption.ts';

type S = components['schemas'];
type Unwrap = <T>(r: { data?: T; error?: unknown; response: Response }) => T;
type Owner = { owner?: string };

/** A KEM public key to seal to without asking the service. */
export interface KemPublicKey { algorithm: KemAlgorithm; publicKey: Uint8Array; version: number }

/** base64url SHA-256 of a raw public key: the pin `seal` checks a fetched key against. */
export const publicKeyPin = (publicKey: Uint8Array): string => base64urlEncode(sha256(publicKey));

export interface EncryptionApi {
  /** HPKE-seals locally to a key name (its newest public key is fetched, and checked against `pin` when given) or to a given public key. */
  seal(key: string | KemPublicKey, plaintext: Uint8Array, opts?: SealOptions & Owner & { pin?: string }): Promise<string>;
  /** Encrypts through the service (the plaintext is sent). */
  encrypt(name: string, plaintext: Uint8Array, opts?: SealOptions & Owner): Promise<{ ciphertext: string; version: number; suite: S['HpkeSuite'] }>;
  /** Decrypts through the service. */
  decrypt(name: string, ciphertext: string, opts?: SealOptions & Owner): Promise<{ plaintext: Uint8Array; version: number }>;
  /** Re-encrypts to the newest version inside the service. */
  rewrap(name: string, ciphertext: string, opts?: SealOptions & Owner): Promise<{ ciphertext: string; version: number }>;
  /** A fresh data key: `plaintext` (unless `withPlaintext: false`) and its ciphertext for storage. */
  generateDataKey(name: string, opts?: SealOptions & Owner & { bytes?: 16 | 32; withPlaintext?: boolean }): Promise<{ ciphertext: string; plaintext?: Uint8Array; version: number }>;
  /** Raw decapsulation (keys created with decapsulateAllowed): the shared secret of a KEM ciphertext. */
  decapsulate(name: string, cipherText: Uint8Array, opts?: Owner & { version?: number }): Promise<Uint8Array>;
  /** BYOK: creates an import job, wraps `material` to it locally and imports it as the newest version of `name` (or a new key of `algorithm`). */
  importKey(name: string, algorithm: S['KeyAlgorithm'], material: Uint8Array, opts?: Owner & { exportable?: boolean; ttlSeconds?: number }): Promise<S['Key']>;
}

const ctxFields = (o: SealOptions) => ({ ...(o.aad ? { aad: base64urlEncode(o.aad) } : {}), ...(o.info ? { info: base64urlEncode(o.info) } : {}) });

export function encryptionApi(api: Client<paths>, unwrap: Unwrap): EncryptionApi {
  const path = (name: string, o: Owner) => ({ path: { name }, query: o.owner !== undefined ? { owner: o.owner } : {} });
  return {
    async seal(key, plaintext, opts = {}) {
      let k: KemPublicKey;
      if (typeof key === 'string') {
        const r = unwrap(await api.GET('/v1/keys/{name}/public', { params: { path: { name: key }, query: { ...(opts.owner ? { owner: opts.owner } : {}), format: 'raw' } } }));
        if (!isKemAlgorithm(r.algorithm)) throw new CryptoInputError(`${r.algorithm} is not a KEM key`);
        k = { algorithm: r.algorithm, version: r.version, publicKey: base64urlDecode(r.publicKey as string) };
        if (opts.pin !== undefined && !constantTimeEqual(base64urlDecode(publicKeyPin(k.publicKey)), base64urlDecode(opts.pin))) {
          throw new CryptoInputError('the public key of this key does not match the pin');
        }
      } else {
        k = key;
      }
      return sealTo(k.algorithm, k.publicKey, k.version, plaintext, opts);
    },
    async encrypt(name, plaintext, opts = {}) {
      const r = unwrap(await api.POST('/v1/keys/{name}/encrypt', { params: path(name, opts), body: { plaintext: base64urlEncode(plaintext), ...ctxFields(opts) } }));
      return { ciphertext: r.ciphertext!, version: r.version, suite: r.suite };
    },
    async decrypt(name, ciphertext, opts = {}) {
      const r = unwrap(await api.POST('/v1/keys/{name}/decrypt', { params: path(name, opts), body: { ciphertext, ...ctxFields(opts) } }));
      return { plaintext: base64urlDecode(r.plaintext!), version: r.version! };
    },
    async rewrap(name, ciphertext, opts = {}) {
      const r = unwrap(await api.POST('/v1/keys/{name}/rewrap', { params: path(name, opts), body: { ciphertext, ...ctxFields(opts) } }));
      return { ciphertext: r.ciphertext, version: r.version };
    },
    async generateDataKey(name, opts = {}) {
      const r = unwrap(await api.POST('/v1/keys/{name}/datakey', {
        params: path(name, opts), body: { ...(opts.bytes ? { bytes: opts.bytes } : {}), ...(opts.withPlaintext === false ? { plaintext: false } : {}), ...ctxFields(opts) },
      }));
      return { ciphertext: r.ciphertext, version: r.version, ...(r.plaintext !== undefined ? { plaintext: base64urlDecode(r.plaintext) } : {}) };
    },
    async importKey(name, algorithm, material, opts = {}) {
      const q = { query: opts.owner !== undefined ? { owner: opts.owner } : {} };
      const job = unwrap(await api.POST('/v1/import-jobs', { params: q, body: opts.ttlSeconds ? { ttlSeconds: opts.ttlSeconds } : {} }));
      const wrappedKey = wrapForImport({ id: job.id, publicKey: base64urlDecode(job.publicKey) }, algorithm, material);
      return unwrap(await api.POST('/v1/keys/{name}/import', {
        params: path(name, opts), body: { importJob: job.id, wrappedKey, algorithm, ...(opts.exportable !== undefined ? { exportable: opts.exportable } : {}) },
      }));
    },
    async decapsulate(name, cipherText, opts = {}) {
      const c = `${opts.version ? `v${opts.version}:` : ''}${base64urlEncode(cipherText)}`;
      return base64urlDecode(unwrap(await api.POST('/v1/keys/{name}/decapsulate', { params: path(name, opts), body: { ciphertext: c } })).sharedSecret);
    },
  };
}
