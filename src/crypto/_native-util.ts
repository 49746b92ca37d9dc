/**
 * Small helpers of the node:crypto backend (native.ts, _xwing-native.ts): byte views and the two
 * work-arounds for a Node 24 cost measured on this project's node (v24.21, OpenSSL 3.5).
 *
 * Node 24 tells a KeyObject from raw key material with a try/catch brand check (`isKeyObject`):
 * every node:crypto call handed a Buffer key, or an options object (`{ key, format: 'raw-public' … }`),
 * throws and catches an Error internally, and the stack capture costs ~10–17 µs per call. Measured
 * (2-core VM, µs per call, before → after):
 *   - symmetric keys wrapped in `createSecretKey` (≈ 1 µs): AES-256-GCM seal of 200 B 17.7 → 9.1,
 *     HMAC-SHA-256 13.3 → 3.5 (see {@link secretKey});
 *   - asymmetric imports and HKDF under `Error.stackTraceLimit = 0` (see {@link quiet}): X25519
 *     raw-public import 23.2 → 6.5, ML-KEM-768 raw-public import 41.9 → 23.0, ML-KEM-768 raw-seed
 *     import 103.8 → 84.2, hkdfSync(SHA-512, 152 B) 15.0 → 8.7.
 */
import { createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { HashAlgorithm } from './algorithms.ts';

/** OpenSSL names of the registry's hashes, AEADs and HMAC hashes. */
export const HASH_NAMES: Record<HashAlgorithm, string> = {
  'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512', 'SHA3-256': 'sha3-256', 'SHA3-512': 'sha3-512',
  'SHAKE-128': 'shake128', 'SHAKE-256': 'shake256',
};
export const AEAD_NAMES = { 'AES-128-GCM': 'aes-128-gcm', 'AES-256-GCM': 'aes-256-gcm', 'ChaCha20-Poly1305': 'chacha20-poly1305' } as const;
export const HMAC_NAMES = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' } as const;

/** node:crypto wants Buffers for raw formats; this views the caller's bytes without copying (never written to). */
export const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Plain, unshared Uint8Array (Buffers from OpenSSL may sit in Node's pool). */
export const u8 = (b: Buffer | ArrayBuffer): Uint8Array => new Uint8Array(b instanceof ArrayBuffer ? b.slice(0) : b);

/**
 * A symmetric key as a KeyObject (OpenSSL keeps its own copy; dropping the object releases it), so
 * createCipheriv / createHmac skip the hidden throw described above.
 */
export const secretKey = (key: Uint8Array): KeyObject => createSecretKey(buf(key));

/**
 * Runs a synchronous node:crypto call with `Error.stackTraceLimit = 0` and restores the previous
 * limit in `finally`. Only Node's internal, caught brand-check errors are affected: nothing
 * asynchronous can run in between, and callers catch what the call throws outside `quiet` and
 * throw the backend's own typed errors (CryptoInputError, …) after the limit is restored, so the
 * errors the backend surfaces keep their stacks. Pass only argument-checked inputs: an unexpected
 * Node error escaping unconverted would carry its message but no stack.
 */
export function quiet<T>(f: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
