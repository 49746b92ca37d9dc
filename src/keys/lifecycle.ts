/**
 * Lifecycle of managed keys: create, list, get, rotate, update (minVersion, deletionAllowed,
 * rotationPeriod, maxVersions) and delete. Every row read is checked (keyring.ts); every change
 * invalidates this instance's cache. Automatic rotation and retention: rotation.ts; destroying one
 * version: destroy.ts.
 */
import { KEM_ALGORITHMS, SIGNATURE_ALGORITHMS, isSignatureAlgorithm, base64urlEncode } from '../crypto/index.ts';
import type { Algorithm } from '../crypto/index.ts';
import { randomId } from '../crypto/hash.ts';
import { AppError } from '../errors.ts';
import { isUniqueViolation } from '../store/index.ts';
import { KEY_NAME_PATTERN, invalid } from './inputs.ts';
import { notFound, type Keyring } from './keyring.ts';
import { SYSTEM_OWNER } from './owners.ts';
import * as repo from './repo.ts';
import type { KeyRow, LifecyclePolicy, VersionRow } from './repo.ts';
import { purposesOf, storePurposes, type KeyPurpose } from './purposes.ts';
import { latestIsPublicOnly, latestIsPublicOnlyUncached, publicOnlyError } from './public-only.ts';
import { firstRotation, insertVersionAndRetain, parseMaxVersions, parseRotationPeriod, rfc3339Seconds } from './rotation.ts';

const ALGORITHMS: readonly Algorithm[] = [...SIGNATURE_ALGORITHMS, ...KEM_ALGORITHMS];

/** One version as the API shows it: `destroyed` once its private material was erased (its public key stays). */
export interface KeyVersionInfo { version: number; createdAt: string; publicKey: string; state: 'enabled' | 'destroyed'; destroyedAt?: string }
/** A key as the API shows it; the lifecycle fields only when set, the capability flags on getKey and the calls that answer with it. */
export interface KeyInfo {
  name: string; owner: string; algorithm: string; kind: 'signature' | 'kem';
  exportable: boolean; deletionAllowed: boolean; minVersion: number; latestVersion: number;
  createdAt: string; updatedAt: string;
  rotationPeriod?: number; nextRotationAt?: string; maxVersions?: number;
  publicKeyOnly?: boolean; decapsulateAllowed?: boolean;
  versions?: KeyVersionInfo[];
}

/** The lifecycle fields of a create request (rotation.ts has the ranges). */
export interface LifecycleRequest { rotationPeriod?: number | null | undefined; maxVersions?: number | null | undefined }

const iso = (d: Date): string => new Date(d).toISOString();

function keyInfo(row: KeyRow, versions?: VersionRow[]): KeyInfo {
  const info: KeyInfo = {
    name: row.name, owner: row.owner, algorithm: row.algorithm,
    kind: isSignatureAlgorithm(row.algorithm) ? 'signature' : 'kem',
    exportable: row.exportable, deletionAllowed: row.deletion_allowed,
    minVersion: row.min_version, latestVersion: row.latest_version,
    createdAt: iso(row.created_at), updatedAt: iso(row.updated_at),
  };
  if (row.rotation_period_seconds !== null) info.rotationPeriod = row.rotation_period_seconds;
  if (row.next_rotation_at !== null && row.rotation_period_seconds !== null) info.nextRotationAt = rfc3339Seconds(row.next_rotation_at);
  if (row.max_versions !== null) info.maxVersions = row.max_versions;
  if (versions) info.versions = versions.map(versionInfo);
  return info;
}

function versionInfo(v: VersionRow): KeyVersionInfo {
  const out: KeyVersionInfo = { version: v.version, createdAt: iso(v.created_at), publicKey: base64urlEncode(v.public_key), state: v.destroyed ? 'destroyed' : 'enabled' };
  if (v.destroyed && v.destroyed_at) out.destroyedAt = iso(v.destroyed_at);
  return out;
}

/** A key with its versions and what it may do: public-key-only (every kind), decapsulateAllowed (KEM keys). */
export async function describe(ring: Keyring, row: KeyRow): Promise<KeyInfo> {
  const info = keyInfo(row, await ring.checkedVersions(row));
  info.publicKeyOnly = await latestIsPublicOnlyUncached(ring, row.owner, row.name);
  if (info.kind === 'kem') info.decapsulateAllowed = (await purposesOf(ring, row)).includes('decapsulate');
  return info;
}

/** Inserts key + version 1; with `ifAbsent`, a concurrent or earlier insert wins silently (returns false). */
/** Key material from outside (an import job): used instead of generating; wiped here like generated material. */
export interface GivenMaterial { publicKey: Uint8Array; material: Uint8Array }

