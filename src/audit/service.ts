/**
 * The audit capability's logic (no fastify): appending through the group-commit log, reading
 * records, building inclusion and consistency proofs out of stored perfect subtrees (O(log n)
 * rows per proof), and signing checkpoints with the service identity key.
 */
import type { Store } from '../store/index.ts';
import { AppError } from '../errors.ts';
import { base64urlEncode } from '../crypto/bytes.ts';
import { CHECKPOINT_ALGORITHM, CHECKPOINT_CONTEXT, checkpointMessage, decodeRecord, type AuditCheckpoint, type AuditRecord, type PendingRecord } from './format.ts';
import { EMPTY_ROOT, consistencyPlan, coverNodes, inclusionPlan, rangeHash, rootRange, type LeafRange } from './merkle.ts';
import { getNodes, headSize, insertCheckpoint, latestCheckpoint, listRecords } from './repo.ts';
import { AuditLog } from './log.ts';

/** What the service needs of the identity key (ctx.systemKeys, provided by keys). */
export interface AuditSigner {
  identity(): Promise<{ keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: Uint8Array }>;
  identityVersions(): Promise<Array<{ keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: Uint8Array }>>;
  signIdentity(message: Uint8Array, context?: Uint8Array): Promise<Uint8Array>;
}

/** Options of the audit service. */
export interface AuditServiceOptions {
  store: Store;
  signer: AuditSigner;
  maxBatch: number;
  /** See AuditLogOptions.batchWaitMs. */
  batchWaitMs?: number;
  maxRange: number;
  onCommit?: (records: AuditRecord[]) => void;
  now?: () => Date;
}

/** A record with its seq, as getAuditRecords returns it. */
export type ListedRecord = AuditRecord;

const enc = (b: Uint8Array) => base64urlEncode(b);

/** The audit service (see the module header). */
export class AuditService {
  readonly log: AuditLog;
  readonly #store: Store;
  readonly #signer: AuditSigner;
  /** Most records one page holds (AUDIT_MAX_RANGE). */
  readonly maxRange: number;
  readonly #now: () => Date;

  constructor(opts: AuditServiceOptions) {
    this.#store = opts.store;
    this.#signer = opts.signer;
    this.maxRange = opts.maxRange;
    this.#now = opts.now ?? (() => new Date());
    this.log = new AuditLog({ store: opts.store, maxBatch: opts.maxBatch, batchWaitMs: opts.batchWaitMs ?? 0, ...(opts.onCommit ? { onCommit: opts.onCommit } : {}) });
  }

  /** Appends a record; resolves with its seq once committed. */
  append(record: PendingRecord): Promise<number> {
    return this.log.append(record);
  }

