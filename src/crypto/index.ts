/**
 * Crypto entry point: the two backends behind one interface, plus the algorithm registry,
 * key encodings and byte helpers.
 *
 * @example
 * const b = getBackend('native');
 * const { publicKey, secretKey } = b.signatureKeygen('ML-DSA-65');
 * b.verify('ML-DSA-65', publicKey, msg, b.sign('ML-DSA-65', secretKey, msg)); // true
 */
import type { CryptoBackend } from './backend.ts';
import { nativeBackend } from './native.ts';
import { nobleBackend } from './noble.ts';
import { CryptoInputError } from '../errors.ts';

/** Backend interface types (src/crypto/backend.ts). */
export type * from './backend.ts';
export * from './algorithms.ts';
export * from './encodings.ts';
export { constantTimeEqual, base64urlDecode, base64urlEncode, fromHex, toHex, concatBytes, wipe } from './bytes.ts';
export { nativeBackend, nobleBackend };

/** The backend by name: `native` (node:crypto / OpenSSL, server default) or `noble` (pure JS). */
export function getBackend(name: 'native' | 'noble'): CryptoBackend {
  if (name === 'native') return nativeBackend;
  if (name === 'noble') return nobleBackend;
  throw new CryptoInputError('unknown crypto backend');
}
