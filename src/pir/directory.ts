/**
 * The private public-key directory (docs/PIR.md, Directory): tenants publish a managed key's current
 * public key under a name (publishDirectoryEntry / unpublishDirectoryEntry); the service maintains the
 * keyword database DIRECTORY_DB_NAME (name → entry signed by the identity key, directory-entry.ts),
 * which anyone queries privately like any keyword database.
 *
 * Rebuild: `rebuildDirectory` (the one place that turns the entry table into a database version)
 * patches the current version when it can (directoryPlan: keyword-patch.ts over the current table,
 * same layout and salt, so clients follow with a hint delta) and uploads a new table when a new
 * entry finds no free slot, more than maxPatchEntries change, or nothing exists yet. It runs debounced (DEBOUNCE_MS after the
 * last change, never two at once on an instance) after publish/unpublish, and on every sweep tick to
 * pick up key rotations and changes made on other instances. It builds a new version only when the
 * content digest (names, algorithms, key versions, public keys, identity) differs from the current
 * version's, so idle instances do not create versions. Entry signatures are stored with the entry and
 * reused while the key version and identity are unchanged: a rebuild signs only what changed.
 *
 * Bounds: at most MAX_ENTRIES entries in all, MAX_PER_OWNER per tenant.
 */
import { sha256 } from '../crypto/hash.ts';
import { base64urlDecode, concatBytes, constantTimeEqual, lp, u64 } from '../crypto/bytes.ts';
import type { CryptoBackend } from '../crypto/backend.ts';
import type { Store } from '../store/index.ts';
import { AppError } from '../errors.ts';
import { encodeKeywordEntries, keywordHash, saltPrefix, type KeywordLayout } from './keyword.ts';
import { keywordRecordChanges, keywordSlots, type KeywordPatchResult, type TableReader } from './keyword-patch.ts';
import {
  assertDirectoryName, directoryEntrySignedMessage, directoryKey, encodeDirectoryValue, DIRECTORY_DB_NAME, DIRECTORY_ENTRY_CONTEXT,
  DIRECTORY_MAX_VALUE, type DirectoryEntry,
} from './directory-entry.ts';
import type { KeywordPirService } from './keyword-service.ts';
import type { PirLog, PirSigner } from './service.ts';

/** Most entries in the directory (the table stays ≈ 40 MB). */
export const MAX_ENTRIES = 4096;
/** Most entries one owner may publish. */
export const MAX_PER_OWNER = 256;
const DEBOUNCE_MS = 1000;
/** Entries a patch may change (beyond it, or when a new entry finds no free slot, the directory is rebuilt in full). */
export const maxPatchEntries = (entries: number): number => Math.max(16, Math.floor(entries / 4));
/**
 * Keys a full rebuild sizes the table for: half (at least 8) more than it holds, at most MAX_ENTRIES,
 * so later publishes find free slots (a new key finds both buckets full with probability ≈ 0.48 at
 * load 0.8, ≈ 0.12 at 1.5× capacity; docs/PIR.md).
 */
export const directoryCapacity = (entries: number): number => Math.max(entries, Math.min(MAX_ENTRIES, entries + Math.max(8, Math.ceil(entries / 2))));

const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * The patch that turns the current directory table into `entries`: slots whose tag no desired
 * entry has are cleared (unpublished or left out), entries that are new or whose value differs are
 * upserted. Reads every slot header and the values of slots a desired entry owns.
 */
export function directoryPlan(layout: KeywordLayout, recordSize: number, read: TableReader,
  entries: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>): KeywordPatchResult {
  const prefix = saltPrefix(base64urlDecode(layout.salt));
  const want = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  for (const e of entries) want.set(hexOf(keywordHash(prefix, e.key, layout.buckets).tag), e);
  const slots = keywordSlots(layout, recordSize, read);
  const held = new Map(slots.map((s) => [hexOf(s.tag), s]));
  const clear = slots.filter((s) => !want.has(hexOf(s.tag))).map(({ bucket, slot }) => ({ bucket, slot }));
  const upserts = [...want].filter(([tag, e]) => { const h = held.get(tag); return !h || !constantTimeEqual(h.value, e.value); }).map(([, e]) => e);
  if (clear.length + upserts.length > maxPatchEntries(entries.length)) return { kind: 'rebuild', reason: `${clear.length + upserts.length} entries change` };
  return keywordRecordChanges(layout, recordSize, read, { upserts, clear });
}

/** What the directory needs of the keys capability: the current public key of an owner's managed key. */
export interface DirectoryKeySource {
  /** Throws AppError `not_found` for an unknown key; `publicKey` is base64url of the raw key. */
  publicKey(owner: string, name: string, opts: { format: 'raw' }): Promise<{ algorithm: string; version: number; publicKey: unknown }>;
}

