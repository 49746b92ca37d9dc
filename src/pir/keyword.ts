/**
 * Keyword PIR over SimplePIR (docs/PIR.md, Keyword PIR): a cuckoo table of fixed-size buckets laid
 * over the index database. Pure module shared by the server (which builds the table) and the SDK
 * (which computes candidate records and matches a key): no `node:` imports.
 *
 * - Hash: h = SHA-256(lp("pqzk pir keyword v1") ‖ lp(salt) ‖ key), salt = 32 public bytes drawn per
 *   version. tag = h[0..16); b1 = u48be(h[16..22)) mod B; b2 = (b1 + 1 + u48be(h[22..28)) mod (B − 1))
 *   mod B (b2 ≠ b1 when B ≥ 2; b2 = b1 = 0 when B = 1).
 * - Table: B buckets of SLOTS_PER_BUCKET = 2 slots, 2 hash functions (b1, b2), target load 0.8
 *   (the 2-choice, 2-slot threshold is ≈ 0.897). Slot = tag (16) ‖ u16be(valueLength + 1) ‖ value
 *   padded to maxValueSize; an all-zero slot is empty (length field 0). Keys are not stored: the
 *   client matches the 128-bit tag of its key.
 * - Layout: bucket b is records [b·m, b·m + m) of the index database, m = recordsPerBucket, each
 *   record ceil(bucketBytes / m) bytes (the bucket zero-padded). A lookup fetches exactly 2·m
 *   records, whether the key exists or not.
 * - Upload framing: "PQKW" then entries u16be(keyLength) ‖ key ‖ u16be(valueLength) ‖ value, key
 *   1..MAX_KEY_BYTES bytes, value 0..maxValueSize bytes, at most MAX_KEYWORD_ENTRIES entries.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlDecode, base64urlEncode, concatBytes, lp } from '../crypto/bytes.ts';
import { AppError, CryptoInputError } from '../errors.ts';
import type { PirParams } from './params.ts';

/** Scheme name of the keyword layout (signed in the config). */
export const KEYWORD_SCHEME = 'pqzk-cuckoo-v1';
/** Domain label of the keyword hash. */
export const KEYWORD_HASH_LABEL = 'pqzk pir keyword v1';
/** Number of cuckoo hash functions (candidate buckets per key). */
export const KEYWORD_HASHES = 2;
/** Slots per bucket. */
export const SLOTS_PER_BUCKET = 2;
/** Bytes of the key tag stored in a slot. */
export const TAG_BYTES = 16;
/** Target load factor (entries / slots). */
export const LOAD_FACTOR = 0.8;
/** Longest accepted key. */
export const MAX_KEY_BYTES = 1024;
/** Largest configurable maxValueSize (a bucket stays ≤ 32 KiB). */
export const MAX_VALUE_BYTES = 8192;
/** Most entries in one keyword database. */
export const MAX_KEYWORD_ENTRIES = 1 << 22;
/** Evictions allowed for one insertion before the attempt gives up. */
export const MAX_KICKS = 500;
/** Salts tried before a build is refused. */
export const MAX_BUILD_ATTEMPTS = 8;
/** Bytes of the per-version salt. */
export const SALT_BYTES = 32;
/** Smallest record a bucket is split into (see {@link keywordShape}). */
const MIN_RECORD_BYTES = 1024;
const MAGIC = new Uint8Array([0x50, 0x51, 0x4b, 0x57]); // "PQKW"
const SLOT_HEADER = TAG_BYTES + 2;

/** The keyword layout of a version, as published in the signed config (`keyword`). */
export interface KeywordLayout {
  scheme: typeof KEYWORD_SCHEME;
  /** base64url, 32 bytes. */
  salt: string;
  hashes: number;
  slotsPerBucket: number;
  tagBytes: number;
  maxValueSize: number;
  entries: number;
  buckets: number;
  recordsPerBucket: number;
}

/** Sizes derived from (entries, maxValueSize): the table and how it maps onto index records. */
export interface KeywordShape {
  buckets: number;
  slotSize: number;
  bucketBytes: number;
  recordsPerBucket: number;
  recordSize: number;
  recordCount: number;
}

const isInt = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

/**
 * The table's shape for `entries` keys with values ≤ `maxValueSize` bytes. A bucket is split into
 * m records when it is larger than max(1024, sqrt(table bytes)), so the matrix stays near square.
 */
