/**
 * SDK half of keyword PIR and of the private key directory (docs/PIR.md): `db.lookup(key)` on an
 * opened keyword database, and `client.pir.directory`. Pure (no `node:`); the cuckoo hashing and
 * matching are src/pir/keyword.ts, shared with the server.
 *
 * A lookup always makes hashes × recordsPerBucket PIR queries (2 × m, from the signed layout),
 * whether the key exists or not; if the database moves to a new version during a lookup, the
 * lookup is redone once under the new version's layout.
 */
import type { Client } from 'openapi-fetch';
import type { paths, components } from './schema.ts';
import { nobleBackend } from '../crypto/noble.ts';
import { constantTimeEqual } from '../crypto/bytes.ts';
import { candidateRecords, matchKeyword } from '../pir/keyword.ts';
import type { PirConfigJson } from '../pir/config.ts';
import {
  assertDirectoryName, decodeDirectoryValue, directoryEntrySignedMessage, directoryKey, DIRECTORY_DB_NAME, DIRECTORY_ENTRY_CONTEXT,
} from '../pir/directory-entry.ts';

type Unwrap = <T>(r: { data?: T; error?: unknown; response: Response }) => T;
type Fail = (message: string) => Error;

/** What a lookup needs of an opened database handle (src/client/pir.ts PirDatabaseHandle). */
export interface KeywordHandle {
  readonly version: number;
  readonly config: PirConfigJson;
  readonly identity: { keyId: string; version: number; publicKey: Uint8Array };
  get(index: number): Promise<Uint8Array>;
  refresh(): Promise<void>;
}

const enc = new TextEncoder();
/** How long a cached directory handle is used before its config is re-read (the config's max-age). */
const DIRECTORY_RECHECK_MS = 5000;

/**
 * Looks `key` up in an opened keyword database: its value, or null when absent. Throws `fail(…)`
 * when the database is not a keyword database, a bucket is malformed, or the version changed twice.
 */
export async function keywordLookup(handle: KeywordHandle, key: Uint8Array | string, fail: Fail): Promise<Uint8Array | null> {
  const k = typeof key === 'string' ? enc.encode(key) : key;
  for (let attempt = 0; attempt < 2; attempt++) {
    const cfg = handle.config;
    if (!cfg.keyword) throw fail('this PIR database is not a keyword database');
    const indices = candidateRecords(cfg.keyword, k);
    let records: Uint8Array[];
    try {
      records = await Promise.all(indices.map((i) => handle.get(i)));
    } catch (err) {
      // get() followed a new version and retried an index of the old layout (perhaps out of range): redo.
      if (handle.version !== cfg.version) continue;
      throw err;
    }
    // The handle followed a new version during the lookup: its layout (salt, buckets) changed, redo.
    if (handle.version !== cfg.version) continue;
    try {
      return matchKeyword(cfg.keyword, k, records);
    } catch {
      throw fail('PIR keyword bucket is malformed');
    }
  }
  throw fail('the PIR database changed version twice during one lookup');
}

/** A verified directory entry: the published key's algorithm, version and public key. */
export interface DirectoryRecord {
  name: string;
  /** Who published it (`tenant:<id>` or `admin`), as the service signed it: names are first come, first served. */
  owner: string;
  algorithm: string;
  version: number;
  publicKey: Uint8Array;
  /** When the service signed the entry (ISO 8601). */
  signedAt: string;
  /** The service identity that signed it (the directory config's identity). */
  identity: { keyId: string; version: number; publicKey: Uint8Array };
}

/** A published entry as its owner sees it. */
export type DirectoryListing = components['schemas']['DirectoryListing'];

