import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { referenceKernel, type PirMatrix } from '../../src/pir/reference-kernel.ts';
import { loadWasmKernel, type WasmKernel } from '../../src/pir/wasm-kernel.ts';
import { allocateMatrix } from '../../src/pir/server.ts';
import { KERNEL_WASM_BASE64 } from '../../src/pir/kernel-wasm.ts';
import { buildKernelModuleText, MODULE_PATH } from '../../src/pir/build-kernel.ts';
import { AppError } from '../../src/errors.ts';
import { fillRandom } from './_helpers.ts';

let wasm: WasmKernel;
before(async () => { wasm = await loadWasmKernel(); });

function both(db: PirMatrix, vec: Uint32Array, r0 = 0, r1 = db.rows): [Uint32Array, Uint32Array] {
  const a = new Uint32Array(r1 - r0), b = new Uint32Array(r1 - r0);
  referenceKernel.matVec(db, vec, a, r0, r1);
  wasm.matVec(db, vec, b, r0, r1);
  return [a, b];
}

/** Exact Σ D[r][c]·v[c] mod 2^32 with BigInt: checks the reference itself. */
function bigDot(db: PirMatrix, vec: Uint32Array, r: number): number {
  let acc = 0n;
  for (let c = 0; c < db.cols; c++) acc += BigInt(db.data[r * db.cols + c]!) * BigInt(vec[c]!);
  return Number(BigInt.asUintN(32, acc));
}

describe('PIR kernels', () => {
  test('the TS reference matches exact BigInt arithmetic', () => {
    const db = allocateMatrix(9, 32);
    fillRandom(db.data);
    const v = crypto.getRandomValues(new Uint32Array(32));
    const out = new Uint32Array(9);
    referenceKernel.matVec(db, v, out);
    for (let r = 0; r < 9; r++) assert.equal(out[r], bigDot(db, v, r));
  });

  test('WASM equals TS bit for bit on random data, odd row counts and row ranges', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      (rows, colGroups, salt) => {
        const cols = colGroups * 16;
        const db = allocateMatrix(rows, cols);
        fillRandom(db.data);
        const v = crypto.getRandomValues(new Uint32Array(cols));
        v[salt % cols] = salt;
        const [a, b] = both(db, v);
        assert.deepEqual(b, a);
        const r0 = salt % rows, r1 = r0 + ((salt >>> 8) % (rows - r0 + 1));
        const [c, d] = both(db, v, r0, r1);
        assert.deepEqual(d, c);
        assert.deepEqual(c, a.subarray(r0, r1));
      }), { numRuns: 200 });
  });

  test('extreme values: bytes 0 and 255 (−128, 127) against 0, 0xFFFFFFFF, 0x80000000, 0x00008000', () => {
    const rows = 7, cols = 64;
    const patterns: Array<(r: number, c: number) => number> = [() => -128, () => 127, (r, c) => ((r + c) & 1 ? -128 : 127), () => 0];
    const vectors: Array<(c: number) => number> = [() => 0xffffffff, () => 0, () => 0x80000000, () => 0x00008000, () => 0x7fff8000, (c) => (c & 1 ? 0xffffffff : 0)];
    for (const pat of patterns) for (const vf of vectors) {
      const db = allocateMatrix(rows, cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) db.data[r * cols + c] = pat(r, c);
      const v = Uint32Array.from({ length: cols }, (_, c) => vf(c));
      const [a, b] = both(db, v);
      assert.deepEqual(b, a);
      for (let r = 0; r < rows; r++) assert.equal(a[r], bigDot(db, v, r));
    }
  });

  test('large scan agrees (4-row path and remainder path over many chunks)', () => {
    const db = allocateMatrix(1027, 2048);
    fillRandom(db.data);
    const v = crypto.getRandomValues(new Uint32Array(2048));
    const [a, b] = both(db, v);
    assert.deepEqual(b, a);
  });

  test('batched form (several vectors, the hint path) equals TS and per-vector scans', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.nat(),
      (rows, colGroups, nvec, salt) => {
        const cols = colGroups * 16;
        const db = allocateMatrix(rows, cols);
        fillRandom(db.data);
        const vecs = fillRandom(new Uint32Array(nvec * cols));
        vecs[salt % vecs.length] = 0xffffffff;
        const r0 = salt % rows, r1 = rows - ((salt >>> 4) % (rows - r0));
        const m = r1 - r0;
        const a = new Uint32Array(nvec * m), b = new Uint32Array(nvec * m);
        referenceKernel.matVecMany(db, vecs, nvec, a, r0, r1);
        wasm.matVecMany(db, vecs, nvec, b, r0, r1);
        assert.deepEqual(b, a);
        for (let k = 0; k < nvec; k++) {
          const one = new Uint32Array(m);
          wasm.matVec(db, vecs.subarray(k * cols, (k + 1) * cols), one, r0, r1);
          assert.deepEqual(b.subarray(k * m, (k + 1) * m), one);
        }
      }), { numRuns: 150 });
    const db = allocateMatrix(2, 16);
    assert.throws(() => wasm.matVecMany(db, new Uint32Array(16), 0, new Uint32Array(2)), AppError);
    assert.throws(() => wasm.matVecMany(db, new Uint32Array(32), 2, new Uint32Array(3)), AppError);
  });

  test('inputs are not mutated and bad arguments are rejected', () => {
    const db = allocateMatrix(5, 32);
    fillRandom(db.data);
    const dataCopy = db.data.slice();
    const v = crypto.getRandomValues(new Uint32Array(32));
    const vCopy = v.slice();
    both(db, v);
    assert.deepEqual(db.data, dataCopy);
    assert.deepEqual(v, vCopy);
    for (const k of [referenceKernel, wasm]) {
      assert.throws(() => k.matVec(db, new Uint32Array(31), new Uint32Array(5)), AppError);
      assert.throws(() => k.matVec(db, v, new Uint32Array(4)), AppError);
      assert.throws(() => k.matVec(db, v, new Uint32Array(5), 3, 6), AppError);
    }
    assert.throws(() => wasm.matVec({ rows: 1, cols: 16, data: new Int8Array(16) }, new Uint32Array(16), new Uint32Array(1)), AppError);
  });
});

describe('PIR kernel build', () => {
  test('rebuilding kernel.wat with wabt reproduces the committed module byte for byte', async () => {
    const rebuilt = await buildKernelModuleText();
    assert.equal(rebuilt, readFileSync(MODULE_PATH, 'utf8'));
    assert.ok(KERNEL_WASM_BASE64.length > 100);
  });
});
