/**
 * SQL of live updates (src/store/migrations/013_pir_patches.sql): insert a patched version (a keyword
 * database's layout and source digest carried as given) with an
 * explicit number (parent + 1, so a concurrent upload or patch collides on the primary key and the
 * loser gets a 409), and read the patch chain between two versions for a hint delta.
 */
import type { Queryable } from '../store/index.ts';
import { COLUMNS, type NewPirVersion, type PirVersionRow } from './repo.ts';

/** A patched version to insert: parent + 1, with the hint rows the patch changed (u32le, ascending). */
export interface NewPirPatch extends NewPirVersion {
  version: number;
  parentVersion: number;
  changedRows: Uint8Array;
  /** delta.ts `packRecordDeltas` of this patch. */
  changedRecords: Uint8Array;
  /** Byte ranges [start, end) of records and hint that differ from the parent's, ascending by start. */
  changed: { records: ReadonlyArray<readonly [number, number]>; hint: ReadonlyArray<readonly [number, number]> };
}

type Kind = 'records' | 'hint';

/** Chunks (seq, [start, end)) overlapping any range; both lists ascending. */
function overlapping(chunks: ReadonlyArray<{ seq: number; start: number; end: number }>, ranges: ReadonlyArray<readonly [number, number]>): typeof chunks {
  const out: Array<{ seq: number; start: number; end: number }> = [];
  let i = 0;
  for (const c of chunks) {
    while (i < ranges.length && ranges[i]![1] <= c.start) i++;
    if (i < ranges.length && ranges[i]![0] < c.end) out.push(c);
  }
  return out;
}

/** One link of a patch chain. */
export type PirChainRow = {
  version: number;
  parent_version: number | null;
  changed_rows: Uint8Array | null;
  changed_records: Uint8Array | null;
  purged_at: Date | null;
};

/** The live-update statements; each takes the store or a transaction and propagates store errors. */
export const pirPatchRepo = {
  /**
   * Inserts a patched version and retires the older ones (call inside one transaction). Its blobs are
   * the parent's chunks, with the parent's boundaries: those no changed byte range overlaps are copied
   * inside the database (no bytes through the driver), the others written from `records` and `hint`.
   * A load checks the SHA-256s of the reassembled blobs against the row.
   *
   * @throws Error when the parent's chunks are not all there (the transaction rolls back).
   */
  async insertPatch(db: Queryable, v: NewPirPatch): Promise<PirVersionRow> {
    const rows = await db.query<PirVersionRow>(
      `INSERT INTO pir_databases (name, version, params, seed, records_bytes, records_sha256, hint_sha256, parent_version, changed_rows, changed_records, keyword, source_sha256)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${COLUMNS}`,
      [v.name, v.version, v.params, v.seed, v.records.length, v.recordsSha256, v.hintSha256, v.parentVersion, v.changedRows, v.changedRecords,
        v.keyword ?? null, v.sourceSha256 ?? null]);
    const row = rows[0]!;
    // The parent's chunk boundaries (length() reads the stored size, not the bytes).
    const parent = await db.query<{ kind: Kind; seq: number; len: number }>(
      'SELECT kind, seq, length(bytes)::int AS len FROM pir_blobs WHERE name = $1 AND version = $2 ORDER BY kind, seq', [v.name, v.parentVersion]);
    const rewrite: Record<Kind, ReadonlyArray<{ seq: number; start: number; end: number }>> = { records: [], hint: [] };
    for (const [kind, bytes] of [['records', v.records], ['hint', v.hint]] as const) {
      const chunks: Array<{ seq: number; start: number; end: number }> = [];
      let off = 0;
      for (const c of parent) if (c.kind === kind) { chunks.push({ seq: c.seq, start: off, end: off + c.len }); off += c.len; }
      if (off !== bytes.length || chunks.some((c, i) => c.seq !== i)) throw new Error(`pir patch: the ${kind} chunks of ${v.name} v${v.parentVersion} are incomplete`);
      rewrite[kind] = overlapping(chunks, v.changed[kind]);
    }
    await db.query(
      `INSERT INTO pir_blobs (name, version, kind, seq, bytes)
       SELECT name, $2, kind, seq, bytes FROM pir_blobs
       WHERE name = $1 AND version = $3 AND NOT ((kind = 'records' AND seq = ANY($4::int[])) OR (kind = 'hint' AND seq = ANY($5::int[])))`,
      [v.name, row.version, v.parentVersion, rewrite.records.map((c) => c.seq), rewrite.hint.map((c) => c.seq)]);
    for (const [kind, bytes] of [['records', v.records], ['hint', v.hint]] as const) {
      for (const c of rewrite[kind]) {
        await db.query('INSERT INTO pir_blobs (name, version, kind, seq, bytes) VALUES ($1, $2, $3, $4, $5)', [v.name, row.version, kind, c.seq, bytes.subarray(c.start, c.end)]);
      }
    }
    await db.query('UPDATE pir_databases SET retired_at = now() WHERE name = $1 AND version < $2 AND retired_at IS NULL', [v.name, row.version]);
    return row;
  },

  /** Versions from..to of `name` (inclusive, ascending) with their parents and changed rows. */
  async chain(db: Queryable, name: string, from: number, to: number): Promise<PirChainRow[]> {
    // The links first, without their change lists: a chain that cannot give a delta costs one small read.
    const links = await db.query<Omit<PirChainRow, 'changed_rows' | 'changed_records'> & { patched: boolean }>(
      `SELECT version, parent_version, purged_at, changed_rows IS NOT NULL AS patched FROM pir_databases
       WHERE name = $1 AND version >= $2 AND version <= $3 ORDER BY version`,
      [name, from, to]);
    const whole = links.length === to - from + 1 && links[0]?.version === from && links[0].purged_at === null
      && links.slice(1).every((l) => l.patched && l.parent_version === l.version - 1);
    if (!whole) return links.map((l) => ({ version: l.version, parent_version: l.parent_version, purged_at: l.purged_at, changed_rows: l.patched ? new Uint8Array(0) : null, changed_records: null }));
    const changes = await db.query<{ version: number; changed_rows: Uint8Array | null; changed_records: Uint8Array | null }>(
      `SELECT version, changed_rows, changed_records FROM pir_databases WHERE name = $1 AND version > $2 AND version <= $3 ORDER BY version`,
      [name, from, to]);
    const byVersion = new Map(changes.map((c) => [c.version, c]));
    return links.map((l) => ({ version: l.version, parent_version: l.parent_version, purged_at: l.purged_at,
      changed_rows: byVersion.get(l.version)?.changed_rows ?? null, changed_records: byVersion.get(l.version)?.changed_records ?? null }));
  },
};
