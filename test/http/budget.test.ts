/** The per-address CPU budget: token bucket of CPU-seconds, 429 + Retry-After, refill, debt, bounded memory (fake clock). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBudget, isBudgetedKey } from '../../src/http/budget.ts';
import { AppError } from '../../src/errors.ts';
import { principalKey } from '../../src/workers/scheduler.ts';
import { createCostModel } from '../../src/workers/cost.ts';

function clocked(opts: { secondsPerMinute: number; burstSeconds?: number; maxTracked?: number }) {
  let t = 1_000_000;
  const b = new CpuBudget({ ...opts, now: () => t });
  return { b, advance: (ms: number) => { t += ms; } };
}

test('charges until the burst is spent, then 429 with Retry-After until it refills', () => {
  const { b, advance } = clocked({ secondsPerMinute: 6, burstSeconds: 2 });
  const key = 'anon:203.0.113.0/24';
  for (let i = 0; i < 20; i++) b.charge(key, 0.1); // 2 s
  assert.ok(Math.abs(b.remaining(key)) < 1e-9);
  assert.throws(() => b.charge(key, 0.1), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'rate_limited');
    assert.equal(e.status, 429);
    assert.equal(e.extra?.retryAfter, 1, '0.1 CPU-s at 0.1 CPU-s per second');
    return true;
  });
  const r = b.tryCharge(key, 1);
  assert.deepEqual(r, { ok: false, retryAfter: 10 }, '1 CPU-s needs 10 s of refill at 6 CPU-s per minute');
  advance(10_000);
  assert.equal(b.tryCharge(key, 1).ok, true);
  advance(3_600_000);
  assert.ok(Math.abs(b.remaining(key) - 2) < 1e-9, 'refill stops at the burst');
  const st = b.stats();
  assert.equal(st.refused, 2);
  assert.equal(st.charged, 21);
});

test('prefixes are independent', () => {
  const { b } = clocked({ secondsPerMinute: 6, burstSeconds: 1 });
  const attacker = principalKey({ kind: 'anonymous' }, '198.51.100.7');
  const neighbour = principalKey({ kind: 'anonymous' }, '198.51.100.200');
  const victim = principalKey({ kind: 'anonymous' }, '192.0.2.1');
  assert.equal(attacker, neighbour, 'same /24');
  b.charge(attacker, 1);
  assert.throws(() => b.charge(neighbour, 0.01), (e: unknown) => e instanceof AppError && e.code === 'rate_limited');
  b.charge(victim, 0.5);
  assert.ok(Math.abs(b.remaining(victim) - 0.5) < 1e-9);
});

test('an operation dearer than the whole burst runs from a full bucket and leaves a debt', () => {
  const { b, advance } = clocked({ secondsPerMinute: 6, burstSeconds: 1 });
  const key = 'anon:192.0.2.0/24';
  b.charge(key, 3);
  assert.ok(Math.abs(b.remaining(key) + 2) < 1e-9);
  const r = b.tryCharge(key, 3);
  assert.equal(r.ok, false);
  assert.equal((r as { retryAfter: number }).retryAfter, 30, 'from −2 back to a full bucket (1) at 0.1 per second');
  advance(30_000);
  assert.equal(b.tryCharge(key, 3).ok, true);
});

test('refund gives back unused work, never above the burst', () => {
  const { b } = clocked({ secondsPerMinute: 6, burstSeconds: 1 });
  const key = 'anon:192.0.2.0/24';
  b.charge(key, 0.75);
  b.refund(key, 0.5);
  assert.ok(Math.abs(b.remaining(key) - 0.75) < 1e-9);
  b.refund(key, 5);
  assert.equal(b.remaining(key), 1);
  b.refund('anon:unknown-key', 1);
  assert.equal(b.size, 1, 'refunding an untracked key does not track it');
});

test('only anonymous keys are budgeted', () => {
  const { b } = clocked({ secondsPerMinute: 0.6, burstSeconds: 0.01 });
  for (let i = 0; i < 100; i++) {
    b.chargeIfBudgeted('tenant:t1', 1);
    b.chargeIfBudgeted('admin', 1);
  }
  assert.equal(b.size, 0);
  assert.ok(isBudgetedKey('anon:192.0.2.0/24'));
  assert.ok(!isBudgetedKey('tenant:anon:x'));
  assert.throws(() => { b.chargeIfBudgeted('anon:192.0.2.0/24', 0.01); b.chargeIfBudgeted('anon:192.0.2.0/24', 0.01); }, (e: unknown) => e instanceof AppError && e.code === 'rate_limited');
});

test('bounded memory: at most maxTracked prefixes; full buckets are forgotten first', () => {
  const { b } = clocked({ secondsPerMinute: 6, burstSeconds: 1, maxTracked: 100 });
  for (let i = 0; i < 10_000; i++) b.tryCharge(`anon:p${i}`, 0.0001);
  assert.equal(b.size, 100);
  assert.equal(b.stats().evicted, 9_900);
  // A spent bucket outlives full ones inserted after it.
  const small = new CpuBudget({ secondsPerMinute: 6, burstSeconds: 1, maxTracked: 3, now: () => 0 });
  small.charge('anon:a', 1);
  small.tryCharge('anon:b', 0);
  small.tryCharge('anon:c', 0);
  small.tryCharge('anon:d', 0);
  assert.equal(small.size, 3);
  assert.ok(Math.abs(small.remaining('anon:a')) < 1e-9, 'the spent bucket was kept, a full one was forgotten');
  assert.ok(small.tryCharge('anon:a', 0.5).ok === false);
});

test('with the cost model: an SLH-DSA-SHAKE-256f verify flood from one prefix is cut off, a neighbour prefix is not', () => {
  const { b } = clocked({ secondsPerMinute: 6, burstSeconds: 2 });
  const m = createCostModel();
  const cost = m.request({ op: 'verifyWithPublicKey', algorithm: 'SLH-DSA-SHAKE-256f' });
  let admitted = 0;
  for (let i = 0; i < 10_000; i++) if (b.tryCharge('anon:198.51.100.0/24', cost).ok) admitted++;
  assert.ok(Math.abs(admitted - 2 / cost) <= 1, `${admitted} admitted: the 2 CPU-second burst, then nothing (no time passes)`);
  assert.ok(b.tryCharge('anon:192.0.2.0/24', m.request({ op: 'verifyWithPublicKey', algorithm: 'ML-DSA-44' })).ok);
});

test('rejects nonsensical options', () => {
  assert.throws(() => new CpuBudget({ secondsPerMinute: 0 }), TypeError);
  assert.throws(() => new CpuBudget({ secondsPerMinute: 1, burstSeconds: -1 }), TypeError);
});

test('gate: an empty or indebted anonymous bucket refuses before any work; tenants and unknown keys pass', () => {
  const { b, advance } = clocked({ secondsPerMinute: 6, burstSeconds: 1 });
  const key = 'anon:192.0.2.0/24';
  b.gate(key); // unknown: full bucket
  b.charge(key, 1.5); // dearer than the burst: admitted from a full bucket, now in debt
  assert.throws(() => b.gate(key), (e: unknown) => e instanceof AppError && e.code === 'rate_limited' && (e.extra?.retryAfter as number) >= 5);
  b.gate('tenant:t1');
  advance(6000); // 0.6 s refilled: out of debt
  b.gate(key);
});

test('over HTTP: once the budget is spent, a budgeted operation is 429 before its body is even parsed', async () => {
  const { testApp } = await import('../support/app.ts');
  const t = await testApp({ ANON_CPU_MS_PER_MINUTE: '60', ANON_CPU_BURST_MS: '1' });
  try {
    const bad = { method: 'POST' as const, url: '/v1/verify', headers: { 'content-type': 'application/json' }, payload: '{not json', remoteAddress: '203.0.113.5' };
    assert.equal((await t.app.inject(bad)).statusCode, 400, 'full bucket: the body is parsed (and refused)');
    t.app.ctx.budget!.charge(principalKey(null, '203.0.113.5'), 0.01); // as a verify would: 10 ms, the bucket is now in debt
    const gated = await t.app.inject(bad);
    assert.equal(gated.statusCode, 429, gated.body);
    assert.ok(Number(gated.headers['retry-after']) >= 1);
    assert.equal((await t.app.inject({ ...bad, remoteAddress: '198.51.100.5' })).statusCode, 400, 'another prefix is not affected');
  } finally { await t.close(); }
});
