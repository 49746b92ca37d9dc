/**
 * Plain TypeScript kernel: out[r − rowStart] = Σ_c D[r][c]·v[c] mod 2^32 for r in
 * [rowStart, rowEnd). The reference the WASM kernel is tested against bit for bit, and the
 * fallback where WebAssembly SIMD is unavailable. Pure module: no `node:` imports.
 */
import { CryptoInputError } from '../errors.ts';

/**
 * The server's database matrix: rows × cols centred entries (byte − 128), row-major, in
 * `data`. When `memory` is set, `data` is a view of it starting at offset 0, so the WASM
 * kernel (and workers it is posted to) scan it in place.
 */
export interface PirMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Int8Array;
  readonly memory?: WebAssembly.Memory;
}

/** A matrix-vector kernel over Z_{2^32}. */
export interface PirKernel {
  readonly name: string;
  /** out[i] = Σ_c D[rowStart + i][c]·vec[c] mod 2^32, for i < rowEnd − rowStart. */
  matVec(db: PirMatrix, vec: Uint32Array, out: Uint32Array, rowStart?: number, rowEnd?: number): void;
  /**
   * Several vectors at once (`vecs` = nvec vectors of cols entries, back to back):
   * out[k·m + i] = Σ_c D[rowStart + i][c]·v_k[c] with m = rowEnd − rowStart.
   */
  matVecMany(db: PirMatrix, vecs: Uint32Array, nvec: number, out: Uint32Array, rowStart?: number, rowEnd?: number): void;
}

/** Validates the batched form; returns the resolved row range. */
export function checkMatVecManyArgs(
  db: PirMatrix,
  vecs: Uint32Array,
  nvec: number,
  out: Uint32Array,
  rowStart = 0,
  rowEnd = db.rows,
): [number, number] {
  if (!Number.isSafeInteger(nvec) || nvec < 1 || vecs.length !== nvec * db.cols) {
    throw new CryptoInputError('vecs must hold nvec ≥ 1 vectors of cols entries');
  }
  const [r0, r1] = checkMatVecArgs(db, vecs.subarray(0, db.cols), out, rowStart, rowEnd);
  if (out.length < nvec * (r1 - r0)) throw new CryptoInputError('output buffer too short');
  return [r0, r1];
}

/** Validates shared kernel arguments; returns the resolved row range. */
export function checkMatVecArgs(
  db: PirMatrix,
  vec: Uint32Array,
  out: Uint32Array,
  rowStart = 0,
  rowEnd = db.rows,
): [number, number] {
  if (db.data.length < db.rows * db.cols) throw new CryptoInputError('matrix data shorter than rows × cols');
  if (vec.length !== db.cols) throw new CryptoInputError(`vector must have ${db.cols} entries`);
  if (!Number.isSafeInteger(rowStart) || !Number.isSafeInteger(rowEnd) || rowStart < 0 || rowEnd > db.rows || rowStart > rowEnd) {
    throw new CryptoInputError('row range out of bounds');
  }
  if (out.length < rowEnd - rowStart) throw new CryptoInputError('output buffer too short');
  return [rowStart, rowEnd];
}

/** The plain TypeScript PirKernel; throws CryptoInputError on mismatched shapes. */
export const referenceKernel: PirKernel = {
  name: 'ts-reference',
  matVec(db, vec, out, rowStart, rowEnd) {
    const [r0, r1] = checkMatVecArgs(db, vec, out, rowStart, rowEnd);
    const { cols, data } = db;
    // Int32Array view: Math.imul and `| 0` keep every step exact mod 2^32.
    const v = new Int32Array(vec.buffer, vec.byteOffset, vec.length);
    for (let r = r0; r < r1; r++) {
      const base = r * cols;
      let acc = 0;
      for (let c = 0; c < cols; c++) acc = (acc + Math.imul(data[base + c]!, v[c]!)) | 0;
      out[r - r0] = acc >>> 0;
    }
  },
  matVecMany(db, vecs, nvec, out, rowStart, rowEnd) {
    const [r0, r1] = checkMatVecManyArgs(db, vecs, nvec, out, rowStart, rowEnd);
    const m = r1 - r0;
    for (let k = 0; k < nvec; k++) {
      this.matVec(db, vecs.subarray(k * db.cols, (k + 1) * db.cols), out.subarray(k * m, (k + 1) * m), r0, r1);
    }
  },
};