  /** The committed tree size. */
  size(): Promise<number> {
    return headSize(this.#store);
  }

  /** RFC 9162 hashes of `ranges` from one query of stored nodes. */
  async #hashes(ranges: LeafRange[]): Promise<Uint8Array[]> {
    const nodes = await getNodes(this.#store, coverNodes(ranges));
    const get = (level: number, index: number) => {
      const h = nodes.get(`${level}:${index}`);
      if (!h) throw new Error(`audit tree node ${level}:${index} missing`);
      return h;
    };
    return ranges.map((r) => rangeHash(r, get));
  }

  /** The root hash of the tree of `size` leaves (size ≤ the committed size). */
  async root(size: number): Promise<Uint8Array> {
    if (size === 0) return EMPTY_ROOT;
    return (await this.#hashes([rootRange(size)]))[0]!;
  }

  async #assertWithin(treeSize: number, what: string): Promise<number> {
    const size = await this.size();
    if (treeSize > size) throw new AppError('invalid_input', `${what} ${treeSize} is beyond the tree (size ${size})`, { field: what, treeSize: size });
    return size;
  }

  /** The inclusion proof of record `seq` in the tree of `treeSize` records (RFC 9162 §2.1.3.1). */
  async inclusionProof(seq: number, treeSize: number): Promise<{ seq: number; treeSize: number; rootHash: string; proof: string[] }> {
    if (seq >= treeSize) throw new AppError('invalid_input', `seq ${seq} is not below treeSize ${treeSize}`, { field: 'seq' });
    await this.#assertWithin(treeSize, 'treeSize');
    const plan = inclusionPlan(seq, treeSize);
    const hashes = await this.#hashes([...plan, rootRange(treeSize)]);
    return { seq, treeSize, rootHash: enc(hashes.pop()!), proof: hashes.map(enc) };
  }

  /** The consistency proof between the trees of `from` and `to` records (RFC 9162 §2.1.4.1). */
  async consistencyProof(from: number, to: number): Promise<{ from: number; to: number; fromRootHash: string; toRootHash: string; proof: string[] }> {
    if (from > to) throw new AppError('invalid_input', `from ${from} exceeds to ${to}`, { field: 'from' });
    await this.#assertWithin(to, 'to');
    const plan = consistencyPlan(from, to);
    const hashes = await this.#hashes([...plan, rootRange(from), rootRange(to)]);
    const toRoot = hashes.pop()!;
    const fromRoot = hashes.pop()!;
    return { from, to, fromRootHash: enc(fromRoot), toRootHash: enc(toRoot), proof: hashes.map(enc) };
  }

  /**
   * Records with seq ≥ from, at most `limit` (≤ maxRange), of one principal when `principal` is
   * given; `treeSize` is the committed size they were read below.
   */
  async records(from: number, limit: number, principal?: string): Promise<{ treeSize: number; records: ListedRecord[]; next?: number }> {
    if (limit > this.maxRange) throw new AppError('invalid_input', `limit ${limit} exceeds the maximum ${this.maxRange}`, { field: 'limit' });
    const treeSize = await this.size();
    const rows = await listRecords(this.#store, from, limit, treeSize, principal);
    const records = rows.map((r) => {
      try { return decodeRecord(r.leaf); } catch { throw new AppError('internal', `audit record ${r.seq} is not decodable`); }
    });
    const last = rows.at(-1);
    return { treeSize, records, ...(rows.length === limit && last ? { next: last.seq + 1 } : {}) };
  }

  /** The latest stored checkpoint, or a fresh one when none was signed yet. */
  async checkpoint(): Promise<AuditCheckpoint> {
    const row = await latestCheckpoint(this.#store);
    if (!row) return this.#signShared();
    const versions = await this.#signer.identityVersions();
    const id = versions.find((v) => v.version === row.identityVersion && v.keyId === row.keyId);
    if (!id) return this.#signShared();
    return {
      treeSize: row.treeSize, rootHash: enc(row.rootHash), time: row.signedAt,
      identity: { keyId: id.keyId, version: id.version, algorithm: CHECKPOINT_ALGORITHM, publicKey: enc(id.publicKey) },
      signature: enc(row.signature),
    };
  }

  /**
   * The timer's and the on-demand first checkpoint's signing: overlapping calls share one signature
   * (they raced into two checkpoints of one size). An explicit createAuditCheckpoint does not share:
   * its caller wants a checkpoint signed after its request, by the identity current then.
   */
  #signShared(): Promise<AuditCheckpoint> {
    this.#signing ??= this.signCheckpoint().finally(() => { this.#signing = undefined; });
    return this.#signing;
  }

  #signing: Promise<AuditCheckpoint> | undefined;

  /** Signs (tree size, root, time) for the committed size now, stores and returns it. */
  async signCheckpoint(): Promise<AuditCheckpoint> {
    const treeSize = await this.size();
    const rootHash = await this.root(treeSize);
    const id = await this.#signer.identity();
    const unsigned = {
      treeSize, rootHash: enc(rootHash), time: this.#now().toISOString(),
      identity: { keyId: id.keyId, version: id.version, algorithm: CHECKPOINT_ALGORITHM, publicKey: enc(id.publicKey) },
    } as const;
    const signature = await this.#signer.signIdentity(checkpointMessage(unsigned), CHECKPOINT_CONTEXT);
    await insertCheckpoint(this.#store, { treeSize, rootHash, signedAt: unsigned.time, keyId: id.keyId, identityVersion: id.version, signature });
    return { ...unsigned, signature: enc(signature) };
  }

  /** The periodic task: signs a checkpoint when the log grew past the latest one. */
  async maintain(): Promise<void> {
    const [size, latest] = await Promise.all([this.size(), latestCheckpoint(this.#store)]);
    if (!latest || size > latest.treeSize) await this.#signShared();
  }

  /** Waits for queued records and refuses new ones. */
  close(): Promise<void> {
    return this.log.close();
  }
}
