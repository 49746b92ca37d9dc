/**
 * The audit log's byte encodings (docs/AUDIT.md): the canonical leaf of a record and the message a
 * checkpoint's signature covers. Pure module shared by the server (which encodes and signs) and the
 * SDK (which re-encodes what it was sent and verifies): no `node:` import.
 *
 * Both are sequences of length-prefixed fields, lp(x) = u32be(len(x)) ‖ x, strings in UTF-8,
 * integers as u64be:
 *
 *   leaf       = lp("pqzk audit record v1") ‖ lp(u64 seq) ‖ lp(time) ‖ lp(principal) ‖ lp(operation) ‖
 *                lp(key) ‖ lp(owner) ‖ lp(u64 version) ‖ lp(u64 status) ‖ lp(problem) ‖ lp(requestId) ‖
 *                lp(inputSha256) ‖ lp(nonce)
 *   checkpoint = lp("pqzk audit checkpoint v1") ‖ lp(u64 treeSize) ‖ lp(rootHash) ‖ lp(time) ‖
 *                lp(identity.algorithm) ‖ lp(identity.keyId) ‖ lp(u64 identity.version)
 *
 * An absent optional string is the empty string, an absent version is 0 (versions start at 1),
 * an absent input hash is empty (otherwise its 32 raw bytes); the nonce is its 16 raw bytes (every
 * record gets fresh random ones when it is appended: proofs disclose the hashes of neighbouring
 * leaves, which must not be confirmable by guessing the other fields); rootHash is its 32 raw bytes.
 * The checkpoint is signed with ML-DSA-65 under the FIPS 204 context "pqzk audit checkpoint v1".
 */
import { base64urlDecode, base64urlEncode, concatBytes, fromHex, lp, toHex, u64 } from '../crypto/bytes.ts';
import { CryptoInputError } from '../errors.ts';
import { HASH_BYTES, leafHash } from './merkle.ts';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** First field of every record leaf. */
export const RECORD_LABEL = 'pqzk audit record v1';
/** First field of every checkpoint message, and (UTF-8) the FIPS 204 context of its signature. */
export const CHECKPOINT_LABEL = 'pqzk audit checkpoint v1';
/** CHECKPOINT_LABEL in UTF-8: the ML-DSA context string of checkpoint signatures. */
export const CHECKPOINT_CONTEXT = enc.encode(CHECKPOINT_LABEL);
/** The only signature algorithm of checkpoints (the service identity key). */
export const CHECKPOINT_ALGORITHM = 'ML-DSA-65';

/** One audit record (openapi.yaml `AuditRecord`). Never carries plaintexts, secrets, tokens or signatures. */
export interface AuditRecord {
  /** Position in the log (0-based leaf index). */
  seq: number;
  /** ISO 8601 UTC time the operation finished, on the instance that served it. */
  time: string;
  /** `tenant:<id>`, `admin` or `anon:<address prefix>`. */
  principal: string;
  /** The operationId. */
  operation: string;
  /** The key (or database, user) name the operation addressed, if any. */
  key?: string | undefined;
  /** The owner an admin named (`?owner=`), when it acted on another owner's key. */
  owner?: string | undefined;
  /** The key version the answer showed, if any. */
  version?: number | undefined;
  /** HTTP status of the answer. */
  status: number;
  /** The problem code of an error answer. */
  problem?: string | undefined;
  /** The request id (also in the access log). */
  requestId: string;
  /** Hex SHA-256 of the request body, where useful and not secret-derived. */
  inputSha256?: string | undefined;
  /** base64url of 16 random bytes drawn at append time: makes the leaf hash unguessable. */
  nonce: string;
}

/** A record before its position (and its nonce, unless given) is assigned. */
export type PendingRecord = Omit<AuditRecord, 'seq' | 'nonce'> & { nonce?: string };

/** Bytes of a record's nonce. */
export const NONCE_BYTES = 16;

/** A fresh random nonce (base64url) for a record (Web Crypto: the same in Node and browsers). */
export const newNonce = (): string => base64urlEncode(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));

function nonceBytes(v: unknown): Uint8Array {
  if (typeof v !== 'string') throw new CryptoInputError('audit record: nonce must be a string');
  let b: Uint8Array;
  try { b = base64urlDecode(v); } catch { throw new CryptoInputError('audit record: nonce must be base64url'); }
  if (b.length !== NONCE_BYTES) throw new CryptoInputError(`audit record: nonce must be ${NONCE_BYTES} bytes`);
  return b;
}

const str = (v: unknown, what: string): string => {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new CryptoInputError(`audit record: ${what} must be a string`);
  return v;
};
const int = (v: unknown, what: string): number => {
  if (v === undefined || v === null) return 0;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new CryptoInputError(`audit record: ${what} must be a non-negative integer`);
  return v as number;
};

const LABEL_FIELD = lp(RECORD_LABEL);

/**
 * Every field of the leaf after the seq (the part known before the record has a position): the
 * appender encodes it once, when the record is queued. Throws CryptoInputError on a malformed field.
 */
