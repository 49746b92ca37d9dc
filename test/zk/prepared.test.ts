/**
 * The prepared pairing engine (src/zk/_pairing.ts: resident line coefficients, fixed-base tables,
 * multi-Miller loop, the 63-bit G2 membership test) against the plain path (ffjavascript's
 * wrappers, one Miller loop per pair, ψ(P) = [6x²]P): the same verdict on random valid and
 * invalid proofs, singly and in batches larger than one preparation chunk. Both run on the curve
 * built with the ξ plugin (src/zk/_wasm-plugin.ts); the reference verdict comes from the plain path
 * on ffjavascript's WASM as shipped (`stockWasm: true`), and the prepared path on the stock WASM
 * (unscaled lines) must agree too.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import type { Groth16Proof } from 'snarkjs';
import { buildBn128 } from 'ffjavascript';
import type { Bn128 } from 'ffjavascript';
import { bn254 } from '@noble/curves/bn254.js';
import { Groth16Verifier, loadLoginVerifier, loginPublicSignals, type BatchItem } from '../../src/zk/verifier.ts';
import { PreparedPairing } from '../../src/zk/_pairing.ts';
import { R, B2, onTwist, f2add, f2mul, f2sqr, type Fq2 } from '../../src/zk/_bn254.ts';
import { commitment, loginTag, randomFieldElement, sessionKeyHash } from '../../src/zk/poseidon.ts';

const ART = new URL('../../circuits/artifacts/', import.meta.url).pathname;

let prepared: Groth16Verifier;
let plain: Groth16Verifier;
let stockPlain: Groth16Verifier;
let stockPrepared: Groth16Verifier;
let curve: Bn128;
const real: BatchItem[] = [];

before(async () => {
  prepared = await loadLoginVerifier();
  plain = await loadLoginVerifier({ plain: true });
  stockPlain = await loadLoginVerifier({ plain: true, stockWasm: true });
  stockPrepared = await loadLoginVerifier({ stockWasm: true });
  curve = await buildBn128(true);
  for (let i = 0; i < 2; i++) {
    const [secret, salt, challenge] = [randomFieldElement(), randomFieldElement(), randomFieldElement()];
    const skh = sessionKeyHash(new Uint8Array([i, 9]));
    const input = { secret: String(secret), salt: String(salt), challenge: String(challenge), sessionKeyHash: String(skh) };
    const { proof } = await snarkjs.groth16.fullProve(input, join(ART, 'login.wasm'), join(ART, 'login.zkey'), undefined, undefined, { singleThread: true });
    real.push({ proof, publicSignals: loginPublicSignals({ commitment: commitment(secret, salt), loginTag: loginTag(secret, challenge, skh), challenge, sessionKeyHash: skh }) });
  }
});

after(async () => {
  await prepared.close();
  await plain.close();
  await stockPlain.close();
  await stockPrepared.close();
  await curve.terminate();
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
});

// Deterministic pseudo-random scalars (the seed is printed on failure through the case name).
let state = BigInt(Date.now()) | 1n;
const rand = (): bigint => {
  state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 256n) - 1n);
  return (state ^ (state >> 97n)) % R;
};
const SEED = state;

const g1 = (p: readonly string[]): Uint8Array => curve.G1.fromObject([BigInt(p[0]!), BigInt(p[1]!)]);
const g2 = (p: readonly (readonly string[])[]): Uint8Array => curve.G2.fromObject([p[0]!.map(BigInt), p[1]!.map(BigInt)]);
function g1s(p: Uint8Array): [string, string, string] {
  const [x, y] = curve.G1.toObject(curve.G1.toAffine(p)) as bigint[];
  return [String(x), String(y), '1'];
}
function g2s(p: Uint8Array): [[string, string], [string, string], [string, string]] {
  const [x, y] = curve.G2.toObject(curve.G2.toAffine(p)) as bigint[][];
  return [[String(x![0]), String(x![1])], [String(y![0]), String(y![1])], ['1', '0']];
}
const inv = (k: bigint): bigint => {
  let r = 1n;
  for (let b = k, e = R - 2n; e > 0n; e >>= 1n, b = (b * b) % R) if (e & 1n) r = (r * b) % R;
  return r;
};

/** A twist point outside G2 (the i-th one found), and a G2 point. */
function twistPoint(skip: number): Uint8Array {
  const Fp2 = bn254.fields.Fp2;
  for (let i = 1n; ; i++) {
    const x: Fq2 = [i, 11n];
    const rhs = f2add(f2mul(f2sqr(x), x), B2);
    try {
      const s = Fp2.sqrt(Fp2.fromBigTuple([rhs[0], rhs[1]]));
      const y: Fq2 = [s.c0, s.c1];
      if (onTwist(x, y) && skip-- === 0) return curve.G2.fromObject([[...x], [...y]]);
    } catch {
      // not a square: next x
    }
  }
}

