/**
 * Worker tasks of live updates (patch.ts), registered through worker.ts `pirWorker`:
 *
 * - `pir.hintDelta`: Σ δ·A[c,·] per touched hint row for a set of changed cells (delta.ts
 *   `hintRowDeltas`); the service splits the cells by block of A across threads and merges.
 * - `pir.extract`: the records of a matrix in shared memory (the inverse layout), so a patched
 *   version's records blob is written without holding the records of every loaded version.
 */
import { extractRecords, hintRowDeltas, type RowDeltas } from './delta.ts';
import { assertPirParams, type PirParams } from './params.ts';
import { CryptoInputError } from '../errors.ts';

/** Input of `pir.hintDelta`: the seed of A, n, cols and packed [row, col, δ] cells. */
export interface HintDeltaTask {
  readonly seed: Uint8Array;
  readonly n: number;
  readonly cols: number;
  readonly cells: Int32Array;
}

/** `pir.hintDelta`: the row deltas of some changed cells. */
export function hintDelta(task: HintDeltaTask): RowDeltas {
  const { seed, n, cols, cells } = task;
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(cols) || n <= 0 || cols <= 0 || !(cells instanceof Int32Array)) {
    throw new CryptoInputError('hintDelta task needs seed, n, cols and cells');
  }
  return hintRowDeltas(seed, n, cols, cells);
}

/** Input of `pir.extract`: a matrix in shared memory and its parameters. */
export interface ExtractTask {
  readonly dbMemory: WebAssembly.Memory;
  readonly params: PirParams;
}

/** `pir.extract`: the concatenated records held by the matrix. */
export function extract(task: ExtractTask): Uint8Array {
  const { dbMemory, params } = task;
  assertPirParams(params);
  if (!dbMemory || dbMemory.buffer.byteLength < params.rows * params.cols) throw new CryptoInputError('extract task needs a large enough dbMemory');
  return extractRecords(params, new Int8Array(dbMemory.buffer, 0, params.rows * params.cols));
}

/** The live-update tasks, spread into worker.ts `pirWorker`. */
export const pirPatchWorker = {
  'pir.hintDelta': hintDelta,
  'pir.extract': extract,
};