export function keywordShape(entries: number, maxValueSize: number): KeywordShape {
  if (!isInt(entries, 0, MAX_KEYWORD_ENTRIES)) throw new CryptoInputError(`a keyword database holds 0..${MAX_KEYWORD_ENTRIES} entries`);
  if (!isInt(maxValueSize, 0, MAX_VALUE_BYTES)) throw new CryptoInputError(`maxValueSize must be 0..${MAX_VALUE_BYTES}`);
  const buckets = Math.max(1, Math.ceil(entries / (SLOTS_PER_BUCKET * LOAD_FACTOR)));
  const slotSize = SLOT_HEADER + maxValueSize;
  const bucketBytes = SLOTS_PER_BUCKET * slotSize;
  const maxRecord = Math.max(MIN_RECORD_BYTES, Math.floor(Math.sqrt(buckets * bucketBytes)));
  const recordsPerBucket = Math.ceil(bucketBytes / maxRecord);
  const recordSize = Math.ceil(bucketBytes / recordsPerBucket);
  return { buckets, slotSize, bucketBytes, recordsPerBucket, recordSize, recordCount: buckets * recordsPerBucket };
}

/** Checks a published layout against itself and the index parameters it is laid over; throws CryptoInputError. */
export function assertKeywordLayout(layout: unknown, params: Pick<PirParams, 'recordCount' | 'recordSize'>): asserts layout is KeywordLayout {
  const l = layout as Partial<KeywordLayout> | null;
  if (typeof l !== 'object' || l === null) throw new CryptoInputError('keyword layout must be an object');
  if (l.scheme !== KEYWORD_SCHEME || l.hashes !== KEYWORD_HASHES || l.slotsPerBucket !== SLOTS_PER_BUCKET || l.tagBytes !== TAG_BYTES) {
    throw new CryptoInputError('unsupported keyword layout');
  }
  if (typeof l.salt !== 'string' || base64urlDecode(l.salt).length !== SALT_BYTES) throw new CryptoInputError('keyword salt must be 32 bytes');
  const shape = keywordShape(l.entries as number, l.maxValueSize as number);
  if (l.buckets !== shape.buckets || l.recordsPerBucket !== shape.recordsPerBucket
    || params.recordCount !== shape.recordCount || params.recordSize !== shape.recordSize) {
    throw new CryptoInputError('keyword layout does not match the database shape');
  }
}

/** The signed-message fields of a layout, appended to the config's canonical encoding (config.ts). */
export function keywordSignedFields(l: KeywordLayout): Uint8Array {
  const u = (n: number): Uint8Array => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return b; };
  return concatBytes(lp(l.scheme), lp(base64urlDecode(l.salt)), lp(u(l.hashes)), lp(u(l.slotsPerBucket)), lp(u(l.tagBytes)),
    lp(u(l.maxValueSize)), lp(u(l.entries)), lp(u(l.buckets)), lp(u(l.recordsPerBucket)));
}

/** Hashes one key under a salt prefix (see {@link saltPrefix}): its tag and two candidate buckets. */
export function keywordHash(prefix: Uint8Array, key: Uint8Array, buckets: number): { tag: Uint8Array; b1: number; b2: number } {
  const h = sha256.create().update(prefix).update(key).digest();
  const u48 = (o: number): number => ((h[o]! << 8 | h[o + 1]!) >>> 0) * 0x100000000 + ((h[o + 2]! << 24 | h[o + 3]! << 16 | h[o + 4]! << 8 | h[o + 5]!) >>> 0);
  const b1 = u48(16) % buckets;
  const b2 = buckets < 2 ? b1 : (b1 + 1 + (u48(22) % (buckets - 1))) % buckets;
  return { tag: h.subarray(0, TAG_BYTES), b1, b2 };
}

/** lp(label) ‖ lp(salt): the fixed start of every hashed key of one version. */
export function saltPrefix(salt: Uint8Array): Uint8Array {
  return concatBytes(lp(KEYWORD_HASH_LABEL), lp(salt));
}

/**
 * The index records a lookup of `key` fetches: always 2·m indices (bucket b1's m records, then
 * b2's), the same count for every key, present or not.
 */
export function candidateRecords(layout: KeywordLayout, key: Uint8Array): number[] {
  assertKey(key);
  const { b1, b2 } = keywordHash(saltPrefix(base64urlDecode(layout.salt)), key, layout.buckets);
  const m = layout.recordsPerBucket;
  const out: number[] = [];
  for (const b of [b1, b2]) for (let j = 0; j < m; j++) out.push(b * m + j);
  return out;
}