const NO_POLICY: LifecyclePolicy = { rotationPeriodSeconds: null, nextRotationAt: null, maxVersions: null };

async function insert(ring: Keyring, owner: string, name: string, algorithm: Algorithm, exportable: boolean, ifAbsent: boolean, purposes: KeyPurpose[] = [], given?: GivenMaterial, policy = NO_POLICY): Promise<boolean> {
  const { publicKey, material } = given ?? await ring.generate(algorithm);
  const row = { id: randomId(), owner, name, algorithm, exportable };
  try {
    return await ring.store.transaction(async (tx) => {
      const mac = ring.keyMac({ ...row, min_version: 1, deletion_allowed: false, rotation_period_seconds: policy.rotationPeriodSeconds, max_versions: policy.maxVersions });
      if (!(await repo.insertKey(tx, row, mac, ifAbsent, policy))) return false;
      await repo.insertVersion(tx, row.id, 1, publicKey, ring.wrap(row, 1, material), ring.versionMac(row, 1, publicKey));
      await storePurposes(ring, tx, row, purposes);
      return true;
    });
  } catch (e) {
    if (isUniqueViolation(e)) return false;
    throw e;
  } finally {
    material.fill(0);
  }
}

/** Creates a key with version 1. 409 when the owner already has a key of that name. */
export async function createKey(ring: Keyring, owner: string, req: { name: string; algorithm: string; exportable?: boolean | undefined; decapsulateAllowed?: boolean | undefined } & LifecycleRequest, given?: GivenMaterial): Promise<KeyInfo> {
  if (!KEY_NAME_PATTERN.test(req.name)) throw invalid('name', 'name must be 1-64 characters of A-Z a-z 0-9 . _ - and start with a letter or digit');
  if (!(ALGORITHMS as readonly string[]).includes(req.algorithm)) throw invalid('algorithm', `unknown algorithm ${JSON.stringify(req.algorithm)}`);
  if (req.decapsulateAllowed && isSignatureAlgorithm(req.algorithm)) throw invalid('decapsulateAllowed', 'decapsulateAllowed applies to KEM keys only');
  const period = parseRotationPeriod(req.rotationPeriod, false) ?? null;
  const policy: LifecyclePolicy = {
    rotationPeriodSeconds: period, nextRotationAt: period === null ? null : firstRotation(ring.now(), period), maxVersions: parseMaxVersions(req.maxVersions, false) ?? null,
  };
  if (await repo.findKey(ring.store, owner, req.name)) throw new AppError('conflict', `a key named ${req.name} already exists`);
  const created = await insert(ring, owner, req.name, req.algorithm as Algorithm, req.exportable ?? false, false, req.decapsulateAllowed ? ['decapsulate'] : [], given, policy);
  if (!created) throw new AppError('conflict', `a key named ${req.name} already exists`);
  return getKey(ring, owner, req.name);
}

/** Makes sure a key exists (first start of the service; several instances may race: one wins). */
export async function ensureKey(ring: Keyring, owner: string, name: string, algorithm: Algorithm): Promise<void> {
  if (await repo.findKey(ring.store, owner, name)) return;
  await insert(ring, owner, name, algorithm, false, true);
}

/** One page of keys (of one owner, or of every owner but `system` when `owner` is null). */
export async function listKeys(ring: Keyring, owner: string | null, opts: { limit?: number | undefined; after?: string | undefined } = {}): Promise<{ keys: KeyInfo[]; next?: string }> {
  const limit = opts.limit ?? 100;
  const rows = await repo.listKeys(ring.store, owner, SYSTEM_OWNER, limit, opts.after);
  const out: { keys: KeyInfo[]; next?: string } = { keys: rows.map((r) => keyInfo(r)) };
  if (rows.length === limit) out.next = `${rows[rows.length - 1]!.owner}/${rows[rows.length - 1]!.name}`;
  return out;
}

/** A key with all its versions and what it may do. */
export async function getKey(ring: Keyring, owner: string, name: string): Promise<KeyInfo> {
  return describe(ring, await ring.key(owner, name));
}

/**
 * Versions of a checked key row whose MACs verify; the others are left out and listed in
 * `dropped` (logged). For the token key: a swapped public key then names no kid (401), and the
 * caller refuses to mint when the latest version is among the dropped.
 */
