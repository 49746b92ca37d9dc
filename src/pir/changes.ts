/**
 * Record changes of a PIR patch (patchPirDatabase) and their wire framing. Pure module shared by
 * the server and the SDK: no `node:` imports.
 *
 * A change names a record by index and gives its new bytes (upsert) or null (delete: the record
 * becomes recordSize zero bytes, as in a fresh slot of a keyword table). A patch keeps the shape,
 * so indices are in [0, recordCount); growing a database is a new upload (putPirDatabase).
 *
 * Body framing (application/octet-stream), one entry per change, indices strictly increasing:
 *
 *   u32le index ‖ u8 op ‖ (op = 1: recordSize bytes of the new record; op = 0: nothing)
 *
 * A keyword-PIR layer that maps its keys to bucket records calls `applyRecordChanges` on the
 * service with the same `RecordChange` list (no framing needed in-process).
 */
import { CryptoInputError } from '../errors.ts';

/** One record's new value: bytes (upsert) or null (delete = all-zero record). */
export interface RecordChange {
  readonly index: number;
  readonly record: Uint8Array | null;
}

const OP_DELETE = 0;
const OP_UPSERT = 1;

/**
 * Checks a change list against a version's record count and size: integer indices in range, no
 * index twice, records of exactly recordSize bytes. Returns them sorted by index (a copy).
 *
 * @throws CryptoInputError on any violation (the caller's patch changes nothing).
 */
export function checkRecordChanges(changes: readonly RecordChange[], recordCount: number, recordSize: number): RecordChange[] {
  if (!Array.isArray(changes) || changes.length === 0) throw new CryptoInputError('a patch needs at least one change');
  if (changes.length > recordCount) throw new CryptoInputError('more changes than records');
  const sorted = [...changes].sort((a, b) => a.index - b.index);
  let prev = -1;
  for (const c of sorted) {
    if (!Number.isSafeInteger(c?.index) || c.index < 0 || c.index >= recordCount) {
      throw new CryptoInputError(`change index must be an integer in [0, ${recordCount})`);
    }
    if (c.index === prev) throw new CryptoInputError(`record ${c.index} is changed twice in one patch`);
    if (c.record !== null && (!(c.record instanceof Uint8Array) || c.record.length !== recordSize)) {
      throw new CryptoInputError(`record ${c.index} must be exactly ${recordSize} bytes or null`);
    }
    prev = c.index;
  }
  return sorted;
}

/** The body of a patchPirDatabase request (see the module comment); sorts by index. */
export function encodeRecordChanges(changes: readonly RecordChange[], recordSize: number): Uint8Array {
  const sorted = [...changes].sort((a, b) => a.index - b.index);
  let len = 0;
  for (const c of sorted) len += 5 + (c.record === null ? 0 : recordSize);
  const out = new Uint8Array(len);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const c of sorted) {
    view.setUint32(off, c.index, true);
    out[off + 4] = c.record === null ? OP_DELETE : OP_UPSERT;
    off += 5;
    if (c.record !== null) {
      if (c.record.length !== recordSize) throw new CryptoInputError(`record ${c.index} must be exactly ${recordSize} bytes`);
      out.set(c.record, off);
      off += recordSize;
    }
  }
  return out;
}

/**
 * Parses a patch body: strictly increasing indices below recordCount, op 0 or 1, no trailing or
 * truncated entry. The records are views into `body`.
 *
 * @throws CryptoInputError on malformed framing.
 */
export function decodeRecordChanges(body: Uint8Array, recordCount: number, recordSize: number): RecordChange[] {
  if (!(body instanceof Uint8Array) || body.length === 0) throw new CryptoInputError('empty patch');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: RecordChange[] = [];
  let off = 0, prev = -1;
  while (off < body.length) {
    if (off + 5 > body.length) throw new CryptoInputError('truncated patch entry');
    const index = view.getUint32(off, true);
    const op = body[off + 4]!;
    off += 5;
    if (index <= prev) throw new CryptoInputError('patch indices must be strictly increasing');
    if (index >= recordCount) throw new CryptoInputError(`change index must be below ${recordCount}`);
    if (op === OP_DELETE) {
      out.push({ index, record: null });
    } else if (op === OP_UPSERT) {
      if (off + recordSize > body.length) throw new CryptoInputError('truncated patch record');
      out.push({ index, record: body.subarray(off, off + recordSize) });
      off += recordSize;
    } else {
      throw new CryptoInputError('patch op must be 0 (delete) or 1 (upsert)');
    }
    prev = index;
  }
  return out;
}
