/**
 * Issue 15 §2 across instances: two instances (A and B) on one real PostgreSQL, both running the
 * automatic-rotation sweeper. Exactly one new version per key and period, however many sweeps of both
 * instances race for it; the timer-driven sweepers on the real clock do the same; retention
 * (maxVersions) erases material in the same transaction; a destroy on A is refused on A at once and on
 * B within the documented ≤ 1 s cache bound.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { twoInstances, type InstancePair } from '../support/pair.ts';
import { type TestApp } from '../support/app.ts';
import { type Store } from '../../src/store/index.ts';
import { AppError } from '../../src/errors.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import type { SignResult } from '../../src/keys/service.ts';

const HOUR_MS = 3600_000;
// The sweepers tick every 200 ms on both instances for the whole file.
const env = { WORKERS: '1', KEY_ROTATION_SWEEP_MS: '200' };
const msg = base64urlEncode(new TextEncoder().encode('rotated'));

let pair: InstancePair;
let a: TestApp;
let b: TestApp;
let stores: Store[];
before(async () => {
  pair = await twoInstances(env);
  ({ a, b, stores } = pair);
});
after(async () => { await pair?.close(); });

const state = async (owner: string) => stores[0]!.query<{ name: string; latest_version: number; next_rotation_at: Date; n: number }>(
  `SELECT k.name, k.latest_version, k.next_rotation_at, (SELECT count(*)::int FROM key_versions v WHERE v.key_id = k.id) AS n
   FROM keys k WHERE k.owner = $1 ORDER BY k.name`, [owner]);

test('both instances sweep concurrently, period after period: exactly one new version per key and period', async () => {
  const owner = 'tenant:race';
  const keys = 12;
  for (let i = 0; i < keys; i++) await a.app.ctx.keys.create(owner, { name: `k${String(i).padStart(2, '0')}`, algorithm: 'ML-DSA-44', rotationPeriod: 3600 });
  const now0 = Date.now();
  const firstDue = new Map((await state(owner)).map((r) => [r.name, new Date(r.next_rotation_at).getTime()]));
  let lost = 0;
  for (let period = 1; period <= 4; period++) {
    // A time just after every key's period-th rotation is due (and before the next one is).
    const at = new Date(now0 + period * HOUR_MS + 1000);
    const sweeps = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? b : a).app.ctx.keys.sweepRotations(at)));
    const rotated = sweeps.reduce((n, s) => n + s.rotated, 0);
    lost += sweeps.reduce((n, s) => n + s.lost + s.skipped, 0);
    assert.equal(sweeps.reduce((n, s) => n + s.failed, 0), 0);
    assert.equal(rotated, keys, `period ${period}: ${JSON.stringify(sweeps)}`);
    for (const r of await state(owner)) {
      assert.equal(r.latest_version, period + 1, `${r.name} after period ${period}`);
      assert.equal(r.n, period + 1, `${r.name}: one version row per version`);
      assert.equal(new Date(r.next_rotation_at).getTime(), firstDue.get(r.name)! + period * HOUR_MS, `${r.name}: next is one period on`);
    }
    // Once done, further sweeps at the same time find nothing due.
    const again = await Promise.all([a.app.ctx.keys.sweepRotations(at), b.app.ctx.keys.sweepRotations(at)]);
    assert.deepEqual(again.map((s) => s.rotated), [0, 0]);
  }
  // The race was real: sweeps found due keys that another sweep rotated first (before or after generating).
  assert.ok(lost > 0, 'some sweeps lost the race (both instances went for the same rotations)');
  // Every version is its own key pair; each signs on one instance and verifies on the other.
  const k = await b.app.ctx.keys.get(owner, 'k00');
  assert.deepEqual(k.versions!.map((v) => v.version), [1, 2, 3, 4, 5]);
  assert.equal(new Set(k.versions!.map((v) => v.publicKey)).size, 5);
  for (let v = 1; v <= 5; v++) {
    const [signer, verifier] = v % 2 ? [a, b] : [b, a];
    const { signature } = await signer.app.ctx.keys.sign(owner, 'k00', { message: msg, version: v }) as SignResult;
    assert.deepEqual(await verifier.app.ctx.keys.verify(owner, 'k00', { message: msg, signature }), { valid: true, version: v });
  }
});

test('the timer-driven sweepers (real clock, 200 ms, both instances) rotate a due key once, with retention', async () => {
  const owner = 'tenant:timer';
  await a.app.ctx.keys.create(owner, { name: 'due', algorithm: 'ML-DSA-44', rotationPeriod: 3600, maxVersions: 2 });
  for (let round = 1; round <= 3; round++) {
    // Make the key due now (next_rotation_at is not MAC-covered: the clock is the sweeper's business).
    await stores[0]!.query("UPDATE keys SET next_rotation_at = date_trunc('second', now()) - interval '1 second' WHERE owner = $1", [owner]);
    const deadline = Date.now() + 15_000;
    while ((await state(owner))[0]!.latest_version < round + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // At least 5 more ticks of each sweeper: nothing more happens.
    await new Promise((r) => setTimeout(r, 1200));
    const [row] = await state(owner);
    assert.equal(row!.latest_version, round + 1, `round ${round}`);
    const next = new Date(row!.next_rotation_at).getTime();
    assert.ok(Math.abs(next - (Date.now() + HOUR_MS)) < 60_000, `next rotation about an hour from now: ${new Date(next).toISOString()}`);
  }
  const k = await b.app.ctx.keys.get(owner, 'due');
  assert.deepEqual(k.versions!.map((v) => `${v.version}:${v.state}`), ['1:destroyed', '2:destroyed', '3:enabled', '4:enabled']);
  const wrapped = await stores[1]!.query<{ version: number; n: number }>(
    'SELECT v.version, octet_length(v.wrapped_secret)::int AS n FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.owner = $1 ORDER BY v.version', [owner]);
  assert.deepEqual(wrapped.map((r) => r.n === 0), [true, true, false, false]);
});

test('a destroy on A: A refuses at once, B within the 1 s cache bound; the signature still verifies on both', async () => {
  const owner = 'tenant:destroy';
  await a.app.ctx.keys.create(owner, { name: 'd', algorithm: 'ML-DSA-44' });
  await a.app.ctx.keys.rotate(owner, 'd');
  const { signature } = await b.app.ctx.keys.sign(owner, 'd', { message: msg, version: 1 }) as SignResult; // B caches v1
  await a.app.ctx.keys.destroyVersion(owner, 'd', 1);
  const destroyed = (e: unknown) => e instanceof AppError && e.code === 'key_version_destroyed';
  await assert.rejects(a.app.ctx.keys.sign(owner, 'd', { message: msg, version: 1 }), destroyed);
  await new Promise((r) => setTimeout(r, 1100));
  await assert.rejects(b.app.ctx.keys.sign(owner, 'd', { message: msg, version: 1 }), destroyed);
  for (const app of [a, b]) assert.equal((await app.app.ctx.keys.verify(owner, 'd', { message: msg, signature })).valid, true);
});