export async function intactVersions(ring: Keyring, owner: string, name: string): Promise<{ row: KeyRow; versions: VersionRow[]; dropped: number[] }> {
  const row = await ring.key(owner, name);
  const versions: VersionRow[] = [];
  const dropped: number[] = [];
  for (const v of await repo.listVersions(ring.store, row.id)) {
    try {
      ring.checkVersion(row, v);
      versions.push(v);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      dropped.push(v.version);
    }
  }
  return { row, versions, dropped };
}

/** Adds a version; signing uses it from now on. A rotation period starts anew; maxVersions is applied. */
export async function rotateKey(ring: Keyring, owner: string, name: string, given?: GivenMaterial & { algorithm: string }): Promise<KeyInfo> {
  // The new version's MAC covers algorithm and exportable as read here: checked by ring.key.
  const current = await ring.key(owner, name);
  if (given && given.algorithm !== current.algorithm) {
    given.material.fill(0);
    throw invalid('algorithm', `key ${name} is ${current.algorithm}; the imported material is ${given.algorithm}`);
  }
  if (!given && await latestIsPublicOnly(ring, owner, name)) throw publicOnlyError('rotate (import a new public key with importKeyVersion)');
  const { publicKey, material } = given ?? await ring.generate(current.algorithm as Algorithm);
  try {
    const now = ring.now();
    await ring.store.transaction(async (tx) => {
      const claimed = await repo.bumpVersion(tx, current.id, now);
      if (claimed === undefined) throw notFound(); // deleted meanwhile
      await insertVersionAndRetain(ring, tx, current, claimed, publicKey, material, now);
    });
  } finally {
    material.fill(0);
    ring.invalidate(owner, name);
  }
  return getKey(ring, owner, name);
}

/** What PATCH may change; null clears rotationPeriod (no automatic rotation) or maxVersions (keep all). */
export interface KeyPatch extends LifecycleRequest { minVersion?: number | undefined; deletionAllowed?: boolean | undefined }

/**
 * Changes minVersion, deletionAllowed, rotationPeriod and/or maxVersions. A new rotation period starts
 * from now (the same period again changes nothing); a new maxVersions applies at the next rotation.
 */
export async function updateKey(ring: Keyring, owner: string, name: string, patch: KeyPatch): Promise<KeyInfo> {
  const period = parseRotationPeriod(patch.rotationPeriod, true);
  const maxVersions = parseMaxVersions(patch.maxVersions, true);
  if (period !== undefined && period !== null && await latestIsPublicOnlyUncached(ring, owner, name)) throw publicOnlyError('rotate automatically');
  const now = ring.now();
  let row: KeyRow;
  try {
    // Read (locked), check the MAC, write the new values with a new MAC: one transaction, so two
    // concurrent PATCHes cannot leave a MAC over values that are not the stored ones.
    row = await ring.store.transaction(async (tx) => {
      const current = await repo.lockKey(tx, owner, name);
      if (!current) throw notFound();
      ring.checkKey(current);
      const minVersion = patch.minVersion ?? current.min_version;
      const deletionAllowed = patch.deletionAllowed ?? current.deletion_allowed;
      if (minVersion < 1 || minVersion > current.latest_version) {
        throw invalid('minVersion', `minVersion must be between 1 and the latest version (${current.latest_version})`);
      }
      const policy: LifecyclePolicy = { rotationPeriodSeconds: current.rotation_period_seconds, nextRotationAt: current.next_rotation_at, maxVersions: maxVersions === undefined ? current.max_versions : maxVersions };
      if (period !== undefined && period !== current.rotation_period_seconds) {
        policy.rotationPeriodSeconds = period;
        policy.nextRotationAt = period === null ? null : firstRotation(now, period);
      }
      const mac = ring.keyMac({ ...current, min_version: minVersion, deletion_allowed: deletionAllowed, rotation_period_seconds: policy.rotationPeriodSeconds, max_versions: policy.maxVersions });
      const updated = await repo.setKeyPolicy(tx, current.id, minVersion, deletionAllowed, mac, policy);
      if (!updated) throw notFound();
      return updated;
    });
  } finally {
    ring.invalidate(owner, name);
  }
  return describe(ring, row);
}

/** Deletes the key and its wrapped material; refused (409) unless deletionAllowed was set first. */
export async function deleteKey(ring: Keyring, owner: string, name: string): Promise<void> {
  let deleted: boolean;
  try {
    deleted = await repo.deleteKey(ring.store, owner, name);
  } finally {
    ring.invalidate(owner, name);
  }
  if (deleted) return;
  if (!(await repo.findKey(ring.store, owner, name))) throw notFound();
  throw new AppError('conflict', 'deletion is not allowed for this key; set deletionAllowed: true first (PATCH)');
}
