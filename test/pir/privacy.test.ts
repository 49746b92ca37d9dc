import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { makeQuery, sampleCbd } from '../../src/pir/client.ts';
import { expandA } from '../../src/pir/matrixA.ts';
import { choosePirParams, DELTA, recordPosition } from '../../src/pir/params.ts';

const BINS = 16;
// Wilson–Hilferty approximation of the χ² critical value at significance 1e-6 (z = 4.753).
const chiCritical = (df: number): number => df * (1 - 2 / (9 * df) + 4.753 * Math.sqrt(2 / (9 * df))) ** 3;

/** χ² homogeneity statistic of two histograms (2 × BINS table, df = BINS − 1). */
function chiSquare2(a: number[], b: number[]): number {
  const na = a.reduce((x, y) => x + y, 0), nb = b.reduce((x, y) => x + y, 0);
  let chi = 0;
  for (let i = 0; i < BINS; i++) {
    const tot = a[i]! + b[i]!;
    if (tot === 0) continue;
    const ea = (tot * na) / (na + nb), eb = (tot * nb) / (na + nb);
    chi += (a[i]! - ea) ** 2 / ea + (b[i]! - eb) ** 2 / eb;
  }
  return chi;
}

const histogram = (values: number[], shift: number): number[] => {
  const h = new Array<number>(BINS).fill(0);
  for (const v of values) h[(v >>> shift) & (BINS - 1)]!++;
  return h;
};

describe('query indistinguishability (sanity checks, not a proof)', () => {
  const params = choosePirParams(1000, 1);
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const A = expandA(seed, params.cols, params.n);
  const i = 0, j = params.recordsPerColumn; // column 0 vs column 1
  assert.equal(recordPosition(params, j).column, 1);

  test('two queries for the same index differ everywhere (fresh s and e)', () => {
    const q1 = makeQuery(params, seed, i, { A }).query;
    const q2 = makeQuery(params, seed, i, { A }).query;
    let same = 0;
    for (let c = 0; c < params.cols; c++) same += q1[c] === q2[c] ? 1 : 0;
    assert.ok(same <= 1, `${same} equal coordinates`);
  });

  test('per-coordinate distributions for index i and index j pass a χ² homogeneity test', () => {
    const N = 3000;
    const qi: Uint32Array[] = [], qj: Uint32Array[] = [];
    for (let t = 0; t < N; t++) {
      qi.push(makeQuery(params, seed, i, { A }).query);
      qj.push(makeQuery(params, seed, j, { A }).query);
    }
    const crit = chiCritical(BINS - 1);
    for (const coord of [0, 1, 2]) {
      for (const shift of [24, 28]) { // the bits carrying Δ·u_j, and the top bits
        const hi = histogram(qi.map((q) => q[coord]!), shift);
        const hj = histogram(qj.map((q) => q[coord]!), shift);
        const chi = chiSquare2(hi, hj);
        assert.ok(chi < crit, `coordinate ${coord}, bits ${shift}..${shift + 3}: χ² = ${chi.toFixed(1)} ≥ ${crit.toFixed(1)}`);
      }
    }
  });

  test('negative control: the same test separates unmasked e + Δ·u_j from e', () => {
    const N = 3000;
    const e = new Int32Array(N);
    sampleCbd(e);
    const withMsg = Array.from(e, (x) => (x + DELTA) >>> 0);
    const without = Array.from(e, (x) => x >>> 0);
    const chi = chiSquare2(histogram(withMsg, 24), histogram(without, 24));
    assert.ok(chi > chiCritical(BINS - 1), `χ² = ${chi}`);
  });
});
