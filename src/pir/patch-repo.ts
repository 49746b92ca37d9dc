/**
 * SQL of live updates (src/store/migrations/013_pir_patches.sql): insert a patched version with an
 * explicit number (parent + 1, so a concurrent upload or patch collides on the primary key and the
 * loser gets a 409), and read the patch chain between two versions for a hint delta.
 */
import type { Queryable } from '../store/index.ts';
import { COLUMNS, insertChunks, type NewPirVersion, type PirVersionRow } from './repo.ts';

/** A patched version to insert: parent + 1, with the hint rows the patch changed (u32le, ascending). */
export interface NewPirPatch extends NewPirVersion {
  version: number;
  parentVersion: number;
  changedRows: Uint8Array;
}

/** One link of a patch chain. */
export type PirChainRow = {
  version: number;
  parent_version: number | null;
  changed_rows: Uint8Array | null;
  purged_at: Date | null;
};

/** The live-update statements; each takes the store or a transaction and propagates store errors. */
export const pirPatchRepo = {
  /** Inserts a patched version with its blobs and retires the older ones (call inside one transaction). */
  async insertPatch(db: Queryable, v: NewPirPatch): Promise<PirVersionRow> {
    const rows = await db.query<PirVersionRow>(
      `INSERT INTO pir_databases (name, version, params, seed, records_bytes, records_sha256, hint_sha256, parent_version, changed_rows)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [v.name, v.version, v.params, v.seed, v.records.length, v.recordsSha256, v.hintSha256, v.parentVersion, v.changedRows]);
    const row = rows[0]!;
    await insertChunks(db, v.name, row.version, 'records', v.records);
    await insertChunks(db, v.name, row.version, 'hint', v.hint);
    await db.query('UPDATE pir_databases SET retired_at = now() WHERE name = $1 AND version < $2 AND retired_at IS NULL', [v.name, row.version]);
    return row;
  },

  /** Versions from..to of `name` (inclusive, ascending) with their parents and changed rows. */
  async chain(db: Queryable, name: string, from: number, to: number): Promise<PirChainRow[]> {
    return db.query<PirChainRow>(
      `SELECT version, parent_version, changed_rows, purged_at FROM pir_databases
       WHERE name = $1 AND version >= $2 AND version <= $3 ORDER BY version`,
      [name, from, to]);
  },
};
