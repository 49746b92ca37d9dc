/**
 * SimplePIR client half: build a query for one record and decode the answer. Pure module
 * shared with the SDK: no `node:` imports; randomness from globalThis.crypto.getRandomValues.
 *
 * Query for record i in column j: qu = A·s + e + Δ·u_j (mod 2^32), with s uniform in Z_q^n and
 * e[c] ~ CBD(η) fresh from the CSPRNG for every query (never from the seed's stream, never
 * reused). A is expanded here from the public seed; the client never accepts A from a server.
 * Decode row r: (ans[r] − H[r]·s) mod 2^32 = Δ·D[r][j] + Σ_c D[r][c]·e[c]; rounding by Δ
 * recovers D[r][j] = byte − 128 while |noise| < Δ/2 (params.ts bounds the probability).
 * No branch or index depends on s, e or the record bytes; JavaScript gives no constant-time
 * guarantee beyond that.
 */
import { expandAColumn } from './matrixA.ts';
import { assertPirParams, CBD_ETA, DELTA, recordPosition, type PirParams } from './params.ts';
import { CryptoInputError } from '../errors.ts';

/** Per-query client state. Holds the secret s internally; `decode` consumes and wipes it. */
export class PirQueryState {
  readonly index: number;
  readonly column: number;
  readonly firstRow: number;
  readonly rows: number;
  readonly cols: number;
  readonly n: number;
  constructor(params: PirParams, index: number, column: number, firstRow: number) {
    this.index = index;
    this.column = column;
    this.firstRow = firstRow;
    this.rows = params.rows;
    this.cols = params.cols;
    this.n = params.n;
  }
}

// Secrets live outside the state object so that logging or serializing a state leaks nothing.
const secrets = new WeakMap<PirQueryState, Uint32Array>();

const MAX_RANDOM_CHUNK = 65536 / 4; // getRandomValues fills at most 65536 bytes per call

function randomU32(count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i += MAX_RANDOM_CHUNK) {
    globalThis.crypto.getRandomValues(out.subarray(i, Math.min(count, i + MAX_RANDOM_CHUNK)));
  }
  return out;
}

function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

const WORDS_PER_SAMPLE = 6; // 2 × 82 bits: 32 + 32 + 18 bits for a, then for b
const TAIL_MASK = (1 << (CBD_ETA - 64)) - 1;

/** Writes `out.length` samples of CBD(η = 82): Σ_{i<82} a_i − Σ_{i<82} b_i. */
export function sampleCbd(out: Int32Array): void {
  const bits = randomU32(out.length * WORDS_PER_SAMPLE);
  for (let i = 0, w = 0; i < out.length; i++, w += WORDS_PER_SAMPLE) {
    const a = popcount32(bits[w]!) + popcount32(bits[w + 1]!) + popcount32(bits[w + 2]! & TAIL_MASK);
    const b = popcount32(bits[w + 3]!) + popcount32(bits[w + 4]!) + popcount32(bits[w + 5]! & TAIL_MASK);
    out[i] = a - b;
  }
  bits.fill(0);
}

/** Options of makeQuery. */
export interface MakeQueryOptions {
  /** A from `expandA(seed, params.cols, params.n)`, to skip re-expanding it per query. */
  readonly A?: Uint32Array;
}

/**
 * Builds the query for record `index`. Send `query` (cols uint32, see wire.ts); keep `state`
 * for `decode`. Each call draws a fresh s and e.
 *
 * @example const { query, state } = makeQuery(params, seed, 42)
 */
export function makeQuery(
  params: PirParams,
  seed: Uint8Array,
  index: number,
  options: MakeQueryOptions = {},
): { query: Uint32Array; state: PirQueryState } {
  assertPirParams(params);
  const { column, firstRow } = recordPosition(params, index);
  const { cols, n } = params;
  if (options.A && options.A.length !== n * cols) throw new CryptoInputError('expanded A has the wrong size');
  const s = randomU32(n);
  const acc = new Int32Array(cols);
  sampleCbd(acc);
  const aCol = options.A ? undefined : new Uint32Array(cols);
  for (let k = 0; k < n; k++) {
    const col = options.A ? options.A.subarray(k * cols, (k + 1) * cols) : expandAColumn(seed, k, cols, aCol);
    const sk = s[k]! | 0;
    for (let c = 0; c < cols; c++) acc[c] = (acc[c]! + Math.imul(col[c]!, sk)) | 0;
  }
  acc[column] = (acc[column]! + DELTA) | 0;
  const state = new PirQueryState(params, index, column, firstRow);
  secrets.set(state, s);
  return { query: new Uint32Array(acc.buffer), state };
}

/**
 * Recovers the record from the server's answer (rows uint32) and the hint (rows × n,
 * row-major). Consumes the state: its secret is wiped, a second decode throws.
 *
 * @example const record = decode(params, hint, answer, state)
 */
export function decode(params: PirParams, hint: Uint32Array, answer: Uint32Array, state: PirQueryState): Uint8Array {
  const s = secrets.get(state);
  if (!s) throw new CryptoInputError('PIR query state already used');
  const { rows, cols, n, recordSize } = params;
  if (state.rows !== rows || state.cols !== cols || state.n !== n) throw new CryptoInputError('PIR params do not match the query');
  if (!(hint instanceof Uint32Array) || hint.length !== rows * n) throw new CryptoInputError('hint has the wrong size');
  if (!(answer instanceof Uint32Array) || answer.length !== rows) throw new CryptoInputError('answer has the wrong size');
  secrets.delete(state);
  const out = new Uint8Array(recordSize);
  const half = DELTA / 2;
  for (let t = 0; t < recordSize; t++) {
    const r = state.firstRow + t;
    const base = r * n;
    let dot = 0;
    for (let k = 0; k < n; k++) dot = (dot + Math.imul(hint[base + k]!, s[k]!)) | 0;
    const v = (answer[r]! - dot + half) >>> 0;
    out[t] = ((v >>> 24) + 128) & 0xff;
  }
  s.fill(0);
  return out;
}
