/**
 * Keyword PIR uploads (docs/PIR.md, Keyword PIR): a framed (key → value) upload becomes a cuckoo
 * table (keyword.ts) built in the worker pool, then an ordinary index-database version whose signed
 * config carries the table's layout. Queries, hints and configs go through PirService unchanged:
 * a lookup is 2·m ordinary PIR queries.
 *
 * Bounds: the upload ≤ PIR_MAX_DB_BYTES (the route's body limit, checked again here), at most
 * MAX_KEYWORD_ENTRIES entries, keys ≤ 1024 bytes, values ≤ maxValueSize ≤ 8192, the built table ≤
 * PIR_MAX_DB_BYTES (PirService.put), at most MAX_BUILD_ATTEMPTS salts. Everything is checked before
 * the store is touched: a refused upload changes nothing.
 */
import { sha256 } from '../crypto/hash.ts';
import { runInScope } from '../workers/request-scope.ts';
import type { WorkerPool } from '../workers/pool.ts';
import type { CryptoBackend } from '../crypto/backend.ts';
import type { Queryable } from '../store/index.ts';
import { AppError, CryptoInputError } from '../errors.ts';
import { MAX_BUILD_ATTEMPTS, MAX_VALUE_BYTES, SALT_BYTES } from './keyword.ts';
import type { PirConfigJson } from './config.ts';
import type { PirService } from './service.ts';
import type { KeywordPatchPlan } from './patch.ts';
import { pirRepo } from './repo.ts';

/** The build is the admin's (or the service's own) work, with no request deadline. */
const BUILD_SCOPE = { principal: 'admin' } as const;

/** Dependencies of a {@link KeywordPirService}. */
export interface KeywordPirServiceOptions {
  pir: PirService;
  pool: WorkerPool;
  backend: Pick<CryptoBackend, 'randomBytes'>;
  store: Queryable;
  maxDbBytes: number;
  graceSeconds: number;
}

/**
 * Builds keyword databases and stores them as PIR versions.
 *
 * @example
 * const kw = new KeywordPirService({ pir, pool, backend, store, maxDbBytes, graceSeconds });
 * const config = await kw.put('spam', 32, encodeKeywordEntries([{ key, value }]));
 */
export class KeywordPirService {
  readonly #o: KeywordPirServiceOptions;

  constructor(options: KeywordPirServiceOptions) {
    this.#o = options;
  }

  /**
   * Creates the next version of `name` from a framed upload (keyword.ts `encodeKeywordEntries`)
   * with values of at most `maxValueSize` bytes. Returns the signed config (with `keyword`).
   * `sourceDigest` (default SHA-256 of the body) is stored as the version's source digest;
   * `capacity` sizes the table for up to that many keys (free slots for later patches, lowered to fit
   * PIR_MAX_DB_BYTES; see buildKeywordTable).
   *
   * @throws AppError `invalid_input` (bad framing, duplicate or oversize key, oversize value, no salt
   * worked), `payload_too_large` (upload or table over PIR_MAX_DB_BYTES), `conflict` (racing uploads).
   */
  async put(name: string, maxValueSize: number, body: Uint8Array, sourceDigest?: Uint8Array, capacity?: number): Promise<PirConfigJson> {
    if (!Number.isSafeInteger(maxValueSize) || maxValueSize < 0 || maxValueSize > MAX_VALUE_BYTES) {
      throw new CryptoInputError(`maxValueSize must be 0..${MAX_VALUE_BYTES}`);
    }
    if (body.length > this.#o.maxDbBytes) throw new AppError('payload_too_large', `keyword database larger than ${this.#o.maxDbBytes} bytes`);
    const salts = Array.from({ length: MAX_BUILD_ATTEMPTS }, () => this.#o.backend.randomBytes(SALT_BYTES));
    const table = await runInScope(BUILD_SCOPE, () => this.#o.pool.run('pir.keywordBuild', { body, maxValueSize, salts, ...(capacity === undefined ? {} : { capacity, maxTableBytes: this.#o.maxDbBytes }) }));
    if (table.records.length > this.#o.maxDbBytes) {
      throw new AppError('payload_too_large', `the keyword table of ${table.records.length} bytes exceeds ${this.#o.maxDbBytes} bytes`);
    }
    // The whole version build (layout, hint, config signature) is upload work, not bound by the request deadline.
    return runInScope(BUILD_SCOPE, () => this.#o.pir.put(name, table.recordSize, table.records, undefined, { layout: table.layout, sourceSha256: sourceDigest ?? sha256(body) }));
  }

  /**
   * Patches the current version of `name` in place of an upload: `plan` (keyword-patch.ts
   * `keywordRecordChanges` over the base table) gives the record changes; the new version keeps the
   * layout and salt, so clients follow with a hint delta. Returns the signed config, or
   * `{ rebuild }` when the change does not fit the table (the caller uploads instead).
   *
   * @throws AppError `conflict` (a concurrent upload or patch won), `invalid_input` (not a keyword database), `not_found`.
   */
  async patch(name: string, plan: KeywordPatchPlan, sourceDigest: Uint8Array): Promise<PirConfigJson | { rebuild: string }> {
    return runInScope(BUILD_SCOPE, () => this.#o.pir.applyKeywordPatch(name, plan, sourceDigest));
  }

  /** SHA-256 of the upload the current version of `name` was built from, or undefined (none, or not keyword). */
  async currentSource(name: string): Promise<Uint8Array | undefined> {
    const rows = await pirRepo.answerable(this.#o.store, name, this.#o.graceSeconds);
    return rows[0]?.source_sha256 ?? undefined;
  }
}
