/**
 * SimplePIR server half: lay records out as the centred rows × cols matrix, compute the hint
 * H = D·A (rows × n), and answer a query with one scan D·query. No `node:` imports; the kernel
 * (WASM SIMD or the TS reference) is passed in.
 *
 * Layout: record i sits in column floor(i / recordsPerColumn), rows
 * [(i mod recordsPerColumn)·recordSize, … + recordSize), one byte per row. Entries are
 * stored centred, D[r][c] = byte − 128 ∈ [−128, 127], which halves the worst-case noise
 * (docs/PIR.md); unused slots and padding columns are 0.
 */
import { expandAColumn } from './matrixA.ts';
import { choosePirParams, recordPosition, type PirParams } from './params.ts';
import type { PirKernel, PirMatrix } from './reference-kernel.ts';
import { CryptoInputError } from '../errors.ts';

/** A database version ready to answer: its parameters and its matrix. */
export interface PirDatabase {
  readonly params: PirParams;
  readonly matrix: PirMatrix;
}

const PAGE = 65536;
const MAX_PAGES = 65536;

/**
 * A zeroed rows × cols matrix, in a shared WebAssembly.Memory when the platform allows it (so
 * the WASM kernel and worker threads scan it in place), else in a plain Int8Array.
 */
export function allocateMatrix(rows: number, cols: number): PirMatrix {
  const bytes = rows * cols;
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  if (pages <= MAX_PAGES) {
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      return { rows, cols, data: new Int8Array(memory.buffer, 0, bytes), memory };
    } catch {
      // No shared WebAssembly memory here (e.g. a browser without cross-origin isolation).
    }
  }
  return { rows, cols, data: new Int8Array(bytes) };
}

/**
 * Builds the database from concatenated fixed-size records.
 *
 * @example const db = buildDatabase(records, 32); db.params.rows // ≈ sqrt(records.length)
 */
export function buildDatabase(records: Uint8Array, recordSize: number): PirDatabase {
  if (!(records instanceof Uint8Array)) throw new CryptoInputError('records must be bytes');
  if (!Number.isSafeInteger(recordSize) || recordSize <= 0 || records.length === 0 || records.length % recordSize !== 0) {
    throw new CryptoInputError('records length must be a positive multiple of recordSize');
  }
  const params = choosePirParams(records.length / recordSize, recordSize);
  const matrix = allocateMatrix(params.rows, params.cols);
  layoutRecords(params, records, matrix.data);
  return { params, matrix };
}

/**
 * Writes the centred records into a zeroed rows × cols matrix (`data`, row-major): the layout step
 * of `buildDatabase`, separate so a worker can fill a shared memory (worker.ts `layout`).
 */
export function layoutRecords(params: PirParams, records: Uint8Array, data: Int8Array): void {
  const { cols, recordSize, recordCount } = params;
  if (records.length !== recordCount * recordSize) throw new CryptoInputError('records length does not match params');
  if (data.length < params.rows * cols) throw new CryptoInputError('matrix data shorter than rows × cols');
  for (let i = 0; i < recordCount; i++) {
    const { column, firstRow } = recordPosition(params, i);
    const src = i * recordSize;
    let dst = firstRow * cols + column;
    for (let t = 0; t < recordSize; t++, dst += cols) data[dst] = records[src + t]! - 128;
  }
}

/**
 * Hint H = D·A mod 2^32, rows × n, row-major (H[r·n + k]); the client needs rows
 * [firstRow, firstRow + recordSize) of it to decode a record. One kernel scan per column of A.
 */
export function computeHint(db: PirDatabase, seed: Uint8Array, kernel: PirKernel): Uint32Array {
  const { rows, n } = db.params;
  const hint = new Uint32Array(rows * n);
  placeHintColumns(hint, rows, n, 0, computeHintColumns(db.matrix, seed, 0, n, kernel));
  return hint;
}

/**
 * Columns [kStart, kEnd) of the hint, column-major (block[(k − kStart)·rows + r]): the unit of
 * work for computing a hint in a worker pool (worker.ts `hint`). Combine with `placeHintColumns`.
 */
export function computeHintColumns(matrix: PirMatrix, seed: Uint8Array, kStart: number, kEnd: number, kernel: PirKernel): Uint32Array {
  const { rows, cols } = matrix;
  if (!Number.isSafeInteger(kStart) || !Number.isSafeInteger(kEnd) || kStart < 0 || kEnd < kStart) {
    throw new CryptoInputError('hint column range out of bounds');
  }
  const block = new Uint32Array(rows * (kEnd - kStart));
  // Batches of A columns small enough (≤ 512 KiB split) to stay in L2 while rows pass over them.
  const batch = Math.max(1, Math.min(32, Math.floor((512 * 1024) / (cols * 4))));
  const aCols = new Uint32Array(batch * cols);
  for (let k = kStart; k < kEnd; k += batch) {
    const nvec = Math.min(batch, kEnd - k);
    for (let j = 0; j < nvec; j++) expandAColumn(seed, k + j, cols, aCols.subarray(j * cols, (j + 1) * cols));
    kernel.matVecMany(matrix, aCols.subarray(0, nvec * cols), nvec, block.subarray((k - kStart) * rows, (k - kStart + nvec) * rows));
  }
  return block;
}

/** Copies a column-major block of hint columns starting at kStart into the row-major hint. */
export function placeHintColumns(hint: Uint32Array, rows: number, n: number, kStart: number, block: Uint32Array): void {
  const width = block.length / rows;
  if (!Number.isInteger(width) || kStart + width > n || hint.length !== rows * n) throw new CryptoInputError('hint block does not fit');
  for (let j = 0; j < width; j++) {
    const col = block.subarray(j * rows, (j + 1) * rows);
    for (let r = 0, idx = kStart + j; r < rows; r++, idx += n) hint[idx] = col[r]!;
  }
}

/**
 * Answer = D·query mod 2^32 (rows values). The query is any cols uint32 values: the server
 * cannot and need not check more than its length.
 */
export function answerQuery(db: PirDatabase, query: Uint32Array, kernel: PirKernel): Uint32Array {
  if (!(query instanceof Uint32Array) || query.length !== db.params.cols) {
    throw new CryptoInputError(`query must have ${db.params.cols} entries`);
  }
  const out = new Uint32Array(db.params.rows);
  kernel.matVec(db.matrix, query, out);
  return out;
}

/**
 * Splits [0, rows) into at most `parts` contiguous ranges for a worker pool (worker.ts),
 * each a multiple of 4 rows except the last, so every worker runs the 4-row kernel path.
 */
export function partitionRows(rows: number, parts: number): Array<[number, number]> {
  const step = Math.max(4, Math.ceil(rows / Math.max(1, parts) / 4) * 4);
  const ranges: Array<[number, number]> = [];
  for (let r = 0; r < rows; r += step) ranges.push([r, Math.min(rows, r + step)]);
  return ranges;
}
