/**
 * What the live-update modules (patch.ts) use of a PirService: one capability split across files
 * so that service.ts stays small. Types only; `PirService.internals()` builds the object.
 */
import type { Store } from '../store/index.ts';
import type { WorkerPool } from '../workers/pool.ts';
import type { PirConfigJson } from './config.ts';
import type { PirParams } from './params.ts';
import type { PirMatrix } from './reference-kernel.ts';
import type { PirVersionRow } from './repo.ts';

/** A version held in memory: its row, params, matrix (shared memory) and hint (little-endian uint32 bytes). */
export interface LoadedVersion {
  readonly row: PirVersionRow;
  readonly params: PirParams;
  readonly matrix: PirMatrix;
  /** Little-endian uint32, row-major: served as is. */
  readonly hint: Uint8Array;
}

/** The service's state and private steps, for patch.ts. */
export interface PirServiceInternals {
  readonly store: Store;
  readonly pool: WorkerPool;
  readonly log: { info(obj: object, msg: string): void };
  /** The row of an answerable version (default the newest): 404 unknown name, 409 + currentConfig when stale. */
  resolve(name: string, version: number | undefined): Promise<PirVersionRow>;
  /** The version in memory, loaded from the store on first use. */
  load(row: PirVersionRow): Promise<LoadedVersion>;
  /** The signed config of a version (cached per identity key version). */
  signedConfig(row: PirVersionRow): Promise<PirConfigJson>;
  /** Makes a version just stored answerable from memory and drops the name's cached version list. */
  adopt(loaded: LoadedVersion): void;
  /** Drops the cached version list of `name` (the next resolve reads the store). */
  forget(name: string): void;
}
