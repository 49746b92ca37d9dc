/**
 * Hardened Groth16 verifier: real proofs from the committed zkey (snarkjs.groth16.fullProve),
 * wrong statements, malleated and non-canonical encodings, G2 points outside the subgroup,
 * batch verification, and the vk pin.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import type { Groth16Proof } from 'snarkjs';
import { buildBn128 } from 'ffjavascript';
import type { Bn128 } from 'ffjavascript';
import { bn254 } from '@noble/curves/bn254.js';
import { Groth16Verifier, loadLoginVerifier, loginPublicSignals } from '../../src/zk/verifier.ts';
import { Q, R, B2, SIX_X_SQUARED, psi, onTwist, f2add, f2mul, f2sqr, type Fq2 } from '../../src/zk/_bn254.ts';
import { commitment, loginTag, randomFieldElement, sessionKeyHash } from '../../src/zk/poseidon.ts';
import { CryptoInputError, AppError } from '../../src/errors.ts';

const ART = new URL('../../circuits/artifacts/', import.meta.url).pathname;

interface Case {
  secret: bigint;
  salt: bigint;
  challenge: bigint;
  skh: bigint;
  proof: Groth16Proof;
  signals: bigint[];
}

let verifier: Groth16Verifier;
let curve: Bn128;
const cases: Case[] = [];

async function prove(secret: bigint, salt: bigint, challenge: bigint, skh: bigint): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
  const input = { secret: secret.toString(), salt: salt.toString(), challenge: challenge.toString(), sessionKeyHash: skh.toString() };
  return snarkjs.groth16.fullProve(input, join(ART, 'login.wasm'), join(ART, 'login.zkey'));
}

before(async () => {
  verifier = await loadLoginVerifier();
  curve = await buildBn128(true);
  for (let i = 0; i < 3; i++) {
    const secret = randomFieldElement();
    const salt = randomFieldElement();
    const challenge = randomFieldElement();
    const skh = sessionKeyHash(new Uint8Array([i, 1, 2, 3]));
    const { proof, publicSignals } = await prove(secret, salt, challenge, skh);
    const signals = loginPublicSignals({ commitment: commitment(secret, salt), loginTag: loginTag(secret, challenge, skh), challenge, sessionKeyHash: skh });
    assert.deepEqual(publicSignals, signals.map(String), 'snarkjs public signals equal the ones rebuilt from state');
    cases.push({ secret, salt, challenge, skh, proof, signals });
  }
});

after(async () => {
  await verifier.close();
  await curve.terminate();
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
});

const clone = <T>(v: T): T => structuredClone(v);
const c0 = (): Case => cases[0]!;

// Point helpers on snarkjs's string encoding (via the WASM curve, independent of the verifier).
const g1 = (p: string[]): Uint8Array => curve.G1.fromObject([BigInt(p[0]!), BigInt(p[1]!)]);
const g2 = (p: string[][]): Uint8Array => curve.G2.fromObject([p[0]!.map(BigInt), p[1]!.map(BigInt)]);
function g1s(p: Uint8Array): [string, string, string] {
  const [x, y] = curve.G1.toObject(curve.G1.toAffine(p)) as bigint[];
  return [x!.toString(), y!.toString(), '1'];
}
function g2s(p: Uint8Array): [[string, string], [string, string], [string, string]] {
  const [x, y] = curve.G2.toObject(curve.G2.toAffine(p)) as bigint[][];
  return [[x![0]!.toString(), x![1]!.toString()], [y![0]!.toString(), y![1]!.toString()], ['1', '0']];
}
const g2FromAffine = (x: Fq2, y: Fq2): Uint8Array => curve.G2.fromObject([[...x], [...y]]);

/** A point on the twist E'(Fq2) that is (with overwhelming probability) outside G2. */
function twistPointOutsideG2(): { x: Fq2; y: Fq2 } {
  const Fp2 = bn254.fields.Fp2;
  for (let i = 1n; ; i++) {
    const x: Fq2 = [i, 7n];
    const rhs = f2add(f2mul(f2sqr(x), x), B2);
    try {
      const s = Fp2.sqrt(Fp2.fromBigTuple([rhs[0], rhs[1]]));
      const y: Fq2 = [s.c0, s.c1];
      if (onTwist(x, y)) return { x, y };
    } catch {
      // not a square: try the next x
    }
  }
}

