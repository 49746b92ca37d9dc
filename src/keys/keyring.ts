/**
 * The keyring: every read and write of key rows goes through here, so the integrity MACs
 * (integrity.ts), the wrapping at rest (wrap.ts) and the ≤ 1 s row cache (cache.ts) are applied in
 * one place. The operations (lifecycle.ts, export.ts, sign.ts, verify.ts) never touch the store or
 * the master key themselves.
 */
import type { AppContext } from '../context.ts';
import type { Algorithm } from '../crypto/index.ts';
import { AppError, DecryptionError } from '../errors.ts';
import type { Queryable, Store } from '../store/index.ts';
import type { WorkerPool } from '../workers/pool.ts';
import { KeyCache, type VersionRow as CachedVersionRow } from './cache.ts';
import { integrityError, keyRowIntact, keyRowMac, versionRowIntact, versionRowMac, type KeyRowFields } from './integrity.ts';
import * as repo from './repo.ts';
import type { KeyRow, MaterialRow, VersionRow } from './repo.ts';
import { keyAad, unwrapSecret, wrapSecret } from './wrap.ts';
import { invalid } from './inputs.ts';

export interface KeyringDeps {
  store: Store; pool: WorkerPool; masterKey: Uint8Array; log: AppContext['log'];
  /** The clock of lifecycle times (next rotation, destroyedAt), ms since the epoch; Date.now by default (tests inject one). */
  now?: (() => number) | undefined;
}

/** A key row with an existing version, its public key and its wrapped material. */
export type VersionedRow = MaterialRow & { version: number; public_key: Uint8Array; wrapped_secret: Uint8Array };

/** The 404 of a key that does not exist or belongs to someone else (indistinguishable on purpose). */
export const notFound = (): AppError => new AppError('not_found', 'no such key');

const noVersion = (name: string, version: number | undefined, latest: number): AppError =>
  invalid('version', `key ${name} has no version ${version}; latest is ${latest}`);

/** The 410 of a secret-using operation on a destroyed version (destroy.ts); its public key still verifies. */
export const destroyedError = (name: string, version: number): AppError =>
  new AppError('key_version_destroyed', `version ${version} of key ${name} was destroyed: its private material is erased (signatures by it still verify)`, { version });

export class Keyring {
  readonly store: Store;
  readonly pool: WorkerPool;
  readonly #masterKey: Uint8Array;
  readonly #log: AppContext['log'];
  readonly #now: () => number;
  /** Rows (and lazily unwrapped material) of the sign / verify paths, ≤ 1 s old; see cache.ts. */
  readonly #cache: KeyCache;

