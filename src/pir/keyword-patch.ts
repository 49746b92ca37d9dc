/**
 * Incremental updates of a keyword table (docs/PIR.md, Live updates of keyword databases). Pure
 * module (no `node:` imports): given a version's layout and a reader over its records, turns key
 * upserts and deletes into the few index-record changes of one patch (patch.ts), keeping the
 * layout and salt, so SDK clients follow with a hint delta.
 *
 * Rules (keys are not stored, only their 128-bit tags, so a slot is found by tag in the key's two
 * candidate buckets):
 * - upsert of a present key rewrites its slot; delete of a present key clears it (absent: no-op);
 * - a new key takes the first free slot of bucket b1, then b2;
 * - no free slot (a cuckoo eviction would need the occupant's key, which the table does not hold),
 *   or a value over maxValueSize: the result is "rebuild" and the caller uploads a new table.
 * Deletes and slot clears apply before upserts. Two keys with equal tags (probability ~2^-128 per
 * pair) are taken for the same key. Work: one SHA-256 and ≤ 4 slot headers per key, plus the
 * changed records (each recordSize bytes) read and compared.
 */
import { CryptoInputError } from '../errors.ts';
import { base64urlDecode } from '../crypto/bytes.ts';
import type { RecordChange } from './changes.ts';
import { keywordHash, saltPrefix, MAX_KEY_BYTES, SLOTS_PER_BUCKET, TAG_BYTES, type KeywordLayout } from './keyword.ts';

const SLOT_HEADER = TAG_BYTES + 2;

/** Reads `length` bytes at `offset` of the table (record i at i·recordSize, records back to back). */
export type TableReader = (offset: number, length: number) => Uint8Array;

/** Key changes of one keyword patch. */
export interface KeywordEdits {
  /** Keys to set (new or present) with their values. */
  readonly upserts?: ReadonlyArray<{ readonly key: Uint8Array; readonly value: Uint8Array }>;
  /** Keys to remove. */
  readonly deletes?: ReadonlyArray<Uint8Array>;
  /** Slots to clear by position ({@link keywordSlots}), for entries whose key the caller no longer knows. */
  readonly clear?: ReadonlyArray<{ readonly bucket: number; readonly slot: number }>;
}

/** The record changes of a patch, or why the table must be rebuilt instead. */
export type KeywordPatchResult =
  | { readonly kind: 'patch'; readonly changes: RecordChange[] }
  | { readonly kind: 'rebuild'; readonly reason: string };

/** An occupied slot of a table. */
export interface KeywordSlot { bucket: number; slot: number; tag: Uint8Array; value: Uint8Array }

const slotSizeOf = (l: KeywordLayout): number => SLOT_HEADER + l.maxValueSize;
const slotOffset = (l: KeywordLayout, recordSize: number, bucket: number, slot: number): number =>
  bucket * l.recordsPerBucket * recordSize + slot * slotSizeOf(l);

/**
 * Every occupied slot of the table, with its tag and value (a copy). Reads each slot's header and
 * the occupied slots' values: ≤ buckets·2 reads.
 */
export function keywordSlots(layout: KeywordLayout, recordSize: number, read: TableReader): KeywordSlot[] {
  const out: KeywordSlot[] = [];
  for (let b = 0; b < layout.buckets; b++) {
    for (let s = 0; s < SLOTS_PER_BUCKET; s++) {
      const o = slotOffset(layout, recordSize, b, s);
      const h = read(o, SLOT_HEADER);
      const len = h[TAG_BYTES]! << 8 | h[TAG_BYTES + 1]!;
      if (len === 0) continue;
      if (len - 1 > layout.maxValueSize) throw new CryptoInputError('keyword slot is malformed');
      out.push({ bucket: b, slot: s, tag: h.slice(0, TAG_BYTES), value: read(o + SLOT_HEADER, len - 1).slice() });
    }
  }
  return out;
}

const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * The record changes that apply `edits` to the table, or `rebuild` (see the module comment).
 * Records that end up unchanged are left out.
 *
 * @throws CryptoInputError on a bad key, a key named twice, or a slot position out of range.
 */
