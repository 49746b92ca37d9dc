/**
 * SDK for the tamper-evident audit log (docs/AUDIT.md): verify a checkpoint's ML-DSA-65 signature
 * under the service identity key, verify that a record is included in the tree a checkpoint signs,
 * and that a later checkpoint extends an earlier one (consistency), all locally (RFC 9162). Pure:
 * no `node:` module (runs in browsers).
 *
 * @example
 *
 * ```ts
 * const old = await client.audit.checkpoint(pinnedIdentityKey);      // verified, keep it
 * const { records } = await client.audit.records({ from: 0 });
 * await client.audit.proveInclusion(records[0], old);               // throws AuditVerificationError if not included
 * const now = await client.audit.checkpoint(pinnedIdentityKey);
 * await client.audit.proveConsistency(old, now);                    // the log was only appended to
 * ```
 */
import type { Client } from 'openapi-fetch';
import type { paths, components } from './schema.ts';
import { nobleBackend } from '../crypto/noble.ts';
import { base64urlDecode, constantTimeEqual } from '../crypto/bytes.ts';
import { CHECKPOINT_ALGORITHM, CHECKPOINT_CONTEXT, checkpointMessage, recordLeafHash, type AuditCheckpoint, type AuditRecord } from '../audit/format.ts';
import { verifyConsistency, verifyInclusion } from '../audit/merkle.ts';

/** A signed checkpoint (tree size, root hash, time, identity, signature). */
export type Checkpoint = components['schemas']['AuditCheckpoint'];
/** One audit record as the service lists it. */
export type AuditRecordJson = components['schemas']['AuditRecord'];
/** An inclusion proof as the service sends it. */
export type InclusionProof = components['schemas']['AuditInclusionProof'];
/** A consistency proof as the service sends it. */
export type ConsistencyProof = components['schemas']['AuditConsistencyProof'];
export { encodeRecord, recordLeafHash, checkpointMessage, CHECKPOINT_CONTEXT } from '../audit/format.ts';

/** A checkpoint, record or proof failed verification: the log (or what was sent) is not what was signed. */
export class AuditVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditVerificationError';
  }
}

const decode = (s: unknown, what: string): Uint8Array => {
  try {
    if (typeof s !== 'string') throw new Error();
    return base64urlDecode(s);
  } catch {
    throw new AuditVerificationError(`${what} is not base64url`);
  }
};

/**
 * Verifies a checkpoint's signature under its identity key, which must equal `pinned` when given
 * (pin the identity key you trust; without a pin the checkpoint only proves self-consistency).
 * Returns the checkpoint; throws AuditVerificationError otherwise.
 */
export function verifyCheckpoint(cp: Checkpoint, pinned?: Uint8Array): Checkpoint {
  let message: Uint8Array;
  try {
    message = checkpointMessage(cp as AuditCheckpoint);
  } catch {
    throw new AuditVerificationError('checkpoint is malformed');
  }
  const publicKey = decode(cp.identity.publicKey, 'identity.publicKey');
  if (pinned && !constantTimeEqual(publicKey, pinned)) throw new AuditVerificationError('checkpoint is signed by another identity than the pinned key');
  let ok = false;
  try {
    ok = nobleBackend.verify(CHECKPOINT_ALGORITHM, publicKey, message, decode(cp.signature, 'signature'), { context: CHECKPOINT_CONTEXT });
  } catch { ok = false; }
  if (!ok) throw new AuditVerificationError('checkpoint signature verification failed');
  return cp;
}

/**
 * Verifies that `record` (re-encoded canonically here, so any changed field fails) is leaf
 * `record.seq` of the tree `checkpoint` signs, with `proof` for that tree size. Does not check the
 * checkpoint's signature: call verifyCheckpoint first. Throws AuditVerificationError.
 */
export function verifyRecordInclusion(record: AuditRecordJson, proof: InclusionProof, checkpoint: Checkpoint): void {
  if (proof.seq !== record.seq || proof.treeSize !== checkpoint.treeSize) throw new AuditVerificationError('proof is for another record or tree size');
  let leaf: Uint8Array;
  try {
    leaf = recordLeafHash(record as AuditRecord);
  } catch {
    throw new AuditVerificationError('record is malformed');
  }
  const root = decode(checkpoint.rootHash, 'rootHash');
  const path = proof.proof.map((p, i) => decode(p, `proof[${i}]`));
  if (!verifyInclusion(record.seq, checkpoint.treeSize, leaf, path, root)) {
    throw new AuditVerificationError(`record ${record.seq} is not included in the tree of ${checkpoint.treeSize} records`);
  }
}

