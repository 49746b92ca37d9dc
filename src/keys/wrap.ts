/**
 * Wrapping of secrets at rest (key seeds, prekeys) under the service master key.
 *
 * Format v1 (all bytes):  0x01 ‖ nonce (12 B, random) ‖ AES-256-GCM(ciphertext ‖ tag 16 B)
 * AEAD key: HKDF-SHA-256(ikm = master key, salt = "", info = "pqzk/wrap/v1", 32 B), so the master
 * key itself never keys a cipher directly. AAD: the format byte ‖ UTF-8 of a string naming the
 * secret (e.g. `key:<id>/<owner>/<name>#v3`), so a wrapped blob moved to another row does not open.
 * Random 96-bit nonces: safe far beyond the number of secrets a store will ever hold (< 2^32).
 *
 * @example
 * const blob = wrapSecret(ctx.secrets.masterKey, seed, 'key:alice/signing#v1');
 * const seed2 = unwrapSecret(ctx.secrets.masterKey, blob, 'key:alice/signing#v1');
 */
import { nativeBackend } from '../crypto/index.ts';
import { deriveSubkey } from '../secrets.ts';
import { concatBytes } from '../crypto/bytes.ts';
import { DecryptionError } from '../errors.ts';

export const WRAP_FORMAT_V1 = 0x01;
const NONCE = 12;
const TAG = 16;
const utf8 = new TextEncoder();
/** The wrapping key: a subkey of the master key, so the master key itself never keys a cipher. */
const kek = (masterKey: Uint8Array): Uint8Array => deriveSubkey(masterKey, 'pqzk/wrap/v1');

const aadBytes = (aad: string): Uint8Array => concatBytes(Uint8Array.of(WRAP_FORMAT_V1), utf8.encode(aad));

/** Seals `plaintext` under the master key, bound to `aad`. Returns a fresh self-describing blob. */
export function wrapSecret(masterKey: Uint8Array, plaintext: Uint8Array, aad: string): Uint8Array {
  const nonce = nativeBackend.randomBytes(NONCE);
  const sealed = nativeBackend.aeadSeal('AES-256-GCM', kek(masterKey), nonce, plaintext, aadBytes(aad));
  return concatBytes(Uint8Array.of(WRAP_FORMAT_V1), nonce, sealed);
}

/**
 * Opens a blob from `wrapSecret`. Throws `DecryptionError` (fixed message) when the blob, the AAD
 * or the master key does not match; callers that read their own store usually map that to a 500.
 */
export function unwrapSecret(masterKey: Uint8Array, wrapped: Uint8Array, aad: string): Uint8Array {
  if (!(wrapped instanceof Uint8Array) || wrapped.length < 1 + NONCE + TAG || wrapped[0] !== WRAP_FORMAT_V1) throw new DecryptionError();
  return nativeBackend.aeadOpen('AES-256-GCM', kek(masterKey), wrapped.subarray(1, 1 + NONCE), wrapped.subarray(1 + NONCE), aadBytes(aad));
}

/** AAD naming one version of a managed key. */
export const keyAad = (keyId: string, owner: string, name: string, version: number): string => `key:${keyId}/${owner}/${name}#v${version}`;