export function encodeRecordTail(r: PendingRecord): Uint8Array {
  if (typeof r !== 'object' || r === null) throw new CryptoInputError('audit record must be an object');
  const input = str(r.inputSha256, 'inputSha256');
  if (input !== '' && !/^[0-9a-f]{64}$/.test(input)) throw new CryptoInputError('audit record: inputSha256 must be 64 hex digits');
  return concatBytes(
    lp(str(r.time, 'time')), lp(str(r.principal, 'principal')), lp(str(r.operation, 'operation')),
    lp(str(r.key, 'key')), lp(str(r.owner, 'owner')), lp(u64(int(r.version, 'version'))), lp(u64(int(r.status, 'status'))),
    lp(str(r.problem, 'problem')), lp(str(r.requestId, 'requestId')), lp(input === '' ? new Uint8Array(0) : fromHex(input)),
    lp(nonceBytes(r.nonce)),
  );
}

/** The leaf of the record at `seq` whose tail is `tail` (encodeRecordTail). */
export function leafOf(seq: number, tail: Uint8Array): Uint8Array {
  return concatBytes(LABEL_FIELD, lp(u64(int(seq, 'seq'))), tail);
}

/** The canonical leaf bytes of a record; throws CryptoInputError on a malformed field. */
export function encodeRecord(r: AuditRecord): Uint8Array {
  if (typeof r !== 'object' || r === null) throw new CryptoInputError('audit record must be an object');
  return leafOf(int(r.seq, 'seq'), encodeRecordTail(r));
}

/** RFC 9162 leaf hash of a record: SHA-256(0x00 ‖ encodeRecord(r)). */
export const recordLeafHash = (r: AuditRecord): Uint8Array => leafHash(encodeRecord(r));

/** Splits lp-framed bytes into their fields; throws CryptoInputError on bad framing. */
function fields(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new CryptoInputError('audit leaf: truncated length');
    const len = view.getUint32(at);
    if (at + 4 + len > bytes.length) throw new CryptoInputError('audit leaf: truncated field');
    out.push(bytes.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

const readU64 = (b: Uint8Array): number => {
  if (b.length !== 8) throw new CryptoInputError('audit leaf: integer field must be 8 bytes');
  const v = new DataView(b.buffer, b.byteOffset, 8);
  const n = v.getUint32(0) * 0x1_0000_0000 + v.getUint32(4);
  if (!Number.isSafeInteger(n)) throw new CryptoInputError('audit leaf: integer out of range');
  return n;
};

/** The record a leaf encodes (the inverse of encodeRecord); throws CryptoInputError on malformed bytes. */
export function decodeRecord(leaf: Uint8Array): AuditRecord {
  const f = fields(leaf);
  if (f.length !== 13 || dec.decode(f[0]) !== RECORD_LABEL) throw new CryptoInputError('audit leaf: not a pqzk audit record v1');
  const s = (i: number) => dec.decode(f[i]);
  const opt = (i: number) => (f[i]!.length === 0 ? undefined : s(i));
  const version = readU64(f[7]!);
  const input = f[11]!;
  if (input.length !== 0 && input.length !== HASH_BYTES) throw new CryptoInputError('audit leaf: input hash must be 32 bytes');
  const r: AuditRecord = {
    seq: readU64(f[1]!), time: s(2), principal: s(3), operation: s(4), key: opt(5), owner: opt(6),
    version: version === 0 ? undefined : version, status: readU64(f[8]!), problem: opt(9), requestId: s(10),
    inputSha256: input.length === 0 ? undefined : toHex(input),
    nonce: base64urlEncode(f[12]!),
  };
  if (f[12]!.length !== NONCE_BYTES) throw new CryptoInputError(`audit leaf: nonce must be ${NONCE_BYTES} bytes`);
  for (const k of Object.keys(r) as (keyof AuditRecord)[]) if (r[k] === undefined) delete r[k];
  return r;
}

/** The identity that signed a checkpoint (openapi.yaml `KexIdentity`). */
export interface CheckpointIdentity { keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: string }

/** A signed checkpoint as sent on the wire (openapi.yaml `AuditCheckpoint`). */
export interface AuditCheckpoint {
  treeSize: number;
  /** base64url, 32 bytes. */
  rootHash: string;
  /** ISO 8601 UTC time of signing. */
  time: string;
  identity: CheckpointIdentity;
  /** base64url ML-DSA-65 signature over checkpointMessage(·), context CHECKPOINT_CONTEXT. */
  signature: string;
}

/** The bytes the identity key signs for a checkpoint; throws CryptoInputError on a malformed field. */
export function checkpointMessage(c: Omit<AuditCheckpoint, 'signature'>): Uint8Array {
  if (typeof c !== 'object' || c === null || typeof c.identity !== 'object' || c.identity === null) throw new CryptoInputError('audit checkpoint must be an object with an identity');
  const root = typeof c.rootHash === 'string' ? base64urlDecode(c.rootHash) : new Uint8Array(0);
  if (root.length !== HASH_BYTES) throw new CryptoInputError('audit checkpoint: rootHash must be 32 bytes');
  if (typeof c.time !== 'string' || typeof c.identity.keyId !== 'string' || c.identity.algorithm !== CHECKPOINT_ALGORITHM) {
    throw new CryptoInputError('audit checkpoint: malformed');
  }
  return concatBytes(
    lp(CHECKPOINT_LABEL), lp(u64(int(c.treeSize, 'treeSize'))), lp(root), lp(c.time),
    lp(c.identity.algorithm), lp(c.identity.keyId), lp(u64(int(c.identity.version, 'identity.version'))),
  );
}
