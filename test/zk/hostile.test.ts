/**
 * Hostile input to the zk routes. Each request is refused with a 4xx and changes nothing: after
 * all of them the live challenge still logs the honest user in, and no user row changed.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bn254 } from '@noble/curves/bn254.js';
import type { Groth16Proof } from 'snarkjs';
import { testApp, problemOf, type TestApp } from '../support/app.ts';
import { Q, B2, onTwist, f2add, f2mul, f2sqr, type Fq2 } from '../../src/zk/_bn254.ts';
import { FIELD_MODULUS } from '../../src/zk/poseidon.ts';
import { challenge, newUser, post, prove, register, releaseProver, sessionKey, type Challenge, type User } from './_support.ts';

let t: TestApp;
let alice: User;
let bob: User;
let live: Challenge; // alice's challenge, bound to sessionKey(1); must survive every hostile request
let good: { proof: Groth16Proof; loginTag: string };
let usersBefore: unknown;

const { G1, G2 } = bn254;
const Fp2 = bn254.fields.Fp2;
const g1 = (p: string[]) => G1.Point.fromAffine({ x: BigInt(p[0]!), y: BigInt(p[1]!) });
const g2 = (p: string[][]) => G2.Point.fromAffine({ x: Fp2.fromBigTuple([BigInt(p[0]![0]!), BigInt(p[0]![1]!)]), y: Fp2.fromBigTuple([BigInt(p[1]![0]!), BigInt(p[1]![1]!)]) });
const s1 = (p: InstanceType<typeof G1.Point>): string[] => { const a = p.toAffine(); return [String(a.x), String(a.y), '1']; };
const s2 = (p: InstanceType<typeof G2.Point>): string[][] => { const a = p.toAffine(); return [[String(a.x.c0), String(a.x.c1)], [String(a.y.c0), String(a.y.c1)], ['1', '0']]; };

/** A point on the twist E'(Fq2) outside the order-r subgroup (the cofactor part is nontrivial). */
function twistPointOutsideG2(): string[][] {
  for (let i = 1n; ; i++) {
    const x: Fq2 = [i, 5n];
    try {
      const s = Fp2.sqrt(Fp2.fromBigTuple([...f2add(f2mul(f2sqr(x), x), B2)] as [bigint, bigint]));
      const y: Fq2 = [s.c0, s.c1];
      if (onTwist(x, y)) return [[String(x[0]), String(x[1])], [String(y[0]), String(y[1])], ['1', '0']];
    } catch { /* not a square */ }
  }
}

before(async () => {
  t = await testApp({ ZK_REGISTER_PER_MINUTE: '1000', BODY_LIMIT: '65536' });
  alice = newUser('alice');
  bob = newUser('bob');
  await register(t.app, alice);
  await register(t.app, bob);
  live = await challenge(t.app, 'alice', sessionKey(1));
  good = await prove('alice', alice.secret, live.challenge, live.sessionKeyHash);
  usersBefore = await t.store.query('SELECT username, commitment, updated_at FROM zk_users ORDER BY username');
});
after(async () => { await t.close(); await releaseProver(); });

