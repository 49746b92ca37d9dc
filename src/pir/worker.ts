/**
 * Worker side of the pir capability: `pir.scan`, `pir.hint`, `pir.layout` and `pir.keywordBuild`, registered in
 * src/workers/tasks.ts (the service runs them through the shared pool, `pool.run('pir.scan', …)`).
 * The file is also a piscina entry point of its own (default export = scan), which tests and
 * bench/pir.ts use directly:
 *
 * `scan`: one slice of a PIR answer, D[rowStart..rowEnd)·query mod 2^32.
 *
 *   const pool = new Piscina({ filename: new URL('./worker.ts', import.meta.url).href });
 *   const slice = await pool.run({ dbMemory: db.matrix.memory, rows, cols, rowStart, rowEnd, query });
 *
 * Pass `dbMemory`, the shared WebAssembly.Memory that `allocateMatrix` put the database in:
 * it posts to the worker without copying, and the worker's WASM kernel scans it in place.
 * (A bare SharedArrayBuffer cannot be turned back into a WebAssembly.Memory, so `dbBuffer`
 * alone falls back to the TS reference kernel, roughly 10-50× slower.) Each worker compiles the
 * kernel once and keeps its own private scratch memory.
 *
 * The named export `hint` computes hint columns [kStart, kEnd) (column-major block, see
 * `computeHintColumns`/`placeHintColumns` in server.ts):
 *
 *   const block = await pool.run({ dbMemory, rows, cols, seed, kStart, kEnd }, { name: 'hint' });
 */
import { loadWasmKernel, type WasmKernel } from './wasm-kernel.ts';
import { referenceKernel, type PirMatrix } from './reference-kernel.ts';
import { computeHintColumns, layoutRecords } from './server.ts';
import { assertPirParams, type PirParams } from './params.ts';
import { CryptoInputError } from '../errors.ts';
import { pirPatchWorker } from './patch-worker.ts';
import { buildKeywordTable, type KeywordTable } from './keyword.ts';

/** Input of `pir.scan`: the matrix (shared memory or buffer), its shape, the row range and the query. */
export interface ScanTask {
  readonly dbMemory?: WebAssembly.Memory;
  readonly dbBuffer?: SharedArrayBuffer | ArrayBuffer;
  readonly rows: number;
  readonly cols: number;
  readonly rowStart: number;
  readonly rowEnd: number;
  readonly query: Uint32Array;
}

let kernel: Promise<WasmKernel> | undefined;

export default async function scan(task: ScanTask): Promise<Uint32Array> {
  const { rows, cols, rowStart, rowEnd, query } = task;
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows <= 0 || cols <= 0) {
    throw new CryptoInputError('rows and cols must be positive integers');
  }
  const out = new Uint32Array(Math.max(0, rowEnd - rowStart));
  if (task.dbMemory) {
    const matrix: PirMatrix = { rows, cols, data: new Int8Array(task.dbMemory.buffer, 0, rows * cols), memory: task.dbMemory };
    kernel ??= loadWasmKernel();
    (await kernel).matVec(matrix, query, out, rowStart, rowEnd);
  } else if (task.dbBuffer) {
    referenceKernel.matVec({ rows, cols, data: new Int8Array(task.dbBuffer, 0, rows * cols) }, query, out, rowStart, rowEnd);
  } else {
    throw new CryptoInputError('scan task needs dbMemory or dbBuffer');
  }
  return out;
}

/** Input of `pir.hint`: the matrix in shared memory, the seed of A and the column range [kStart, kEnd) of H. */
export interface HintTask {
  readonly dbMemory: WebAssembly.Memory;
  readonly rows: number;
  readonly cols: number;
  readonly seed: Uint8Array;
  readonly kStart: number;
  readonly kEnd: number;
}

/** Columns [kStart, kEnd) of the hint H = D·A (`pir.hint`); throws CryptoInputError on a bad task. */
export async function hint(task: HintTask): Promise<Uint32Array> {
  const { dbMemory, rows, cols, seed, kStart, kEnd } = task;
  if (!dbMemory || !Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows <= 0 || cols <= 0) {
    throw new CryptoInputError('hint task needs dbMemory, rows and cols');
  }
  const matrix: PirMatrix = { rows, cols, data: new Int8Array(dbMemory.buffer, 0, rows * cols), memory: dbMemory };
  kernel ??= loadWasmKernel();
  return computeHintColumns(matrix, seed, kStart, kEnd, await kernel);
}

/** Input of `pir.layout`: the zeroed matrix memory, the parameters and the records. */
export interface LayoutTask {
  readonly dbMemory: WebAssembly.Memory;
  readonly params: PirParams;
  readonly records: Uint8Array;
}

/**
 * Lays records out into the shared memory of a zeroed matrix (`layoutRecords`), off the event
 * loop: a 64 MiB database takes most of a second. Returns nothing; the caller reads the memory.
 */
export function layout(task: LayoutTask): { ok: true } {
  const { dbMemory, params, records } = task;
  assertPirParams(params);
  if (!dbMemory || dbMemory.buffer.byteLength < params.rows * params.cols) throw new CryptoInputError('layout task needs a large enough dbMemory');
  layoutRecords(params, records, new Int8Array(dbMemory.buffer, 0, params.rows * params.cols));
  return { ok: true };
}

/** Input of `pir.keywordBuild`: the framed upload, the value bound and the salts to try in order. */
export interface KeywordBuildTask {
  readonly body: Uint8Array;
  readonly maxValueSize: number;
  readonly salts: Uint8Array[];
  /** Keys the table is sized for (≥ the entries; default their count), lowered to fit maxTableBytes. */
  readonly capacity?: number;
  readonly maxTableBytes?: number;
}

/** Builds a keyword table off the event loop (keyword.ts `buildKeywordTable`; 1 M keys ≈ 3 s). */
export function keywordBuild(task: KeywordBuildTask): KeywordTable {
  return buildKeywordTable(task.body, task.maxValueSize, task.salts, { capacity: task.capacity, maxTableBytes: task.maxTableBytes });
}

/** The pir capability's worker tasks, for the registry in src/workers/tasks.ts. */
export const pirWorker = {
  'pir.scan': scan,
  'pir.hint': hint,
  'pir.layout': layout,
  ...pirPatchWorker,
  'pir.keywordBuild': keywordBuild,
};
