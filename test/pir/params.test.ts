import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  assertPirParams, choosePirParams, COL_ALIGN, coreSvpPrimal, ERROR_SIGMA, failureProbabilityLog2, LWE_N,
  MAX_DB_BYTES, MAX_RECORD_SIZE, maxColsFor, pirSizes, recordPosition, TARGET_FAILURE_LOG2,
} from '../../src/pir/params.ts';
import { AppError } from '../../src/errors.ts';

describe('PIR shape rule', () => {
  test('every record fits, columns are aligned, records stack down whole columns', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1 << 22 }), fc.integer({ min: 1, max: 4096 }), (count, size) => {
      fc.pre(count * size <= MAX_DB_BYTES);
      const p = choosePirParams(count, size);
      assert.equal(p.rows, p.recordsPerColumn * size);
      assert.equal(p.cols % COL_ALIGN, 0);
      assert.ok(p.recordsPerColumn * p.cols >= count, 'all records fit');
      assert.ok((p.recordsPerColumn * (p.cols - COL_ALIGN)) < count, 'at most one aligned group of padding columns');
      assert.ok(failureProbabilityLog2(p.rows, p.cols) <= TARGET_FAILURE_LOG2);
      const last = recordPosition(p, count - 1);
      assert.ok(last.column < p.cols && last.firstRow + size <= p.rows);
    }), { numRuns: 300 });
  });

  test('the first release\'s rule (queriesPerHint null, stored old versions) comes out roughly square', () => {
    for (const [count, size] of [[1 << 20, 32], [1 << 26, 4], [1 << 16, 1024]] as const) {
      const p = choosePirParams(count, size, null);
      assert.equal(p.queriesPerHint, undefined);
      assertPirParams(p);
      const ratio = p.rows / p.cols;
      assert.ok(ratio > 0.5 && ratio < 2, `${count}×${size}: rows ${p.rows} cols ${p.cols}`);
    }
  });

  test('record positions are distinct and in range', () => {
    const p = choosePirParams(1001, 7);
    const seen = new Set<string>();
    for (let i = 0; i < p.recordCount; i++) {
      const { column, firstRow } = recordPosition(p, i);
      assert.ok(column < p.cols && firstRow % 7 === 0 && firstRow + 7 <= p.rows);
      seen.add(`${column}:${firstRow}`);
    }
    assert.equal(seen.size, p.recordCount);
    assert.throws(() => recordPosition(p, p.recordCount), AppError);
    assert.throws(() => recordPosition(p, -1), AppError);
    assert.throws(() => recordPosition(p, 1.5), AppError);
  });

  test('rejects bad sizes', () => {
    for (const [c, s] of [[0, 1], [1, 0], [1, MAX_RECORD_SIZE + 1], [MAX_DB_BYTES + 1, 1], [1.5, 2], [NaN, 1]]) {
      assert.throws(() => choosePirParams(c!, s!), AppError, `${c} × ${s}`);
    }
  });
});

describe('PIR correctness bound', () => {
  test('failure probability ≤ 2^-40 for the largest supported shapes', () => {
    let worst = -Infinity;
    for (const size of [1, 2, 3, 31, 1000, 4096, MAX_RECORD_SIZE]) {
      const p = choosePirParams(Math.floor(MAX_DB_BYTES / size), size);
      const log2 = failureProbabilityLog2(p.rows, p.cols);
      worst = Math.max(worst, log2);
      assert.ok(log2 <= -40, `size ${size}: rows ${p.rows} cols ${p.cols} log2 P = ${log2}`);
    }
    console.log(`# worst log2 P_fail over max-size shapes: ${worst.toFixed(0)}`);
  });

  test('the column cap is tight: one more aligned group exceeds the target', () => {
    for (const rows of [1, 1000, 1 << 16]) {
      const cap = maxColsFor(rows);
      assert.ok(failureProbabilityLog2(rows, cap) <= TARGET_FAILURE_LOG2);
      assert.ok(failureProbabilityLog2(rows, cap + COL_ALIGN) > TARGET_FAILURE_LOG2);
    }
  });

  test('Hoeffding bound dominates the Gaussian tail it approximates', () => {
    // The bound must not be optimistic: compare with the exact Gaussian tail of the same variance
    // (CLT limit) for a shape where the bound is near the target.
    const cols = maxColsFor(1);
    const sd = ERROR_SIGMA * 128 * Math.sqrt(cols);
    const z = 2 ** 23 / sd;
    const gaussianLog2 = Math.log2(2) + Math.log2(Math.exp(-z * z / 2) / (z * Math.sqrt(2 * Math.PI)));
    assert.ok(failureProbabilityLog2(1, cols) >= gaussianLog2 - 1e-9);
  });
});

describe('PIR security estimate (core-SVP, primal uSVP)', () => {
  test('n = 1024 is below 128-bit classical; the chosen n is ≥ 128-bit even quantum', () => {
    const weak = coreSvpPrimal(1024, 32, 6.4);
    const ours = coreSvpPrimal(LWE_N, 32, ERROR_SIGMA);
    console.log(`# core-SVP n=1024: ${weak.classical.toFixed(1)} classical; n=${LWE_N}: ${ours.classical.toFixed(1)} classical, ${ours.quantum.toFixed(1)} quantum (β=${ours.beta})`);
    assert.ok(weak.classical < 128);
    assert.ok(ours.quantum >= 128);
    assert.ok(coreSvpPrimal(2048, 32, 6.4).beta > ours.beta, 'monotone in n');
  });
});

describe('client-side parameter check', () => {
  test('accepts exactly the derived shape and rejects any tampered field', () => {
    const p = choosePirParams(5000, 16);
    assertPirParams(p);
    assertPirParams(JSON.parse(JSON.stringify(p)));
    for (const [k, v] of [['n', 1024], ['cols', p.cols + 16], ['rows', p.rows - 16], ['eta', 0], ['scheme', 'x'], ['logQ', 64], ['recordsPerColumn', 1]] as const) {
      assert.throws(() => assertPirParams({ ...p, [k]: v }), AppError, k);
    }
    assert.throws(() => assertPirParams(null), AppError);
  });

  test('wire sizes follow the shape', () => {
    const p = choosePirParams(1 << 20, 32);
    const s = pirSizes(p);
    assert.deepEqual(s, { hint: p.rows * p.n * 4, query: p.cols * 4, answer: p.rows * 4, database: p.rows * p.cols });
  });
});
