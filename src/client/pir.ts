/**
 * SDK for private information retrieval (SimplePIR, docs/PIR.md): open a database, verify its
 * signed config and its hint, then fetch records without the server learning which. Imports no
 * `node:` module: runs in Node and in browsers (noble for ML-DSA-65 and SHA-256, the pure PIR
 * client half from src/pir/).
 *
 * Trust: the config is signed by the service identity key (ML-DSA-65, context "pqzk pir config v1").
 * Pass `identityPublicKey` to pin it. Without a pin, the first `open` on a client trusts the identity
 * the server presents (trust on first use) and later opens on the same client are pinned to it;
 * `db.pinned` says which happened, and `db.identity.publicKey` is what to pin next time.
 * SimplePIR hides the index, it does not authenticate answers (docs/PIR.md, Wire format).
 *
 * @example
 *
 * ```ts
 * const db = await client.pir.open('breached-passwords', { identityPublicKey });
 * const record = await db.get(123_456);   // Uint8Array(db.params.recordSize)
 * ```
 */
import type { Client } from 'openapi-fetch';
import { sha256 } from '@noble/hashes/sha2.js';
import type { paths, components } from './schema.ts';
import { nobleBackend } from '../crypto/noble.ts';
import { base64urlDecode, constantTimeEqual, fromHex } from '../crypto/bytes.ts';
import { makeQuery, decode } from '../pir/client.ts';
import { expandA } from '../pir/matrixA.ts';
import { bytesToU32, u32ToBytes } from '../pir/wire.ts';
import type { PirParams } from '../pir/params.ts';
import { assertPirConfigShape, pirConfigContext, pirConfigSignedMessage, PIR_IDENTITY_ALGORITHM, type PirConfigJson } from '../pir/config.ts';
import { addRowDeltas, applyHintDelta, decodeHintDelta, decodeRecordDelta, hintRowDeltas, recordDeltaCells, RECORD_DELTA_MAGIC } from '../pir/delta.ts';
import { encodeRecordChanges, type RecordChange } from '../pir/changes.ts';
import { encodeKeywordEntries } from '../pir/keyword.ts';
import { directoryApi, keywordLookup, type DirectoryApi } from './pir-keyword.ts';

/** One record change of `client.pir.patch`: new bytes (upsert) or null (delete: the record becomes zeros). */
export type { RecordChange } from '../pir/changes.ts';

/** A database version's config as the service sends it (parameters, seed, hint hash, identity, signature). */
export type PirConfig = components['schemas']['PirConfig'];
type Problem = components['schemas']['Problem'];
type Unwrap = <T>(r: { data?: T; error?: unknown; response: Response }) => T;

/** A config, hint or identity check failed. Fixed messages: nothing about the bytes involved. */
export class PirIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PirIntegrityError';
  }
}

/** Options of `client.pir.open`. */
export interface PirOpenOptions {
  /** The service identity public key (ML-DSA-65, raw bytes or base64url) to pin. */
  identityPublicKey?: Uint8Array | string;
  /**
   * Expand the public matrix A once and keep it (cols · n · 4 bytes; with the download-minimising
   * shape that is ~10–100× the hint, 437 MB for a 64 MiB database): queries are then ~10-20× faster.
   * Default: cache when A is at most 512 MiB.
   */
  cacheA?: boolean;
}

/** The service identity that signed a config: its key id, version and ML-DSA-65 public key. */
export interface PirIdentity { keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: Uint8Array }

/** An opened database: its verified config and hint, and private reads. */
export interface PirDatabaseHandle {
  /** The database name. */
  readonly name: string;
  /** The verified config version in use (changes after a refresh). */
  readonly version: number;
  /** The SimplePIR parameters of that version (LWE dimension and moduli, record count and size, matrix shape). */
  readonly params: PirParams;
  /** The verified signed config of that version. */
  readonly config: PirConfigJson;
  /** The identity that signed the config. */
  readonly identity: PirIdentity;
  /** True when the identity was pinned (option or earlier open on this client), false on first use. */
  readonly pinned: boolean;
  /**
   * How the current hint was obtained (bytes downloaded): the whole hint, a hint delta (the changed
   * rows), or a record delta (the changed records' differences, turned into rows locally).
   */
  readonly lastHintUpdate: { kind: 'full' | 'delta' | 'records'; bytes: number };
  /**
   * Fetches record `index` privately: a fresh query of constant size, one answer, local decode.
   * If the server moved to a new version (409), verifies the new config and hint and retries once;
   * an older version than one already seen is refused as a rollback (PirIntegrityError).
   *
   * @example
   *
   * ```ts
   * const record = await db.get(42);   // Uint8Array(db.params.recordSize)
   * ```
   */
  get(index: number): Promise<Uint8Array>;
  /**
   * Keyword databases: the value stored under `key` (bytes, or a string taken as UTF-8), or null.
   * Always 2 × config.keyword.recordsPerBucket private queries, present or not (src/client/pir-keyword.ts).
   *
   * @example
   *
   * ```ts
   * const value = await db.lookup('+15551234567');   // Uint8Array | null
   * ```
   */
  lookup(key: Uint8Array | string): Promise<Uint8Array | null>;
  /**
   * Re-reads the config; when the version changed, updates the hint: by a hint delta when the new
   * version is a patch of this one's chain (getPirHintDelta, checked against the signed hintSha256),
   * else (or if the delta is refused or does not verify) by downloading and verifying the whole hint.
   */
  refresh(): Promise<void>;
}