/** Random cases: valid re-randomised proofs and invalid ones of several kinds. */
function randomCase(i: number): { item: BatchItem; kind: string } {
  const base = real[i % real.length]!;
  const p = base.proof as Groth16Proof;
  const k = rand() || 1n;
  const valid: Groth16Proof = { ...p, pi_a: g1s(curve.G1.timesScalar(g1(p.pi_a), k)), pi_b: g2s(curve.G2.timesScalar(g2(p.pi_b), inv(k))) };
  const signals = [...base.publicSignals];
  switch (i % 7) {
    case 0:
      return { item: { proof: valid, publicSignals: signals }, kind: 'valid, re-randomised' };
    case 1:
      signals[i % 4] = rand();
      return { item: { proof: valid, publicSignals: signals }, kind: 'random public signal' };
    case 2:
      return { item: { proof: { ...valid, pi_a: g1s(curve.G1.timesScalar(curve.G1.g, rand())) }, publicSignals: signals }, kind: 'random A' };
    case 3:
      return { item: { proof: { ...valid, pi_c: g1s(curve.G1.timesScalar(curve.G1.g, rand())) }, publicSignals: signals }, kind: 'random C' };
    case 4:
      return { item: { proof: { ...valid, pi_b: g2s(curve.G2.timesScalar(curve.G2.g, rand())) }, publicSignals: signals }, kind: 'random B in G2' };
    case 5:
      return { item: { proof: { ...valid, pi_b: g2s(curve.G2.add(g2(valid.pi_b), twistPoint(i % 3))) }, publicSignals: signals }, kind: 'B outside G2' };
    default:
      return { item: { proof: valid, publicSignals: [0n, R - 1n, 1n, 0n] }, kind: 'edge signals 0, r−1, 1' };
  }
}

describe('prepared path equals the plain path', () => {
  test('single verify on random valid and invalid proofs', () => {
    let valid = 0;
    for (let i = 0; i < 42; i++) {
      const { item, kind } = randomCase(i);
      const want = stockPlain.verify(item.proof, item.publicSignals);
      assert.equal(prepared.verify(item.proof, item.publicSignals), want, `case ${i} (${kind}), seed ${SEED}`);
      assert.equal(plain.verify(item.proof, item.publicSignals), want, `plain path with the plugin, case ${i} (${kind}), seed ${SEED}`);
      assert.equal(stockPrepared.verify(item.proof, item.publicSignals), want, `prepared path on the stock WASM, case ${i} (${kind}), seed ${SEED}`);
      if (want) valid++;
    }
    assert.equal(valid, 6, 'exactly the re-randomised proofs are valid');
  });

  test('verifyBatch across several preparation chunks, with and without bad proofs', () => {
    const cases = Array.from({ length: 40 }, (_, i) => randomCase(i * 7)); // all valid
    const good = cases.map((c) => c.item);
    assert.deepEqual(prepared.verifyBatch(good), good.map(() => true));
    const mixed = Array.from({ length: 37 }, (_, i) => randomCase(i).item);
    const want = stockPlain.verifyBatch(mixed);
    assert.deepEqual(prepared.verifyBatch(mixed), want, `seed ${SEED}`);
    assert.deepEqual(plain.verifyBatch(mixed), want, `seed ${SEED}`);
    assert.deepEqual(stockPrepared.verifyBatch(mixed), want, `seed ${SEED}`);
    assert.deepEqual(want, mixed.map((_, i) => i % 7 === 0));
  });

  test('G2 membership: the 63-bit test agrees with [r]P = O inside and outside G2', () => {
    const vk = (real[0]!.proof as Groth16Proof).pi_b; // any fixed key points would do; only inG2 is used
    const engine = new PreparedPairing(curve, { alpha: curve.G1.g, ic: [curve.G1.g], beta: g2(vk), gamma: g2(vk), delta: g2(vk) });
    const outside = [0, 1, 2, 3].map(twistPoint);
    const pts = [
      curve.G2.g,
      ...[2n, rand(), R - 1n].map((k) => curve.G2.timesScalar(curve.G2.g, k)),
      ...outside,
      curve.G2.add(outside[0]!, curve.G2.g),
      curve.G2.timesScalar(outside[1]!, R), // a point of the cofactor part only
      curve.G2.timesScalar(outside[2]!, 3n),
    ];
    const verdicts = pts.map((p) => {
      const byOrder = curve.G2.isZero(curve.G2.timesScalar(p, R));
      assert.equal(engine.inG2(curve.G2.toAffine(p)), byOrder);
      return byOrder;
    });
    assert.deepEqual(verdicts, [true, true, true, true, false, false, false, false, false, false, false]);
  });
});