/**
 * Finds `key` in the fetched records (in the order {@link candidateRecords} gave): its value, or
 * null when no slot carries the key's tag. Throws CryptoInputError on a malformed slot.
 */
export function matchKeyword(layout: KeywordLayout, key: Uint8Array, records: Uint8Array[]): Uint8Array | null {
  assertKey(key);
  const m = layout.recordsPerBucket;
  if (records.length !== KEYWORD_HASHES * m) throw new CryptoInputError(`a lookup needs exactly ${KEYWORD_HASHES * m} records`);
  const { tag } = keywordHash(saltPrefix(base64urlDecode(layout.salt)), key, layout.buckets);
  const slotSize = SLOT_HEADER + layout.maxValueSize;
  let found: Uint8Array | null = null;
  for (let h = 0; h < KEYWORD_HASHES; h++) {
    const bucket = concatBytes(...records.slice(h * m, h * m + m));
    if (bucket.length < SLOTS_PER_BUCKET * slotSize) throw new CryptoInputError('keyword bucket is too short');
    for (let s = 0; s < SLOTS_PER_BUCKET; s++) {
      const o = s * slotSize;
      const lenField = bucket[o + TAG_BYTES]! << 8 | bucket[o + TAG_BYTES + 1]!;
      if (lenField === 0) continue;
      if (lenField - 1 > layout.maxValueSize) throw new CryptoInputError('keyword slot is malformed');
      let diff = 0;
      for (let i = 0; i < TAG_BYTES; i++) diff |= bucket[o + i]! ^ tag[i]!;
      if (diff === 0 && found === null) found = bucket.slice(o + SLOT_HEADER, o + SLOT_HEADER + lenField - 1);
    }
  }
  return found;
}

function assertKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length < 1 || key.length > MAX_KEY_BYTES) throw new CryptoInputError(`a key is 1..${MAX_KEY_BYTES} bytes`);
}

/** The upload framing of entries ("PQKW", then u16be key length ‖ key ‖ u16be value length ‖ value). */
export function encodeKeywordEntries(entries: Iterable<{ key: Uint8Array; value: Uint8Array }>): Uint8Array {
  const list = [...entries];
  let size = MAGIC.length;
  for (const { key, value } of list) {
    assertKey(key);
    if (!(value instanceof Uint8Array) || value.length > MAX_VALUE_BYTES) throw new CryptoInputError(`a value is at most ${MAX_VALUE_BYTES} bytes`);
    size += 4 + key.length + value.length;
  }
  const out = new Uint8Array(size);
  out.set(MAGIC, 0);
  let o = MAGIC.length;
  for (const { key, value } of list) {
    out[o] = key.length >> 8; out[o + 1] = key.length & 0xff;
    out.set(key, o + 2);
    o += 2 + key.length;
    out[o] = value.length >> 8; out[o + 1] = value.length & 0xff;
    out.set(value, o + 2);
    o += 2 + value.length;
  }
  return out;
}

/** Parsed framing: offsets and lengths into the body (no copies). */
export interface KeywordEntries {
  count: number;
  keyOff: Uint32Array;
  keyLen: Uint16Array;
  valOff: Uint32Array;
  valLen: Uint16Array;
}

/**
 * Parses and bounds the upload framing. Throws CryptoInputError on a missing magic, a truncated
 * entry, an empty or oversize key, a value over `maxValueSize`, or too many entries.
 */
