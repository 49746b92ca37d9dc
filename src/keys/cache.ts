/**
 * Per-instance cache of key rows for the hot paths (sign, verify, signRaw): one store round trip
 * and one AES-GCM unwrap per key version and second instead of per request.
 *
 * - Entries live KEY_CACHE_TTL_MS (1 s) from the moment their query STARTED, so nothing served
 *   from here is older than that: the cross-instance staleness bound documented in docs/KEYS.md.
 * - This instance's own rotate / update / delete invalidate the key at once (`invalidate`), and a
 *   lookup that was already in flight when the key changed is returned to its caller but never
 *   stored (generation check), nor joined by later callers.
 * - Misses (no such key) are never cached: a key created elsewhere is visible at once.
 * - Unwrapped material is produced lazily (verify never unwraps), handed out as a copy (the caller
 *   wipes its copy after use; the pool may clone it later), and zeroed when the entry goes.
 *   An unref'd sweep drops expired entries so idle secrets do not linger in memory.
 */
import type { MaterialRow } from './repo.ts';

/** Lifetime of a cached key row, in milliseconds. Changing it changes the documented staleness bound. */
export const KEY_CACHE_TTL_MS = 1000;
/** Bound on cached (owner, name) keys; the oldest is dropped first. */
export const KEY_CACHE_MAX_KEYS = 4096;

/** A found key row with a version (findMaterial's row when the version exists). */
export type VersionRow = MaterialRow & { version: number; public_key: Uint8Array; wrapped_secret: Uint8Array };

interface Entry { row: MaterialRow; expires: number; stored: boolean; material?: Uint8Array | undefined }
type Loader = (owner: string, name: string, version: number | null) => Promise<MaterialRow | undefined>;
type Unwrapper = (row: VersionRow) => Uint8Array;

export class KeyCache {
  readonly #load: Loader;
  readonly #unwrap: Unwrapper;
  readonly #now: () => number;
  readonly #ttl: number;
  /** (owner, name) → (version | 'latest') → entry. */
  readonly #keys = new Map<string, Map<string, Entry>>();
  readonly #inflight = new Map<string, Map<string, Promise<Entry | undefined>>>();
  #generation = 0;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(load: Loader, unwrap: Unwrapper, opts: { now?: () => number; ttlMs?: number } = {}) {
    this.#load = load;
    this.#unwrap = unwrap;
    this.#now = opts.now ?? performance.now.bind(performance);
    this.#ttl = opts.ttlMs ?? KEY_CACHE_TTL_MS;
  }

  /** The key row with the given version (latest when null), from the cache or the store. Undefined: no such key. */
  async row(owner: string, name: string, version: number | null): Promise<MaterialRow | undefined> {
    return (await this.#entry(owner, name, version))?.row;
  }

  /** The row and a fresh copy of its unwrapped material (the caller wipes it). Undefined: no such key. */
  async material(owner: string, name: string, version: number | null): Promise<{ row: MaterialRow; material?: Uint8Array } | undefined> {
    const e = await this.#entry(owner, name, version);
    if (!e) return undefined;
    if (e.row.version === null) return { row: e.row };
    // An entry that was never stored (or already dropped) keeps no secret: unwrap for this caller only.
    if (!e.stored) return { row: e.row, material: this.#unwrap(e.row as VersionRow) };
    e.material ??= this.#unwrap(e.row as VersionRow);
    return { row: e.row, material: e.material.slice() };
  }

  /** Drops everything cached for (owner, name), including lookups in flight. */
  invalidate(owner: string, name: string): void {
    this.#generation++;
    const k = keyOf(owner, name);
    for (const e of this.#keys.get(k)?.values() ?? []) drop(e);
    this.#keys.delete(k);
    this.#inflight.delete(k);
  }

  /** Drops every entry (instance shutdown). */
  clear(): void {
    this.#generation++;
    for (const versions of this.#keys.values()) for (const e of versions.values()) drop(e);
    this.#keys.clear();
    this.#inflight.clear();
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  get size(): number { return this.#keys.size; }

  async #entry(owner: string, name: string, version: number | null): Promise<Entry | undefined> {
    const k = keyOf(owner, name);
    const v = version === null ? 'latest' : String(version);
    const hit = this.#keys.get(k)?.get(v);
    if (hit) {
      if (this.#now() < hit.expires) return hit;
      drop(hit);
      this.#keys.get(k)!.delete(v);
    }
    let flights = this.#inflight.get(k);
    const joined = flights?.get(v);
    if (joined) return joined;
    const p = this.#fetch(k, v, owner, name, version);
    if (!flights) this.#inflight.set(k, flights = new Map());
    flights.set(v, p);
    try {
      return await p;
    } finally {
      const f = this.#inflight.get(k);
      if (f?.get(v) === p) {
        f.delete(v);
        if (f.size === 0) this.#inflight.delete(k);
      }
    }
  }

  async #fetch(k: string, v: string, owner: string, name: string, version: number | null): Promise<Entry | undefined> {
    const generation = this.#generation;
    const started = this.#now();
    const row = await this.#load(owner, name, version);
    if (!row) return undefined;
    const entry: Entry = { row, expires: started + this.#ttl, stored: false };
    if (generation === this.#generation) this.#store(k, v, entry);
    return entry;
  }

  #store(k: string, v: string, entry: Entry): void {
    let versions = this.#keys.get(k);
    if (!versions) {
      if (this.#keys.size >= KEY_CACHE_MAX_KEYS) {
        const [oldest, old] = this.#keys.entries().next().value!;
        for (const e of old.values()) drop(e);
        this.#keys.delete(oldest);
      }
      this.#keys.set(k, versions = new Map());
    }
    const previous = versions.get(v);
    if (previous) drop(previous);
    entry.stored = true;
    versions.set(v, entry);
    this.#sweeper ??= setInterval(() => this.#sweep(), this.#ttl).unref();
  }

  #sweep(): void {
    const now = this.#now();
    for (const [k, versions] of this.#keys) {
      for (const [v, e] of versions) {
        if (now >= e.expires) { drop(e); versions.delete(v); }
      }
      if (versions.size === 0) this.#keys.delete(k);
    }
    if (this.#keys.size === 0 && this.#sweeper) { clearInterval(this.#sweeper); this.#sweeper = undefined; }
  }
}

const keyOf = (owner: string, name: string): string => JSON.stringify([owner, name]);

function drop(e: Entry): void {
  e.stored = false;
  e.material?.fill(0);
  e.material = undefined;
}
