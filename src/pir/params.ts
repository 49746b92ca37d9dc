/**
 * SimplePIR parameters: LWE constants, the database shape rule and the correctness
 * (decryption failure) bound. Pure module shared by server and SDK: no `node:` imports.
 *
 * Scheme: Henzinger, Hong, Corrigan-Gibbs, Meiklejohn, Vaikuntanathan, "One Server for the
 * Price of Two: Simple and Fast Single-Server Private Information Retrieval", USENIX Security
 * 2023 (SimplePIR). Plaintext modulus p = 2^8, ciphertext modulus q = 2^32, Δ = q/p = 2^24.
 *
 * Differences from the paper's parameters (see docs/PIR.md):
 * - n = 1408 instead of 1024 (n = 1024, σ = 6.4, q = 2^32 is below 128-bit by current
 *   core-SVP estimates; `coreSvpPrimal` reproduces that).
 * - error from the centred binomial distribution CBD(η = 82): σ = sqrt(η/2) ≈ 6.40, and
 *   CBD(η) is a sum of 2η independent ±1/2 steps, so Hoeffding's bound applies exactly.
 * - database entries are stored centred (byte − 128 ∈ [−128, 127]), halving the noise.
 */
import { CryptoInputError } from '../errors.ts';
import { chooseShape, squareShape, DEFAULT_QUERIES_PER_HINT, MAX_QUERIES_PER_HINT, type ShapeLimits } from './shape.ts';

/** LWE dimension (length of the per-query secret s). */
export const LWE_N = 1408;
/** log2 of the ciphertext modulus q: all arithmetic is uint32 and wraps. */
export const LOG_Q = 32;
/** log2 of the plaintext modulus p (one database entry is one byte). */
export const LOG_P = 8;
/** Δ = floor(q / p) = 2^24. */
export const DELTA = 2 ** (LOG_Q - LOG_P);
/** Centred binomial parameter: e = Σ_{i<η} (a_i − b_i), a_i, b_i uniform bits. σ² = η/2. */
export const CBD_ETA = 82;
/** Standard deviation of the error distribution, sqrt(η/2) ≈ 6.403. */
export const ERROR_SIGMA = Math.sqrt(CBD_ETA / 2);
/** Largest |entry| of the centred database (bytes are stored as b − 128 ∈ [−128, 127]). */
export const ENTRY_BOUND = 128;
/** Columns are a multiple of this (the WASM kernel reads 16 bytes per lane group). */
export const COL_ALIGN = 16;
/** Required correctness: log2 of the per-query failure probability bound. */
export const TARGET_FAILURE_LOG2 = -40;
/** Largest database the shape rule accepts (entries = bytes, before padding). */
export const MAX_DB_BYTES = 2 ** 30;
/** Largest record: one record is one column segment, and rows drive the hint size. */
export const MAX_RECORD_SIZE = 32768;
/** Identifies the scheme, layout and XOF; a client refuses any other value. */
export const PIR_SCHEME = 'simplepir-v1' as const;

/** The parameters and shape of one database version (signed in its config; see docs/PIR.md). */
export interface PirParams {
  readonly scheme: typeof PIR_SCHEME;
  /** LWE dimension. */
  readonly n: number;
  readonly logQ: number;
  readonly logP: number;
  readonly eta: number;
  readonly recordCount: number;
  readonly recordSize: number;
  /** Records stacked down one column; rows = recordsPerColumn · recordSize. */
  readonly recordsPerColumn: number;
  readonly rows: number;
  /** Multiple of COL_ALIGN; the last columns may be padding. */
  readonly cols: number;
  /**
   * Expected queries per hint download that the shape was chosen for (shape.ts). Absent only on
   * versions stored under the first release's square rule, whose configs are signed as v1.
   */
  readonly queriesPerHint?: number;
}

const isPositiveInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x > 0;

/**
 * log2 of an upper bound on the probability that one query decodes any of `rows` entries
 * wrongly. The decoding error of entry r is X = Σ_c D[r][c]·e[c] with |D[r][c]| ≤ 128 and
 * e[c] = Σ_{i<η} (a_i − b_i): a sum of 2η·cols independent terms, each in an interval of
 * length |D[r][c]|. Hoeffding: P(|X| ≥ t) ≤ 2·exp(−2t² / (2η·Σ_c D[r][c]²))
 * ≤ 2·exp(−t² / (η·cols·128²)). Decoding fails only if |X| ≥ Δ/2; union bound over rows.
 *
 * @example failureProbabilityLog2(16384, 16384) // ≈ −4611: far below −40
 */
export function failureProbabilityLog2(rows: number, cols: number): number {
  const t = DELTA / 2;
  const exponentNats = (t * t) / (CBD_ETA * cols * ENTRY_BOUND * ENTRY_BOUND);
  return Math.log2(2 * rows) - exponentNats / Math.LN2;
}

/** Largest multiple of COL_ALIGN such that failureProbabilityLog2(rows, cols) ≤ −40. */
export function maxColsFor(rows: number): number {
  const t = DELTA / 2;
  const needNats = (Math.log2(2 * rows) - TARGET_FAILURE_LOG2) * Math.LN2;
  const limit = Math.floor((t * t) / (CBD_ETA * ENTRY_BOUND * ENTRY_BOUND * needNats));
  return limit - (limit % COL_ALIGN);
}