/** Dependencies of a {@link DirectoryService}. */
export interface DirectoryOptions {
  store: Store;
  keyword: KeywordPirService;
  keys: DirectoryKeySource;
  signer: PirSigner;
  backend: Pick<CryptoBackend, 'verify'>;
  log: PirLog;
}

type EntryRow = {
  entry_name: string; owner: string; key_name: string; published_at: Date;
  signed_version: number | null; signed_pk_sha256: Uint8Array | null; signed_identity: string | null; signed_at: string | null; signature: Uint8Array | null;
};

/** A published entry as its owner sees it. */
export interface DirectoryListing { entryName: string; keyName: string; publishedAt: string }

/**
 * The directory's entry table and its rebuild into the keyword database.
 *
 * @example
 * await directory.publish('tenant:alice', 'alice@example.org', 'alice-kem');
 * await directory.rebuildDirectory();
 */
export class DirectoryService {
  readonly #o: DirectoryOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #chain: Promise<void> = Promise.resolve();

  constructor(options: DirectoryOptions) {
    this.#o = options;
  }

  /**
   * Publishes (or re-points) `entryName` to the owner's managed key `keyName`.
   *
   * @throws AppError `invalid_input` (bad name), `not_found` (no such key), `conflict` (another owner's
   * name, or the directory is full), `forbidden` (over MAX_PER_OWNER).
   */
  async publish(owner: string, entryName: string, keyName: string): Promise<DirectoryListing> {
    assertDirectoryName(entryName);
    await this.#o.keys.publicKey(owner, keyName, { format: 'raw' });
    const row = await this.#o.store.transaction(async (tx) => {
      const counts = await tx.query<{ total: number; mine: number }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE owner = $1)::int AS mine FROM pir_directory WHERE entry_name <> $2`, [owner, entryName]);
      if (counts[0]!.mine >= MAX_PER_OWNER) throw new AppError('forbidden', `an owner publishes at most ${MAX_PER_OWNER} entries`);
      if (counts[0]!.total >= MAX_ENTRIES) throw new AppError('conflict', `the directory is full (${MAX_ENTRIES} entries)`);
      const rows = await tx.query<EntryRow>(
        `INSERT INTO pir_directory (entry_name, owner, key_name) VALUES ($1, $2, $3)
         ON CONFLICT (entry_name) DO UPDATE SET key_name = EXCLUDED.key_name, published_at = now(), signed_version = NULL, signature = NULL
           WHERE pir_directory.owner = EXCLUDED.owner
         RETURNING *`, [entryName, owner, keyName]);
      return rows[0];
    });
    if (!row) throw new AppError('conflict', 'this entry name is published by another owner');
    this.scheduleRebuild();
    return { entryName: row.entry_name, keyName: row.key_name, publishedAt: row.published_at.toISOString() };
  }

  /** Removes the owner's entry. @throws AppError `not_found` (no such entry of this owner). */
  async unpublish(owner: string, entryName: string): Promise<void> {
    assertDirectoryName(entryName);
    const rows = await this.#o.store.query<{ entry_name: string }>('DELETE FROM pir_directory WHERE entry_name = $1 AND owner = $2 RETURNING entry_name', [entryName, owner]);
    if (rows.length === 0) throw new AppError('not_found', 'no such directory entry');
    this.scheduleRebuild();
  }

  /** The owner's published entries, by name. */
  async list(owner: string): Promise<DirectoryListing[]> {
    const rows = await this.#o.store.query<EntryRow>('SELECT * FROM pir_directory WHERE owner = $1 ORDER BY entry_name LIMIT $2', [owner, MAX_PER_OWNER]);
    return rows.map((r) => ({ entryName: r.entry_name, keyName: r.key_name, publishedAt: r.published_at.toISOString() }));
  }

  /** Runs {@link rebuildDirectory} DEBOUNCE_MS from now (a pending run is pushed back); never two at once. */
  scheduleRebuild(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#running) { this.#again = true; return; }
      this.#running = this.rebuildDirectory().then(() => undefined, (err: unknown) => this.#o.log.error({ err }, 'pir directory: rebuild failed'))
        .finally(() => { this.#running = undefined; if (this.#again) { this.#again = false; this.scheduleRebuild(); } });
    }, DEBOUNCE_MS);
    this.#timer.unref?.();
  }

  /** Cancels a pending rebuild and waits for one under way (app close). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /**
   * Rebuilds the directory database from the entry table, as a new version when its content changed:
   * a patch of the current version when it fits (see the module comment), else a full upload. Entries whose key is gone are left
   * out (and logged). Returns the new version, or undefined when nothing changed (or nothing was
   * ever published: the directory database is created with its first entry).
   */
  rebuildDirectory(): Promise<number | undefined> {
    // One rebuild at a time on this instance: a scheduled and an explicit one queue up.
    const run = this.#chain.then(() => this.#rebuild());
    this.#chain = run.then(() => undefined, () => undefined);
    return run;
  }

  async #rebuild(attempt = 0): Promise<number | undefined> {
    const { store, keys } = this.#o;
    const rows = await store.query<EntryRow>('SELECT * FROM pir_directory ORDER BY entry_name LIMIT $1', [MAX_ENTRIES]);
    const identity = await this.#o.signer.identity();
    const idTag = `${identity.keyId}:${identity.version}`;
    const current: Array<{ row: EntryRow; algorithm: string; version: number; publicKey: Uint8Array }> = [];
    for (const row of rows) {
      try {
        const pk = await keys.publicKey(row.owner, row.key_name, { format: 'raw' });
        current.push({ row, algorithm: pk.algorithm, version: pk.version, publicKey: base64urlDecode(String(pk.publicKey)) });
      } catch (err) {
        // A key that is gone or refuses (any 4xx) drops its entry; it must not block the others.
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        this.#o.log.info({ entry: row.entry_name, code: err.code }, 'pir directory: the published key is unavailable; entry left out');
      }
    }
    const digest = sha256(concatBytes(lp(idTag), ...current.flatMap((c) => [lp(c.row.entry_name), lp(c.algorithm), u64(c.version), lp(c.publicKey)])));
    const existing = await this.#o.keyword.currentSource(DIRECTORY_DB_NAME);
    if (existing && constantTimeEqual(existing, digest)) return undefined;
    // Nothing was ever published: no database (a lookup of a missing directory finds nothing).
    if (!existing && current.length === 0) return undefined;

    const entries: Array<{ key: Uint8Array; value: Uint8Array }> = [];
    for (const c of current) entries.push({ key: directoryKey(c.row.entry_name), value: encodeDirectoryValue(await this.#signed(c, identity, idTag)) });
    if (existing) {
      try {
        const patched = await this.#o.keyword.patch(DIRECTORY_DB_NAME, (layout, recordSize, read) => directoryPlan(layout, recordSize, read, entries), digest);
        if (!('rebuild' in patched)) {
          this.#o.log.info({ version: patched.version, entries: entries.length }, 'pir directory: new version (patch)');
          return patched.version;
        }
        this.#o.log.info({ reason: patched.rebuild }, 'pir directory: full rebuild instead of a patch');
      } catch (err) {
        // Another instance patched or uploaded first: its version may already hold this content.
        if (err instanceof AppError && err.code === 'conflict' && attempt < 2) return this.#rebuild(attempt + 1);
        throw err;
      }
    }
    const config = await this.#o.keyword.put(DIRECTORY_DB_NAME, DIRECTORY_MAX_VALUE, encodeKeywordEntries(entries), digest, directoryCapacity(entries.length));
    this.#o.log.info({ version: config.version, entries: entries.length }, 'pir directory: new version');
    return config.version;
  }

  /** The entry's stored signature when it still covers this key version and identity; else a fresh one (stored). */
  async #signed(c: { row: EntryRow; algorithm: string; version: number; publicKey: Uint8Array },
    identity: Awaited<ReturnType<PirSigner['identity']>>, idTag: string): Promise<DirectoryEntry> {
    const { row } = c;
    const pkHash = sha256(c.publicKey);
    if (row.signature && row.signed_at && row.signed_version === c.version && row.signed_identity === idTag
      && row.signed_pk_sha256 && constantTimeEqual(row.signed_pk_sha256, pkHash)) {
      return { entryName: row.entry_name, owner: row.owner, algorithm: c.algorithm, keyVersion: c.version, publicKey: c.publicKey, signedAt: row.signed_at,
        identityKeyId: identity.keyId, identityVersion: identity.version, signature: row.signature };
    }
    const unsigned = { entryName: row.entry_name, owner: row.owner, algorithm: c.algorithm, keyVersion: c.version, publicKey: c.publicKey,
      signedAt: new Date().toISOString(), identityKeyId: identity.keyId, identityVersion: identity.version };
    const message = directoryEntrySignedMessage(unsigned);
    const signature = await this.#o.signer.signIdentity(message, DIRECTORY_ENTRY_CONTEXT);
    // The identity may rotate between identity() and signIdentity(): never publish what does not verify.
    if (!this.#o.backend.verify('ML-DSA-65', identity.publicKey, message, signature, { context: DIRECTORY_ENTRY_CONTEXT })) {
      throw new AppError('conflict', 'the identity key changed during the directory rebuild; retried on the next change');
    }
    await this.#o.store.query(
      `UPDATE pir_directory SET signed_version = $2, signed_pk_sha256 = $3, signed_identity = $4, signed_at = $5, signature = $6
       WHERE entry_name = $1 AND owner = $7 AND key_name = $8`,
      [row.entry_name, c.version, pkHash, idTag, unsigned.signedAt, signature, row.owner, row.key_name]);
    return { ...unsigned, signature };
  }
}
