/**
 * Server-side base64url (RFC 4648 §5, no padding) on Node's native codec: the same strict rules as
 * `base64urlDecode` in src/crypto/bytes.ts (the SDK's pure version), several times faster on the
 * multi-kilobyte signatures and public keys of the sign / verify paths, and producing flat strings
 * (the pure encoder builds a rope that the socket write has to flatten).
 */
import { CryptoInputError } from '../errors.ts';

const ALPHABET = /^[A-Za-z0-9_-]*$/;
const INDEX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url without padding; a flat string. */
export function base64urlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Strict base64url decoding: alphabet only (no padding, no whitespace), no impossible length,
 * canonical (zero) unused trailing bits, so two strings never decode to the same bytes.
 * Throws CryptoInputError otherwise. Returns bytes in their own ArrayBuffer (never Node's shared pool).
 */
export function base64urlDecode(s: string): Uint8Array {
  if (typeof s !== 'string' || s.length % 4 === 1 || !ALPHABET.test(s)) throw new CryptoInputError('invalid base64url string');
  const rest = s.length % 4;
  if (rest !== 0) {
    const last = INDEX.indexOf(s[s.length - 1]!);
    if (last & (rest === 2 ? 15 : 3)) throw new CryptoInputError('invalid base64url string');
  }
  return new Uint8Array(Buffer.from(s, 'base64url'));
}
