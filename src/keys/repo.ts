/**
 * SQL of managed keys (tables from migrations/002_keys.sql). Same statements on PGlite and PostgreSQL.
 * Every lookup is scoped by owner: a key that belongs to someone else is indistinguishable from
 * one that does not exist.
 */
import type { Queryable } from '../store/index.ts';

export interface KeyRow {
  id: string;
  owner: string;
  name: string;
  algorithm: string;
  exportable: boolean;
  deletion_allowed: boolean;
  min_version: number;
  latest_version: number;
  created_at: Date;
  updated_at: Date;
  /** integrity.ts keyRowMac; null on rows written before migration 007 (fails the check). */
  row_mac: Uint8Array | null;
}

export interface VersionRow { version: number; public_key: Uint8Array; created_at: Date; version_mac: Uint8Array | null }
export interface MaterialRow extends KeyRow { version: number | null; public_key: Uint8Array | null; wrapped_secret: Uint8Array | null; version_mac: Uint8Array | null }

const KEY_COLS = 'k.id, k.owner, k.name, k.algorithm, k.exportable, k.deletion_allowed, k.min_version, k.latest_version, k.created_at, k.updated_at, k.row_mac';

/** New key row with min_version 1 and deletion_allowed false (the values `mac` must cover). */
export async function insertKey(tx: Queryable, k: { id: string; owner: string; name: string; algorithm: string; exportable: boolean }, mac: Uint8Array, onConflictDoNothing = false): Promise<boolean> {
  const rows = await tx.query(
    `INSERT INTO keys (id, owner, name, algorithm, exportable, min_version, deletion_allowed, row_mac) VALUES ($1, $2, $3, $4, $5, 1, false, $6)
     ${onConflictDoNothing ? 'ON CONFLICT (owner, name) DO NOTHING' : ''} RETURNING id`,
    [k.id, k.owner, k.name, k.algorithm, k.exportable, mac],
  );
  return rows.length === 1;
}

export async function insertVersion(tx: Queryable, keyId: string, version: number, publicKey: Uint8Array, wrapped: Uint8Array, mac: Uint8Array): Promise<void> {
  await tx.query('INSERT INTO key_versions (key_id, version, public_key, wrapped_secret, row_mac) VALUES ($1, $2, $3, $4, $5)', [keyId, version, publicKey, wrapped, mac]);
}

export async function findKey(q: Queryable, owner: string, name: string): Promise<KeyRow | undefined> {
  const rows = await q.query<KeyRow & Record<string, unknown>>(`SELECT ${KEY_COLS} FROM keys k WHERE k.owner = $1 AND k.name = $2`, [owner, name]);
  return rows[0];
}

/** Keys of one owner, or of every owner but `exclude` when owner is null (the admin's view). */
export async function listKeys(q: Queryable, owner: string | null, exclude: string, limit: number, after: string | undefined): Promise<KeyRow[]> {
  return q.query<KeyRow & Record<string, unknown>>(
    `SELECT ${KEY_COLS} FROM keys k
     WHERE ($1::text IS NULL OR k.owner = $1) AND k.owner <> $2 AND ($3::text IS NULL OR k.owner || '/' || k.name > $3)
     ORDER BY k.owner || '/' || k.name LIMIT $4`,
    [owner, exclude, after ?? null, limit],
  );
}

export async function listVersions(q: Queryable, keyId: string): Promise<VersionRow[]> {
  return q.query<VersionRow & Record<string, unknown>>('SELECT version, public_key, created_at, row_mac AS version_mac FROM key_versions WHERE key_id = $1 ORDER BY version', [keyId]);
}

/** The key and one version (the latest when `version` is null) with its wrapped material, in one round trip. */
export async function findMaterial(q: Queryable, owner: string, name: string, version: number | null): Promise<MaterialRow | undefined> {
  const rows = await q.query<MaterialRow & Record<string, unknown>>(
    `SELECT ${KEY_COLS}, v.version, v.public_key, v.wrapped_secret, v.row_mac AS version_mac
     FROM keys k LEFT JOIN key_versions v ON v.key_id = k.id AND v.version = COALESCE($3::integer, k.latest_version)
     WHERE k.owner = $1 AND k.name = $2`,
    [owner, name, version],
  );
  return rows[0];
}