const SHAPE_LIMITS: ShapeLimits = { n: LWE_N, colAlign: COL_ALIGN, maxColsFor: (rows) => maxColsFor(rows) };

/**
 * Shape rule (shape.ts): the rows × cols that minimise what a client downloads, the hint once plus
 * `queriesPerHint` queries (upload cols·4 B, answer rows·4 B each), within the correctness cap and a
 * 1 MiB query. `queriesPerHint: null` selects the first release's square rule (stored old versions).
 *
 * @example choosePirParams(1 << 21, 32) // 64 MiB: rows = 864 (27 records/column), cols = 77,680, hint 4.6 MiB
 */
export function choosePirParams(recordCount: number, recordSize: number, queriesPerHint: number | null = DEFAULT_QUERIES_PER_HINT): PirParams {
  if (!isPositiveInt(recordCount)) throw new CryptoInputError('recordCount must be a positive integer');
  if (!isPositiveInt(recordSize) || recordSize > MAX_RECORD_SIZE) {
    throw new CryptoInputError(`recordSize must be an integer in [1, ${MAX_RECORD_SIZE}]`);
  }
  if (queriesPerHint !== null && (!isPositiveInt(queriesPerHint) || queriesPerHint > MAX_QUERIES_PER_HINT)) {
    throw new CryptoInputError(`queriesPerHint must be an integer in [1, ${MAX_QUERIES_PER_HINT}]`);
  }
  if (recordCount * recordSize > MAX_DB_BYTES) throw new CryptoInputError(`database larger than ${MAX_DB_BYTES} bytes`);
  const shape = queriesPerHint === null ? squareShape(recordCount, recordSize, SHAPE_LIMITS)
    : chooseShape(recordCount, recordSize, queriesPerHint, SHAPE_LIMITS);
  if (failureProbabilityLog2(shape.rows, shape.cols) > TARGET_FAILURE_LOG2) {
    throw new CryptoInputError('no shape meets the correctness bound');
  }
  return {
    scheme: PIR_SCHEME,
    n: LWE_N,
    logQ: LOG_Q,
    logP: LOG_P,
    eta: CBD_ETA,
    recordCount,
    recordSize,
    recordsPerColumn: shape.recordsPerColumn,
    rows: shape.rows,
    cols: shape.cols,
    ...(queriesPerHint === null ? {} : { queriesPerHint }),
  };
}

/**
 * Client-side check of parameters received from a server: the client recomputes the shape
 * from (recordCount, recordSize, queriesPerHint) and accepts only exactly that, so a server cannot
 * push a smaller n, a shape past the correctness bound or another scheme.
 */
export function assertPirParams(params: unknown): asserts params is PirParams {
  const p = params as Partial<PirParams> | null;
  if (typeof p !== 'object' || p === null) throw new CryptoInputError('PIR params must be an object');
  const expected = choosePirParams(p.recordCount as number, p.recordSize as number, p.queriesPerHint === undefined ? null : p.queriesPerHint);
  for (const key of new Set([...Object.keys(expected), ...Object.keys(p)]) as Set<keyof PirParams>) {
    if (p[key] !== expected[key]) throw new CryptoInputError(`PIR params: unexpected ${key}`);
  }
}

/** Where record `index` lives: its column and first row. */
export function recordPosition(params: PirParams, index: number): { column: number; firstRow: number } {
  if (!Number.isSafeInteger(index) || index < 0 || index >= params.recordCount) {
    throw new CryptoInputError('record index out of range');
  }
  const column = Math.floor(index / params.recordsPerColumn);
  const firstRow = (index % params.recordsPerColumn) * params.recordSize;
  return { column, firstRow };
}

/** Wire sizes in bytes. */
export function pirSizes(params: PirParams): { hint: number; query: number; answer: number; database: number } {
  return {
    hint: params.rows * params.n * 4,
    query: params.cols * 4,
    answer: params.rows * 4,
    database: params.rows * params.cols,
  };
}

/**
 * Core-SVP cost of the primal uSVP attack (Alkim, Ducas, Pöppelmann, Schwabe 2016, "NewHope",
 * §6) on LWE(n, q = 2^logQ, σ): after the normal-form transform the secret follows the error
 * distribution; the attack succeeds with BKZ block size β when
 * σ·sqrt(β) ≤ δ_β^(2β−d−1)·q^(m/d), d = m + n + 1. Cost 2^(0.292β) classical (BDGL16 sieving),
 * 2^(0.265β) quantum (Laa15). A conservative model, not the lattice estimator; see docs/PIR.md.
 */
export function coreSvpPrimal(n: number, logQ: number, sigma: number): { beta: number; m: number; classical: number; quantum: number } {
  const logDelta = (b: number): number =>
    Math.log2(Math.pow(Math.PI * b, 1 / b) * (b / (2 * Math.PI * Math.E))) / (2 * (b - 1));
  let best = { beta: Infinity, m: 0 };
  for (let m = 64; m <= 4 * n; m += 8) {
    const d = m + n + 1;
    for (let b = 60; b < Math.min(d, best.beta); b++) {
      if (Math.log2(sigma) + 0.5 * Math.log2(b) <= (2 * b - d - 1) * logDelta(b) + (m / d) * logQ) {
        best = { beta: b, m };
        break;
      }
    }
  }
  return { ...best, classical: 0.292 * best.beta, quantum: 0.265 * best.beta };
}