export function parseKeywordEntries(body: Uint8Array, maxValueSize: number): KeywordEntries {
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) throw new CryptoInputError('a keyword database starts with "PQKW"');
  // First pass: count (and bound) the entries, so the arrays are allocated at their exact size.
  let cap = 0;
  for (let o = MAGIC.length; o + 2 <= body.length && cap <= MAX_KEYWORD_ENTRIES; cap++) {
    const kl = body[o]! << 8 | body[o + 1]!;
    if (o + 4 + kl > body.length) { cap++; break; }
    o += 4 + kl + (body[o + 2 + kl]! << 8 | body[o + 3 + kl]!);
  }
  cap = Math.min(cap + 1, MAX_KEYWORD_ENTRIES + 1);
  const e = { count: 0, keyOff: new Uint32Array(cap), keyLen: new Uint16Array(cap), valOff: new Uint32Array(cap), valLen: new Uint16Array(cap) };
  let o = MAGIC.length;
  while (o < body.length) {
    if (e.count >= MAX_KEYWORD_ENTRIES) throw new CryptoInputError(`a keyword database holds at most ${MAX_KEYWORD_ENTRIES} entries`);
    if (o + 2 > body.length) throw new CryptoInputError(`entry ${e.count}: truncated key length`);
    const kl = body[o]! << 8 | body[o + 1]!;
    if (kl < 1 || kl > MAX_KEY_BYTES) throw new CryptoInputError(`entry ${e.count}: a key is 1..${MAX_KEY_BYTES} bytes`);
    if (o + 2 + kl + 2 > body.length) throw new CryptoInputError(`entry ${e.count}: truncated`);
    const vl = body[o + 2 + kl]! << 8 | body[o + 3 + kl]!;
    if (vl > maxValueSize) throw new CryptoInputError(`entry ${e.count}: value of ${vl} bytes exceeds maxValueSize ${maxValueSize}`);
    if (o + 4 + kl + vl > body.length) throw new CryptoInputError(`entry ${e.count}: truncated value`);
    e.keyOff[e.count] = o + 2; e.keyLen[e.count] = kl; e.valOff[e.count] = o + 4 + kl; e.valLen[e.count] = vl;
    e.count++;
    o += 4 + kl + vl;
  }
  return e;
}

/** A built table: its layout (for the signed config) and the index records (recordCount × recordSize bytes). */
export interface KeywordTable { layout: KeywordLayout; records: Uint8Array; recordSize: number; attempts: number }

/**
 * Builds the cuckoo table from an upload body, trying the given salts in order (at most
 * MAX_BUILD_ATTEMPTS): a salt fails when an insertion exceeds MAX_KICKS evictions or two distinct
 * keys share a tag. Work is bounded by attempts × entries × MAX_KICKS hash-free steps plus one
 * SHA-256 per key per attempt. `capacity` (default the entry count) sizes the table for more keys
 * than it holds, leaving free slots for later inserts (keyword-patch.ts), lowered (not below the
 * entry count) until the table fits `maxTableBytes`; the layout's `entries` is then that capacity.
 *
 * @throws CryptoInputError on bad framing, a duplicate key, a capacity out of range, or when every salt failed.
 */
export function buildKeywordTable(body: Uint8Array, maxValueSize: number, salts: Uint8Array[],
  sizing: { capacity?: number | undefined; maxTableBytes?: number | undefined } = {}): KeywordTable {
  const e = parseKeywordEntries(body, maxValueSize);
  const sized = keywordCapacity(e.count, maxValueSize, sizing.capacity, sizing.maxTableBytes);
  const shape = keywordShape(sized, maxValueSize);
  const n = e.count;
  const key = (i: number): Uint8Array => body.subarray(e.keyOff[i]!, e.keyOff[i]! + e.keyLen[i]!);
  const tags = new Uint8Array(n * TAG_BYTES);
  const b1 = new Uint32Array(n), b2 = new Uint32Array(n);
  let attempts = 0;
  for (const salt of salts.slice(0, MAX_BUILD_ATTEMPTS)) {
    attempts++;
    if (salt.length !== SALT_BYTES) throw new CryptoInputError('a salt is 32 bytes');
    const prefix = saltPrefix(salt);
    for (let i = 0; i < n; i++) {
      const h = keywordHash(prefix, key(i), shape.buckets);
      tags.set(h.tag, i * TAG_BYTES); b1[i] = h.b1; b2[i] = h.b2;
    }
    if (!distinctTags(tags, n, key)) continue;
    const slots = cuckooInsert(n, b1, b2, shape.buckets, salt);
    if (!slots) continue;
    const records = new Uint8Array(shape.recordCount * shape.recordSize);
    const bucketStride = shape.recordsPerBucket * shape.recordSize;
    for (let s = 0; s < slots.length; s++) {
      const i = slots[s]!;
      if (i < 0) continue;
      const o = Math.floor(s / SLOTS_PER_BUCKET) * bucketStride + (s % SLOTS_PER_BUCKET) * shape.slotSize;
      records.set(tags.subarray(i * TAG_BYTES, (i + 1) * TAG_BYTES), o);
      const lenField = e.valLen[i]! + 1;
      records[o + TAG_BYTES] = lenField >> 8; records[o + TAG_BYTES + 1] = lenField & 0xff;
      records.set(body.subarray(e.valOff[i]!, e.valOff[i]! + e.valLen[i]!), o + SLOT_HEADER);
    }
    const layout: KeywordLayout = {
      scheme: KEYWORD_SCHEME, salt: base64urlEncode(salt), hashes: KEYWORD_HASHES, slotsPerBucket: SLOTS_PER_BUCKET, tagBytes: TAG_BYTES,
      maxValueSize, entries: sized, buckets: shape.buckets, recordsPerBucket: shape.recordsPerBucket,
    };
    return { layout, records, recordSize: shape.recordSize, attempts };
  }
  throw new AppError('invalid_input', `the cuckoo table could not be built with ${attempts} salts`);
}

