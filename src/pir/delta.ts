/**
 * Incremental hints and hint deltas. Pure module shared by the server (which patches) and the SDK
 * (which applies deltas): no `node:` imports.
 *
 * The hint is linear in the database, H = D·A, so changing entry D[r][c] by δ changes only hint
 * row r, by δ·A[c,·] (n values). A patch of k records of S bytes therefore costs k·S·n
 * multiply-adds plus the rows of A it needs (one ChaCha20 block per 16 rows of A and per column
 * of the stream, matrixA.ts `expandABlocks`), instead of a full rows·cols·n recomputation.
 *
 * Hint delta wire format (getPirHintDelta, application/octet-stream), little-endian uint32:
 *
 *   "PIRD" ‖ fromVersion ‖ toVersion ‖ n ‖ count ‖ row[count] (strictly increasing) ‖
 *   values[count · n] (the new hint rows, row-major)
 *
 * The delta is not signed itself: a client replaces those rows of the hint it holds for
 * fromVersion and checks the SHA-256 of the result against the signed config of toVersion, so a
 * wrong or tampered delta is always detected.
 */
import { A_WORDS_PER_BLOCK, expandABlocks } from './matrixA.ts';
import { recordPosition, type PirParams } from './params.ts';
import type { RecordChange } from './changes.ts';
import { CryptoInputError } from '../errors.ts';

/** First four bytes of a hint delta: "PIRD". */
export const HINT_DELTA_MAGIC = 0x44524950;
/** First four bytes of a record delta: "PIRC". */
export const RECORD_DELTA_MAGIC = 0x43524950;
const HEADER_BYTES = 20;
/** Blocks of A between two needed ones that are expanded anyway rather than paying another ChaCha20 call. */
const BLOCK_GAP = 8;

/** Sums δ·A[c,·] per touched hint row: rows strictly increasing, values rows.length × n, row-major. */
export interface RowDeltas {
  readonly rows: Uint32Array;
  readonly values: Uint32Array;
}

/** A hint delta from one version to another (see the module comment). */
export interface HintDelta {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly n: number;
  readonly rows: Uint32Array;
  /** The new values of those rows, rows.length × n, row-major. */
  readonly values: Uint32Array;
}

/**
 * Writes the changed records into `data` (the rows × cols matrix of a copy of the version, centred
 * entries) and returns the changed cells as packed triples [row, col, δ] (δ = new − old entry ≠ 0).
 * `changes` must have been checked (changes.ts `checkRecordChanges`).
 */
export function applyChangesToMatrix(params: PirParams, data: Int8Array, changes: readonly RecordChange[], byteDeltas?: Int16Array): Int32Array {
  const { cols, recordSize } = params;
  if (byteDeltas && byteDeltas.length !== changes.length * recordSize) throw new CryptoInputError('byteDeltas has the wrong length');
  const cells: number[] = [];
  changes.forEach((ch, j) => {
    const { column, firstRow } = recordPosition(params, ch.index);
    for (let t = 0, at = firstRow * cols + column; t < recordSize; t++, at += cols) {
      const next = (ch.record === null ? 0 : ch.record[t]!) - 128;
      const delta = next - data[at]!;
      if (byteDeltas) byteDeltas[j * recordSize + t] = delta;
      if (delta !== 0) cells.push(firstRow + t, column, delta);
      data[at] = next;
    }
  });
  return Int32Array.from(cells);
}

/**
 * A record delta: per changed record its index and the recordSize byte differences (new − old, in
 * [−255, 255]); indices may repeat across the versions of a chain (differences add up). Wire format
 * (getPirHintDelta `format=auto` when it is the smaller one), little-endian:
 *
 *   "PIRC" ‖ u32 from ‖ u32 to ‖ u32 recordSize ‖ u32 count ‖ u32 index[count] ‖ i16 delta[count · recordSize]
 *
 * The client turns it into hint rows itself (`recordDeltaCells` then `hintRowDeltas`): k·S·n
 * multiply-adds instead of downloading the touched rows. Verified like a hint delta, by the SHA-256
 * of the resulting hint against the signed config.
 */