export function keywordRecordChanges(layout: KeywordLayout, recordSize: number, read: TableReader, edits: KeywordEdits): KeywordPatchResult {
  const prefix = saltPrefix(base64urlDecode(layout.salt));
  const slotSize = slotSizeOf(layout);
  const seen = new Set<string>();
  const checkKey = (key: Uint8Array): void => {
    if (!(key instanceof Uint8Array) || key.length < 1 || key.length > MAX_KEY_BYTES) throw new CryptoInputError(`a key is 1..${MAX_KEY_BYTES} bytes`);
    const h = hexOf(key);
    if (seen.has(h)) throw new CryptoInputError('a key is changed twice in one patch');
    seen.add(h);
  };
  // Records written so far (copies), by index.
  const dirty = new Map<number, Uint8Array>();
  const write = (offset: number, bytes: Uint8Array): void => {
    for (let done = 0; done < bytes.length;) {
      const index = Math.floor((offset + done) / recordSize);
      const at = (offset + done) % recordSize;
      let rec = dirty.get(index);
      if (!rec) { rec = read(index * recordSize, recordSize).slice(); dirty.set(index, rec); }
      const n = Math.min(bytes.length - done, recordSize - at);
      rec.set(bytes.subarray(done, done + n), at);
      done += n;
    }
  };
  const readNow = (offset: number, length: number): Uint8Array => {
    const index = Math.floor(offset / recordSize), at = offset % recordSize;
    const rec = dirty.get(index);
    if (rec && at + length <= recordSize) return rec.subarray(at, at + length);
    if (!rec && at + length <= recordSize) return read(offset, length);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = readNow(offset + i, 1)[0]!;
    return out;
  };
  const header = (b: number, s: number): { len: number; tag: Uint8Array } => {
    const h = readNow(slotOffset(layout, recordSize, b, s), SLOT_HEADER);
    return { len: h[TAG_BYTES]! << 8 | h[TAG_BYTES + 1]!, tag: h.subarray(0, TAG_BYTES) };
  };
  const sameTag = (a: Uint8Array, b: Uint8Array): boolean => { for (let i = 0; i < TAG_BYTES; i++) if (a[i] !== b[i]) return false; return true; };
  const locate = (tag: Uint8Array, b1: number, b2: number): { b: number; s: number } | undefined => {
    for (const b of b1 === b2 ? [b1] : [b1, b2]) {
      for (let s = 0; s < SLOTS_PER_BUCKET; s++) { const h = header(b, s); if (h.len !== 0 && sameTag(h.tag, tag)) return { b, s }; }
    }
    return undefined;
  };
  const empty = new Uint8Array(slotSize);
  const clearSlot = (b: number, s: number): void => write(slotOffset(layout, recordSize, b, s), empty);

  for (const c of edits.clear ?? []) {
    if (!Number.isSafeInteger(c?.bucket) || c.bucket < 0 || c.bucket >= layout.buckets || !Number.isSafeInteger(c.slot) || c.slot < 0 || c.slot >= SLOTS_PER_BUCKET) {
      throw new CryptoInputError('slot position out of range');
    }
    clearSlot(c.bucket, c.slot);
  }
  for (const key of edits.deletes ?? []) {
    checkKey(key);
    const h = keywordHash(prefix, key, layout.buckets);
    const at = locate(h.tag, h.b1, h.b2);
    if (at) clearSlot(at.b, at.s);
  }
  for (const { key, value } of edits.upserts ?? []) {
    checkKey(key);
    if (!(value instanceof Uint8Array)) throw new CryptoInputError('a value is bytes');
    if (value.length > layout.maxValueSize) return { kind: 'rebuild', reason: `a value of ${value.length} bytes exceeds maxValueSize ${layout.maxValueSize}` };
    const h = keywordHash(prefix, key, layout.buckets);
    let at = locate(h.tag, h.b1, h.b2);
    if (!at) {
      for (const b of [h.b1, h.b2]) {
        for (let s = 0; s < SLOTS_PER_BUCKET && !at; s++) if (header(b, s).len === 0) at = { b, s };
        if (at) break;
      }
    }
    if (!at) return { kind: 'rebuild', reason: 'both candidate buckets of a new key are full' };
    const slot = new Uint8Array(slotSize);
    slot.set(h.tag, 0);
    slot[TAG_BYTES] = (value.length + 1) >> 8; slot[TAG_BYTES + 1] = (value.length + 1) & 0xff;
    slot.set(value, SLOT_HEADER);
    write(slotOffset(layout, recordSize, at.b, at.s), slot);
  }
  const changes: RecordChange[] = [];
  for (const [index, rec] of [...dirty].sort((a, b) => a[0] - b[0])) {
    const old = read(index * recordSize, recordSize);
    let same = true;
    for (let i = 0; i < recordSize; i++) if (old[i] !== rec[i]) { same = false; break; }
    if (!same) changes.push({ index, record: rec });
  }
  return { kind: 'patch', changes };
}