describe('honest proofs', () => {
  test('verify accepts the proof for the statement rebuilt from server state', () => {
    for (const c of cases) assert.equal(verifier.verify(c.proof, c.signals), true);
  });
  test('snarkjs.groth16.verify agrees', async () => {
    const vk = JSON.parse(readFileSync(join(ART, 'verification_key.json'), 'utf8')) as unknown;
    assert.equal(await snarkjs.groth16.verify(vk, c0().signals.map(String), c0().proof), true);
  });
  test('verify does not mutate the proof', () => {
    const before = clone(c0().proof);
    verifier.verify(c0().proof, c0().signals);
    assert.deepEqual(c0().proof, before);
  });
});

describe('wrong statements are rejected', () => {
  test('other challenge, sessionKeyHash, commitment or loginTag', () => {
    const { proof, signals } = c0();
    for (let i = 0; i < 4; i++) {
      const s = [...signals];
      s[i] = (s[i]! + 1n) % R;
      assert.equal(verifier.verify(proof, s), false, `signal ${i} changed`);
    }
    // another user's commitment, another login's challenge
    assert.equal(verifier.verify(proof, [cases[1]!.signals[0]!, ...signals.slice(1)]), false);
    assert.equal(verifier.verify(proof, [...signals.slice(0, 2), cases[1]!.challenge, signals[3]!]), false);
    // the proof of another case
    assert.equal(verifier.verify(cases[1]!.proof, signals), false);
  });

  test('a wrong secret cannot produce a valid proof for a stored commitment', async () => {
    const c = c0();
    const wrong = (c.secret + 1n) % R;
    // The honest prover with the wrong secret proves a different commitment...
    const { proof, publicSignals } = await prove(wrong, c.salt, c.challenge, c.skh);
    assert.notEqual(publicSignals[0], c.signals[0]!.toString());
    // ...which does not verify against the stored one, whatever loginTag is claimed.
    assert.equal(verifier.verify(proof, [c.signals[0]!, BigInt(publicSignals[1]!), c.challenge, c.skh]), false);
    assert.equal(verifier.verify(proof, c.signals), false);
  });

  test('malformed public signals are a programming error (throw)', () => {
    const { proof, signals } = c0();
    assert.throws(() => verifier.verify(proof, signals.slice(0, 3)), CryptoInputError);
    assert.throws(() => verifier.verify(proof, [...signals.slice(0, 3), signals[3]! + R]), CryptoInputError);
    assert.throws(() => verifier.verify(proof, [...signals.slice(0, 3), -1n]), CryptoInputError);
    assert.throws(() => verifier.verify(proof, signals.map(String) as unknown as bigint[]), CryptoInputError);
  });
});

