import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Piscina } from 'piscina';
import { allocateMatrix, buildDatabase, computeHint, partitionRows, placeHintColumns } from '../../src/pir/server.ts';
import { referenceKernel } from '../../src/pir/reference-kernel.ts';
import { fillRandom } from './_helpers.ts';

describe('PIR scan task (piscina)', () => {
  test('a pool scanning row slices of a shared WebAssembly.Memory equals the reference', async () => {
    const rows = 203, cols = 96;
    const db = allocateMatrix(rows, cols);
    assert.ok(db.memory, 'shared WebAssembly.Memory available in Node');
    fillRandom(db.data);
    const query = fillRandom(new Uint32Array(cols));
    const want = new Uint32Array(rows);
    referenceKernel.matVec(db, query, want);
    const pool = new Piscina({ filename: new URL('../../src/pir/worker.ts', import.meta.url).href, maxThreads: 2 });
    try {
      const ranges = partitionRows(rows, 3);
      assert.equal(ranges.at(-1)![1], rows);
      const slices = await Promise.all(ranges.map(([rowStart, rowEnd]) =>
        pool.run({ dbMemory: db.memory, rows, cols, rowStart, rowEnd, query })));
      const got = new Uint32Array(rows);
      slices.forEach((s: Uint32Array, k) => got.set(s, ranges[k]![0]));
      assert.deepEqual(got, want);
      const viaBuffer: Uint32Array = await pool.run({ dbBuffer: db.data.buffer, rows, cols, rowStart: 5, rowEnd: 9, query });
      assert.deepEqual(viaBuffer, want.subarray(5, 9));
      await assert.rejects(pool.run({ rows, cols, rowStart: 0, rowEnd: 1, query }));
    } finally {
      await pool.destroy();
    }
  });

  test('hint columns computed by workers assemble to the single-thread hint', async () => {
    const db = buildDatabase(fillRandom(new Uint8Array(3000)), 3);
    const { rows, cols, n } = db.params;
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const pool = new Piscina({ filename: new URL('../../src/pir/worker.ts', import.meta.url).href, maxThreads: 2 });
    try {
      const split = [[0, 700], [700, 701], [701, n]] as const;
      const blocks: Uint32Array[] = await Promise.all(split.map(([kStart, kEnd]) =>
        pool.run({ dbMemory: db.matrix.memory, rows, cols, seed, kStart, kEnd }, { name: 'hint' })));
      const hint = new Uint32Array(rows * n);
      blocks.forEach((b, i) => placeHintColumns(hint, rows, n, split[i]![0], b));
      assert.deepEqual(hint, computeHint(db, seed, referenceKernel));
    } finally {
      await pool.destroy();
    }
  });
});
