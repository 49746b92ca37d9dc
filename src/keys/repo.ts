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
  /** Automatic rotation (migration 011): the period in seconds, null for none; covered by row_mac. */
  rotation_period_seconds: number | null;
  /** When the sweeper adds the next version (whole seconds); null without a period. Not MAC-covered. */
  next_rotation_at: Date | null;
  /** Versions that keep private material (older ones are destroyed on rotation); null for all. Covered by row_mac. */
  max_versions: number | null;
}

/** A version row; `destroyed` when its wrapped material was erased (migration 011). */
export interface VersionRow { version: number; public_key: Uint8Array; created_at: Date; version_mac: Uint8Array | null; destroyed: boolean; destroyed_at: Date | null }

/** The lifecycle policy of a key row (migration 011), as written with its MAC. */
export interface LifecyclePolicy { rotationPeriodSeconds: number | null; nextRotationAt: Date | null; maxVersions: number | null }
export interface MaterialRow extends KeyRow { version: number | null; public_key: Uint8Array | null; wrapped_secret: Uint8Array | null; version_mac: Uint8Array | null }

const KEY_COLS = 'k.id, k.owner, k.name, k.algorithm, k.exportable, k.deletion_allowed, k.min_version, k.latest_version, k.created_at, k.updated_at, k.row_mac, k.rotation_period_seconds, k.next_rotation_at, k.max_versions';

const NO_POLICY: LifecyclePolicy = { rotationPeriodSeconds: null, nextRotationAt: null, maxVersions: null };

