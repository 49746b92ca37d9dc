/**
 * Pure live-update math (src/pir/delta.ts, changes.ts, matrixA.ts `expandABlocks`): a hint patched
 * incrementally equals the hint computed afresh from the changed records, split work merges to the
 * same result, a hint delta rebuilds the new hint, and malformed deltas and change lists are refused.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildDatabase, computeHint } from '../../src/pir/server.ts';
import { referenceKernel } from '../../src/pir/reference-kernel.ts';
import { expandABlocks, expandAColumn } from '../../src/pir/matrixA.ts';
import {
  addRowDeltas, applyChangesToMatrix, applyHintDelta, decodeHintDelta, decodeRecordDelta, encodeHintDelta, encodeRecordDelta, extractRecords,
  hintDeltaFromRows, hintRowDeltas, mergeRowDeltas, packRecordDeltas, recordDeltaCells, unionRows,
} from '../../src/pir/delta.ts';
import { checkRecordChanges, decodeRecordChanges, encodeRecordChanges, type RecordChange } from '../../src/pir/changes.ts';
import { AppError } from '../../src/errors.ts';
import { fillRandom } from './_helpers.ts';

const seed = fillRandom(new Uint8Array(32));

/** A random database, its hint, and a random set of k changes (some deletes, one no-op rewrite). */
function scenario(count: number, size: number, k: number) {
  const records = fillRandom(new Uint8Array(count * size));
  const db = buildDatabase(records, size);
  const hint = computeHint(db, seed, referenceKernel);
  const picked = new Set<number>();
  while (picked.size < k) picked.add(Math.floor(Math.random() * count));
  const changes: RecordChange[] = [...picked].map((index, j) => ({
    index,
    record: j % 5 === 1 ? null : j % 7 === 2 ? records.slice(index * size, (index + 1) * size) : fillRandom(new Uint8Array(size)),
  }));
  const next = records.slice();
  for (const c of changes) next.set(c.record ?? new Uint8Array(size), c.index * size);
  return { records, db, hint, changes: checkRecordChanges(changes, count, size), next };
}

describe('incremental hint', () => {
  for (const [count, size, k] of [[3000, 32, 1], [3000, 32, 40], [20_000, 8, 300], [777, 5, 777], [10, 1, 3]] as const) {
    test(`${count} records of ${size} B, ${k} changed: the patched hint equals a fresh one`, () => {
      const s = scenario(count, size, k);
      const data = Int8Array.from(s.db.matrix.data);
      const byteDeltas = new Int16Array(s.changes.length * size);
      const cells = applyChangesToMatrix(s.db.params, data, s.changes, byteDeltas);
      const fresh = buildDatabase(s.next, size);
      assert.deepEqual(data, Int8Array.from(fresh.matrix.data), 'the patched matrix is the layout of the new records');
      assert.deepEqual(extractRecords(s.db.params, data), s.next, 'records read back out of the matrix');
      const d = hintRowDeltas(seed, s.db.params.n, s.db.params.cols, cells);
      const patched = Uint32Array.from(s.hint);
      addRowDeltas(patched, s.db.params.n, d);
      const expected = computeHint(fresh, seed, referenceKernel);
      assert.ok(patched.every((v, i) => v === expected[i]), 'patched hint = D′·A');
      if (k > 1) assert.ok(s.hint.some((v, i) => v !== expected[i]), 'the hint did change');
      // Rows touched are exactly the rows of the changed bytes.
      const touched = new Set<number>();
      for (let i = 0; i < cells.length; i += 3) touched.add(cells[i]!);
      assert.deepEqual([...d.rows], [...touched].sort((a, b) => a - b));
      // Split across "workers" and merged: the same.
      const half = Math.floor(cells.length / 6) * 3;
      const merged = mergeRowDeltas([hintRowDeltas(seed, s.db.params.n, s.db.params.cols, cells.slice(0, half)),
        hintRowDeltas(seed, s.db.params.n, s.db.params.cols, cells.slice(half))], s.db.params.n);
      assert.deepEqual(merged, d);
      // The delta a client downloads rebuilds the new hint from the old one.
      const delta = decodeHintDelta(encodeHintDelta(hintDeltaFromRows(expected, s.db.params.n, d.rows, 4, 5)), s.db.params.n, s.db.params.rows);
      assert.equal(delta.fromVersion, 4);
      assert.equal(delta.toVersion, 5);
      assert.deepEqual(applyHintDelta(s.hint, delta), expected);
      // The record delta: the same cells, so the client's own Σ δ·A[c,·] gives the same hint.
      const rd = decodeRecordDelta(encodeRecordDelta(4, 5, size, [packRecordDeltas(s.changes.map((c) => c.index), byteDeltas)]), s.db.params);
      const fromRecords = Uint32Array.from(s.hint);
      addRowDeltas(fromRecords, s.db.params.n, hintRowDeltas(seed, s.db.params.n, s.db.params.cols, recordDeltaCells(s.db.params, rd)));
      assert.deepEqual(fromRecords, expected);
    });
  }

  test('expandABlocks gives the entries of expandAColumn at those indices', () => {
    const cols = 1000;
    for (const k of [0, 1, 1407]) {
      const col = expandAColumn(seed, k, cols);
      for (const [first, len] of [[0, 1], [3, 2], [61, 1]] as const) {
        assert.deepEqual(expandABlocks(seed, k, first, len, new Uint32Array(16 * len)), col.slice(16 * first, 16 * (first + len)));
      }
    }
    assert.throws(() => expandABlocks(seed, 0, -1, 1, new Uint32Array(16)), AppError);
    assert.throws(() => expandABlocks(seed, 0, 0, 1, new Uint32Array(15)), AppError);
  });

  test('unionRows sorts and deduplicates', () => {
    assert.deepEqual([...unionRows([Uint32Array.of(1, 5, 9), Uint32Array.of(0, 5, 10)])], [0, 1, 5, 9, 10]);
  });
});

