import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { expandA, expandAColumn } from '../../src/pir/matrixA.ts';
import { AppError } from '../../src/errors.ts';

const seedA = Uint8Array.from({ length: 32 }, (_, i) => i);
const seedB = Uint8Array.from({ length: 32 }, (_, i) => i ^ 0x80);

describe('A expansion', () => {
  test('deterministic from the seed, different for another seed and another column', () => {
    const a1 = expandAColumn(seedA, 5, 1000);
    const a2 = expandAColumn(seedA, 5, 1000);
    assert.deepEqual(a1, a2);
    const b = expandAColumn(seedB, 5, 1000);
    const other = expandAColumn(seedA, 6, 1000);
    let same = 0, sameCol = 0;
    for (let c = 0; c < 1000; c++) { same += a1[c] === b[c] ? 1 : 0; sameCol += a1[c] === other[c] ? 1 : 0; }
    assert.ok(same < 3 && sameCol < 3);
  });

  test('matches an independent ChaCha20 (OpenSSL) keystream under the documented nonce', () => {
    for (const k of [0, 1, 1407, 0x01020304]) {
      // OpenSSL's chacha20 IV = u32le(counter) ‖ 12-byte nonce; nonce = "PIRA" ‖ u32le(k) ‖ 0^4.
      const iv = Buffer.alloc(16);
      iv.write('PIRA', 4, 'latin1');
      iv.writeUInt32LE(k >>> 0, 8);
      const ks = createCipheriv('chacha20', seedA, iv).update(Buffer.alloc(4 * 100));
      const col = expandAColumn(seedA, k, 100);
      for (let c = 0; c < 100; c++) assert.equal(col[c], ks.readUInt32LE(4 * c), `k=${k} c=${c}`);
    }
  });

  test('a column is a prefix-stable stream: shorter cols give a prefix', () => {
    const long = expandAColumn(seedA, 3, 4096);
    assert.deepEqual(expandAColumn(seedA, 3, 17), long.subarray(0, 17));
  });

  test('expandA is column-major and equals per-column expansion', () => {
    const all = expandA(seedA, 48, 7);
    for (let k = 0; k < 7; k++) assert.deepEqual(all.subarray(k * 48, (k + 1) * 48), expandAColumn(seedA, k, 48));
  });

  test('entries look uniform (each bit set about half the time)', () => {
    const col = expandAColumn(seedA, 0, 1 << 16);
    for (let bit = 0; bit < 32; bit += 7) {
      let ones = 0;
      for (const v of col) ones += (v >>> bit) & 1;
      assert.ok(Math.abs(ones - 32768) < 6 * 128, `bit ${bit}: ${ones}`); // 6σ
    }
  });

  test('rejects bad seeds and sizes', () => {
    assert.throws(() => expandAColumn(new Uint8Array(31), 0, 16), AppError);
    assert.throws(() => expandAColumn(seedA, -1, 16), AppError);
    assert.throws(() => expandAColumn(seedA, 0, 0), AppError);
    assert.throws(() => expandAColumn(seedA, 0, 16, new Uint32Array(15)), AppError);
  });
});
