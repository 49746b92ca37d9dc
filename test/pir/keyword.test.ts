/**
 * The pure keyword-PIR module (src/pir/keyword.ts): framing, cuckoo build, candidate records and
 * matching, without a server. Property tests over random key sets: every inserted key is found with
 * its value, absent keys give null, and every lookup asks for the same number of records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildKeywordTable, candidateRecords, encodeKeywordEntries, keywordShape, matchKeyword, parseKeywordEntries, assertKeywordLayout,
  keywordSignedFields, MAX_KEY_BYTES, MAX_BUILD_ATTEMPTS, KEYWORD_HASHES, type KeywordTable,
} from '../../src/pir/keyword.ts';
import { AppError } from '../../src/errors.ts';

const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const randInt = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo + 1));
const salts = (): Uint8Array[] => Array.from({ length: MAX_BUILD_ATTEMPTS }, () => rand(32));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function randomEntries(n: number, maxValue: number): Array<{ key: Uint8Array; value: Uint8Array }> {
  const seen = new Set<string>();
  const out: Array<{ key: Uint8Array; value: Uint8Array }> = [];
  while (out.length < n) {
    const key = rand(randInt(1, 40));
    if (seen.has(hex(key))) continue;
    seen.add(hex(key));
    out.push({ key, value: rand(randInt(0, maxValue)) });
  }
  return out;
}

const fetchRecords = (t: KeywordTable, idx: number[]): Uint8Array[] => idx.map((i) => {
  assert.ok(i >= 0 && i < t.layout.buckets * t.layout.recordsPerBucket, `index ${i} in range`);
  return t.records.subarray(i * t.recordSize, (i + 1) * t.recordSize);
});
const lookup = (t: KeywordTable, key: Uint8Array): Uint8Array | null => matchKeyword(t.layout, key, fetchRecords(t, candidateRecords(t.layout, key)));

test('every inserted key is found with its value; absent keys give null; constant record count (random sets)', () => {
  for (const [n, maxValue] of [[0, 8], [1, 0], [2, 5], [3, 32], [17, 32], [100, 1], [1000, 64], [5000, 16], [300, 3000]] as const) {
    const entries = randomEntries(n, maxValue);
    const t = buildKeywordTable(encodeKeywordEntries(entries), maxValue, salts());
    assert.equal(t.layout.entries, n);
    assert.equal(t.records.length, t.layout.buckets * t.layout.recordsPerBucket * t.recordSize);
    const expected = KEYWORD_HASHES * t.layout.recordsPerBucket;
    for (const { key, value } of entries) {
      assert.equal(candidateRecords(t.layout, key).length, expected);
      assert.deepEqual(lookup(t, key), value, `n=${n}: key ${hex(key)}`);
    }
    for (let i = 0; i < 200; i++) {
      const absent = rand(randInt(1, 41));
      if (entries.some((e) => hex(e.key) === hex(absent))) continue;
      assert.equal(candidateRecords(t.layout, absent).length, expected, 'an absent key costs the same queries');
      assert.equal(lookup(t, absent), null);
    }
  }
});

test('load factor is about 0.8 of 2-slot buckets; large buckets split into several records', () => {
  const s = keywordShape(1_000_000, 32);
  assert.equal(s.buckets, 625_000);
  assert.equal(s.recordsPerBucket, 1);
  assert.equal(s.recordSize, 2 * (16 + 2 + 32));
  const big = keywordShape(10, 6144);
  assert.ok(big.recordsPerBucket > 1, 'a 12 KiB bucket of a small table is split');
  assert.equal(big.recordCount, big.buckets * big.recordsPerBucket);
  assert.ok(big.recordSize * big.recordsPerBucket >= big.bucketBytes);
  // Values up to 6 KiB round-trip through split buckets.
  const entries = randomEntries(10, 6144);
  entries[0]!.value = rand(6144);
  const t = buildKeywordTable(encodeKeywordEntries(entries), 6144, salts());
  for (const { key, value } of entries) assert.deepEqual(lookup(t, key), value);
});

test('a build is reproducible from its salt, and another salt gives another layout', () => {
  const body = encodeKeywordEntries(randomEntries(500, 8));
  const salt = rand(32);
  const a = buildKeywordTable(body, 8, [salt]);
  const b = buildKeywordTable(body, 8, [salt]);
  assert.deepEqual(a.records, b.records);
  const c = buildKeywordTable(body, 8, [rand(32)]);
  assert.notDeepEqual(a.records, c.records);
  assert.notDeepEqual(keywordSignedFields(a.layout), keywordSignedFields(c.layout));
});

test('bad framing, duplicate keys, oversize keys and values are refused with invalid_input', () => {
  const ok = encodeKeywordEntries([{ key: rand(4), value: rand(4) }]);
  const refuse = (body: Uint8Array, maxValue: number, re: RegExp): void => {
    assert.throws(() => buildKeywordTable(body, maxValue, salts()), (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && re.test(e.message));
  };
  refuse(new Uint8Array(0), 8, /PQKW/);
  refuse(new Uint8Array([1, 2, 3, 4, 0, 1, 9]), 8, /PQKW/);
  refuse(ok.subarray(0, ok.length - 1), 8, /truncated/);
  refuse(ok.subarray(0, 5), 8, /truncated/);
  refuse(new Uint8Array([...ok.subarray(0, 4), 0, 0, 0, 0]), 8, /key is 1\.\./);
  refuse(ok, 3, /exceeds maxValueSize/);
  const key = rand(9);
  refuse(encodeKeywordEntries([{ key, value: rand(1) }, { key: rand(9), value: rand(2) }, { key: key.slice(), value: rand(3) }]), 8, /duplicate key/);
  const long = new Uint8Array(4 + 2 + MAX_KEY_BYTES + 1 + 2);
  long.set([0x50, 0x51, 0x4b, 0x57, (MAX_KEY_BYTES + 1) >> 8, (MAX_KEY_BYTES + 1) & 0xff]);
  refuse(long, 8, /key is 1\.\./);
  assert.throws(() => encodeKeywordEntries([{ key: new Uint8Array(MAX_KEY_BYTES + 1), value: rand(1) }]), /key is 1\.\./);
  assert.throws(() => buildKeywordTable(ok, 9000, salts()), /maxValueSize/);
  // No salt left: the bounded retry gives up with a 4xx, not a loop.
  assert.throws(() => buildKeywordTable(ok, 8, []), (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && /0 salts/.test(e.message));
  assert.equal(parseKeywordEntries(encodeKeywordEntries([]), 0).count, 0);
});

test('a layout that does not match its database shape is refused; malformed buckets are refused', () => {
  const t = buildKeywordTable(encodeKeywordEntries(randomEntries(50, 16)), 16, salts());
  const params = { recordCount: t.layout.buckets * t.layout.recordsPerBucket, recordSize: t.recordSize };
  assertKeywordLayout(t.layout, params);
  for (const bad of [{ ...t.layout, buckets: t.layout.buckets + 1 }, { ...t.layout, entries: 5000 }, { ...t.layout, salt: 'AAAA' },
    { ...t.layout, scheme: 'other' }, { ...t.layout, slotsPerBucket: 4 }, null]) {
    assert.throws(() => assertKeywordLayout(bad, params), (e: unknown) => e instanceof AppError && e.code === 'invalid_input');
  }
  assert.throws(() => assertKeywordLayout(t.layout, { ...params, recordSize: params.recordSize + 1 }), /does not match/);
  const key = rand(5);
  const idx = candidateRecords(t.layout, key);
  assert.throws(() => matchKeyword(t.layout, key, fetchRecords(t, idx).slice(1)), /exactly/);
  const junk = idx.map(() => new Uint8Array(t.recordSize).fill(0xff));
  assert.throws(() => matchKeyword(t.layout, key, junk), /malformed/);
});