/**
 * Verifies that the tree of `newer` extends the tree of `older` (nothing before older.treeSize was
 * changed or removed) with `proof` from older.treeSize to newer.treeSize. Signatures are not
 * checked here. Throws AuditVerificationError.
 */
export function verifyCheckpointConsistency(older: Checkpoint, newer: Checkpoint, proof: ConsistencyProof): void {
  if (older.treeSize > newer.treeSize) throw new AuditVerificationError('the older checkpoint has the larger tree');
  const r1 = decode(older.rootHash, 'rootHash');
  const r2 = decode(newer.rootHash, 'rootHash');
  if (older.treeSize === 0) return; // the empty tree is a prefix of every tree
  if (older.treeSize === newer.treeSize) {
    if (!constantTimeEqual(r1, r2)) throw new AuditVerificationError('two checkpoints of one tree size name different roots: the log was rewritten');
    return;
  }
  if (proof.from !== older.treeSize || proof.to !== newer.treeSize) throw new AuditVerificationError('proof is for other tree sizes');
  const path = proof.proof.map((p, i) => decode(p, `proof[${i}]`));
  if (!verifyConsistency(older.treeSize, newer.treeSize, r1, r2, path)) {
    throw new AuditVerificationError(`the tree of ${newer.treeSize} records does not extend the tree of ${older.treeSize}: the log was rewritten`);
  }
}

type Unwrap = <T>(r: { data?: T; error?: unknown; response: Response }) => T;

/** The audit helpers of the client (createClient(...).audit). */
export interface AuditApi {
  /** The latest checkpoint, signature verified (against `pinned` when given). */
  checkpoint(pinned?: Uint8Array): Promise<Checkpoint>;
  /** Admin: signs a checkpoint now (verified like `checkpoint`). */
  createCheckpoint(pinned?: Uint8Array): Promise<Checkpoint>;
  /** Records from `from` (admin: all; a tenant: its own). */
  records(opts?: { from?: number; limit?: number }): Promise<components['schemas']['AuditRecordPage']>;
  /** Fetches the inclusion proof of `record` in `checkpoint`'s tree and verifies it. */
  proveInclusion(record: AuditRecordJson, checkpoint: Checkpoint): Promise<void>;
  /** Fetches the consistency proof between two checkpoints and verifies it. */
  proveConsistency(older: Checkpoint, newer: Checkpoint): Promise<void>;
}

/** Builds the audit helpers over the generated client. */
export function auditApi(api: Client<paths>, unwrap: Unwrap): AuditApi {
  return {
    checkpoint: async (pinned) => verifyCheckpoint(unwrap(await api.GET('/v1/audit/checkpoint')), pinned),
    createCheckpoint: async (pinned) => verifyCheckpoint(unwrap(await api.POST('/v1/audit/checkpoints')), pinned),
    records: async (opts = {}) => unwrap(await api.GET('/v1/audit/records', { params: { query: opts } })),
    async proveInclusion(record, checkpoint) {
      if (record.seq >= checkpoint.treeSize) throw new AuditVerificationError(`record ${record.seq} is not in a tree of ${checkpoint.treeSize} records`);
      const proof = unwrap(await api.GET('/v1/audit/proofs/inclusion', { params: { query: { seq: record.seq, treeSize: checkpoint.treeSize } } }));
      verifyRecordInclusion(record, proof, checkpoint);
    },
    async proveConsistency(older, newer) {
      if (older.treeSize === 0 || older.treeSize >= newer.treeSize) {
        verifyCheckpointConsistency(older, newer, { from: older.treeSize, to: newer.treeSize, fromRootHash: older.rootHash, toRootHash: newer.rootHash, proof: [] });
        return;
      }
      const proof = unwrap(await api.GET('/v1/audit/proofs/consistency', { params: { query: { from: older.treeSize, to: newer.treeSize } } }));
      verifyCheckpointConsistency(older, newer, proof);
    },
  };
}
