/**
 * The pir capability's logic (no fastify): upload a database version, publish its signed config
 * and hint, answer queries with one full scan.
 *
 * Storage: the records (as uploaded) and the hint live in the store (pir_blobs, 4 MiB chunks), so
 * every instance on one PostgreSQL sees every version; each instance loads a version lazily into a
 * shared WebAssembly.Memory on first use and caches it while it is answerable. Uploads are bounded
 * by PIR_MAX_DB_BYTES (default 64 MiB). A version is answerable while it is the newest, and for
 * PIR_GRACE_SECONDS after a newer one superseded it; then its blobs are purged.
 *
 * Constant shape: a query is exactly cols·4 bytes for its version, the answer rows·4 bytes, and the
 * work is one scan of the whole matrix whatever the query holds. Small matrices are scanned on the
 * event loop (PIR_INLINE_SCAN_BYTES, a scan of 4 MiB takes about 0.4 ms), larger ones in the worker
 * pool, split by rows across its threads.
 */
import { sha256 } from '../crypto/hash.ts';
import { runInScope } from '../workers/request-scope.ts';
import type { Store } from '../store/index.ts';
import { isUniqueViolation } from '../store/index.ts';
import type { WorkerPool } from '../workers/pool.ts';
import type { CryptoBackend } from '../crypto/backend.ts';
import { base64urlEncode, toHex, constantTimeEqual } from '../crypto/bytes.ts';
import { AppError, CryptoInputError } from '../errors.ts';
import { assertPirParams, choosePirParams, pirSizes, type PirParams } from './params.ts';
import { allocateMatrix, answerQuery, partitionRows, placeHintColumns } from './server.ts';
import type { PirKernel, PirMatrix } from './reference-kernel.ts';
import { bytesToU32 } from './wire.ts';
import { SEED_BYTES } from './matrixA.ts';
import { pirConfigContext, pirConfigSignedMessage, type PirConfigJson, type UnsignedPirConfig } from './config.ts';
import { pirRepo, type PirVersionRow } from './repo.ts';
import type { LoadedVersion, PirServiceInternals } from './internals.ts';
import { applyKeywordPatch, applyRecordChanges, hintDelta, type DeltaFormat, type KeywordPatchPlan, type RecordChanges } from './patch.ts';
import type { KeywordLayout } from './keyword.ts';
/** Upload work (layout, hint: seconds for large databases) is the admin's, with no request deadline. */
const UPLOAD_SCOPE = { principal: 'admin' } as const;

/** What the service needs of the identity key (ctx.systemKeys). */
export interface PirSigner {
  /** The current identity public key. */
  identity(): Promise<{ keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: Uint8Array }>;
  /** Signs `message` with the identity key under the optional ML-DSA `context`. */
  signIdentity(message: Uint8Array, context?: Uint8Array): Promise<Uint8Array>;
}

/** The logger the service writes to (pino-compatible; the app's logger in production). */
export interface PirLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: object): PirLog;
}

/** Dependencies and limits of a {@link PirService}: byte bounds, grace period in seconds. */
export interface PirServiceOptions {
  store: Store;
  pool: WorkerPool;
  backend: Pick<CryptoBackend, 'verify' | 'randomBytes'>;
  log: PirLog;
  signer: PirSigner;
  /** Main-thread kernel for inline scans. */
  kernel: PirKernel;
  maxDbBytes: number;
  graceSeconds: number;
  inlineScanBytes: number;
}

/** How long an instance trusts its list of answerable versions of a name (multi-instance staleness bound). */
const META_TTL_MS = 2000;
/** A request naming a version this instance does not know re-reads the store at most this often per name. */
const META_MISS_REFRESH_MS = 200;
const META_CACHE_MAX = 1024;
const HINT_COLUMNS_PER_TASK = 64;
/** Versions of one name a patch leaves in memory (the newest); older answerable ones reload on demand. */
const MAX_LOADED_PER_NAME = 3;
const INSERT_ATTEMPTS = 3;

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Little-endian bytes of a uint32 array: a view on little-endian hosts (no copy of a large hint). */
function leBytes(v: Uint32Array): Uint8Array {
  if (littleEndian) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setUint32(4 * i, v[i]!, true);
  return out;
}

