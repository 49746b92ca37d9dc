/**
 * SQL of the pir capability (src/store/migrations/005_pir.sql); the same statements run on PGlite
 * and PostgreSQL. A version number is taken inside the upload transaction as max + 1: two
 * concurrent uploads of one name (on one or several instances) collide on the primary key and the
 * loser retries, so versions are dense, unique and never reused.
 */
import type { Queryable } from '../store/index.ts';

/**
 * Bytes per stored chunk of records or hint. Small enough that a patch (patch-repo.ts) rewrites only
 * the chunks it touches; a load reads chunks of any length in order, so older 4 MiB chunks still load.
 */
export const BLOB_CHUNK = 256 * 1024;

/** A pir_databases row (`params` is the PirParams JSON). */
export type PirVersionRow = {
  name: string;
  version: number;
  params: string;
  seed: Uint8Array;
  records_bytes: number;
  records_sha256: Uint8Array;
  hint_sha256: Uint8Array;
  created_at: Date;
  retired_at: Date | null;
  purged_at: Date | null;
  /** The version this one was patched from (013_pir_patches.sql); null for a full upload. */
  parent_version: number | null;
  /** KeywordLayout JSON of a keyword database (migration 014), null for an index database. */
  keyword: string | null;
  /** SHA-256 of the keyword upload the table was built from. */
  source_sha256: Uint8Array | null;
};

/** A version to insert: its records and hint bytes with their SHA-256 digests. */
export interface NewPirVersion {
  name: string;
  params: string;
  seed: Uint8Array;
  records: Uint8Array;
  recordsSha256: Uint8Array;
  hint: Uint8Array;
  hintSha256: Uint8Array;
  /** Keyword databases: the layout JSON and the SHA-256 of the upload. */
  keyword?: string | undefined;
  sourceSha256?: Uint8Array | undefined;
}

/** The columns of a PirVersionRow (patch-repo.ts selects the same). */
export const COLUMNS = 'name, version, params, seed, records_bytes, records_sha256, hint_sha256, created_at, retired_at, purged_at, parent_version, keyword, source_sha256';

async function insertChunks(db: Queryable, name: string, version: number, kind: 'records' | 'hint', bytes: Uint8Array): Promise<void> {
  for (let off = 0, seq = 0; off < bytes.length; off += BLOB_CHUNK, seq++) {
    await db.query('INSERT INTO pir_blobs (name, version, kind, seq, bytes) VALUES ($1, $2, $3, $4, $5)',
      [name, version, kind, seq, bytes.subarray(off, Math.min(bytes.length, off + BLOB_CHUNK))]);
  }
}

/** The pir statements; each takes the store or a transaction and propagates store errors. */
export const pirRepo = {
  /** Inserts the next version of `name` with its blobs and retires the older ones (one transaction). */
  async insertVersion(db: Queryable, v: NewPirVersion): Promise<PirVersionRow> {
    const rows = await db.query<PirVersionRow>(
      `INSERT INTO pir_databases (name, version, params, seed, records_bytes, records_sha256, hint_sha256, keyword, source_sha256)
       SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM pir_databases WHERE name = $1
       RETURNING ${COLUMNS}`,
      [v.name, v.params, v.seed, v.records.length, v.recordsSha256, v.hintSha256, v.keyword ?? null, v.sourceSha256 ?? null]);
    const row = rows[0]!;
    await insertChunks(db, v.name, row.version, 'records', v.records);
    await insertChunks(db, v.name, row.version, 'hint', v.hint);
    await db.query('UPDATE pir_databases SET retired_at = now() WHERE name = $1 AND version < $2 AND retired_at IS NULL', [v.name, row.version]);
    return row;
  },

  /** The newest version of `name` and every version still within `graceSeconds` of its retirement. */
  async answerable(db: Queryable, name: string, graceSeconds: number): Promise<PirVersionRow[]> {
    return db.query<PirVersionRow>(
      `SELECT ${COLUMNS} FROM pir_databases
       WHERE name = $1 AND purged_at IS NULL AND (retired_at IS NULL OR retired_at > now() - make_interval(secs => $2))
       ORDER BY version DESC`,
      [name, graceSeconds]);
  },

  /**
   * Reassembles a stored blob of `totalBytes` from its chunks, one query per chunk.
   *
   * @throws Error when a chunk is missing, empty or overruns `totalBytes`.
   */
  async blob(db: Queryable, name: string, version: number, kind: 'records' | 'hint', totalBytes: number): Promise<Uint8Array> {
    const out = new Uint8Array(totalBytes);
    let off = 0;
    // One chunk per query: an instance never holds a whole database twice in driver buffers.
    for (let seq = 0; off < totalBytes; seq++) {
      const rows = await db.query<{ bytes: Uint8Array }>(
        'SELECT bytes FROM pir_blobs WHERE name = $1 AND version = $2 AND kind = $3 AND seq = $4', [name, version, kind, seq]);
      const chunk = rows[0]?.bytes;
      if (!chunk || chunk.length === 0 || off + chunk.length > totalBytes) throw new Error(`pir blob ${name} v${version} ${kind} is incomplete`);
      out.set(chunk, off);
      off += chunk.length;
    }
    return out;
  },

  /** Deletes the blobs of versions retired more than `graceSeconds` ago; returns the versions purged. */
  async purgeRetired(db: Queryable, graceSeconds: number): Promise<Array<{ name: string; version: number }>> {
    const purged = await db.query<{ name: string; version: number }>(
      `UPDATE pir_databases SET purged_at = now()
       WHERE purged_at IS NULL AND retired_at IS NOT NULL AND retired_at <= now() - make_interval(secs => $1)
       RETURNING name, version`,
      [graceSeconds]);
    for (const p of purged) await db.query('DELETE FROM pir_blobs WHERE name = $1 AND version = $2', [p.name, p.version]);
    return purged;
  },
};