export interface RecordDelta {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly recordSize: number;
  readonly indices: Uint32Array;
  readonly deltas: Int16Array;
}

/** Stored form of one patch's record delta (patch-repo.ts `changed_records`): u32le index[k] ‖ i16le delta[k·S]. */
export function packRecordDeltas(indices: readonly number[], deltas: Int16Array): Uint8Array {
  const out = new Uint8Array(4 * indices.length + 2 * deltas.length);
  const view = new DataView(out.buffer);
  indices.forEach((x, i) => view.setUint32(4 * i, x, true));
  deltas.forEach((d, i) => view.setInt16(4 * indices.length + 2 * i, d, true));
  return out;
}

/** Wire bytes of a record delta over stored packs (each `packRecordDeltas` of one version, in version order). */
export function encodeRecordDelta(fromVersion: number, toVersion: number, recordSize: number, packs: readonly Uint8Array[]): Uint8Array {
  let count = 0;
  for (const p of packs) {
    if (p.length % (4 + 2 * recordSize) !== 0) throw new CryptoInputError('stored record delta has the wrong length');
    count += p.length / (4 + 2 * recordSize);
  }
  const out = new Uint8Array(HEADER_BYTES + count * (4 + 2 * recordSize));
  const view = new DataView(out.buffer);
  [RECORD_DELTA_MAGIC, fromVersion, toVersion, recordSize, count].forEach((x, i) => view.setUint32(4 * i, x, true));
  let idx = HEADER_BYTES, dl = HEADER_BYTES + 4 * count;
  for (const p of packs) {
    const k = p.length / (4 + 2 * recordSize);
    out.set(p.subarray(0, 4 * k), idx);
    out.set(p.subarray(4 * k), dl);
    idx += 4 * k;
    dl += 2 * k * recordSize;
  }
  return out;
}

/**
 * Parses a record delta for `params`: magic, record size, exact length, indices below recordCount,
 * differences in [−255, 255].
 *
 * @throws CryptoInputError on anything malformed.
 */
export function decodeRecordDelta(bytes: Uint8Array, params: PirParams): RecordDelta {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) throw new CryptoInputError('record delta too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [magic, fromVersion, toVersion, size, count] = [0, 1, 2, 3, 4].map((i) => view.getUint32(4 * i, true)) as [number, number, number, number, number];
  if (magic !== RECORD_DELTA_MAGIC || size !== params.recordSize) throw new CryptoInputError('not a record delta for this shape');
  if (bytes.length !== HEADER_BYTES + count * (4 + 2 * size)) throw new CryptoInputError('record delta has the wrong length');
  const indices = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    indices[i] = view.getUint32(HEADER_BYTES + 4 * i, true);
    if (indices[i]! >= params.recordCount) throw new CryptoInputError('record delta index out of range');
  }
  const deltas = new Int16Array(count * size);
  for (let i = 0, off = HEADER_BYTES + 4 * count; i < deltas.length; i++, off += 2) {
    deltas[i] = view.getInt16(off, true);
    if (deltas[i]! < -255 || deltas[i]! > 255) throw new CryptoInputError('record delta difference out of range');
  }
  return { fromVersion, toVersion, recordSize: size, indices, deltas };
}

/** The changed cells [row, col, δ] of a record delta (zero differences left out), for `hintRowDeltas`. */
export function recordDeltaCells(params: PirParams, d: RecordDelta): Int32Array {
  const cells: number[] = [];
  d.indices.forEach((index, j) => {
    const { column, firstRow } = recordPosition(params, index);
    for (let t = 0; t < d.recordSize; t++) {
      const delta = d.deltas[j * d.recordSize + t]!;
      if (delta !== 0) cells.push(firstRow + t, column, delta);
    }
  });
  return Int32Array.from(cells);
}

/**
 * Σ over `cells` of δ·A[c,·] per touched row (mod 2^32). Expands only the blocks of A that hold the
 * touched columns (runs of needed blocks merged across gaps of up to 8). Work: cells·n
 * multiply-adds plus n ChaCha20 calls per run of blocks.
 */