  constructor(deps: KeyringDeps) {
    this.store = deps.store;
    this.pool = deps.pool;
    this.#masterKey = deps.masterKey;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    // Checked when loaded: an entry that is served for ≤ 1 s was checked once when it was read.
    this.#cache = new KeyCache(
      async (owner, name, version) => this.#checkMaterial(await repo.findMaterial(this.store, owner, name, version)),
      (row) => this.unwrap(row),
    );
  }

  /** Throws the fixed 500 unless the key row's MAC (algorithm, exportable, minVersion, deletionAllowed) verifies. */
  checkKey<R extends KeyRow>(row: R): R {
    if (keyRowIntact(this.#masterKey, row)) return row;
    this.#log.error({ keyId: row.id }, 'key row failed its integrity check');
    throw integrityError();
  }

  /** Throws the fixed 500 unless a version row's MAC (public key, bound to the key's id, owner, name, algorithm, exportable) verifies. */
  checkVersion(row: KeyRow, v: { version: number; public_key: Uint8Array; version_mac: Uint8Array | null }): void {
    if (versionRowIntact(this.#masterKey, { ...row, version: v.version, public_key: v.public_key, version_mac: v.version_mac })) return;
    this.#log.error({ keyId: row.id, version: v.version }, 'key version row failed its integrity check');
    throw integrityError();
  }

  #checkMaterial(row: MaterialRow | undefined): MaterialRow | undefined {
    if (!row) return row;
    this.checkKey(row);
    if (row.version !== null) this.checkVersion(row, { version: row.version, public_key: row.public_key!, version_mac: row.version_mac });
    return row;
  }

  /** The MAC a key row with these policy values must carry. */
  keyMac(k: KeyRowFields): Uint8Array { return keyRowMac(this.#masterKey, k); }

  /** The MAC of a new version row. */
  versionMac(row: { id: string; owner: string; name: string; algorithm: string; exportable: boolean }, version: number, publicKey: Uint8Array): Uint8Array {
    return versionRowMac(this.#masterKey, { ...row, version, public_key: publicKey });
  }

  /** Wraps a version's material under the master key, bound to the key's identity and version. */
  wrap(row: { id: string; owner: string; name: string }, version: number, material: Uint8Array): Uint8Array {
    return wrapSecret(this.#masterKey, material, keyAad(row.id, row.owner, row.name, version));
  }

  /** The current time of the lifecycle clock. */
  now(): Date { return new Date(this.#now()); }

  /** The service's log (the rotation sweeper reports keys it skipped). */
  get log(): AppContext['log'] { return this.#log; }

  /**
   * Unwraps a version's material (the caller wipes it); a blob that does not open is a logged 500, an
   * erased one (a destroyed version: zero bytes) the 410 key_version_destroyed, before any crypto.
   */
  unwrap(row: MaterialRow): Uint8Array {
    if (row.wrapped_secret!.length === 0) throw destroyedError(row.name, row.version!);
    try {
      return unwrapSecret(this.#masterKey, row.wrapped_secret!, keyAad(row.id, row.owner, row.name, row.version!));
    } catch (e) {
      if (e instanceof DecryptionError) {
        this.#log.error({ key: `${row.owner}/${row.name}`, version: row.version }, 'stored key material does not open under the master key');
        throw new AppError('internal', 'stored key material could not be unwrapped');
      }
      throw e;
    }
  }

  /** New key material in the worker pool (the caller wraps it and wipes `material`). */
  generate(algorithm: Algorithm): Promise<{ publicKey: Uint8Array; material: Uint8Array }> {
    return this.pool.run('keys.generate', { algorithm });
  }

  /** The key row, checked; 404 when absent. */
  async key(owner: string, name: string, q: Queryable = this.store): Promise<KeyRow> {
    const row = await repo.findKey(q, owner, name);
    if (!row) throw notFound();
    return this.checkKey(row);
  }

  /** Every version of a checked key row, each checked. */
  async checkedVersions(row: KeyRow): Promise<VersionRow[]> {
    const versions = await repo.listVersions(this.store, row.id);
    for (const v of versions) this.checkVersion(row, v);
    return versions;
  }

  /** A version (latest when undefined) straight from the store, checked; 404 / 400 when absent. */
  async material(owner: string, name: string, version: number | undefined): Promise<VersionedRow> {
    const row = this.#checkMaterial(await repo.findMaterial(this.store, owner, name, version ?? null));
    if (!row) throw notFound();
    if (row.version === null) throw noVersion(name, version, row.latest_version);
    return row as VersionedRow;
  }

  /** Like `material`, through the cache, with a copy of the unwrapped material (the caller wipes it). */
  async cachedMaterial(owner: string, name: string, version: number | undefined): Promise<{ row: CachedVersionRow; material: Uint8Array }> {
    const found = await this.#cache.material(owner, name, version ?? null);
    if (!found) throw notFound();
    if (found.row.version === null || !found.material) throw noVersion(name, version, found.row.latest_version);
    return { row: found.row as CachedVersionRow, material: found.material };
  }

  /** A version's row through the cache, never unwrapping (verify). Undefined version in the row: no such version. */
  async cachedRow(owner: string, name: string, version: number): Promise<MaterialRow> {
    const row = await this.#cache.row(owner, name, version);
    if (!row) throw notFound();
    return row;
  }

  /** Forgets what the cache holds of (owner, name): after this instance changed the key. */
  invalidate(owner: string, name: string): void { this.#cache.invalidate(owner, name); }

  /** Forgets cached rows and wipes cached material (shutdown). */
  close(): void { this.#cache.clear(); }
}
