/**
 * Wire encoding of PIR vectors: query, answer and hint are little-endian uint32 arrays sent as
 * application/octet-stream. Pure module shared by server and SDK.
 */
import { CryptoInputError } from '../errors.ts';

/** Little-endian bytes of a uint32 vector (a copy). */
export function u32ToBytes(v: Uint32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setUint32(4 * i, v[i]!, true);
  return out;
}

/** Parses exactly `expectedLength` little-endian uint32 values. */
export function bytesToU32(bytes: Uint8Array, expectedLength: number): Uint32Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== expectedLength * 4) {
    throw new CryptoInputError(`expected ${expectedLength * 4} bytes`);
  }
  const out = new Uint32Array(expectedLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < expectedLength; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}