/**
 * Versioned PIR databases over the store, scanned inline or in the worker pool.
 *
 * @example
 * const pir = new PirService({ store, pool, backend, log, signer, kernel, maxDbBytes, graceSeconds, inlineScanBytes });
 * const config = await pir.put('books', 32, records);
 * const { answer } = await pir.query('books', config.version, queryBytes);
 */
export class PirService {
  readonly #o: PirServiceOptions;
  readonly #meta = new Map<string, { at: number; rows: PirVersionRow[] }>();
  readonly #loaded = new Map<string, Promise<LoadedVersion>>();
  readonly #signed = new Map<string, PirConfigJson>();
  #identity: { at: number; id: Awaited<ReturnType<PirSigner['identity']>> } | undefined;

  constructor(options: PirServiceOptions) {
    this.#o = options;
  }

  /**
   * Creates the next version of `name` from concatenated records of `recordSize` bytes: layout and
   * hint in the worker pool, then one store transaction. Returns its signed config. `keyword`
   * marks a keyword database (keyword-service.ts): its layout is stored and signed with the config.
   *
   * @throws AppError `invalid_input` (length not a multiple of recordSize, bad parameters),
   * `payload_too_large` (over maxDbBytes), `conflict` (concurrent uploads; retry).
   */
  async put(name: string, recordSize: number, records: Uint8Array, queriesPerHint?: number, keyword?: { layout: KeywordLayout; sourceSha256: Uint8Array }): Promise<PirConfigJson> {
    if (records.length === 0 || records.length % recordSize !== 0) {
      throw new CryptoInputError(`body length ${records.length} is not a positive multiple of recordSize ${recordSize}`);
    }
    if (records.length > this.#o.maxDbBytes) throw new AppError('payload_too_large', `database larger than ${this.#o.maxDbBytes} bytes`);
    const started = performance.now();
    const params = choosePirParams(records.length / recordSize, recordSize, queriesPerHint);
    const log = this.#o.log.child({ pir: name });
    log.info({ recordCount: params.recordCount, recordSize, rows: params.rows, cols: params.cols }, 'pir upload: building database');
    const matrix = await this.#layout(params, records);
    const seed = this.#o.backend.randomBytes(SEED_BYTES);
    const hint = leBytes(await this.#computeHint(params, matrix, seed, log));
    const hintSha256 = sha256(hint);
    const recordsSha256 = sha256(records);
    let row: PirVersionRow | undefined;
    for (let attempt = 1; !row; attempt++) {
      try {
        row = await this.#o.store.transaction((tx) => pirRepo.insertVersion(tx, {
          name, params: JSON.stringify(params), seed, records, recordsSha256, hint, hintSha256,
          keyword: keyword && JSON.stringify(keyword.layout), sourceSha256: keyword?.sourceSha256,
        }));
      } catch (err) {
        // Another upload of the same name took the version number first: take the next one.
        if (!isUniqueViolation(err) || attempt >= INSERT_ATTEMPTS) {
          if (isUniqueViolation(err)) throw new AppError('conflict', 'concurrent uploads of this database; retry');
          throw err;
        }
      }
    }
    this.#meta.delete(name);
    const loaded: LoadedVersion = { row, params, matrix, hint };
    this.#loaded.set(`${name}@${row.version}`, Promise.resolve(loaded));
    log.info({ version: row.version, ms: Math.round(performance.now() - started) }, 'pir upload: version stored');
    // Signing runs in the pool: outside the request's deadline, which a long build has spent.
    return runInScope(UPLOAD_SCOPE, () => this.#signedConfig(row, params));
  }

  /**
   * The signed config of the current version.
   *
   * @throws AppError `not_found` (no such database), `internal` (signing failed).
   */
  async config(name: string): Promise<PirConfigJson> {
    const row = await this.#resolve(name, undefined);
    return this.#signedConfig(row, this.#paramsOf(row));
  }