export function hintRowDeltas(seed: Uint8Array, n: number, cols: number, cells: Int32Array): RowDeltas {
  if (cells.length % 3 !== 0) throw new CryptoInputError('cells must be [row, col, delta] triples');
  const count = cells.length / 3;
  const rowSet = new Set<number>();
  const blockSet = new Set<number>();
  for (let i = 0; i < count; i++) {
    const c = cells[3 * i + 1]!;
    if (c < 0 || c >= cols) throw new CryptoInputError('cell column out of range');
    rowSet.add(cells[3 * i]!);
    blockSet.add(Math.floor(c / A_WORDS_PER_BLOCK));
  }
  const rows = Uint32Array.from([...rowSet].sort((a, b) => a - b));
  const rowIndex = new Map<number, number>();
  rows.forEach((r, i) => rowIndex.set(r, i));
  const blocks = [...blockSet].sort((a, b) => a - b);
  const runs: Array<[number, number]> = [];
  for (const b of blocks) {
    const last = runs[runs.length - 1];
    if (last && b - (last[0] + last[1]) <= BLOCK_GAP) last[1] = b - last[0] + 1;
    else runs.push([b, 1]);
  }
  // Where each needed column of A sits in the expanded buffer of one stream k.
  const offsets = new Map<number, number>();
  let words = 0;
  for (const [first, len] of runs) {
    offsets.set(first, words);
    words += len * A_WORDS_PER_BLOCK;
  }
  const cellRow = new Int32Array(count), cellAt = new Int32Array(count), cellDelta = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = cells[3 * i + 1]!;
    const b = Math.floor(c / A_WORDS_PER_BLOCK);
    let runStart = 0;
    for (let lo = 0, hi = runs.length - 1; lo <= hi;) { // the run holding block b
      const mid = (lo + hi) >> 1;
      if (runs[mid]![0] <= b) { runStart = runs[mid]![0]; lo = mid + 1; } else hi = mid - 1;
    }
    cellRow[i] = rowIndex.get(cells[3 * i]!)!;
    cellAt[i] = offsets.get(runStart)! + (c - runStart * A_WORDS_PER_BLOCK);
    cellDelta[i] = cells[3 * i + 2]!;
  }
  // Runs of consecutive cells in one column of A share one load of A[c][k] (cells of a record are consecutive).
  const groupEnd: number[] = [];
  for (let i = 1; i <= count; i++) if (i === count || cellAt[i] !== cellAt[i - 1]) groupEnd.push(i);
  const R = rows.length;
  const acc = new Int32Array(R * n); // column-major while accumulating: acc[k·R + row]
  const buf = new Uint32Array(words);
  for (let k = 0; k < n; k++) {
    for (const [first, len] of runs) {
      const off = offsets.get(first)!;
      expandABlocks(seed, k, first, len, buf.subarray(off, off + len * A_WORDS_PER_BLOCK));
    }
    const column = acc.subarray(k * R, (k + 1) * R);
    for (let g = 0, i = 0; g < groupEnd.length; g++) {
      const a = buf[cellAt[i]!]! | 0;
      for (const end = groupEnd[g]!; i < end; i++) column[cellRow[i]!] = (column[cellRow[i]!]! + Math.imul(a, cellDelta[i]!)) | 0;
    }
  }
  const values = new Uint32Array(R * n);
  for (let k = 0; k < n; k++) for (let r = 0; r < R; r++) values[r * n + k] = acc[k * R + r]!;
  return { rows, values };
}

/** Sums several RowDeltas (from workers that took disjoint sets of cells) into one. */
export function mergeRowDeltas(parts: readonly RowDeltas[], n: number): RowDeltas {
  const all = new Map<number, Uint32Array>();
  for (const p of parts) {
    p.rows.forEach((r, i) => {
      const v = p.values.subarray(i * n, (i + 1) * n);
      const cur = all.get(r);
      if (!cur) all.set(r, Uint32Array.from(v));
      else for (let k = 0; k < n; k++) cur[k] = (cur[k]! + v[k]!) >>> 0;
    });
  }
  const rows = Uint32Array.from([...all.keys()].sort((a, b) => a - b));
  const values = new Uint32Array(rows.length * n);
  rows.forEach((r, i) => values.set(all.get(r)!, i * n));
  return { rows, values };
}