test('a record delta over a chain of two patches adds up (the same record changed twice)', () => {
  const s = scenario(500, 16, 3);
  const data = Int8Array.from(s.db.matrix.data);
  const first = checkRecordChanges([{ index: 7, record: fillRandom(new Uint8Array(16)) }], 500, 16);
  const second = checkRecordChanges([{ index: 7, record: null }, { index: 9, record: fillRandom(new Uint8Array(16)) }], 500, 16);
  const d1 = new Int16Array(16), d2 = new Int16Array(32);
  applyChangesToMatrix(s.db.params, data, first, d1);
  applyChangesToMatrix(s.db.params, data, second, d2);
  const wire = encodeRecordDelta(1, 3, 16, [packRecordDeltas([7], d1), packRecordDeltas([7, 9], d2)]);
  const rd = decodeRecordDelta(wire, s.db.params);
  assert.deepEqual([...rd.indices], [7, 7, 9]);
  const hint = Uint32Array.from(s.hint);
  addRowDeltas(hint, s.db.params.n, hintRowDeltas(seed, s.db.params.n, s.db.params.cols, recordDeltaCells(s.db.params, rd)));
  assert.deepEqual(hint, computeHint({ params: s.db.params, matrix: { ...s.db.matrix, data } }, seed, referenceKernel));
  const edit = (f: (v: DataView) => void): Uint8Array => { const b = wire.slice(); f(new DataView(b.buffer)); return b; };
  for (const [name, bytes] of [
    ['wrong magic', edit((v) => v.setUint32(0, 1, true))], ['another record size', edit((v) => v.setUint32(12, 8, true))],
    ['an index out of range', edit((v) => v.setUint32(20, 500, true))], ['a difference out of range', edit((v) => v.setInt16(32, 256, true))],
    ['truncated', wire.subarray(0, wire.length - 2)], ['too short', wire.subarray(0, 10)],
  ] as const) assert.throws(() => decodeRecordDelta(bytes, s.db.params), AppError, name);
});

describe('hostile hint deltas', () => {
  const n = 1408, hintRows = 64;
  const good = encodeHintDelta({ fromVersion: 1, toVersion: 2, n, rows: Uint32Array.of(3, 7), values: new Uint32Array(2 * n) });
  const edit = (f: (v: DataView, b: Uint8Array) => void): Uint8Array => { const b = good.slice(); f(new DataView(b.buffer), b); return b; };
  const bad: Array<[string, Uint8Array]> = [
    ['too short', good.subarray(0, 12)],
    ['wrong magic', edit((v) => v.setUint32(0, 0x58585858, true))],
    ['another n', edit((v) => v.setUint32(12, 1024, true))],
    ['count larger than the hint', edit((v) => v.setUint32(16, hintRows + 1, true))],
    ['truncated values', good.subarray(0, good.length - 4)],
    ['trailing bytes', Uint8Array.from([...good, 0, 0, 0, 0])],
    ['rows not increasing', edit((v) => { v.setUint32(20, 7, true); v.setUint32(24, 3, true); })],
    ['a repeated row', edit((v) => v.setUint32(24, 3, true))],
    ['a row outside the hint', edit((v) => v.setUint32(24, hintRows, true))],
  ];
  for (const [name, bytes] of bad) test(name, () => assert.throws(() => decodeHintDelta(bytes, n, hintRows), AppError));
  test('the good one parses', () => assert.deepEqual([...decodeHintDelta(good, n, hintRows).rows], [3, 7]));
});

describe('record change framing', () => {
  const size = 4, count = 100;
  test('round trip, sorted by index, deletes without bytes', () => {
    const changes: RecordChange[] = [{ index: 9, record: Uint8Array.of(1, 2, 3, 4) }, { index: 2, record: null }, { index: 99, record: new Uint8Array(4) }];
    const body = encodeRecordChanges(changes, size);
    assert.equal(body.length, 3 * 5 + 2 * size);
    const back = decodeRecordChanges(body, count, size);
    assert.deepEqual(back.map((c) => [c.index, c.record && [...c.record]]), [[2, null], [9, [1, 2, 3, 4]], [99, [0, 0, 0, 0]]]);
  });
  const entry = (index: number, op: number, bytes: number[] = []): number[] => [index & 0xff, (index >>> 8) & 0xff, (index >>> 16) & 0xff, index >>> 24, op, ...bytes];
  const bad: Array<[string, number[]]> = [
    ['empty body', []],
    ['truncated header', entry(1, 0).slice(0, 4)],
    ['truncated record', entry(1, 1, [1, 2, 3])],
    ['unknown op', entry(1, 2)],
    ['index out of range', entry(count, 0)],
    ['index 2^32 − 1', entry(0xffffffff, 0)],
    ['a repeated index', [...entry(3, 0), ...entry(3, 0)]],
    ['decreasing indices', [...entry(5, 0), ...entry(3, 0)]],
    ['trailing byte', [...entry(1, 0), 7]],
  ];
  for (const [name, bytes] of bad) test(`refused: ${name}`, () => assert.throws(() => decodeRecordChanges(Uint8Array.from(bytes), count, size), AppError));
  test('checkRecordChanges refuses duplicates, wrong sizes, out-of-range and empty lists', () => {
    for (const list of [[], [{ index: 1, record: null }, { index: 1, record: null }], [{ index: 0, record: new Uint8Array(3) }], [{ index: -1, record: null }], [{ index: 1.5, record: null }], [{ index: count, record: null }]]) {
      assert.throws(() => checkRecordChanges(list as RecordChange[], count, size), AppError, JSON.stringify(list));
    }
  });
});