describe('malleated and non-canonical proofs are rejected', () => {
  const variants: Array<[string, (p: Groth16Proof) => unknown]> = [
    ['negated A', (p) => ({ ...p, pi_a: [p.pi_a[0], (Q - BigInt(p.pi_a[1]!)).toString(), '1'] })],
    ['negated C', (p) => ({ ...p, pi_c: [p.pi_c[0], (Q - BigInt(p.pi_c[1]!)).toString(), '1'] })],
    ['negated B only', (p) => ({ ...p, pi_b: g2s(curve.G2.neg(g2(p.pi_b))) })],
    ['A rescaled by 2', (p) => ({ ...p, pi_a: g1s(curve.G1.timesScalar(g1(p.pi_a), 2n)) })],
    ['C rescaled by 3', (p) => ({ ...p, pi_c: g1s(curve.G1.timesScalar(g1(p.pi_c), 3n)) })],
    ['A and C swapped', (p) => ({ ...p, pi_a: p.pi_c, pi_c: p.pi_a })],
    ['A.x + q', (p) => ({ ...p, pi_a: [(BigInt(p.pi_a[0]!) + Q).toString(), p.pi_a[1], '1'] })],
    ['A.y + q', (p) => ({ ...p, pi_a: [p.pi_a[0], (BigInt(p.pi_a[1]!) + Q).toString(), '1'] })],
    ['C.x + q', (p) => ({ ...p, pi_c: [(BigInt(p.pi_c[0]!) + Q).toString(), p.pi_c[1], '1'] })],
    ['B.x.c1 + q', (p) => ({ ...p, pi_b: [[p.pi_b[0]![0], (BigInt(p.pi_b[0]![1]!) + Q).toString()], p.pi_b[1], p.pi_b[2]] })],
    ['A.x + r (scalar modulus)', (p) => ({ ...p, pi_a: [(BigInt(p.pi_a[0]!) + R).toString(), p.pi_a[1], '1'] })],
    [
      'A in Jacobian coordinates with z = 2',
      (p) => {
        const [x, y] = [BigInt(p.pi_a[0]!), BigInt(p.pi_a[1]!)];
        return { ...p, pi_a: [((x * 4n) % Q).toString(), ((y * 8n) % Q).toString(), '2'] };
      },
    ],
    [
      'B in Jacobian coordinates with z = 2',
      (p) => {
        const s = (v: string, k: bigint): string => ((BigInt(v) * k) % Q).toString();
        const b = p.pi_b;
        return { ...p, pi_b: [[s(b[0]![0]!, 4n), s(b[0]![1]!, 4n)], [s(b[1]![0]!, 8n), s(b[1]![1]!, 8n)], ['2', '0']] };
      },
    ],
    ['z written "01"', (p) => ({ ...p, pi_a: [p.pi_a[0], p.pi_a[1], '01'] })],
    ['z written as number 1', (p) => ({ ...p, pi_a: [p.pi_a[0], p.pi_a[1], 1] })],
    ['B z written ["1","0","0"]', (p) => ({ ...p, pi_b: [p.pi_b[0], p.pi_b[1], ['1', '0', '0']] })],
    ['hex "0x.." coordinate', (p) => ({ ...p, pi_a: ['0x' + BigInt(p.pi_a[0]!).toString(16), p.pi_a[1], '1'] })],
    ['leading zero "00.." coordinate', (p) => ({ ...p, pi_a: ['00' + p.pi_a[0], p.pi_a[1], '1'] })],
    ['coordinate with whitespace', (p) => ({ ...p, pi_c: [' ' + p.pi_c[0], p.pi_c[1], '1'] })],
    ['number instead of string', (p) => ({ ...p, pi_a: [Number(p.pi_a[0]), p.pi_a[1], '1'] })],
    ['bigint instead of string', (p) => ({ ...p, pi_a: [BigInt(p.pi_a[0]!), p.pi_a[1], '1'] })],
    ['point at infinity for A', (p) => ({ ...p, pi_a: ['0', '1', '0'] })],
    ['affine (0,0) for C', (p) => ({ ...p, pi_c: ['0', '0', '1'] })],
    ['point with 2 coordinates', (p) => ({ ...p, pi_a: [p.pi_a[0], p.pi_a[1]] })],
    ['protocol "plonk"', (p) => ({ ...p, protocol: 'plonk' })],
    ['protocol "Groth16"', (p) => ({ ...p, protocol: 'Groth16' })],
    ['curve "bls12381"', (p) => ({ ...p, curve: 'bls12381' })],
    ['curve "bn254"', (p) => ({ ...p, curve: 'bn254' })],
    ['missing protocol', (p) => ({ pi_a: p.pi_a, pi_b: p.pi_b, pi_c: p.pi_c, curve: p.curve })],
    ['extra member', (p) => ({ ...p, publicSignals: ['1'] })],
    ['array instead of object', (p) => [p.pi_a, p.pi_b, p.pi_c]],
    ['null', () => null],
    ['string', (p) => JSON.stringify(p)],
  ];
  for (const [name, mutate] of variants) {
    test(name, () => {
      const bad = mutate(clone(c0().proof));
      assert.equal(verifier.verify(bad, c0().signals), false);
      // Rejected while decoding, before any pairing (except a few that are well-formed points).
      if (!/negated|rescaled|swapped/.test(name)) assert.throws(() => verifier.parseProof(bad), CryptoInputError);
    });
  }

  test('known Groth16 malleability: (−A, −B) and (kA, k⁻¹B) still verify the same statement', () => {
    // Not a bug in the verifier: Groth16 proofs are re-randomisable. The login is safe because
    // the challenge in the statement is single use; no code may use proof bytes as a nonce.
    const p = c0().proof;
    const neg = { ...clone(p), pi_a: g1s(curve.G1.neg(g1(p.pi_a))), pi_b: g2s(curve.G2.neg(g2(p.pi_b))) };
    assert.equal(verifier.verify(neg, c0().signals), true);
    const k = 5n;
    const kInv = (() => {
      let r = 1n, b = k, e = R - 2n;
      while (e > 0n) {
        if (e & 1n) r = (r * b) % R;
        b = (b * b) % R;
        e >>= 1n;
      }
      return r;
    })();
    const resc = { ...clone(p), pi_a: g1s(curve.G1.timesScalar(g1(p.pi_a), k)), pi_b: g2s(curve.G2.timesScalar(g2(p.pi_b), kInv)) };
    assert.notDeepEqual(resc.pi_a, p.pi_a);
    assert.equal(verifier.verify(resc, c0().signals), true);
  });
});