/** Adds row deltas into `hint` (rows × n, row-major) in place. */
export function addRowDeltas(hint: Uint32Array, n: number, d: RowDeltas): void {
  d.rows.forEach((r, i) => {
    const base = r * n;
    if (base + n > hint.length) throw new CryptoInputError('delta row outside the hint');
    for (let k = 0; k < n; k++) hint[base + k] = (hint[base + k]! + d.values[i * n + k]!) >>> 0;
  });
}

/** The sorted union of several ascending row lists. */
export function unionRows(lists: readonly Uint32Array[]): Uint32Array {
  const set = new Set<number>();
  for (const l of lists) for (const r of l) set.add(r);
  return Uint32Array.from([...set].sort((a, b) => a - b));
}

/** The delta carrying `rows` of `hint` (the hint of toVersion). */
export function hintDeltaFromRows(hint: Uint32Array, n: number, rows: Uint32Array, fromVersion: number, toVersion: number): HintDelta {
  const values = new Uint32Array(rows.length * n);
  rows.forEach((r, i) => values.set(hint.subarray(r * n, (r + 1) * n), i * n));
  return { fromVersion, toVersion, n, rows, values };
}

/** Wire bytes of a hint delta. */
export function encodeHintDelta(d: HintDelta): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + 4 * (d.rows.length + d.values.length));
  const view = new DataView(out.buffer);
  [HINT_DELTA_MAGIC, d.fromVersion, d.toVersion, d.n, d.rows.length].forEach((x, i) => view.setUint32(4 * i, x, true));
  let off = HEADER_BYTES;
  for (const r of d.rows) { view.setUint32(off, r, true); off += 4; }
  for (const v of d.values) { view.setUint32(off, v, true); off += 4; }
  return out;
}

/**
 * Parses a hint delta for a hint of `hintRows` rows of `n` values: magic, n, exact length, rows
 * strictly increasing and in range.
 *
 * @throws CryptoInputError on anything malformed.
 */
export function decodeHintDelta(bytes: Uint8Array, n: number, hintRows: number): HintDelta {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) throw new CryptoInputError('hint delta too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [magic, fromVersion, toVersion, dn, count] = [0, 1, 2, 3, 4].map((i) => view.getUint32(4 * i, true)) as [number, number, number, number, number];
  if (magic !== HINT_DELTA_MAGIC || dn !== n) throw new CryptoInputError('not a hint delta for this shape');
  if (count > hintRows || bytes.length !== HEADER_BYTES + 4 * count * (1 + n)) throw new CryptoInputError('hint delta has the wrong length');
  const rows = new Uint32Array(count);
  let off = HEADER_BYTES;
  for (let i = 0; i < count; i++, off += 4) {
    rows[i] = view.getUint32(off, true);
    if (rows[i]! >= hintRows || (i > 0 && rows[i]! <= rows[i - 1]!)) throw new CryptoInputError('hint delta rows must be increasing and in range');
  }
  const values = new Uint32Array(count * n);
  for (let i = 0; i < values.length; i++, off += 4) values[i] = view.getUint32(off, true);
  return { fromVersion, toVersion, n, rows, values };
}

/** A copy of `hint` with the delta's rows replaced: the hint of delta.toVersion. */
export function applyHintDelta(hint: Uint32Array, d: HintDelta): Uint32Array {
  const out = Uint32Array.from(hint);
  d.rows.forEach((r, i) => {
    if ((r + 1) * d.n > out.length) throw new CryptoInputError('hint delta row outside the hint');
    out.set(d.values.subarray(i * d.n, (i + 1) * d.n), r * d.n);
  });
  return out;
}

/** The records (as uploaded) back out of a centred matrix: the inverse of server.ts `layoutRecords`. */
export function extractRecords(params: PirParams, data: Int8Array): Uint8Array {
  const { cols, recordSize, recordCount } = params;
  const out = new Uint8Array(recordCount * recordSize);
  for (let i = 0; i < recordCount; i++) {
    const { column, firstRow } = recordPosition(params, i);
    for (let t = 0, at = firstRow * cols + column; t < recordSize; t++, at += cols) out[i * recordSize + t] = data[at]! + 128;
  }
  return out;
}