const login = (body: unknown) => post(t.app, '/v1/zk/login', body);
async function refused(body: unknown, what: string, status?: number): Promise<void> {
  const res = await login(body);
  assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${what}: HTTP ${res.statusCode} ${res.body.slice(0, 200)}`);
  if (status !== undefined) assert.equal(res.statusCode, status, what);
  problemOf(res);
}
const withProof = (proof: unknown, extra: Record<string, unknown> = {}) => ({ challengeId: live.challengeId, proof, loginTag: good.loginTag, ...extra });

describe('wrong statements', () => {
  test("a proof for another user's commitment", async () => {
    const p = await prove('bob', bob.secret, live.challenge, live.sessionKeyHash);
    await refused({ challengeId: live.challengeId, ...p }, 'bob proves on alice challenge', 401);
  });
  test('a proof made for another sessionKeyHash', async () => {
    const other = await challenge(t.app, 'alice', sessionKey(2));
    const p = await prove('alice', alice.secret, live.challenge, other.sessionKeyHash);
    await refused({ challengeId: live.challengeId, ...p }, 'other session key', 401);
  });
  test('a foreign challenge (another user, another challenge id, unknown id) and an unknown user', async () => {
    const bobs = await challenge(t.app, 'bob', sessionKey(1));
    await refused({ challengeId: bobs.challengeId, ...good }, "bob's challenge", 401);
    await refused({ ...withProof(good.proof), challengeId: 'AAAAAAAAAAAAAAAAAAAAAA' }, 'unknown id', 401);
    const ghost = await challenge(t.app, 'ghost', sessionKey(1));
    const before = t.app.ctx.zkBatcher.stats.proofs;
    const p = await prove('ghost', alice.secret, ghost.challenge, ghost.sessionKeyHash);
    const res = await login({ challengeId: ghost.challengeId, ...p });
    assert.equal(res.statusCode, 401);
    assert.equal(problemOf(res).detail, 'login failed');
    // The unknown user went through a full verification, like a bad proof.
    assert.equal(t.app.ctx.zkBatcher.stats.proofs, before + 1);
  });
  test('an expired challenge', async () => {
    const ch = await challenge(t.app, 'alice', sessionKey(3));
    const p = await prove('alice', alice.secret, ch.challenge, ch.sessionKeyHash);
    await t.store.query("UPDATE zk_challenges SET expires_at = now() - interval '1 second' WHERE challenge_id = $1", [ch.challengeId]);
    await refused({ challengeId: ch.challengeId, ...p }, 'expired', 401);
  });
});

describe('non-canonical public values', () => {
  test('loginTag', async () => {
    const tag = BigInt(good.loginTag);
    for (const loginTag of [`0x${tag.toString(16)}`, `00${good.loginTag}`, Number(tag), tag.toString() + ' ', (tag + FIELD_MODULUS).toString(), FIELD_MODULUS.toString(), '-1', '', null]) {
      await refused(withProof(good.proof, { loginTag }), `loginTag ${String(loginTag)}`);
    }
  });
  test('proof coordinates: hex, leading zeros, numbers, + q, ≥ q', async () => {
    const p = good.proof;
    const variants: unknown[] = [
      { ...p, pi_a: [`0x${BigInt(p.pi_a[0]!).toString(16)}`, p.pi_a[1], '1'] },
      { ...p, pi_a: [`0${p.pi_a[0]}`, p.pi_a[1], '1'] },
      { ...p, pi_a: [Number(p.pi_a[0]), p.pi_a[1], '1'] },
      { ...p, pi_a: [(BigInt(p.pi_a[0]!) + Q).toString(), p.pi_a[1], '1'] },
      { ...p, pi_c: [p.pi_c[0], (BigInt(p.pi_c[1]!) + Q).toString(), '1'] },
      { ...p, pi_b: [[(BigInt(p.pi_b[0]![0]!) + Q).toString(), p.pi_b[0]![1]], p.pi_b[1], p.pi_b[2]] },
      { ...p, pi_a: [Q.toString(), p.pi_a[1], '1'] },
    ];
    for (const [i, v] of variants.entries()) await refused(withProof(v), `coordinate variant ${i}`);
  });
});

describe('malleated proofs', () => {
  test('non-normalised projective coordinates (z ≠ 1) and the identity', async () => {
    const p = good.proof;
    // (x, y, 1) ~ (x·z², y·z³, z) in Jacobian coordinates: the same point, another spelling.
    const z = 2n;
    const xJ = (BigInt(p.pi_a[0]!) * z * z) % Q;
    const yJ = (BigInt(p.pi_a[1]!) * z * z * z) % Q;
    await refused(withProof({ ...p, pi_a: [String(xJ), String(yJ), '2'] }), 'Jacobian A', 401);
    await refused(withProof({ ...p, pi_b: [p.pi_b[0], p.pi_b[1], ['1', '1']] }), 'G2 z', 401);
    await refused(withProof({ ...p, pi_c: ['0', '1', '0'] }), 'identity C', 401);
  });
  test('negating or rescaling one point breaks the proof', async () => {
    const p = good.proof;
    const A = g1(p.pi_a);
    await refused(withProof({ ...p, pi_a: s1(A.negate()) }), '-A', 401);
    await refused(withProof({ ...p, pi_a: s1(A.multiply(3n)) }), '3A', 401);
    await refused(withProof({ ...p, pi_b: s2(g2(p.pi_b).negate()) }), '-B', 401);
    await refused(withProof({ ...p, pi_c: s1(g1(p.pi_c).negate()) }), '-C', 401);
  });
  test('a G2 point on the twist but outside the subgroup, alone or added to B', async () => {
    const T = twistPointOutsideG2();
    await refused(withProof({ ...good.proof, pi_b: T }), 'B = T', 401);
    const BT = g2(good.proof.pi_b).add(g2(T));
    await refused(withProof({ ...good.proof, pi_b: s2(BT) }), 'B + T', 401);
  });
});

describe('malformed requests', () => {
  test('missing fields, extra fields, wrong protocol / curve, wrong shapes', async () => {
    const p = good.proof;
    const bodies: Array<[string, unknown]> = [
      ['no proof', { challengeId: live.challengeId, loginTag: good.loginTag }],
      ['no loginTag', { challengeId: live.challengeId, proof: p }],
      ['no challengeId', { proof: p, loginTag: good.loginTag }],
      ['extra field', withProof(p, { publicSignals: ['1', '2', '3', '4'] })],
      ['extra proof field', withProof({ ...p, extra: 1 })],
      ['protocol', withProof({ ...p, protocol: 'plonk' })],
      ['curve', withProof({ ...p, curve: 'bls12381' })],
      ['pi_a length', withProof({ ...p, pi_a: p.pi_a.slice(0, 2) })],
      ['pi_b shape', withProof({ ...p, pi_b: [p.pi_b[0], p.pi_b[1]] })],
      ['proof as string', withProof(JSON.stringify(p))],
      ['array body', [withProof(p)]],
      ['challengeId pattern', { ...withProof(p), challengeId: '../etc' }],
    ];
    for (const [what, body] of bodies) await refused(body, what, 400);
    const text = await t.app.inject({ method: 'POST', url: '/v1/zk/login', payload: 'not json', headers: { 'content-type': 'application/json' } });
    assert.equal(text.statusCode, 400);
  });
  test('huge bodies → 413', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/zk/login', payload: JSON.stringify(withProof(good.proof, { pad: 'x'.repeat(200_000) })), headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 413);
    const reg = await t.app.inject({ method: 'POST', url: '/v1/zk/users', payload: JSON.stringify({ username: 'huge', commitment: '1'.repeat(100_000) }), headers: { 'content-type': 'application/json' } });
    assert.equal(reg.statusCode, 413);
    const ch = await post(t.app, '/v1/zk/challenges', { username: 'alice', sessionPublicKey: 'A'.repeat(6000) });
    assert.equal(ch.statusCode, 400);
  });
  test('registerUser and createChallenge: extra fields, wrong types', async () => {
    assert.equal((await post(t.app, '/v1/zk/users', { username: 'eve', commitment: '1', secret: '2' })).statusCode, 400);
    assert.equal((await post(t.app, '/v1/zk/users', { username: 'eve', commitment: 1 })).statusCode, 400);
    assert.equal((await post(t.app, '/v1/zk/challenges', { username: 'alice', sessionPublicKey: 'A'.repeat(43), challenge: '1' })).statusCode, 400);
    assert.equal((await post(t.app, '/v1/zk/challenges', { username: 'alice', sessionPublicKey: 'A+/='.repeat(8) })).statusCode, 400);
    const rows = await t.store.query("SELECT 1 FROM zk_users WHERE username = 'eve'");
    assert.equal(rows.length, 0);
  });
});

describe('nothing changed', () => {
  test('the live challenge still logs alice in, once; user rows are untouched', async () => {
    assert.deepEqual(await t.store.query('SELECT username, commitment, updated_at FROM zk_users ORDER BY username'), usersBefore);
    const res = await login({ challengeId: live.challengeId, ...good });
    assert.equal(res.statusCode, 200, res.body);
    // Replays of the used proof, including its valid malleations (−A, −B, C) and (kA, k⁻¹B, C), are refused.
    const A = g1(good.proof.pi_a);
    const B = g2(good.proof.pi_b);
    const k = 5n;
    const kInv = bn254.fields.Fr.inv(k);
    await refused(withProof(good.proof), 'replay', 401);
    await refused(withProof({ ...good.proof, pi_a: s1(A.negate()), pi_b: s2(B.negate()) }), 'replay (−A, −B, C)', 401);
    await refused(withProof({ ...good.proof, pi_a: s1(A.multiply(k)), pi_b: s2(B.multiply(kInv)) }), 'replay (kA, k⁻¹B, C)', 401);
  });
});