describe('G2 subgroup', () => {
  test('ψ-test agrees with [r]P = O inside and outside G2', () => {
    const inG2 = (x: Fq2, y: Fq2): boolean => {
      const [px, py] = psi(x, y);
      return curve.G2.eq(curve.G2.timesScalar(g2FromAffine(x, y), SIX_X_SQUARED), g2FromAffine(px, py));
    };
    const byOrder = (x: Fq2, y: Fq2): boolean => curve.G2.isZero(curve.G2.timesScalar(g2FromAffine(x, y), R));
    const pts: Array<{ x: Fq2; y: Fq2 }> = [];
    for (const k of [1n, 2n, 12345n, R - 1n]) {
      const [x, y] = curve.G2.toObject(curve.G2.toAffine(curve.G2.timesScalar(curve.G2.g, k))) as bigint[][];
      pts.push({ x: [x![0]!, x![1]!], y: [y![0]!, y![1]!] });
    }
    const T = twistPointOutsideG2();
    pts.push(T);
    for (const p of pts) assert.equal(inG2(p.x, p.y), byOrder(p.x, p.y));
    assert.equal(byOrder(T.x, T.y), false, 'constructed point is outside G2');
    assert.equal(pts.slice(0, 4).every((p) => byOrder(p.x, p.y)), true);
    // noble-curves' independent implementation agrees
    const Fp2 = bn254.fields.Fp2;
    const nobleT = bn254.G2.Point.fromAffine({ x: Fp2.fromBigTuple([T.x[0], T.x[1]]), y: Fp2.fromBigTuple([T.y[0], T.y[1]]) });
    assert.equal(nobleT.isTorsionFree(), false);
  });

  test('B on the twist curve but outside G2 is rejected (alone and added to the real B)', () => {
    const T = twistPointOutsideG2();
    const t = g2FromAffine(T.x, T.y);
    const p = c0().proof;
    for (const b of [t, curve.G2.add(g2(p.pi_b), t)]) {
      const bad = { ...clone(p), pi_b: g2s(b) };
      assert.equal(verifier.verify(bad, c0().signals), false);
      assert.throws(() => verifier.parseProof(bad), /subgroup/);
    }
  });

  test('B off the twist curve is rejected', () => {
    const p = clone(c0().proof);
    p.pi_b[1]![0] = ((BigInt(p.pi_b[1]![0]!) + 1n) % Q).toString();
    assert.equal(verifier.verify(p, c0().signals), false);
    assert.throws(() => verifier.parseProof(p), /not on the twist/);
  });
});