/** `client.pir`: private information retrieval. */
export interface PirApi {
  /**
   * Fetches and verifies the config (signature, pin, shape) and the hint (SHA-256), see
   * PirDatabaseHandle; any failed check throws a PirIntegrityError.
   *
   * @example
   *
   * ```ts
   * const db = await client.pir.open('demo', { identityPublicKey });   // pin: raw bytes or base64url
   * ```
   */
  open(name: string, options?: PirOpenOptions): Promise<PirDatabaseHandle>;
  /**
   * Admin: uploads concatenated `recordSize`-byte records as a new version; returns its config (unverified).
   * `queriesPerHint` (default 16) tunes the shape (docs/PIR.md, Shape rule).
   */
  upload(name: string, records: Uint8Array, recordSize: number, options?: { queriesPerHint?: number }): Promise<PirConfig>;
  /**
   * Admin: upserts (`record` bytes) and deletes (`record: null`) records of the current version
   * `baseVersion`, making version baseVersion + 1 with an incremental hint; returns its config (unverified).
   * A stale baseVersion fails with 409 (the problem carries currentConfig). Index databases only.
   *
   * @example
   *
   * ```ts
   * await admin.pir.patch('demo', 3, [{ index: 7, record: bytes }, { index: 9, record: null }], 32);
   * ```
   */
  patch(name: string, baseVersion: number, changes: readonly RecordChange[], recordSize: number): Promise<PirConfig>;
  /** Admin: uploads (key → value) entries as a new keyword-database version (values ≤ maxValueSize bytes). */
  uploadKeyword(name: string, entries: Iterable<{ key: Uint8Array; value: Uint8Array }>, maxValueSize: number): Promise<PirConfig>;
  /** The private public-key directory (src/client/pir-keyword.ts). */
  directory: DirectoryApi;
}

interface Verified { config: PirConfigJson; seed: Uint8Array; hint: Uint32Array; A: Uint32Array | undefined }

/** Largest A the SDK caches by default (cacheA unset). */
const AUTO_CACHE_A_BYTES = 512 * 1024 * 1024;

/**
 * Verifies a config (shape, then the ML-DSA-65 signature under context "pqzk pir config v1") against
 * the pinned key, if any; returns the identity it names, or throws a PirIntegrityError.
 */
export function verifyPirConfig(config: unknown, pinned: Uint8Array | undefined): PirIdentity {
  try {
    assertPirConfigShape(config);
  } catch {
    throw new PirIntegrityError('PIR config is malformed');
  }
  const publicKey = base64urlDecode(config.identity.publicKey);
  if (pinned && !constantTimeEqual(publicKey, pinned)) throw new PirIntegrityError('the PIR config is signed by another identity than the pinned key');
  const ok = nobleBackend.verify(PIR_IDENTITY_ALGORITHM, publicKey, pirConfigSignedMessage(config), base64urlDecode(config.signature), { context: pirConfigContext(config) });
  if (!ok) throw new PirIntegrityError('PIR config signature verification failed');
  return { keyId: config.identity.keyId, version: config.identity.version, algorithm: PIR_IDENTITY_ALGORITHM, publicKey };
}

/** Verifies hint bytes against the signed config: exact length and SHA-256 (constant-time compare). */
export function verifyPirHint(config: PirConfigJson, bytes: Uint8Array): Uint32Array {
  if (bytes.length !== config.sizes.hint) throw new PirIntegrityError('PIR hint has the wrong length');
  if (!constantTimeEqual(sha256(bytes), fromHex(config.hintSha256))) throw new PirIntegrityError('PIR hint does not match the signed hash');
  return bytesToU32(bytes, config.sizes.hint / 4);
}