/** New key row with min_version 1, deletion_allowed false and `policy` (the values `mac` must cover). */
export async function insertKey(tx: Queryable, k: { id: string; owner: string; name: string; algorithm: string; exportable: boolean }, mac: Uint8Array, onConflictDoNothing = false, policy: LifecyclePolicy = NO_POLICY): Promise<boolean> {
  const rows = await tx.query(
    `INSERT INTO keys (id, owner, name, algorithm, exportable, min_version, deletion_allowed, row_mac, rotation_period_seconds, next_rotation_at, max_versions)
     VALUES ($1, $2, $3, $4, $5, 1, false, $6, $7, $8, $9)
     ${onConflictDoNothing ? 'ON CONFLICT (owner, name) DO NOTHING' : ''} RETURNING id`,
    [k.id, k.owner, k.name, k.algorithm, k.exportable, mac, policy.rotationPeriodSeconds, policy.nextRotationAt, policy.maxVersions],
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
  return q.query<VersionRow & Record<string, unknown>>(
    `SELECT version, public_key, created_at, row_mac AS version_mac, octet_length(wrapped_secret) = 0 AS destroyed, destroyed_at
     FROM key_versions WHERE key_id = $1 ORDER BY version`, [keyId]);
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

/** The key row as it is inside the transaction that claimed a version number (latest_version is the new one). */
export type Claimed = KeyRow;

/**
 * Claims the next version number (row lock until the transaction ends); a key with a rotation period
 * starts a new period at `now` (whole seconds), so a manual rotation postpones the automatic one.
 */
export async function bumpVersion(tx: Queryable, keyId: string, now: Date): Promise<Claimed | undefined> {
  const rows = await tx.query<Claimed & Record<string, unknown>>(
    `UPDATE keys k SET latest_version = k.latest_version + 1, updated_at = now(),
       next_rotation_at = CASE WHEN k.rotation_period_seconds IS NULL THEN NULL ELSE $2::timestamptz + k.rotation_period_seconds * interval '1 second' END
     WHERE k.id = $1 RETURNING ${KEY_COLS}`, [keyId, now]);
  return rows[0];
}

/**
 * The sweeper's claim (src/keys/rotation.ts): the next version number, only while the key is still in
 * the state the sweeper read (same latest version, next rotation time and period). Of two instances that
 * race for one due rotation, exactly one UPDATE matches; the other gets undefined.
 */
export async function claimRotation(tx: Queryable, keyId: string, seen: { latestVersion: number; nextRotationAt: Date; periodSeconds: number }, next: Date): Promise<Claimed | undefined> {
  const rows = await tx.query<Claimed & Record<string, unknown>>(
    `UPDATE keys k SET latest_version = k.latest_version + 1, updated_at = now(), next_rotation_at = $5
     WHERE k.id = $1 AND k.latest_version = $2 AND k.next_rotation_at = $3 AND k.rotation_period_seconds = $4
     RETURNING ${KEY_COLS}`,
    [keyId, seen.latestVersion, seen.nextRotationAt, seen.periodSeconds, next]);
  return rows[0];
}

/** Keys whose automatic rotation is due at `now`, oldest due first, at most `limit`. */
export async function dueRotations(q: Queryable, now: Date, limit: number): Promise<KeyRow[]> {
  return q.query<KeyRow & Record<string, unknown>>(
    `SELECT ${KEY_COLS} FROM keys k
     WHERE k.next_rotation_at IS NOT NULL AND k.next_rotation_at <= $1 AND k.rotation_period_seconds IS NOT NULL
     ORDER BY k.next_rotation_at, k.id LIMIT $2`, [now, limit]);
}

/** Erases the wrapped material of every version but the newest `keep` that still have it; returns their numbers. */
export async function destroyBeyond(tx: Queryable, keyId: string, keep: number, now: Date): Promise<number[]> {
  const rows = await tx.query<{ version: number }>(
    `UPDATE key_versions SET wrapped_secret = $3, destroyed_at = $4
     WHERE key_id = $1 AND octet_length(wrapped_secret) > 0 AND version NOT IN (
       SELECT version FROM key_versions WHERE key_id = $1 AND octet_length(wrapped_secret) > 0 ORDER BY version DESC LIMIT $2)
     RETURNING version`, [keyId, keep, new Uint8Array(0), now]);
  return rows.map((r) => r.version).sort((x, y) => x - y);
}

/** Erases one version's wrapped material (the row, its public key and MAC stay); false when already erased. */
export async function destroyVersion(tx: Queryable, keyId: string, version: number, now: Date): Promise<boolean> {
  const rows = await tx.query('UPDATE key_versions SET wrapped_secret = $3, destroyed_at = $4 WHERE key_id = $1 AND version = $2 AND octet_length(wrapped_secret) > 0 RETURNING version',
    [keyId, version, new Uint8Array(0), now]);
  return rows.length === 1;
}

/** One version row of a key (no material), or undefined. */
export async function findVersion(q: Queryable, keyId: string, version: number): Promise<VersionRow | undefined> {
  const rows = await q.query<VersionRow & Record<string, unknown>>(
    `SELECT version, public_key, created_at, row_mac AS version_mac, octet_length(wrapped_secret) = 0 AS destroyed, destroyed_at
     FROM key_versions WHERE key_id = $1 AND version = $2`, [keyId, version]);
  return rows[0];
}

/** The key row, locked until the transaction ends (read-check-write of minVersion / deletionAllowed and their MAC). */
export async function lockKey(tx: Queryable, owner: string, name: string): Promise<KeyRow | undefined> {
  const rows = await tx.query<KeyRow & Record<string, unknown>>(`SELECT ${KEY_COLS} FROM keys k WHERE k.owner = $1 AND k.name = $2 FOR UPDATE`, [owner, name]);
  return rows[0];
}

/** Writes minVersion, deletionAllowed, the lifecycle policy and the key-row MAC over them (call with the row locked by lockKey). */
export async function setKeyPolicy(tx: Queryable, id: string, minVersion: number, deletionAllowed: boolean, mac: Uint8Array, policy: LifecyclePolicy): Promise<KeyRow | undefined> {
  const rows = await tx.query<KeyRow & Record<string, unknown>>(
    `UPDATE keys k SET min_version = $2, deletion_allowed = $3, row_mac = $4, updated_at = now(),
       rotation_period_seconds = $5, next_rotation_at = $6, max_versions = $7
     WHERE k.id = $1 AND $2 <= k.latest_version RETURNING ${KEY_COLS}`,
    [id, minVersion, deletionAllowed, mac, policy.rotationPeriodSeconds, policy.nextRotationAt, policy.maxVersions],
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
