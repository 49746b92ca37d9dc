import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { buildDatabase, computeHint, answerQuery, type PirDatabase } from '../../src/pir/server.ts';
import { makeQuery, decode, sampleCbd } from '../../src/pir/client.ts';
import { expandA } from '../../src/pir/matrixA.ts';
import { recordPosition, CBD_ETA } from '../../src/pir/params.ts';
import { referenceKernel, type PirKernel } from '../../src/pir/reference-kernel.ts';
import { loadWasmKernel } from '../../src/pir/wasm-kernel.ts';
import { u32ToBytes, bytesToU32 } from '../../src/pir/wire.ts';
import { AppError } from '../../src/errors.ts';
import { fillRandom } from './_helpers.ts';

let wasm: PirKernel;
before(async () => { wasm = await loadWasmKernel(); });

interface Fixture { records: Uint8Array; db: PirDatabase; seed: Uint8Array; hint: Uint32Array; A: Uint32Array }

function fixture(count: number, size: number, kernel: PirKernel, extremes = false): Fixture {
  const records = fillRandom(new Uint8Array(count * size));
  if (extremes) for (let i = 0; i < records.length; i++) if (i % 3 === 0) records[i] = i % 2 ? 255 : 0;
  const db = buildDatabase(records, size);
  const seed = crypto.getRandomValues(new Uint8Array(32));
  return { records, db, seed, hint: computeHint(db, seed, kernel), A: expandA(seed, db.params.cols, db.params.n) };
}

/** First/last record, first/last of the last column, then random indices. */
function indices(f: Fixture, count: number): number[] {
  const { recordCount: n, recordsPerColumn: k } = f.db.params;
  const lastCol = Math.floor((n - 1) / k) * k;
  const out = [0, n - 1, lastCol, Math.min(n - 1, k - 1), Math.min(n - 1, k)];
  while (out.length < count) out.push(Math.floor(Math.random() * n));
  return out;
}

function roundTrip(f: Fixture, kernel: PirKernel, idx: number[]): number {
  const { params } = f.db;
  let ok = 0;
  for (const i of idx) {
    const { query, state } = makeQuery(params, f.seed, i, { A: f.A });
    const answer = answerQuery(f.db, query, kernel);
    const rec = decode(params, f.hint, answer, state);
    const want = f.records.subarray(i * params.recordSize, (i + 1) * params.recordSize);
    if (rec.length === want.length && rec.every((b, j) => b === want[j])) ok++;
    else assert.fail(`record ${i} decoded wrongly (shape ${params.rows}×${params.cols})`);
  }
  return ok;
}

describe('SimplePIR round trip', () => {
  test('≥ 10,000 random indices over several shapes decode exactly', () => {
    let total = 0;
    const shapes: Array<[number, number, number, boolean]> = [
      [1000, 8, 2600, false], [4999, 1, 2600, true], [300, 33, 2600, false], [20, 500, 300, true], [7, 3, 100, true], [777, 64, 2000, false],
    ];
    for (const [count, size, queries, extremes] of shapes) {
      const kernel = total % 2 === 0 ? wasm : referenceKernel;
      const f = fixture(count, size, wasm, extremes);
      total += roundTrip(f, kernel, indices(f, queries));
    }
    console.log(`# decoded ${total} records exactly`);
    assert.ok(total >= 10_000);
  });

  test('a 1 MiB database (the default short, wide shape) decodes with the WASM kernel and on-the-fly A', () => {
    const f = fixture(65536, 16, wasm);
    const { params } = f.db;
    assert.ok(params.rows >= 64 && params.cols > 4 * params.rows, `${params.rows}×${params.cols}`);
    let ok = 0;
    for (const i of indices(f, 12)) {
      const { query, state } = makeQuery(params, f.seed, i); // expands A from the seed itself
      const rec = decode(params, f.hint, answerQuery(f.db, query, wasm), state);
      assert.deepEqual(rec, f.records.subarray(i * 16, (i + 1) * 16));
      ok++;
    }
    assert.equal(ok, 12);
  });

  test('hints from both kernels agree; a hint for another seed decodes garbage', () => {
    const f = fixture(200, 5, wasm);
    assert.deepEqual(computeHint(f.db, f.seed, referenceKernel), f.hint);
    const other = computeHint(f.db, crypto.getRandomValues(new Uint8Array(32)), wasm);
    const { query, state } = makeQuery(f.db.params, f.seed, 17);
    const rec = decode(f.db.params, other, answerQuery(f.db, query, wasm), state);
    assert.notDeepEqual(rec, f.records.subarray(85, 90));
  });

  test('query state is single use; wrong sizes are rejected; inputs are not mutated', () => {
    const f = fixture(50, 4, wasm);
    const { params } = f.db;
    const { query, state } = makeQuery(params, f.seed, 3);
    const queryCopy = query.slice();
    const answer = answerQuery(f.db, query, wasm);
    assert.deepEqual(query, queryCopy);
    assert.throws(() => decode(params, f.hint, answer.subarray(1), state), AppError);
    assert.throws(() => decode(params, f.hint.subarray(1), answer, state), AppError);
    const hintCopy = f.hint.slice();
    assert.deepEqual(decode(params, f.hint, answer, state), f.records.subarray(12, 16));
    assert.deepEqual(f.hint, hintCopy);
    assert.throws(() => decode(params, f.hint, answer, state), AppError);
    assert.deepEqual(Object.keys(state).sort(), ['cols', 'column', 'firstRow', 'index', 'n', 'rows'], 'no secret on the state');
    assert.ok(Object.values(state).every((v) => typeof v === 'number'));
    assert.throws(() => answerQuery(f.db, new Uint32Array(params.cols + 1), wasm), AppError);
    assert.throws(() => makeQuery(params, f.seed, params.recordCount), AppError);
    assert.throws(() => makeQuery({ ...params, n: 1024 }, f.seed, 0), AppError);
    assert.throws(() => buildDatabase(new Uint8Array(10), 3), AppError);
  });

  test('wire encoding round-trips and checks length', () => {
    const v = fillRandom(new Uint32Array(33));
    assert.deepEqual(bytesToU32(u32ToBytes(v), 33), v);
    assert.throws(() => bytesToU32(new Uint8Array(131), 33), AppError);
  });
});

describe('error distribution', () => {
  test('CBD(82) has mean 0, variance η/2 and support within ±η', () => {
    const e = new Int32Array(200_000);
    sampleCbd(e);
    let sum = 0, sq = 0, max = 0;
    for (const x of e) { sum += x; sq += x * x; max = Math.max(max, Math.abs(x)); }
    const mean = sum / e.length, variance = sq / e.length - mean * mean;
    assert.ok(Math.abs(mean) < 0.1, `mean ${mean}`);
    assert.ok(Math.abs(variance - CBD_ETA / 2) < 1, `variance ${variance}`);
    assert.ok(max <= CBD_ETA && max > 15);
  });

  test('layout: records stack down columns, padding entries are 0', () => {
    const f = fixture(30, 2, referenceKernel);
    const { params } = f.db;
    const covered = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const { column, firstRow } = recordPosition(params, i);
      for (let t = 0; t < 2; t++) {
        const at = (firstRow + t) * params.cols + column;
        assert.equal(f.db.matrix.data[at], f.records[2 * i + t]! - 128);
        covered.add(at);
      }
    }
    assert.ok(params.rows * params.cols > covered.size, 'this shape has padding');
    for (let at = 0; at < params.rows * params.cols; at++) if (!covered.has(at)) assert.equal(f.db.matrix.data[at], 0, 'padding is 0');
  });
});
