/**
 * SQL of the audit log (tables from migrations/012_audit.sql). Same statements on PGlite and
 * PostgreSQL. Appends happen only inside a transaction that holds the head row (`lockHead`), so
 * every instance on one database appends to one linear order with no gaps and no duplicates.
 */
import type { Queryable } from '../store/index.ts';
import type { NodeId } from './merkle.ts';

/** A stored node: the hash of the perfect subtree (level, index). */
export interface StoredNode extends NodeId { hash: Uint8Array }
/** A stored record: its position, principal copy and canonical leaf bytes. */
export interface RecordRow { seq: number; principal: string; leaf: Uint8Array }
/** A stored signed checkpoint. */
export interface CheckpointRow { treeSize: number; rootHash: Uint8Array; signedAt: string; keyId: string; identityVersion: number; signature: Uint8Array }

const bytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(0));

/** Locks the head row for this transaction and returns the committed tree size. */
export async function lockHead(tx: Queryable): Promise<number> {
  const rows = await tx.query<{ size: unknown }>('SELECT size FROM audit_head WHERE id = 1 FOR UPDATE');
  if (rows.length !== 1) throw new Error('audit_head row missing (migration 012 not applied?)');
  return Number(rows[0]!.size);
}

/** The committed tree size (no lock: a snapshot; every node below it is immutable). */
export async function headSize(q: Queryable): Promise<number> {
  const rows = await q.query<{ size: unknown }>('SELECT size FROM audit_head WHERE id = 1');
  return Number(rows[0]?.size ?? 0);
}

/** Sets the committed size (inside the transaction holding the head). */
export async function setHead(tx: Queryable, size: number): Promise<void> {
  await tx.query('UPDATE audit_head SET size = $1 WHERE id = 1', [size]);
}

/** The stored hashes of `ids` (one query), keyed `level:index`; missing nodes are absent. */
export async function getNodes(q: Queryable, ids: readonly NodeId[]): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  if (ids.length === 0) return out;
  const params: number[] = [];
  const tuples = ids.map((id) => { params.push(id.level, id.index); return `($${params.length - 1}::smallint, $${params.length}::bigint)`; });
  const rows = await q.query<{ level: unknown; idx: unknown; hash: unknown }>(
    `SELECT level, idx, hash FROM audit_nodes WHERE (level, idx) IN (${tuples.join(', ')})`, params);
  for (const r of rows) out.set(`${Number(r.level)}:${Number(r.idx)}`, bytes(r.hash));
  return out;
}

/** Rows per INSERT statement of the locked path. */
const CHUNK = 500;

/** Inserts records and nodes in multi-row statements (at most CHUNK rows each). */
export async function insertBatch(tx: Queryable, records: readonly RecordRow[], nodes: readonly StoredNode[]): Promise<void> {
  for (let i = 0; i < records.length; i += CHUNK) {
    const part = records.slice(i, i + CHUNK);
    const params: unknown[] = [];
    const values = part.map((r) => { params.push(r.seq, r.principal, r.leaf); const n = params.length; return `($${n - 2}, $${n - 1}, $${n})`; });
    await tx.query(`INSERT INTO audit_records (seq, principal, leaf) VALUES ${values.join(', ')}`, params);
  }
  for (let i = 0; i < nodes.length; i += CHUNK) {
    const part = nodes.slice(i, i + CHUNK);
    const params: unknown[] = [];
    const values = part.map((r) => { params.push(r.level, r.index, r.hash); const n = params.length; return `($${n - 2}, $${n - 1}, $${n})`; });
    await tx.query(`INSERT INTO audit_nodes (level, idx, hash) VALUES ${values.join(', ')}`, params);
  }
}

/**
 * One statement (atomic on its own): moves the head from `size` to size + records.length and inserts
 * the records and nodes, only if the head is still at `size`; resolves false, having changed
 * nothing, when it is not (another instance appended meanwhile). The UPDATE takes the head row's
 * lock, so a concurrent appender waits and then finds the head moved. The fast path of an instance
 * whose cached head is current: no explicit transaction, one round trip per batch.
 */
export async function appendIfHead(q: Queryable, size: number, records: readonly RecordRow[], nodes: readonly StoredNode[]): Promise<boolean> {
  const params: unknown[] = [size + records.length, size];
  const tuple = (a: unknown, b: unknown, c: unknown, types: [string, string, string]) => {
    params.push(a, b, c);
    const n = params.length;
    return `($${n - 2}::${types[0]}, $${n - 1}::${types[1]}, $${n}::${types[2]})`;
  };
  const recs = records.map((r) => tuple(r.seq, r.principal, r.leaf, ['bigint', 'text', 'bytea']));
  const nds = nodes.map((n) => tuple(n.level, n.index, n.hash, ['smallint', 'bigint', 'bytea']));
  const rows = await q.query<{ size: unknown }>(
    `WITH h AS (UPDATE audit_head SET size = $1 WHERE id = 1 AND size = $2 RETURNING size),
     r AS (INSERT INTO audit_records (seq, principal, leaf) SELECT v.seq, v.principal, v.leaf FROM (VALUES ${recs.join(', ')}) AS v(seq, principal, leaf), h),
     n AS (INSERT INTO audit_nodes (level, idx, hash) SELECT v.level, v.idx, v.hash FROM (VALUES ${nds.join(', ')}) AS v(level, idx, hash), h)
     SELECT size FROM h`, params);
  return rows.length === 1;
}

/** Records with seq in [from, from + limit) below `below`, optionally only one principal's, in order. */
export async function listRecords(q: Queryable, from: number, limit: number, below: number, principal?: string): Promise<RecordRow[]> {
  const rows = principal === undefined
    ? await q.query<{ seq: unknown; principal: string; leaf: unknown }>(
      'SELECT seq, principal, leaf FROM audit_records WHERE seq >= $1 AND seq < $2 ORDER BY seq LIMIT $3', [from, below, limit])
    : await q.query<{ seq: unknown; principal: string; leaf: unknown }>(
      'SELECT seq, principal, leaf FROM audit_records WHERE principal = $4 AND seq >= $1 AND seq < $2 ORDER BY seq LIMIT $3', [from, below, limit, principal]);
  return rows.map((r) => ({ seq: Number(r.seq), principal: r.principal, leaf: bytes(r.leaf) }));
}

/** Stores a signed checkpoint (a second one for the same size and time is ignored). */
export async function insertCheckpoint(q: Queryable, c: CheckpointRow): Promise<void> {
  await q.query(
    `INSERT INTO audit_checkpoints (tree_size, root_hash, signed_at, identity_key_id, identity_version, signature)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tree_size, signed_at) DO NOTHING`,
    [c.treeSize, c.rootHash, c.signedAt, c.keyId, c.identityVersion, c.signature]);
}

/** The checkpoint of the largest tree (the latest signed among equals), if any. */
export async function latestCheckpoint(q: Queryable): Promise<CheckpointRow | undefined> {
  const rows = await q.query<Record<string, unknown>>(
    'SELECT tree_size, root_hash, signed_at, identity_key_id, identity_version, signature FROM audit_checkpoints ORDER BY tree_size DESC, signed_at DESC LIMIT 1');
  const r = rows[0];
  return r && {
    treeSize: Number(r.tree_size), rootHash: bytes(r.root_hash), signedAt: String(r.signed_at),
    keyId: String(r.identity_key_id), identityVersion: Number(r.identity_version), signature: bytes(r.signature),
  };
}
