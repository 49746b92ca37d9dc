/**
 * Live updates of a PIR database (issue 16, item 3): `applyRecordChanges` makes version base + 1
 * from a list of record upserts and deletes, with the hint updated incrementally; `hintDelta`
 * serves the rows of the hint that changed between two versions of a patch chain.
 *
 * A patched version keeps its parent's params (shape, queriesPerHint) and seed, so A is the same and
 * H' = H + Σ δ·A[c,·] over the changed cells (delta.ts): k·S·n multiply-adds in the worker pool for
 * k records of S bytes, split by blocks of A across threads. The new matrix is a copy of the
 * parent's with the changed entries written (both stay in memory while the parent is in its grace
 * period); the records blob is read back out of it in the pool and stored in full with the hint, so
 * any instance loads the version like an upload. The store transaction inserts exactly base + 1:
 * a concurrent patch or upload collides on the primary key and this one fails with 409.
 *
 * Keyword databases: `applyKeywordPatch` (the keyword layer's in-process path, keyword-patch.ts)
 * turns key upserts/deletes into record changes of the same kind; the version keeps the layout and
 * salt. Raw record patches (`applyRecordChanges`, the HTTP route) stay refused on them.
 */
import { toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { AppError, CryptoInputError } from '../errors.ts';
import { isUniqueViolation } from '../store/index.ts';
import { runInScope } from '../workers/request-scope.ts';
import { checkRecordChanges, type RecordChange } from './changes.ts';
import { recordPosition, type PirParams } from './params.ts';
import type { PirConfigJson } from './config.ts';
import {
  addRowDeltas, applyChangesToMatrix, encodeHintDelta, encodeRecordDelta, hintDeltaFromRows, mergeRowDeltas, packRecordDeltas, unionRows, type RowDeltas,
} from './delta.ts';
import type { LoadedVersion, PirServiceInternals } from './internals.ts';
import { A_WORDS_PER_BLOCK } from './matrixA.ts';
import { pirPatchRepo } from './patch-repo.ts';
import type { PirVersionRow } from './repo.ts';
import type { KeywordLayout } from './keyword.ts';
import type { KeywordPatchResult, TableReader } from './keyword-patch.ts';
import { allocateMatrix } from './server.ts';
import { bytesToU32, u32ToBytes } from './wire.ts';

/** Patch work is the admin's, like an upload: no request deadline. */
const PATCH_SCOPE = { principal: 'admin' } as const;
/** Longest patch chain a hint delta spans (versions past their grace are purged long before). */
export const MAX_DELTA_CHAIN = 1024;
/**
 * Largest patch, in records: 1/16 of the database (at least 64). Beyond it the incremental hint
 * (a TS loop, ~12× slower per multiply-add than the WASM kernel) stops being cheaper than an upload.
 */
export const maxPatchRecords = (recordCount: number): number => Math.min(recordCount, Math.max(64, Math.floor(recordCount / 16)));

/** Changes as a list, or a function that decodes them once the base version's params are known (the HTTP body). */
export type RecordChanges = readonly RecordChange[] | ((params: PirParams) => readonly RecordChange[]);

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The uint32 words of a little-endian hint (a view when the host is little-endian and aligned). */
function hintWords(bytes: Uint8Array): Uint32Array {
  if (littleEndian && bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return bytesToU32(bytes, bytes.length / 4);
}
const wordBytes = (w: Uint32Array): Uint8Array => (littleEndian ? new Uint8Array(w.buffer, w.byteOffset, w.byteLength) : u32ToBytes(w));

async function conflict(s: PirServiceInternals, name: string, detail: string): Promise<AppError> {
  s.forget(name);
  const current = await s.resolve(name, undefined);
  return new AppError('conflict', `${detail}; the current version is ${current.version}`, { currentConfig: await s.signedConfig(current) });
}

/** Row deltas of the changed cells, in the pool: cells (column order) split at block-of-A boundaries. */
async function rowDeltas(s: PirServiceInternals, lv: LoadedVersion, cells: Int32Array): Promise<RowDeltas> {
  const { n, cols } = lv.params;
  const count = cells.length / 3;
  if (count === 0) return { rows: new Uint32Array(0), values: new Uint32Array(0) };
  const parts: Int32Array[] = [];
  const target = Math.ceil(count / Math.max(1, s.pool.threads));
  let start = 0;
  for (let i = 1; i <= count; i++) {
    const boundary = i === count || (i - start >= target
      && Math.floor(cells[3 * i + 1]! / A_WORDS_PER_BLOCK) !== Math.floor(cells[3 * (i - 1) + 1]! / A_WORDS_PER_BLOCK));
    if (boundary) {
      parts.push(cells.slice(3 * start, 3 * i));
      start = i;
    }
  }
  const results = await Promise.all(parts.map((part) =>
    runInScope(PATCH_SCOPE, () => s.pool.run('pir.hintDelta', { seed: lv.row.seed, n, cols, cells: part }))));
  return mergeRowDeltas(results, n);
}

/**
 * Makes version baseVersion + 1 of `name` from record changes against the current version
 * `baseVersion` and returns its signed config (which names baseVersion as parentVersion).
 *
 * @throws AppError `conflict` (baseVersion is not the current version, or a concurrent upload or
 * patch won; the problem carries currentConfig), `invalid_input` (bad changes, too many, a version
 * stored before queriesPerHint), `not_found`.
 *
 * @example await applyRecordChanges(pir.internals(), 'books', 3, [{ index: 7, record: bytes }, { index: 9, record: null }])
 */
export async function applyRecordChanges(s: PirServiceInternals, name: string, baseVersion: number, changes: RecordChanges): Promise<PirConfigJson> {
  if (!Number.isSafeInteger(baseVersion) || baseVersion < 1) throw new CryptoInputError('baseVersion must be a positive integer');
  const current = await s.resolve(name, undefined);
  if (current.version !== baseVersion) throw await conflict(s, name, `the patch is against version ${baseVersion}`);
  // A keyword database's records are cuckoo buckets under a salt: only the keyword layer (applyKeywordPatch) patches them.
  if (current.keyword !== null && current.keyword !== undefined) throw new AppError('invalid_input', 'keyword databases are updated by uploading them again (format=keyword); record patches apply to index databases');
  const started = performance.now();
  const base = await s.load(current);
  const { params } = base;
  if (params.queriesPerHint === undefined) throw new CryptoInputError('this version predates live updates: upload it again to patch it');
  const sorted = checkRecordChanges(typeof changes === 'function' ? changes(params) : changes, params.recordCount, params.recordSize);
  const limit = maxPatchRecords(params.recordCount);
  if (sorted.length > limit) throw new CryptoInputError(`a patch changes at most ${limit} records here; upload a new version instead`);
  return storePatch(s, current, base, sorted, started);
}

/** Reads bytes of the logical records blob (record i at i·recordSize) out of a loaded version's matrix. */
export function matrixReader(lv: LoadedVersion): TableReader {
  const { cols, recordSize } = lv.params;
  const data = lv.matrix.data;
  return (offset, length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length;) {
      const index = Math.floor((offset + i) / recordSize);
      const { column, firstRow } = recordPosition(lv.params, index);
      for (let t = (offset + i) % recordSize; t < recordSize && i < length; t++, i++) out[i] = data[(firstRow + t) * cols + column]! + 128;
    }
    return out;
  };
}

/** Computes a keyword patch from the base version's layout, record size and records; see keyword-patch.ts. */
export type KeywordPatchPlan = (layout: KeywordLayout, recordSize: number, read: TableReader) => KeywordPatchResult;

/**
 * Patches the current version of keyword database `name` (the keyword layer's own path; the HTTP
 * patch stays refused on keyword databases): `plan` turns the base version's table into record
 * changes, stored as version current + 1 with the same layout and salt and `sourceSha256`.
 * Returns the signed config, or `{ rebuild }` when the plan (or the patch size bound) asks for a
 * full upload instead; nothing is stored then.
 *
 * @throws AppError `conflict` (a concurrent upload or patch won), `invalid_input` (not a keyword
 * database, or one stored before live updates), `not_found`.
 */
export async function applyKeywordPatch(s: PirServiceInternals, name: string, plan: KeywordPatchPlan, sourceSha256: Uint8Array): Promise<PirConfigJson | { rebuild: string }> {
  const current = await s.resolve(name, undefined);
  if (current.keyword === null || current.keyword === undefined) throw new AppError('invalid_input', `${name} is not a keyword database`);
  const started = performance.now();
  const base = await s.load(current);
  const { params } = base;
  if (params.queriesPerHint === undefined) return { rebuild: 'this version predates live updates' };
  const result = plan(JSON.parse(current.keyword) as KeywordLayout, params.recordSize, matrixReader(base));
  if (result.kind === 'rebuild') return { rebuild: result.reason };
  if (result.changes.length === 0) return { rebuild: 'no record changes' };
  const sorted = checkRecordChanges(result.changes, params.recordCount, params.recordSize);
  if (sorted.length > maxPatchRecords(params.recordCount)) return { rebuild: `${sorted.length} records change` };
  return storePatch(s, current, base, sorted, started, { keyword: current.keyword, sourceSha256 });
}

/** Stores checked changes as version current + 1 (hint updated incrementally); a keyword layout is carried over as is. */
async function storePatch(s: PirServiceInternals, current: PirVersionRow, base: LoadedVersion, sorted: readonly RecordChange[], started: number,
  keyword?: { keyword: string; sourceSha256: Uint8Array }): Promise<PirConfigJson> {
  const { params } = base;
  const { name } = current;
  const baseVersion = current.version;
  const matrix = allocateMatrix(params.rows, params.cols);
  if (!matrix.memory) throw new AppError('internal', 'shared WebAssembly memory is unavailable');
  matrix.data.set(base.matrix.data.subarray(0, params.rows * params.cols));
  const byteDeltas = new Int16Array(sorted.length * params.recordSize);
  const cells = applyChangesToMatrix(params, matrix.data, sorted, byteDeltas);
  const deltas = await rowDeltas(s, base, cells);
  const hint = Uint32Array.from(hintWords(base.hint));
  addRowDeltas(hint, params.n, deltas);
  const hintMs = performance.now() - started;
  const hintBytes = wordBytes(hint);
  const records = await runInScope(PATCH_SCOPE, () => s.pool.run('pir.extract', { dbMemory: matrix.memory!, params }));
  let row: PirVersionRow;
  try {
    row = await s.store.transaction((tx) => pirPatchRepo.insertPatch(tx, {
      name, version: baseVersion + 1, parentVersion: baseVersion, params: current.params, seed: current.seed, ...keyword,
      records, recordsSha256: sha256(records), hint: hintBytes, hintSha256: sha256(hintBytes), changedRows: u32ToBytes(deltas.rows),
      changedRecords: packRecordDeltas(sorted.map((c) => c.index), byteDeltas),
      changed: {
        records: sorted.map((c) => [c.index * params.recordSize, (c.index + 1) * params.recordSize] as const),
        hint: [...deltas.rows].map((r) => [r * params.n * 4, (r + 1) * params.n * 4] as const),
      },
    }));
  } catch (err) {
    if (isUniqueViolation(err)) throw await conflict(s, name, `version ${baseVersion + 1} was created concurrently`);
    throw err;
  }
  s.adopt({ row, params, matrix, hint: hintBytes });
  s.log.info({ pir: name, version: row.version, records: sorted.length, rows: deltas.rows.length, hintMs: Math.round(hintMs), ms: Math.round(performance.now() - started) },
    'pir patch: version stored');
  // Signed outside the request's deadline: the version is stored, a late 503 would hide that.
  return runInScope(PATCH_SCOPE, () => s.signedConfig(row));
}

/** Which delta getPirHintDelta serves: the hint rows (default), or the smaller of rows and record differences. */
export type DeltaFormat = 'rows' | 'auto';

/**
 * The hint delta from version `from` to `version` (default the current one): the rows any patch in
 * between changed, with their values in `version`'s hint (delta.ts wire format); with `format`
 * 'auto', the record delta (the patches' record differences) instead when it is smaller.
 *
 * @throws AppError `invalid_input` (from not below version), `not_found`, `conflict` (version not
 * answerable, with currentConfig), `gone` (from is purged, or a full upload lies in between: fetch
 * the whole hint).
 */
export async function hintDelta(s: PirServiceInternals, name: string, from: number, version: number | undefined, format: DeltaFormat = 'rows'): Promise<{ version: number; bytes: Uint8Array }> {
  if (!Number.isSafeInteger(from) || from < 1) throw new CryptoInputError('from must be a positive integer');
  const toRow = await s.resolve(name, version);
  const to = toRow.version;
  if (from >= to) throw new CryptoInputError(`from (${from}) must be older than version ${to}`);
  if (to - from > MAX_DELTA_CHAIN) throw new AppError('gone', `no hint delta over more than ${MAX_DELTA_CHAIN} versions; fetch the full hint`);
  // Keyed by the target's hint hash too: a name uploaded again from scratch never meets an old entry.
  const cacheKey = `${name}\n${from}\n${to}\n${format}\n${toHex(toRow.hint_sha256)}`;
  const cached = DELTA_CACHE.get(cacheKey);
  if (cached) return { version: to, bytes: cached };
  const chain = await pirPatchRepo.chain(s.store, name, from, to);
  const gone = (why: string): AppError => new AppError('gone', `no hint delta from version ${from} to ${to}: ${why}; fetch the full hint`);
  if (chain.length !== to - from + 1 || chain[0]!.version !== from) throw gone('version unknown');
  if (chain[0]!.purged_at !== null) throw gone('that version is no longer held');
  const lists: Uint32Array[] = [];
  const packs: Uint8Array[] = [];
  for (const link of chain.slice(1)) {
    if (link.parent_version !== link.version - 1 || !link.changed_rows) throw gone(`version ${link.version} is a full upload`);
    lists.push(bytesToU32(link.changed_rows, link.changed_rows.length / 4));
    if (link.changed_records) packs.push(link.changed_records);
  }
  const lv = await s.load(toRow);
  const rows = unionRows(lists);
  const { n, recordSize } = lv.params;
  const rowsBytes = 20 + 4 * rows.length * (1 + n);
  const recordBytes = packs.reduce((a, p) => a + p.length, 20);
  const bytes = format === 'auto' && packs.length === chain.length - 1 && recordBytes < rowsBytes
    ? encodeRecordDelta(from, to, recordSize, packs)
    : encodeHintDelta(hintDeltaFromRows(hintWords(lv.hint), n, rows, from, to));
  // Versions are immutable, so a delta between two of them never changes: recomputed at most once per entry.
  if (DELTA_CACHE.size >= DELTA_CACHE_MAX) DELTA_CACHE.delete(DELTA_CACHE.keys().next().value!);
  DELTA_CACHE.set(cacheKey, bytes);
  return { version: to, bytes };
}

/** Recently served deltas by (name, from, to, format), oldest evicted first; bounded in entries (each ≤ a hint). */
const DELTA_CACHE = new Map<string, Uint8Array>();
const DELTA_CACHE_MAX = 16;
