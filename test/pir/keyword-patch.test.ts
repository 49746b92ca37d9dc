/**
 * The pure keyword-patch module (src/pir/keyword-patch.ts): random upserts and deletes applied to a
 * built table as record changes. After applying, every present key is found by the client's matching
 * code with its latest value, deleted keys give null, and only few records change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildKeywordTable, candidateRecords, encodeKeywordEntries, matchKeyword, MAX_BUILD_ATTEMPTS, type KeywordTable } from '../../src/pir/keyword.ts';
import { keywordRecordChanges, keywordSlots, type KeywordEdits } from '../../src/pir/keyword-patch.ts';
import type { RecordChange } from '../../src/pir/changes.ts';

const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const randInt = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo + 1));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const salts = (): Uint8Array[] => Array.from({ length: MAX_BUILD_ATTEMPTS }, () => rand(32));

function build(n: number, maxValue: number): { t: KeywordTable; model: Map<string, { key: Uint8Array; value: Uint8Array }> } {
  const model = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  while (model.size < n) { const key = rand(randInt(1, 24)); model.set(hex(key), { key, value: rand(randInt(0, maxValue)) }); }
  return { t: buildKeywordTable(encodeKeywordEntries(model.values()), maxValue, salts()), model };
}
const reader = (t: KeywordTable) => (o: number, l: number): Uint8Array => {
  assert.ok(o >= 0 && o + l <= t.records.length, 'reads stay inside the table');
  return t.records.subarray(o, o + l);
};
const apply = (t: KeywordTable, changes: RecordChange[]): void => {
  for (const c of changes) t.records.set(c.record ?? new Uint8Array(t.recordSize), c.index * t.recordSize);
};
const lookup = (t: KeywordTable, key: Uint8Array): Uint8Array | null =>
  matchKeyword(t.layout, key, candidateRecords(t.layout, key).map((i) => t.records.subarray(i * t.recordSize, (i + 1) * t.recordSize)));

test('random upserts (present and new) and deletes: the client finds the new state; few records change', () => {
  let rebuilds = 0, patches = 0;
  for (const [n, maxValue] of [[1, 8], [5, 16], [50, 32], [400, 8], [60, 3000]] as const) {
    for (let round = 0; round < 6; round++) {
      const { t, model } = build(n, maxValue);
      const before = new Map(model);
      const present = [...model.values()];
      const upserts: Array<{ key: Uint8Array; value: Uint8Array }> = [];
      const deletes: Uint8Array[] = [];
      const k = randInt(1, 4);
      for (let i = 0; i < k && present.length > 0; i++) {
        const e = present.splice(randInt(0, present.length - 1), 1)[0]!;
        if (Math.random() < 0.5) deletes.push(e.key); else upserts.push({ key: e.key, value: rand(randInt(0, maxValue)) });
      }
      deletes.push(rand(30)); // an absent key: a no-op
      for (let i = randInt(0, 2); i > 0; i--) upserts.push({ key: rand(randInt(25, 40)), value: rand(randInt(0, maxValue)) });
      const r = keywordRecordChanges(t.layout, t.recordSize, reader(t), { upserts, deletes });
      if (r.kind === 'rebuild') { rebuilds++; assert.match(r.reason, /full/); continue; }
      patches++;
      const touched = upserts.length + deletes.length - 1;
      assert.ok(r.changes.length <= touched * t.layout.recordsPerBucket, `${r.changes.length} records for ${touched} keys`);
      for (let i = 1; i < r.changes.length; i++) assert.ok(r.changes[i]!.index > r.changes[i - 1]!.index, 'ascending, no index twice');
      apply(t, r.changes);
      for (const d of deletes) model.delete(hex(d));
      for (const u of upserts) model.set(hex(u.key), u);
      for (const { key, value } of model.values()) assert.deepEqual(lookup(t, key), value, `n=${n}: key ${hex(key)}`);
      for (const d of deletes) assert.equal(lookup(t, d), null, 'a deleted key is gone');
      assert.equal(keywordSlots(t.layout, t.recordSize, reader(t)).length, model.size, 'one slot per present key');
      assert.ok(before.size > 0);
    }
  }
  assert.ok(patches > rebuilds, `most random patches fit (${patches} patches, ${rebuilds} rebuilds)`);
});

test('an unchanged value changes no record; a full pair of buckets asks for a rebuild; an oversize value too', () => {
  const { t, model } = build(2, 8);
  const e = [...model.values()][0]!;
  const same = keywordRecordChanges(t.layout, t.recordSize, reader(t), { upserts: [e] });
  assert.deepEqual(same, { kind: 'patch', changes: [] });
  // n = 2: one bucket of 2 slots... or 2 buckets of 4 slots; fill it until no free slot is left.
  let filled = 0;
  for (;;) {
    const r = keywordRecordChanges(t.layout, t.recordSize, reader(t), { upserts: [{ key: rand(20), value: rand(3) }] });
    if (r.kind === 'rebuild') break;
    apply(t, r.changes);
    assert.ok(++filled <= t.layout.buckets * 2, 'never more keys than slots');
  }
  assert.equal(keywordSlots(t.layout, t.recordSize, reader(t)).length, Math.min(t.layout.buckets, 2) * 2, 'rebuild only once both buckets are full');
  const big = keywordRecordChanges(t.layout, t.recordSize, reader(t), { upserts: [{ key: e.key, value: rand(9) }] });
  assert.equal(big.kind, 'rebuild');
});

test('slots cleared by position; bad input is refused', () => {
  const { t, model } = build(30, 16);
  const slots = keywordSlots(t.layout, t.recordSize, reader(t));
  assert.equal(slots.length, 30);
  const r = keywordRecordChanges(t.layout, t.recordSize, reader(t), { clear: [{ bucket: slots[0]!.bucket, slot: slots[0]!.slot }] });
  assert.equal(r.kind, 'patch');
  apply(t, (r as { changes: RecordChange[] }).changes);
  const left = [...model.values()].filter((e) => lookup(t, e.key) !== null);
  assert.equal(left.length, 29, 'exactly the cleared entry is gone');
  const k = rand(5);
  const bad: KeywordEdits[] = [
    { upserts: [{ key: k, value: rand(1) }], deletes: [k] },
    { deletes: [new Uint8Array(0)] },
    { clear: [{ bucket: t.layout.buckets, slot: 0 }] },
    { clear: [{ bucket: 0, slot: 2 }] },
  ];
  for (const edits of bad) assert.throws(() => keywordRecordChanges(t.layout, t.recordSize, reader(t), edits), /key|slot/);
});

test('a table built with headroom (capacity) holds its keys and takes new ones without rebuilds', () => {
  const model = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  while (model.size < 100) { const key = rand(12); model.set(hex(key), { key, value: rand(4) }); }
  const t = buildKeywordTable(encodeKeywordEntries(model.values()), 8, salts(), { capacity: 200 });
  assert.equal(t.layout.entries, 200, 'the layout is sized for the capacity');
  for (const { key, value } of model.values()) assert.deepEqual(lookup(t, key), value);
  let rebuilds = 0;
  for (let i = 0; i < 50; i++) {
    const u = { key: rand(13), value: rand(5) };
    const r = keywordRecordChanges(t.layout, t.recordSize, reader(t), { upserts: [u] });
    if (r.kind === 'rebuild') { rebuilds++; continue; }
    apply(t, r.changes);
    model.set(hex(u.key), u);
  }
  for (const { key, value } of model.values()) assert.deepEqual(lookup(t, key), value);
  // At load ≤ 0.6 of 2-slot buckets a new key rarely finds both buckets full.
  assert.ok(rebuilds <= 10, `${rebuilds} of 50 inserts needed a rebuild`);
  assert.throws(() => buildKeywordTable(encodeKeywordEntries(model.values()), 8, salts(), { capacity: 200.5 }), /entries/);
  // A capacity is lowered until the table fits maxTableBytes, never below the entries.
  const body = encodeKeywordEntries(model.values());
  const full = buildKeywordTable(body, 8, salts(), { capacity: 1000 }).records.length;
  const fit = buildKeywordTable(body, 8, salts(), { capacity: 1000, maxTableBytes: Math.floor(full / 2) });
  assert.ok(fit.records.length <= full / 2 && fit.layout.entries > model.size && fit.layout.entries < 1000, `capacity ${fit.layout.entries}`);
  assert.equal(buildKeywordTable(body, 8, salts(), { capacity: 1000, maxTableBytes: 1 }).layout.entries, model.size);
});
