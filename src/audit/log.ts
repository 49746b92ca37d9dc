/**
 * The appender with group commit. `append(record)` queues the record and resolves with its seq once
 * the transaction that wrote it has committed; one transaction at a time per instance takes every
 * queued record (at most `maxBatch`), so under load many operations share one commit and idle
 * operations wait for nothing but their own.
 *
 * One transaction: lock the head row (SELECT … FOR UPDATE: appenders on every instance queue here,
 * which gives one linear order with no gaps or duplicates), read the right-edge subtree hashes
 * (≤ log2 n rows), assign seq = size, size + 1, …, encode the leaves, compute the new perfect
 * subtrees (src/audit/merkle.ts appendNodes), insert records and nodes, move the head, commit.
 * A failed transaction rejects every record of its batch (nothing of it was written).
 */
import type { Store } from '../store/index.ts';
import { appendNodes, frontierOf, leafHash } from './merkle.ts';
import { encodeRecord, type AuditRecord, type PendingRecord } from './format.ts';
import { getNodes, insertBatch, lockHead, setHead, type RecordRow, type StoredNode } from './repo.ts';

interface Waiter { record: PendingRecord; resolve: (seq: number) => void; reject: (err: unknown) => void }

/** Options of the appender. */
export interface AuditLogOptions {
  store: Store;
  /** Most records per transaction. */
  maxBatch: number;
  /** Called with the committed records, in seq order, after each commit (the stream). */
  onCommit?: (records: AuditRecord[]) => void;
}

/** The group-commit appender of one instance (see the module header). */
export class AuditLog {
  readonly #store: Store;
  readonly #maxBatch: number;
  readonly #onCommit: ((records: AuditRecord[]) => void) | undefined;
  #queue: Waiter[] = [];
  #running: Promise<void> | undefined;
  #closed = false;
  /** Transactions committed and records written by this instance (metrics, tests). */
  readonly stats = { commits: 0, records: 0 };

  constructor(opts: AuditLogOptions) {
    this.#store = opts.store;
    this.#maxBatch = opts.maxBatch;
    this.#onCommit = opts.onCommit;
  }

  /** Queues a record; resolves with its seq after its commit, rejects when its transaction failed. */
  append(record: PendingRecord): Promise<number> {
    if (this.#closed) return Promise.reject(new Error('audit log closed'));
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ record, resolve, reject });
      this.#running ??= this.#drain().finally(() => { this.#running = undefined; });
    });
  }

  /** Records waiting for a transaction. */
  get pending(): number { return this.#queue.length; }

  /** Refuses new records and waits for the queued ones to be written (or to fail). */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      try {
        const committed = await this.#write(batch.map((w) => w.record));
        this.stats.commits++;
        this.stats.records += committed.length;
        batch.forEach((w, i) => w.resolve(committed[i]!.seq));
        this.#onCommit?.(committed);
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
  }

  async #write(pending: PendingRecord[]): Promise<AuditRecord[]> {
    return this.#store.transaction(async (tx) => {
      const size = await lockHead(tx);
      const ids = frontierOf(size);
      const stored = await getNodes(tx, ids);
      const frontier = ids.map((id) => {
        const h = stored.get(`${id.level}:${id.index}`);
        if (!h) throw new Error(`audit tree node ${id.level}:${id.index} missing below size ${size}`);
        return h;
      });
      const records: AuditRecord[] = pending.map((r, i) => ({ seq: size + i, ...r }));
      const rows: RecordRow[] = records.map((r) => ({ seq: r.seq, principal: r.principal, leaf: encodeRecord(r) }));
      const { nodes } = appendNodes(size, frontier, rows.map((r) => leafHash(r.leaf)));
      await insertBatch(tx, rows, nodes as StoredNode[]);
      await setHead(tx, size + records.length);
      return records;
    });
  }
}