/** The capacity a table of `entries` is sized for: `capacity` (≥ entries), lowered until the table is ≤ maxTableBytes. */
export function keywordCapacity(entries: number, maxValueSize: number, capacity: number | undefined, maxTableBytes = Infinity): number {
  if (capacity === undefined || capacity <= entries) return entries;
  keywordShape(capacity, maxValueSize); // range check
  const bytes = (c: number): number => { const s = keywordShape(c, maxValueSize); return s.recordCount * s.recordSize; };
  if (bytes(capacity) <= maxTableBytes) return capacity;
  let lo = entries, hi = capacity; // bytes(hi) > max; find the largest c in [entries, capacity) that fits (or entries)
  while (hi - lo > 1) { const mid = Math.floor((lo + hi) / 2); if (bytes(mid) <= maxTableBytes) lo = mid; else hi = mid; }
  return lo;
}

/**
 * True when all tags differ. Equal tags of equal keys are a duplicate key (throws); equal tags of
 * different keys (probability ~n²/2^129) make this salt fail.
 */
function distinctTags(tags: Uint8Array, n: number, key: (i: number) => Uint8Array): boolean {
  let size = 1;
  while (size < 2 * n) size <<= 1;
  const table = new Int32Array(size).fill(-1);
  const mask = size - 1;
  for (let i = 0; i < n; i++) {
    const t = i * TAG_BYTES;
    let p = (tags[t]! << 24 | tags[t + 1]! << 16 | tags[t + 2]! << 8 | tags[t + 3]!) & mask;
    for (;;) {
      const j = table[p]!;
      if (j < 0) { table[p] = i; break; }
      let same = true;
      for (let k = 0; k < TAG_BYTES; k++) if (tags[t + k] !== tags[j * TAG_BYTES + k]) { same = false; break; }
      if (same) {
        const a = key(i), b = key(j);
        if (a.length === b.length && a.every((x, k) => x === b[k])) throw new CryptoInputError(`duplicate key (entries ${j} and ${i})`);
        return false;
      }
      p = (p + 1) & mask;
    }
  }
  return true;
}

/**
 * Random-walk cuckoo insertion: slot array (entry index or −1), or null when an insertion needed
 * more than MAX_KICKS evictions. The walk's randomness is an xorshift stream seeded by the salt,
 * so a build is reproducible from its inputs.
 */
function cuckooInsert(n: number, b1: Uint32Array, b2: Uint32Array, buckets: number, salt: Uint8Array): Int32Array | null {
  const slots = new Int32Array(buckets * SLOTS_PER_BUCKET).fill(-1);
  let x = (salt[0]! | salt[1]! << 8 | salt[2]! << 16 | salt[3]! << 24) | 1;
  const rand = (): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
  const tryPlace = (b: number, i: number): boolean => {
    for (let s = 0; s < SLOTS_PER_BUCKET; s++) if (slots[b * SLOTS_PER_BUCKET + s] === -1) { slots[b * SLOTS_PER_BUCKET + s] = i; return true; }
    return false;
  };
  for (let i = 0; i < n; i++) {
    let cur = i;
    let bucket = rand() & 1 ? b1[cur]! : b2[cur]!;
    if (tryPlace(b1[cur]!, cur) || tryPlace(b2[cur]!, cur)) continue;
    let placed = false;
    for (let kick = 0; kick < MAX_KICKS; kick++) {
      const s = bucket * SLOTS_PER_BUCKET + (rand() % SLOTS_PER_BUCKET);
      const evicted = slots[s]!;
      slots[s] = cur;
      cur = evicted;
      bucket = b1[cur] === bucket ? b2[cur]! : b1[cur]!;
      if (tryPlace(bucket, cur)) { placed = true; break; }
    }
    if (!placed) return null;
  }
  return slots;
}