  /**
   * The hint bytes of a version (default the current one).
   *
   * @throws AppError `not_found`, `conflict` (version not answerable; the problem carries currentConfig), `internal` (damaged blob).
   */
  async hint(name: string, version: number | undefined): Promise<{ version: number; bytes: Uint8Array; sha256: string }> {
    const lv = await this.#load(await this.#resolve(name, version));
    return { version: lv.row.version, bytes: lv.hint, sha256: toHex(lv.row.hint_sha256) };
  }

  /**
   * Answer = D·query mod 2^32 for a query built for `version`: exactly cols·4 bytes in, rows·4 bytes out.
   *
   * @throws AppError `invalid_input` (wrong query length), `not_found`, `conflict` (stale version, with currentConfig).
   */
  async query(name: string, version: number, body: Uint8Array, charge?: (matrixBytes: number) => void): Promise<{ version: number; answer: Uint8Array }> {
    const lv = await this.#load(await this.#resolve(name, version));
    const { rows, cols } = lv.params;
    charge?.(rows * cols);
    if (body.length % 4 !== 0) throw new CryptoInputError('query length must be a multiple of 4 bytes');
    if (body.length !== cols * 4) throw new CryptoInputError(`query must be exactly ${cols * 4} bytes for version ${version}`);
    const query = bytesToU32(body, cols);
    let answer: Uint32Array;
    if (rows * cols <= this.#o.inlineScanBytes) {
      answer = answerQuery({ params: lv.params, matrix: lv.matrix }, query, this.#o.kernel);
    } else {
      const ranges = partitionRows(rows, this.#o.pool.threads);
      const slices = await Promise.all(ranges.map(([rowStart, rowEnd]) =>
        this.#o.pool.run('pir.scan', { dbMemory: lv.matrix.memory!, rows, cols, rowStart, rowEnd, query })));
      answer = new Uint32Array(rows);
      slices.forEach((s, i) => answer.set(s, ranges[i]![0]));
    }
    return { version: lv.row.version, answer: leBytes(answer) };
  }

  /** Purges blobs of versions past their grace period (any instance may run it) and drops them from memory. */
  async sweep(): Promise<void> {
    const purged = await pirRepo.purgeRetired(this.#o.store, this.#o.graceSeconds);
    for (const p of purged) this.#o.log.info({ pir: p.name, version: p.version }, 'pir: retired version purged');
    const names = new Set([...this.#loaded.keys()].map((k) => k.slice(0, k.lastIndexOf('@'))));
    for (const name of names) {
      const live = new Set((await this.#versions(name, true)).map((r) => `${name}@${r.version}`));
      for (const key of [...this.#loaded.keys()]) if (key.startsWith(`${name}@`) && !live.has(key)) this.#loaded.delete(key);
    }
    if (this.#signed.size > 256) this.#signed.clear();
  }

  /** Upserts/deletes records of the current version `baseVersion` as version baseVersion + 1 (patch.ts). */
  applyRecordChanges(name: string, baseVersion: number, changes: RecordChanges): Promise<PirConfigJson> {
    return applyRecordChanges(this.internals(), name, baseVersion, changes);
  }

  /** Patches the current version of keyword database `name` from a key-level plan (patch.ts `applyKeywordPatch`). */
  applyKeywordPatch(name: string, plan: KeywordPatchPlan, sourceSha256: Uint8Array): Promise<PirConfigJson | { rebuild: string }> {
    return applyKeywordPatch(this.internals(), name, plan, sourceSha256);
  }

  /** The hint rows changed from version `from` to `version` (default current), patch.ts `hintDelta`. */
  hintDelta(name: string, from: number, version: number | undefined, format?: DeltaFormat): Promise<{ version: number; bytes: Uint8Array }> {
    return hintDelta(this.internals(), name, from, version, format);
  }

  /** The state and steps patch.ts uses (one capability, split across files). */
  internals(): PirServiceInternals {
    return {
      store: this.#o.store, pool: this.#o.pool, log: this.#o.log,
      resolve: (name, version) => this.#resolve(name, version),
      load: (row) => this.#load(row),
      signedConfig: (row) => this.#signedConfig(row, this.#paramsOf(row)),
      adopt: (lv) => {
        this.#meta.delete(lv.row.name);
        this.#loaded.set(`${lv.row.name}@${lv.row.version}`, Promise.resolve(lv));
        // Frequent patches: keep the newest few in memory; an older answerable one reloads from the store if asked for.
        const versionOf = (k: string): number => Number(k.slice(k.lastIndexOf('@') + 1));
        const mine = [...this.#loaded.keys()].filter((k) => k.startsWith(`${lv.row.name}@`)).sort((x, y) => versionOf(y) - versionOf(x));
        for (const k of mine.slice(MAX_LOADED_PER_NAME)) this.#loaded.delete(k);
      },
      forget: (name) => this.#meta.delete(name),
    };
  }

  /** Versions currently loaded in this instance (for tests and metrics). */
  loadedVersions(): string[] {
    return [...this.#loaded.keys()];
  }

  async #layout(params: PirParams, records: Uint8Array): Promise<PirMatrix> {
    const matrix = allocateMatrix(params.rows, params.cols);
    if (!matrix.memory) throw new AppError('internal', 'shared WebAssembly memory is unavailable');
    await runInScope(UPLOAD_SCOPE, () => this.#o.pool.run('pir.layout', { dbMemory: matrix.memory!, params, records }));
    return matrix;
  }

  async #computeHint(params: PirParams, matrix: PirMatrix, seed: Uint8Array, log: PirLog): Promise<Uint32Array> {
    const { rows, cols, n } = params;
    const hint = new Uint32Array(rows * n);
    const chunks: Array<[number, number]> = [];
    for (let k = 0; k < n; k += HINT_COLUMNS_PER_TASK) chunks.push([k, Math.min(n, k + HINT_COLUMNS_PER_TASK)]);
    let next = 0, done = 0, lastLogged = 0;
    const started = performance.now();
    // At most `threads` chunks in flight, so other users of the pool interleave with a long hint.
    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        const [kStart, kEnd] = chunks[next++]!;
        const block = await runInScope(UPLOAD_SCOPE, () => this.#o.pool.run('pir.hint', { dbMemory: matrix.memory!, rows, cols, seed, kStart, kEnd }));
        placeHintColumns(hint, rows, n, kStart, block);
        done += kEnd - kStart;
        const pct = Math.floor((100 * done) / n);
        if (pct >= lastLogged + 10 || done === n) {
          lastLogged = pct;
          log.info({ columns: done, of: n, percent: pct, seconds: Math.round(performance.now() - started) / 1000 }, 'pir upload: hint progress');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.#o.pool.threads, chunks.length)) }, worker));
    return hint;
  }

  #paramsOf(row: PirVersionRow): PirParams {
    const params = JSON.parse(row.params) as unknown;
    assertPirParams(params);
    return params;
  }

  async #versions(name: string, fresh: boolean): Promise<PirVersionRow[]> {
    const now = Date.now();
    const cached = this.#meta.get(name);
    if (cached && !fresh && now - cached.at < META_TTL_MS) return cached.rows;
    const rows = await pirRepo.answerable(this.#o.store, name, this.#o.graceSeconds);
    if (this.#meta.size >= META_CACHE_MAX) this.#meta.clear();
    this.#meta.set(name, { at: now, rows });
    return rows;
  }

  /** The row of an answerable version (default the newest); 404 for an unknown name, 409 + current config for a stale version. */
  async #resolve(name: string, version: number | undefined): Promise<PirVersionRow> {
    let rows = await this.#versions(name, false);
    const answerable = (r: PirVersionRow): boolean =>
      r.retired_at === null || r.retired_at.getTime() + this.#o.graceSeconds * 1000 > Date.now();
    // Only the newest MAX_LOADED_PER_NAME versions within their grace are answered: every answerable
    // version is a matrix in memory, and patches (the directory's too) can make many in a grace period.
    const pick = (all: PirVersionRow[]) => version === undefined ? all[0]
      : all.filter(answerable).slice(0, MAX_LOADED_PER_NAME).find((r) => r.version === version);
    let row = pick(rows);
    if (!row) {
      const cached = this.#meta.get(name);
      if (!cached || Date.now() - cached.at >= META_MISS_REFRESH_MS) {
        rows = await this.#versions(name, true);
        row = pick(rows);
      }
    }
    if (row) return row;
    const current = rows[0];
    if (!current) throw new AppError('not_found', 'no such PIR database');
    throw new AppError('conflict', `version ${version} is not answerable; the current version is ${current.version}`, {
      currentConfig: await this.#signedConfig(current, this.#paramsOf(current)),
    });
  }

  async #load(row: PirVersionRow): Promise<LoadedVersion> {
    const key = `${row.name}@${row.version}`;
    let p = this.#loaded.get(key);
    if (!p) {
      p = this.#loadFromStore(row);
      this.#loaded.set(key, p);
      p.catch(() => this.#loaded.delete(key));
    }
    return p;
  }

  async #loadFromStore(row: PirVersionRow): Promise<LoadedVersion> {
    const started = performance.now();
    const params = this.#paramsOf(row);
    const { store } = this.#o;
    const records = await pirRepo.blob(store, row.name, row.version, 'records', row.records_bytes);
    const hint = await pirRepo.blob(store, row.name, row.version, 'hint', pirSizes(params).hint);
    // Integrity at rest: a damaged or substituted blob is refused, never served.
    if (!constantTimeEqual(sha256(records), row.records_sha256) || !constantTimeEqual(sha256(hint), row.hint_sha256)) {
      this.#o.log.error({ pir: row.name, version: row.version }, 'pir: stored blob does not match its SHA-256');
      throw new AppError('internal', 'stored PIR database is damaged');
    }
    const matrix = await this.#layout(params, records);
    this.#o.log.info({ pir: row.name, version: row.version, ms: Math.round(performance.now() - started) }, 'pir: version loaded');
    return { row, params, matrix, hint };
  }

  async #currentIdentity(fresh: boolean): Promise<Awaited<ReturnType<PirSigner['identity']>>> {
    if (fresh || !this.#identity || Date.now() - this.#identity.at > 5000) {
      this.#identity = { at: Date.now(), id: await this.#o.signer.identity() };
    }
    return this.#identity.id;
  }

  async #signedConfig(row: PirVersionRow, params: PirParams): Promise<PirConfigJson> {
    for (let attempt = 0; ; attempt++) {
      const id = await this.#currentIdentity(attempt > 0);
      const key = `${row.name}@${row.version}#${id.keyId}:${id.version}`;
      const hit = this.#signed.get(key);
      if (hit) return hit;
      const unsigned: UnsignedPirConfig = {
        name: row.name, version: row.version, createdAt: row.created_at.toISOString(), params,
        seed: base64urlEncode(row.seed), hintSha256: toHex(row.hint_sha256), sizes: pirSizes(params),
        ...(row.parent_version ? { parentVersion: row.parent_version } : {}),
        identity: { keyId: id.keyId, version: id.version, algorithm: 'ML-DSA-65', publicKey: base64urlEncode(id.publicKey) },
        ...(row.keyword ? { keyword: JSON.parse(row.keyword) as KeywordLayout } : {}),
      };
      const message = pirConfigSignedMessage(unsigned);
      const signature = await this.#o.signer.signIdentity(message, pirConfigContext(unsigned));
      // The identity may rotate between identity() and signIdentity(): never publish a config that does not verify.
      if (this.#o.backend.verify('ML-DSA-65', id.publicKey, message, signature, { context: pirConfigContext(unsigned) })) {
        const config: PirConfigJson = { ...unsigned, signature: base64urlEncode(signature) };
        this.#signed.set(key, config);
        return config;
      }
      if (attempt >= 2) throw new AppError('internal', 'could not sign the PIR config');
    }
  }
}
