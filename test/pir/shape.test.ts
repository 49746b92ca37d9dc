/**
 * The download-minimising shape rule (src/pir/shape.ts through params.ts `choosePirParams`): the goal
 * at 64 MiB, optimality against a brute force over every records-per-column, monotonicity in
 * queriesPerHint, the correctness cap, and the client's recomputation (queriesPerHint is signed and
 * must reproduce the shape). Prints the table of docs/PIR.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertPirParams, choosePirParams, COL_ALIGN, failureProbabilityLog2, LWE_N, maxColsFor, pirSizes, TARGET_FAILURE_LOG2 } from '../../src/pir/params.ts';
import { DEFAULT_QUERIES_PER_HINT, MAX_QUERY_BYTES, shapeFor, shapeTraffic } from '../../src/pir/shape.ts';
import { AppError } from '../../src/errors.ts';

const MiB = 1 << 20;

test('goal at 64 MiB with the default: hint ≤ 0.1 × database, query ≤ 1 MiB up, answer ≤ 64 KiB down', () => {
  const p = choosePirParams((64 * MiB) / 32, 32);
  const s = pirSizes(p);
  assert.equal(p.queriesPerHint, DEFAULT_QUERIES_PER_HINT);
  assert.ok(s.hint <= 0.1 * 64 * MiB, `hint ${s.hint}`);
  assert.ok(s.query <= MiB, `query ${s.query}`);
  assert.ok(s.answer <= 64 * 1024, `answer ${s.answer}`);
  const square = pirSizes(choosePirParams((64 * MiB) / 32, 32, null));
  assert.ok(s.hint + 16 * (s.query + s.answer) < square.hint + 16 * (square.query + square.answer), 'cheaper than the square shape for 16 queries');
});

test('the chosen shape is the cheapest feasible one (brute force over every records-per-column)', () => {
  for (const [count, size, q] of [[3000, 32, 16], [1 << 16, 32, 1], [1 << 16, 32, 256], [50_000, 7, 16], [1 << 21, 32, 16], [4096, 1024, 4]] as const) {
    const p = choosePirParams(count, size, q);
    const chosen = shapeTraffic(p, LWE_N, q).total;
    let best = Infinity, bestK = 0;
    for (let k = 1; k <= count; k++) {
      const s = shapeFor(count, size, k, COL_ALIGN);
      if (s.cols > maxColsFor(s.rows) || s.cols * 4 > MAX_QUERY_BYTES) continue;
      const t = shapeTraffic(s, LWE_N, q).total;
      if (t < best) { best = t; bestK = k; }
    }
    assert.equal(chosen, best, `${count}×${size} q=${q}: chose ${p.recordsPerColumn}/column, brute force ${bestK}`);
  }
});

test('more queries per hint: hint never smaller, query never larger; all within the correctness bound', () => {
  for (const mib of [4, 64, 256]) {
    let prev: ReturnType<typeof pirSizes> | undefined;
    for (const q of [1, 2, 4, 16, 64, 256, 4096, 1 << 20]) {
      const p = choosePirParams((mib * MiB) / 32, 32, q);
      const s = pirSizes(p);
      assert.ok(failureProbabilityLog2(p.rows, p.cols) <= TARGET_FAILURE_LOG2);
      assert.ok(s.query <= MiB);
      if (prev) assert.ok(s.hint >= prev.hint && s.query <= prev.query, `${mib} MiB q=${q}`);
      prev = s;
    }
  }
});

test('the client recomputes the shape from the signed queriesPerHint and refuses anything else', () => {
  const p = choosePirParams(100_000, 32, 16);
  assertPirParams(JSON.parse(JSON.stringify(p)));
  const other = choosePirParams(100_000, 32, 64);
  assert.notEqual(other.rows, p.rows);
  assert.throws(() => assertPirParams({ ...p, queriesPerHint: 64 }), AppError, 'shape of 16 under the label 64');
  for (const q of [0, -1, 1.5, '16', (1 << 20) + 1, null]) {
    assert.throws(() => assertPirParams({ ...p, queriesPerHint: q }), AppError, String(q));
  }
  assert.throws(() => assertPirParams({ ...p, extra: 1 }), AppError, 'unknown field');
  assert.throws(() => choosePirParams(10, 10, 0), AppError);
});

test('table: hint, query and answer per shape at 4, 64 and 256 MiB (docs/PIR.md)', () => {
  const rows: string[] = ['| database | queries/hint | rows × cols | hint | hint / DB | query | answer | total for Q queries |', '|---|---|---|---|---|---|---|---|'];
  const f = (b: number): string => (b >= MiB ? `${(b / MiB).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
  for (const mib of [4, 64, 256]) {
    for (const q of [null, 1, 4, 16, 64, 256]) {
      const p = choosePirParams((mib * MiB) / 32, 32, q);
      const t = shapeTraffic(p, LWE_N, q ?? 16);
      rows.push(`| ${mib} MiB | ${q ?? 'square (v1), Q=16'} | ${p.rows} × ${p.cols} | ${f(t.hint)} | ${(t.hint / (mib * MiB)).toFixed(3)} | ${f(t.query)} | ${f(t.answer)} | ${f(t.total)} |`);
    }
  }
  console.log(rows.join('\n'));
  assert.equal(rows.length, 2 + 18);
});
