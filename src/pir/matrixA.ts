/**
 * Public LWE matrix A (cols × n, uniform mod 2^32) expanded from a public 32-byte seed.
 * Pure module shared by server and SDK: no `node:` imports. The client expands A itself and
 * never accepts A from a server.
 *
 * XOF: ChaCha20 (RFC 8439) keystream with key = seed. Column k of A (its cols entries, which
 * the server multiplies by the database and the client scales by s[k]) is the keystream under
 * the 12-byte nonce "PIRA" ‖ u32le(k) ‖ u32le(0), block counter from 0, read as little-endian
 * uint32 words: A[c][k] = LE32(keystream_k[4c .. 4c+4]). Columns are independent streams, so
 * a prefix does not depend on cols and either side can expand one column at a time.
 * ChaCha20 is a PRF, so A is pseudorandom given a uniform seed; @noble/ciphers' ChaCha20
 * runs at ~240 MB/s here vs ~45 MB/s for its AES-256-CTR and ~25 MB/s for SHAKE-128.
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import { CryptoInputError } from '../errors.ts';

/** Length of the public seed of A (the ChaCha20 key), bytes. */
export const SEED_BYTES = 32;
const NONCE_PREFIX = [0x50, 0x49, 0x52, 0x41]; // "PIRA"

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
    throw new CryptoInputError(`PIR seed must be ${SEED_BYTES} bytes`);
  }
}

/** Nonce for column k: "PIRA" ‖ u32le(k) ‖ 0^4. */
function columnNonce(k: number): Uint8Array {
  const nonce = new Uint8Array(12);
  nonce.set(NONCE_PREFIX, 0);
  nonce[4] = k & 0xff;
  nonce[5] = (k >>> 8) & 0xff;
  nonce[6] = (k >>> 16) & 0xff;
  nonce[7] = (k >>> 24) & 0xff;
  return nonce;
}

/**
 * Column k of A: `cols` uint32 values. Pass `out` (length cols) to reuse a buffer.
 *
 * @example const a0 = expandAColumn(seed, 0, params.cols)
 */
export function expandAColumn(seed: Uint8Array, k: number, cols: number, out?: Uint32Array): Uint32Array {
  checkSeed(seed);
  if (!Number.isSafeInteger(k) || k < 0 || k > 0xffffffff) throw new CryptoInputError('A column index out of range');
  if (!Number.isSafeInteger(cols) || cols <= 0) throw new CryptoInputError('cols must be a positive integer');
  const col = out ?? new Uint32Array(cols);
  if (col.length !== cols) throw new CryptoInputError('output buffer has the wrong length');
  const bytes = new Uint8Array(col.buffer, col.byteOffset, cols * 4);
  bytes.fill(0);
  chacha20(seed, columnNonce(k), bytes, bytes);
  if (!littleEndian) {
    for (let c = 0; c < cols; c++) {
      col[c] = bytes[4 * c]! | (bytes[4 * c + 1]! << 8) | (bytes[4 * c + 2]! << 16) | (bytes[4 * c + 3]! << 24);
    }
  }
  return col;
}

/**
 * All of A, column-major: `result[k·cols + c] = A[c][k]` (n·cols·4 bytes). A client that
 * queries one database many times can expand this once and pass it to `makeQuery`.
 */
export function expandA(seed: Uint8Array, cols: number, n: number): Uint32Array {
  const all = new Uint32Array(n * cols);
  for (let k = 0; k < n; k++) expandAColumn(seed, k, cols, all.subarray(k * cols, (k + 1) * cols));
  return all;
}

/** Words per ChaCha20 block: entries [16·b, 16·b + 16) of a column of A come from keystream block b. */
export const A_WORDS_PER_BLOCK = 16;

/**
 * Entries [16·firstBlock, 16·(firstBlock + blockCount)) of column k of A (the rows of A a hint delta
 * needs, without expanding the whole column): the keystream of column k from block counter
 * `firstBlock`. Same values as `expandAColumn(seed, k, cols)` at those indices.
 */
export function expandABlocks(seed: Uint8Array, k: number, firstBlock: number, blockCount: number, out: Uint32Array): Uint32Array {
  checkSeed(seed);
  if (!Number.isSafeInteger(k) || k < 0 || k > 0xffffffff) throw new CryptoInputError('A column index out of range');
  if (!Number.isSafeInteger(firstBlock) || !Number.isSafeInteger(blockCount) || firstBlock < 0 || blockCount <= 0 || firstBlock + blockCount > 0xffffffff) {
    throw new CryptoInputError('A block range out of range');
  }
  if (out.length !== blockCount * A_WORDS_PER_BLOCK) throw new CryptoInputError('output buffer has the wrong length');
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.length * 4);
  bytes.fill(0);
  chacha20(seed, columnNonce(k), bytes, bytes, firstBlock);
  if (!littleEndian) {
    for (let c = 0; c < out.length; c++) {
      out[c] = bytes[4 * c]! | (bytes[4 * c + 1]! << 8) | (bytes[4 * c + 2]! << 16) | (bytes[4 * c + 3]! << 24);
    }
  }
  return out;
}
