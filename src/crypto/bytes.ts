/**
 * Byte helpers shared by server and SDK. Pure: no `node:` import (runs in browsers).
 */
import { CryptoInputError } from '../errors.ts';

/**
 * Compares two byte strings in time that depends only on their lengths, never on where they differ.
 * Use it for MACs, tags, confirmation values and any other secret-derived bytes.
 *
 * @example
 * if (!constantTimeEqual(expectedTag, receivedTag)) throw new DecryptionError();
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) return false;
  // Lengths are public (they follow from the algorithm); only the contents are compared in constant time.
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Concatenates byte strings into a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

/** Overwrites a buffer with zeros (best effort: the JS engine may hold other copies). */
export function wipe(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

/** u64 big-endian of a non-negative safe integer. @example u64(1) // 00 00 00 00 00 00 00 01 */
export function u64(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new CryptoInputError('u64 out of range');
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setUint32(0, Math.floor(n / 0x1_0000_0000));
  v.setUint32(4, n >>> 0);
  return out;
}

const utf8 = new TextEncoder();

/** Length-prefixed field: u32be(len) ‖ bytes (strings as UTF-8). The framing of every hashed or signed transcript. */
export function lp(field: Uint8Array | string): Uint8Array {
  const bytes = typeof field === 'string' ? utf8.encode(field) : field;
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

const HEX = '0123456789abcdef';

/** Lower-case hex. @example toHex(new Uint8Array([1, 255])) // '01ff' */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

/** Strict hex decoding (even length, [0-9a-fA-F] only); throws CryptoInputError otherwise. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new CryptoInputError('invalid hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_INDEX = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64URL.charCodeAt(i)] = i;
  return t;
})();

function encodePortable(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!;
  }
  return s;
}

function decodePortable(s: string): Uint8Array {
  if (typeof s !== 'string' || s.length % 4 === 1) throw new CryptoInputError('invalid base64url string');
  const vals = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64URL_INDEX[c]! : -1;
    if (v < 0) throw new CryptoInputError('invalid base64url string');
    vals[i] = v;
  }
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 3 < s.length; i += 4) {
    const n = (vals[i]! << 18) | (vals[i + 1]! << 12) | (vals[i + 2]! << 6) | vals[i + 3]!;
    out[o++] = n >> 16; out[o++] = (n >> 8) & 255; out[o++] = n & 255;
  }
  const rest = s.length - i;
  if (rest === 2) {
    if (vals[i + 1]! & 15) throw new CryptoInputError('invalid base64url string');
    out[o++] = (vals[i]! << 2) | (vals[i + 1]! >> 4);
  } else if (rest === 3) {
    if (vals[i + 2]! & 3) throw new CryptoInputError('invalid base64url string');
    const n = (vals[i]! << 10) | (vals[i + 1]! << 4) | (vals[i + 2]! >> 2);
    out[o++] = n >> 8; out[o++] = n & 255;
  }
  return out;
}

/**
 * Node's Buffer when present (server, Node SDK users): several times faster on the multi-kilobyte
 * keys and signatures of the hot paths, and it produces flat strings (the portable encoder builds a
 * rope that a socket write has to flatten). Found at run time, never imported: this module stays pure.
 */
type BufferLike = { from(a: ArrayBufferLike | string, o?: number | string, l?: number): { toString(enc: string): string } & Uint8Array };
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;
const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** base64url without padding (RFC 4648 §5). @example base64urlEncode(new Uint8Array([0xfb])) // '-w' */
export function base64urlEncode(bytes: Uint8Array): string {
  return NodeBuffer ? NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url') : encodePortable(bytes);
}

/**
 * Strict base64url decoding: no padding, no whitespace, canonical trailing bits.
 * Throws CryptoInputError on anything else, so two strings never decode to the same bytes.
 * Returns bytes in their own ArrayBuffer (never Node's shared pool).
 */
export function base64urlDecode(s: string): Uint8Array {
  if (!NodeBuffer) return decodePortable(s);
  if (typeof s !== 'string' || s.length % 4 === 1 || !ALPHABET.test(s)) throw new CryptoInputError('invalid base64url string');
  const rest = s.length % 4;
  if (rest !== 0 && B64URL_INDEX[s.charCodeAt(s.length - 1)]! & (rest === 2 ? 15 : 3)) throw new CryptoInputError('invalid base64url string');
  return new Uint8Array(NodeBuffer.from(s, 'base64url'));
}

/** The portable codec (what browsers run), exposed so a test can hold both paths to the same answers. */
export const portableBase64url = { encode: encodePortable, decode: decodePortable };