/** `client.pir.directory`: the private public-key directory. */
export interface DirectoryApi {
  /**
   * Looks `name` up privately (the service does not learn which name) and verifies the entry's
   * ML-DSA-65 signature by the service identity that signed the directory's config (pin it with
   * `identityPublicKey`). Returns null when the name is not published. The directory handle is
   * cached per client and its config re-read when older than 5 s, so a change is seen within
   * about 5 s of the service's rebuild. Names are first come, first served: the record carries the
   * signed `owner` (`tenant:<id>` or `admin`); pass `owner` to refuse an entry someone else published.
   *
   * @example
   *
   * ```ts
   * const bob = await client.pir.directory.lookup('bob@example.org', { identityPublicKey });
   * if (bob?.algorithm === 'X-Wing') encryptTo(bob.publicKey);
   * ```
   */
  lookup(name: string, options?: { identityPublicKey?: Uint8Array | string; owner?: string }): Promise<DirectoryRecord | null>;
  /** Publishes the caller's managed key `keyName` under `name` (tenant or admin token). */
  publish(name: string, keyName: string): Promise<DirectoryListing>;
  /** Removes the caller's entry `name`. */
  unpublish(name: string): Promise<void>;
  /** The caller's entries. */
  list(): Promise<DirectoryListing[]>;
}

/** Verifies a directory value found under `name` against the identity of the directory's config. */
export function verifyDirectoryValue(name: string, value: Uint8Array, identity: KeywordHandle['identity'], fail: Fail): DirectoryRecord {
  let entry;
  try {
    entry = decodeDirectoryValue(name, value);
  } catch {
    throw fail('directory entry is malformed');
  }
  if (entry.identityKeyId !== identity.keyId || entry.identityVersion !== identity.version) {
    throw fail('directory entry is signed by another identity than the directory config');
  }
  if (!nobleBackend.verify('ML-DSA-65', identity.publicKey, directoryEntrySignedMessage(entry), entry.signature, { context: DIRECTORY_ENTRY_CONTEXT })) {
    throw fail('directory entry signature verification failed');
  }
  return { name, owner: entry.owner, algorithm: entry.algorithm, version: entry.keyVersion, publicKey: entry.publicKey, signedAt: entry.signedAt, identity };
}

/** Builds `client.pir.directory` over `open` (client.pir.open) and the generated client. */
export function directoryApi(
  api: Client<paths>, unwrap: Unwrap, fail: Fail,
  open: (name: string, options: { identityPublicKey?: Uint8Array | string }) => Promise<KeywordHandle & { lookup(key: Uint8Array): Promise<Uint8Array | null> }>,
): DirectoryApi {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let handlePin: Uint8Array | string | undefined;
  let checkedAt = 0;
  return {
    async lookup(name, options = {}) {
      assertDirectoryName(name);
      const pin = options.identityPublicKey;
      const samePin = pin === handlePin || (pin instanceof Uint8Array && handlePin instanceof Uint8Array && constantTimeEqual(pin, handlePin));
      if (!handle || !samePin) {
        try {
          handle = await open(DIRECTORY_DB_NAME, pin === undefined ? {} : { identityPublicKey: pin });
        } catch (err) {
          // No directory database yet: nothing was ever published.
          if ((err as { status?: unknown }).status === 404) return null;
          throw err;
        }
        handlePin = pin;
        checkedAt = Date.now();
      } else if (Date.now() - checkedAt >= DIRECTORY_RECHECK_MS) {
        // An older version stays answerable for its grace period: look for a newer one (the config's max-age).
        await handle.refresh();
        checkedAt = Date.now();
      }
      const value = await handle.lookup(directoryKey(name));
      if (value === null) return null;
      const record = verifyDirectoryValue(name, value, handle.identity, fail);
      if (options.owner !== undefined && record.owner !== options.owner) {
        throw fail(`directory entry ${name} is published by ${record.owner}, not ${options.owner}`);
      }
      return record;
    },
    async publish(name, keyName) {
      return unwrap(await api.PUT('/v1/pir/directory/{entryName}', { params: { path: { entryName: name } }, body: { keyName } }));
    },
    async unpublish(name) {
      const res = await api.DELETE('/v1/pir/directory/{entryName}', { params: { path: { entryName: name } } });
      if (!res.response.ok) unwrap(res as { data?: unknown; error?: unknown; response: Response });
    },
    async list() {
      return unwrap(await api.GET('/v1/pir/directory', {})).entries;
    },
  };
}