describe('verifyBatch', () => {
  test('all good proofs pass', () => {
    const out = verifier.verifyBatch(cases.map((c) => ({ proof: c.proof, publicSignals: c.signals })));
    assert.deepEqual(out, [true, true, true]);
  });

  test('one bad statement and one malformed proof do not reject the good ones', () => {
    const items = [
      ...cases.map((c) => ({ proof: c.proof, publicSignals: c.signals })),
      { proof: cases[0]!.proof, publicSignals: cases[1]!.signals }, // valid proof, wrong statement
      { proof: { ...clone(cases[2]!.proof), protocol: 'plonk' }, publicSignals: cases[2]!.signals }, // malformed
      { proof: cases[1]!.proof, publicSignals: cases[1]!.signals },
      { proof: { ...clone(cases[0]!.proof), pi_c: g1s(curve.G1.timesScalar(g1(cases[0]!.proof.pi_c), 2n)) }, publicSignals: cases[0]!.signals },
    ];
    assert.deepEqual(verifier.verifyBatch(items), [true, true, true, false, false, true, false]);
  });

  test('a pair of errors that cancel in a plain sum is caught by the random weights', () => {
    // C₀ + D and C₁ − D: the unweighted sum of the C's is unchanged.
    const D = curve.G1.timesScalar(curve.G1.g, 99n);
    const p0 = { ...clone(cases[0]!.proof), pi_c: g1s(curve.G1.add(g1(cases[0]!.proof.pi_c), D)) };
    const p1 = { ...clone(cases[1]!.proof), pi_c: g1s(curve.G1.add(g1(cases[1]!.proof.pi_c), curve.G1.neg(D))) };
    const out = verifier.verifyBatch([
      { proof: p0, publicSignals: cases[0]!.signals },
      { proof: p1, publicSignals: cases[1]!.signals },
      { proof: cases[2]!.proof, publicSignals: cases[2]!.signals },
    ]);
    assert.deepEqual(out, [false, false, true]);
  });

  test('empty and single-item batches', () => {
    assert.deepEqual(verifier.verifyBatch([]), []);
    assert.deepEqual(verifier.verifyBatch([{ proof: c0().proof, publicSignals: c0().signals }]), [true]);
    assert.deepEqual(verifier.verifyBatch([{ proof: c0().proof, publicSignals: cases[1]!.signals }]), [false]);
  });
});

describe('verification key pin', () => {
  const withArtifacts = async (edit: (dir: string) => void, fn: (dir: string) => Promise<void>): Promise<void> => {
    const dir = mkdtempSync(join(tmpdir(), 'pqzk-vk-'));
    try {
      for (const n of ['verification_key.json', 'SHA256SUMS']) copyFileSync(join(ART, n), join(dir, n));
      edit(dir);
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const resum = (dir: string): void => {
    const h = createHash('sha256').update(readFileSync(join(dir, 'verification_key.json'))).digest('hex');
    writeFileSync(join(dir, 'SHA256SUMS'), `${h}  verification_key.json\n`);
  };

  test('a vk that does not match SHA256SUMS is refused at startup', async () => {
    await withArtifacts(
      (dir) => writeFileSync(join(dir, 'verification_key.json'), readFileSync(join(dir, 'verification_key.json'), 'utf8').replace('"nPublic": 4', '"nPublic":4')),
      async (dir) => assert.rejects(loadLoginVerifier({ artifactsDir: dir }), AppError),
    );
  });

  test('a configured pin overrides a consistent but different SHA256SUMS', async () => {
    const good = createHash('sha256').update(readFileSync(join(ART, 'verification_key.json'))).digest('hex');
    const v = await loadLoginVerifier({ expectedVkSha256: good });
    assert.equal(v.vkSha256, good);
    await v.close();
    await withArtifacts(
      (dir) => {
        writeFileSync(join(dir, 'verification_key.json'), readFileSync(join(dir, 'verification_key.json'), 'utf8') + ' ');
        resum(dir);
      },
      async (dir) => assert.rejects(loadLoginVerifier({ artifactsDir: dir, expectedVkSha256: good }), /configured SHA-256 pin/),
    );
  });

  test('a vk with a G2 point outside the subgroup is refused', async () => {
    const T = twistPointOutsideG2();
    const vk = JSON.parse(readFileSync(join(ART, 'verification_key.json'), 'utf8')) as Record<string, unknown>;
    vk.vk_delta_2 = [[T.x[0].toString(), T.x[1].toString()], [T.y[0].toString(), T.y[1].toString()], ['1', '0']];
    await assert.rejects(Groth16Verifier.fromVk(vk), /outside the subgroup/);
    await assert.rejects(Groth16Verifier.fromVk({ ...vk, protocol: 'plonk' }), AppError);
  });

  test('a closed verifier refuses to work', async () => {
    const v = await loadLoginVerifier();
    await v.close();
    assert.throws(() => v.verify(c0().proof, c0().signals), /closed/);
  });
});