const isProblem = (e: unknown): e is Problem => typeof e === 'object' && e !== null && 'code' in e && 'status' in e;

/** Builds `client.pir` over a generated client; createClient does this for you. */
export function pirApi(api: Client<paths>, unwrap: Unwrap): PirApi {
  // Trust on first use, per client: the first identity seen pins later opens.
  let firstSeen: Uint8Array | undefined;

  type Fetched = Verified & { identity: PirIdentity; update: { kind: 'full' | 'delta' | 'records'; bytes: number } };

  /** The hint of `cfg` from a hint delta over `prev`'s, or undefined (refused, malformed, or not matching the signed hash). */
  async function hintByDelta(name: string, cfg: PirConfigJson, prev: Verified): Promise<{ hint: Uint32Array; bytes: number; kind: 'delta' | 'records' } | undefined> {
    const p = prev.config.params, q = cfg.params;
    if (cfg.parentVersion === undefined || prev.config.seed !== cfg.seed || p.rows !== q.rows || p.cols !== q.cols || p.n !== q.n) return undefined;
    const res = await api.GET('/v1/pir/databases/{name}/hint-delta', {
      params: { path: { name }, query: { from: prev.config.version, version: cfg.version, format: 'auto' } }, parseAs: 'arrayBuffer',
    });
    if (!res.response.ok || !(res.data instanceof ArrayBuffer)) return undefined;
    // No delta is larger than every hint row with its index (a rows delta of all rows): anything more
    // would only cost work before the hash check refuses it.
    if (res.data.byteLength > cfg.sizes.hint + 20 + 4 * q.rows) return undefined;
    try {
      const bytes = new Uint8Array(res.data);
      const records = bytes.length >= 4 && new DataView(res.data).getUint32(0, true) === RECORD_DELTA_MAGIC;
      let hint: Uint32Array;
      if (records) {
        // Record differences: δ·A[c,·] per changed byte, computed here (the rows of A from the seed).
        const rd = decodeRecordDelta(bytes, q);
        if (rd.fromVersion !== prev.config.version || rd.toVersion !== cfg.version) return undefined;
        hint = Uint32Array.from(prev.hint);
        addRowDeltas(hint, q.n, hintRowDeltas(prev.seed, q.n, q.cols, recordDeltaCells(q, rd)));
      } else {
        const delta = decodeHintDelta(bytes, q.n, q.rows);
        if (delta.fromVersion !== prev.config.version || delta.toVersion !== cfg.version) return undefined;
        hint = applyHintDelta(prev.hint, delta);
      }
      // The delta is trusted only through the signed hash of the hint it produces.
      if (!constantTimeEqual(sha256(u32ToBytes(hint)), fromHex(cfg.hintSha256))) return undefined;
      return { hint, bytes: res.data.byteLength, kind: records ? 'records' : 'delta' };
    } catch {
      return undefined;
    }
  }

  async function fetchVerified(name: string, config: unknown, pin: Uint8Array | undefined, cacheA: boolean | undefined, prev?: Verified): Promise<Fetched> {
    const identity = verifyPirConfig(config, pin);
    const cfg = config as PirConfigJson;
    if (cfg.name !== name) throw new PirIntegrityError('the PIR config names another database');
    const seed = base64urlDecode(cfg.seed);
    const viaDelta = prev ? await hintByDelta(name, cfg, prev) : undefined;
    let hint: Uint32Array, update: Fetched['update'];
    if (viaDelta) {
      hint = viaDelta.hint;
      update = { kind: viaDelta.kind, bytes: viaDelta.bytes };
    } else {
      const res = await api.GET('/v1/pir/databases/{name}/hint', {
        params: { path: { name }, query: { version: cfg.version } }, parseAs: 'arrayBuffer',
      });
      hint = verifyPirHint(cfg, new Uint8Array(unwrap(res as { data?: ArrayBuffer; error?: unknown; response: Response })));
      update = { kind: 'full', bytes: cfg.sizes.hint };
    }
    const { cols, n } = cfg.params;
    const sameA = prev?.A && prev.config.seed === cfg.seed && prev.config.params.cols === cols && prev.config.params.n === n;
    const A = (cacheA ?? cols * n * 4 <= AUTO_CACHE_A_BYTES) ? (sameA ? prev.A : expandA(seed, cols, n)) : undefined;
    return { config: cfg, seed, hint, A, identity, update };
  }

  const fail = (message: string): Error => new PirIntegrityError(message);
  const self: PirApi = {
    async open(name, options = {}) {
      const explicit = options.identityPublicKey === undefined ? undefined
        : typeof options.identityPublicKey === 'string' ? base64urlDecode(options.identityPublicKey) : options.identityPublicKey;
      const pin = explicit ?? firstSeen;
      const cacheA = options.cacheA;
      const config = unwrap(await api.GET('/v1/pir/databases/{name}', { params: { path: { name } } }));
      let state = await fetchVerified(name, config, pin, cacheA);
      firstSeen ??= state.identity.publicKey;
      const pinned = pin !== undefined;
      const pinnedKey = pin ?? state.identity.publicKey;

      const adopt = async (next: unknown): Promise<void> => {
        const cfg = next as PirConfigJson | undefined;
        if (cfg?.version === state.config.version) return;
        // A validly signed but older config is a rollback (a server replaying an old version): refuse it.
        if (typeof cfg?.version !== 'number' || cfg.version < state.config.version) {
          throw new PirIntegrityError(`refusing PIR config version ${String(cfg?.version)}: older than version ${state.config.version} already seen`);
        }
        state = await fetchVerified(name, next, pinnedKey, cacheA, state);
      };

      // Parallel reads (a keyword lookup) that all meet the 409 share one hint download.
      let adopting: Promise<void> | undefined;
      const adoptOnce = (next: unknown): Promise<void> => (adopting ??= adopt(next).finally(() => { adopting = undefined; }));

      const attempt = async (index: number): Promise<{ stale?: unknown; record?: Uint8Array }> => {
        const s = state;
        const { query, state: q } = makeQuery(s.config.params, s.seed, index, s.A ? { A: s.A } : {});
        const body = new Uint8Array(query.buffer, query.byteOffset, query.byteLength);
        const res = await api.POST('/v1/pir/databases/{name}/query', {
          params: { path: { name }, query: { version: s.config.version } },
          body: body as never,
          bodySerializer: (b: unknown) => b as never,
          headers: { 'content-type': 'application/octet-stream' },
          parseAs: 'arrayBuffer',
        });
        if (res.response.status === 409 && isProblem(res.error) && 'currentConfig' in res.error) return { stale: res.error['currentConfig'] };
        const bytes = new Uint8Array(unwrap(res as { data?: ArrayBuffer; error?: unknown; response: Response }));
        if (bytes.length !== s.config.sizes.answer) throw new PirIntegrityError('PIR answer has the wrong length');
        return { record: decode(s.config.params, s.hint, bytesToU32(bytes, s.config.params.rows), q) };
      };

      const handle: PirDatabaseHandle = {
        name,
        get version() { return state.config.version; },
        get params() { return state.config.params; },
        get config() { return state.config; },
        get identity() { return state.identity; },
        pinned,
        get lastHintUpdate() { return state.update; },
        async get(index) {
          const first = await attempt(index);
          if (first.record) return first.record;
          await adoptOnce(first.stale);
          const second = await attempt(index);
          if (second.record) return second.record;
          throw new PirIntegrityError('the PIR database changed version twice during one read');
        },
        lookup: (key) => keywordLookup(handle, key, fail),
        async refresh() {
          await adopt(unwrap(await api.GET('/v1/pir/databases/{name}', { params: { path: { name } } })));
        },
      };
      return handle;
    },

    async upload(name, records, recordSize, options = {}) {
      return unwrap(await api.PUT('/v1/pir/databases/{name}', {
        params: { path: { name }, query: { recordSize, ...(options.queriesPerHint === undefined ? {} : { queriesPerHint: options.queriesPerHint }) } },
        body: records as never,
        bodySerializer: (b: unknown) => b as never,
        headers: { 'content-type': 'application/octet-stream' },
      }));
    },

    async patch(name, baseVersion, changes, recordSize) {
      return unwrap(await api.PATCH('/v1/pir/databases/{name}', {
        params: { path: { name }, query: { baseVersion } },
        body: encodeRecordChanges(changes, recordSize) as never,
        bodySerializer: (b: unknown) => b as never,
        headers: { 'content-type': 'application/octet-stream' },
      }));
    },

    async uploadKeyword(name, entries, maxValueSize) {
      return unwrap(await api.PUT('/v1/pir/databases/{name}', {
        params: { path: { name }, query: { format: 'keyword', maxValueSize } },
        body: encodeKeywordEntries(entries) as never,
        bodySerializer: (b: unknown) => b as never,
        headers: { 'content-type': 'application/octet-stream' },
      }));
    },

    directory: directoryApi(api, unwrap, fail, (n, o) => self.open(n, o)),
  };
  return self;
}
