/**
 * The SDK's fixed-base MSMs (src/client/_msm.ts) against ffjavascript's multiExpAffine: the same
 * group element for G1 and G2 bases with the point at infinity and repeated points, zero scalars,
 * full-width 256-bit scalars; bases seen for the first time or changed by one byte take
 * ffjavascript's path; on a multi-threaded curve the parts run in its worker threads; a proof made
 * with the tables verifies.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as snarkjs from 'snarkjs';
import { buildBn128 } from 'ffjavascript';
import type { Bn128 } from 'ffjavascript';
import { WitnessCalculatorBuilder } from 'circom_runtime';
import { buildQueued, withFixedBase, type MsmCurve } from '../../src/client/_msm.ts';
import { loadLoginVerifier, loginPublicSignals } from '../../src/zk/verifier.ts';
import { commitment, loginTag } from '../../src/zk/poseidon.ts';

const ART = new URL('../../circuits/artifacts/', import.meta.url).pathname;
let curve: Bn128;
// The background build's timer ticks are unref'd; this keeps the test process alive meanwhile.
let keep: ReturnType<typeof setInterval>;
before(async () => {
  keep = setInterval(() => {}, 1000);
  curve = await buildBn128(true);
});
after(async () => {
  clearInterval(keep);
  await curve.terminate();
});

let seed = (Date.now() & 0xffffff) | 1;
const SEED = seed;
const next = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed;
};

interface G {
  g: Uint8Array;
  F: { n8: number };
  timesScalar(p: Uint8Array, s: bigint): Uint8Array;
  toAffine(p: Uint8Array): Uint8Array;
  eq(a: Uint8Array, b: Uint8Array): boolean;
  multiExpAffine(b: Uint8Array, s: Uint8Array): Promise<Uint8Array>;
}
/** n affine bases: random multiples of the generator, point 3 the identity, point 7 = point 5. */
function bases(Gr: G, n: number): Uint8Array {
  const sA = 2 * Gr.F.n8;
  const out = new Uint8Array(n * sA);
  for (let i = 0; i < n; i++) {
    if (i === 3) continue; // all-zero bytes: ffjavascript's affine identity
    const p = i === 7 ? out.slice(5 * sA, 6 * sA) : Gr.toAffine(Gr.timesScalar(Gr.g, BigInt(next()) * 7919n + BigInt(i)));
    out.set(p, i * sA);
  }
  return out;
}
/** n 32-byte scalars: random below 2^254, every 9th zero, every 11th all ones (2^256 − 1). */
function scalars(n: number): Uint8Array {
  const s = new Uint8Array(32 * n);
  for (let i = 0; i < s.length; i++) s[i] = next() >> 8 & 0xff;
  for (let i = 0; i < n; i++) {
    s[32 * i + 31]! &= 0x3f;
    if (i % 9 === 0) s.fill(0, 32 * i, 32 * i + 32);
    if (i % 11 === 5) s.fill(0xff, 32 * i, 32 * i + 32);
  }
  return s;
}

describe('fixed-base MSM', () => {
  for (const name of ['G1', 'G2'] as const) {
    test(`${name}: equals ffjavascript's MSM before and after the table is built`, async () => {
      const Gr = curve[name] as unknown as G;
      const c = curve as unknown as MsmCurve;
      const n = 150;
      const b = bases(Gr, n);
      const s = scalars(n);
      const want = await Gr.multiExpAffine(b, s);
      assert.ok(Gr.eq(await withFixedBase(c, () => Gr.multiExpAffine(b, s)), want), `first use (ffjavascript's path), seed ${SEED}`);
      await buildQueued(c);
      for (let k = 0; k < 3; k++) {
        const s2 = scalars(n);
        const want2 = await Gr.multiExpAffine(b, s2);
        assert.ok(Gr.eq(await withFixedBase(c, () => Gr.multiExpAffine(b, s2)), want2), `with the table, seed ${SEED}`);
      }
      // One byte changed: not the tabled bases; the result is that of the changed bases.
      const b2 = b.slice();
      b2.set(Gr.toAffine(Gr.timesScalar(Gr.g, 5n)), 10 * 2 * Gr.F.n8);
      assert.ok(Gr.eq(await withFixedBase(c, () => Gr.multiExpAffine(b2, s)), await Gr.multiExpAffine(b2, s)), `changed bases, seed ${SEED}`);
      // Outside withFixedBase the curve's own MSM is back.
      assert.equal(typeof Gr.multiExpAffine, 'function');
    });
  }

  test('multi-threaded curve: the table parts run in the worker threads and give the same points', async () => {
    const mt = await buildBn128(false);
    try {
      const c = mt as unknown as MsmCurve;
      for (const name of ['G1', 'G2'] as const) {
        const Gr = mt[name] as unknown as G;
        const b = bases(Gr, 120);
        const s = scalars(120);
        await withFixedBase(c, () => Gr.multiExpAffine(b, s));
        await buildQueued(c);
        const s2 = scalars(120);
        assert.ok(Gr.eq(await withFixedBase(c, () => Gr.multiExpAffine(b, s2)), await Gr.multiExpAffine(b, s2)), `${name}, seed ${SEED}`);
      }
    } finally {
      await mt.terminate();
    }
  });

  test('a login proof made with the tables verifies', async () => {
    const c = curve as unknown as MsmCurve;
    const wc = await WitnessCalculatorBuilder(new Uint8Array(readFileSync(`${ART}login.wasm`)));
    const zkey = new Uint8Array(readFileSync(`${ART}login.zkey`));
    const input = { secret: '11', salt: '22', challenge: '33', sessionKeyHash: '44' };
    const slot = globalThis as { curve_bn128?: unknown };
    const previous = slot.curve_bn128;
    slot.curve_bn128 = curve; // snarkjs proves on the curve in this slot (as the SDK arranges)
    const verifier = await loadLoginVerifier();
    try {
      const proveOnce = async () => withFixedBase(c, async () =>
        snarkjs.groth16.prove({ type: 'mem', data: zkey }, { type: 'mem', data: await wc.calculateWTNSBin(input, false) }, undefined, { singleThread: false }));
      await proveOnce();
      await buildQueued(c);
      const { proof } = await proveOnce();
      const signals = loginPublicSignals({ commitment: commitment(11n, 22n), loginTag: loginTag(11n, 33n, 44n), challenge: 33n, sessionKeyHash: 44n });
      assert.equal(verifier.verify(proof, signals), true);
    } finally {
      slot.curve_bn128 = previous;
      await verifier.close();
    }
  });
});