/** Claims the next version number (row lock until the transaction ends). */
export async function bumpVersion(tx: Queryable, keyId: string): Promise<number | undefined> {
  const rows = await tx.query<{ latest_version: number }>(
    'UPDATE keys SET latest_version = latest_version + 1, updated_at = now() WHERE id = $1 RETURNING latest_version', [keyId]);
  return rows[0]?.latest_version;
}

/** The key row, locked until the transaction ends (read-check-write of minVersion / deletionAllowed and their MAC). */
export async function lockKey(tx: Queryable, owner: string, name: string): Promise<KeyRow | undefined> {
  const rows = await tx.query<KeyRow & Record<string, unknown>>(`SELECT ${KEY_COLS} FROM keys k WHERE k.owner = $1 AND k.name = $2 FOR UPDATE`, [owner, name]);
  return rows[0];
}

/** Writes minVersion, deletionAllowed and the key-row MAC over them (call with the row locked by lockKey). */
export async function setKeyPolicy(tx: Queryable, id: string, minVersion: number, deletionAllowed: boolean, mac: Uint8Array): Promise<KeyRow | undefined> {
  const rows = await tx.query<KeyRow & Record<string, unknown>>(
    `UPDATE keys k SET min_version = $2, deletion_allowed = $3, row_mac = $4, updated_at = now()
     WHERE k.id = $1 AND $2 <= k.latest_version RETURNING ${KEY_COLS}`,
    [id, minVersion, deletionAllowed, mac],
  );
  return rows[0];
}

/** Deletes the key and (cascade) its wrapped versions, only if deletion was allowed first. */
export async function deleteKey(q: Queryable, owner: string, name: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM keys WHERE owner = $1 AND name = $2 AND deletion_allowed RETURNING id', [owner, name]);
  return rows.length === 1;
}

/** The sealed purposes of a key (migration 009), or undefined when it has none. */
export async function findPurposes(q: Queryable, keyId: string): Promise<Uint8Array | undefined> {
  const rows = await q.query<{ sealed: Uint8Array }>('SELECT sealed FROM key_purposes WHERE key_id = $1', [keyId]);
  return rows[0]?.sealed;
}

export async function insertPurposes(tx: Queryable, keyId: string, sealed: Uint8Array): Promise<void> {
  await tx.query('INSERT INTO key_purposes (key_id, sealed) VALUES ($1, $2)', [keyId, sealed]);
}

export interface ImportJobRow { id: string; owner: string; public_key: Uint8Array; wrapped_secret: Uint8Array; row_mac: Uint8Array; expires_at: Date; created_at: Date }

export async function insertImportJob(q: Queryable, j: Omit<ImportJobRow, 'created_at'>): Promise<void> {
  await q.query('INSERT INTO import_jobs (id, owner, public_key, wrapped_secret, row_mac, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [j.id, j.owner, j.public_key, j.wrapped_secret, j.row_mac, j.expires_at]);
}

/** An owner's import job (another owner's is indistinguishable from none). */
export async function findImportJob(q: Queryable, owner: string, id: string): Promise<ImportJobRow | undefined> {
  const rows = await q.query<ImportJobRow & Record<string, unknown>>(
    'SELECT id, owner, public_key, wrapped_secret, row_mac, expires_at, created_at FROM import_jobs WHERE owner = $1 AND id = $2', [owner, id]);
  return rows[0];
}

export async function deleteImportJob(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM import_jobs WHERE id = $1', [id]);
}

/** Deletes every expired import job (their wrapped private keys with them); returns how many. */
export async function deleteExpiredImportJobs(q: Queryable): Promise<number> {
  return (await q.query('DELETE FROM import_jobs WHERE expires_at < now() RETURNING id')).length;
}
