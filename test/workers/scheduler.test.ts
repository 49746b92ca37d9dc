/**
 * The fair scheduler with a fake clock and jobs the test completes by hand: fair order between
 * principals, the long-job reserve, deadline admission with Retry-After, gone clients, batch
 * accounting, concurrency, caps, stats. No wall-clock timing anywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FairScheduler, addressPrefix, principalKey, type Job, type SchedulerOptions } from '../../src/workers/scheduler.ts';
import { AppError } from '../../src/errors.ts';

/** Lets promise callbacks (job completion → next dispatch) run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

function harness(opts: Partial<SchedulerOptions> = {}) {
  let t = 0;
  const started: string[] = [];
  const pending = new Map<string, () => void>();
  let maxRunning = 0;
  const s = new FairScheduler({ concurrency: 1, now: () => t, ...opts });
  const job = (principal: string, label: string, cost: number, extra: Partial<Job<string>> = {}): Job<string> => ({
    principal, cost, ...extra,
    run: () => new Promise<string>((resolve) => {
      started.push(label);
      maxRunning = Math.max(maxRunning, s.running);
      pending.set(label, () => resolve(label));
    }),
  });
  /** Completes the running job `label` after advancing the clock by its cost. */
  const complete = async (label: string, advanceMs = 0) => {
    const done = pending.get(label);
    assert.ok(done, `${label} is not running (started: ${started.join(',')})`);
    t += advanceMs;
    pending.delete(label);
    done();
    await settle();
  };
  /** Completes running jobs in start order until `n` have completed. */
  const drain = async (n: number, msEach = 0) => {
    for (let i = 0; i < n; i++) {
      const next = [...pending.keys()][0];
      if (next === undefined) return;
      await complete(next, msEach);
    }
  };
  return { s, job, complete, drain, started, pending, clock: { get: () => t, set: (v: number) => { t = v; } }, maxRunning: () => maxRunning };
}

const refusal = (err: unknown) => {
  assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
  return err;
};

test('concurrency: never more jobs running than threads', async () => {
  const h = harness({ concurrency: 2 });
  const all = Array.from({ length: 7 }, (_, i) => h.s.submit(h.job('tenant:a', `a${i}`, 0.001)));
  assert.deepEqual(h.started, ['a0', 'a1']);
  assert.equal(h.s.running, 2);
  assert.equal(h.s.queuedJobs, 5);
  await h.drain(7);
  assert.equal(h.started.length, 7);
  assert.equal(h.maxRunning(), 2);
  assert.deepEqual(await Promise.all(all), ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
  assert.equal(h.s.running, 0);
  assert.equal(h.s.queuedJobs, 0);
});

test('fair order: 100 queued expensive jobs of one principal delay another principal\'s single job by at most one job', async () => {
  const h = harness({ concurrency: 1 });
  for (let i = 0; i < 100; i++) void h.s.submit(h.job('tenant:hog', `hog${i}`, 1.3));
  const victim = h.s.submit(h.job('tenant:victim', 'victim', 1.3));
  assert.deepEqual(h.started, ['hog0']); // hog0 was already running
  await h.complete('hog0', 1300);
  assert.deepEqual(h.started, ['hog0', 'victim'], 'the victim runs right after the job that was running');
  await h.complete('victim', 1300);
  assert.equal(await victim, 'victim');
  await h.drain(99);
  assert.equal(h.started.length, 101);
});

test('fair order: a newcomer is served before the backlog even when it arrives late', async () => {
  const h = harness({ concurrency: 2, reservedThreads: 0 });
  for (let i = 0; i < 100; i++) void h.s.submit(h.job('tenant:hog', `hog${i}`, 1));
  await h.drain(40, 1000); // the hog has been alone for a while: it earns no credit against newcomers
  const before = h.started.length;
  void h.s.submit(h.job('anon:198.51.100.0/24', 'victim', 1));
  await h.drain(1, 1000);
  const at = h.started.indexOf('victim');
  assert.ok(at >= 0 && at - before <= 1, `victim started ${at - before} jobs after arriving`);
});

test('fair order: backlogged principals alternate, weighted by cost', async () => {
  const h = harness({ concurrency: 1 });
  void h.s.submit(h.job('tenant:x', 'x-first', 0.01)); // occupies the thread
  for (let i = 0; i < 4; i++) void h.s.submit(h.job('tenant:a', `a${i}`, 0.01));
  for (let i = 0; i < 4; i++) void h.s.submit(h.job('tenant:b', `b${i}`, 0.01));
  // c's jobs cost twice as much: it gets half as many of them in the same span.
  for (let i = 0; i < 2; i++) void h.s.submit(h.job('tenant:c', `c${i}`, 0.02));
  await h.drain(11, 10);
  const order = h.started.slice(1);
  assert.deepEqual(order.slice(0, 3).sort(), ['a0', 'b0', 'c0']);
  // After the first round, per two rounds: a and b twice each, c once.
  assert.deepEqual(order.slice(3, 8).filter((l) => l.startsWith('c')), ['c1']);
  assert.equal(order.length, 10);
});

test('weights: a principal with weight 2 gets twice the share of a backlogged one', async () => {
  const h = harness({ concurrency: 1, weight: (p) => (p === 'admin' ? 2 : 1) });
  void h.s.submit(h.job('system', 'first', 0.01));
  for (let i = 0; i < 6; i++) void h.s.submit(h.job('admin', `admin${i}`, 0.01));
  for (let i = 0; i < 6; i++) void h.s.submit(h.job('tenant:t', `t${i}`, 0.01));
  await h.drain(7, 10);
  const six = h.started.slice(1, 7);
  assert.equal(six.filter((l) => l.startsWith('admin')).length, 4);
  assert.equal(six.filter((l) => l.startsWith('t')).length, 2);
});

test('long jobs cannot take every thread: a short job of another principal starts at once', async () => {
  const h = harness({ concurrency: 2 }); // default: 1 thread reserved from long jobs
  for (let i = 0; i < 100; i++) void h.s.submit(h.job('tenant:slh', `slh${i}`, 1.3));
  assert.deepEqual(h.started, ['slh0'], 'long jobs use at most concurrency − 1 threads');
  const victim = h.s.submit(h.job('anon:192.0.2.0/24', 'verify', 0.0002, { deadline: h.clock.get() + 5000 }));
  assert.deepEqual(h.started, ['slh0', 'verify'], 'the short job ran on the reserved thread without waiting');
  await h.complete('verify');
  assert.equal(await victim, 'verify');
  // Short jobs may still use every thread.
  const h2 = harness({ concurrency: 2 });
  for (let i = 0; i < 3; i++) void h2.s.submit(h2.job('tenant:a', `s${i}`, 0.001));
  assert.deepEqual(h2.started, ['s0', 's1']);
});

test('without a reserve, the short job waits for one long job, not for the backlog', async () => {
  const h = harness({ concurrency: 2, reservedThreads: 0 });
  for (let i = 0; i < 100; i++) void h.s.submit(h.job('tenant:slh', `slh${i}`, 1.3));
  void h.s.submit(h.job('anon:192.0.2.0/24', 'verify', 0.0002));
  assert.deepEqual(h.started, ['slh0', 'slh1']);
  await h.complete('slh0', 1300);
  assert.deepEqual(h.started, ['slh0', 'slh1', 'verify']);
});

test('deadline admission: refused at once with 503 and Retry-After from the principal\'s own backlog', async () => {
  const h = harness({ concurrency: 1 });
  const deadline = 3000;
  const ok = [0, 1, 2].map((i) => h.s.submit(h.job('tenant:a', `a${i}`, 1, { deadline })));
  // a0 runs (ends at 1000), a1 ends at 2000, a2 at 3000: a3 would end at 4000 > 3000.
  const err = refusal(await h.s.submit(h.job('tenant:a', 'a3', 1, { deadline })).then(() => null, (e: unknown) => e));
  assert.equal(err.code, 'overloaded');
  assert.equal(err.status, 503);
  assert.equal(err.extra?.retryAfter, 3, 'a\'s own backlog: 2 s queued + 1 s running, alone on one thread');
  assert.ok(!h.started.includes('a3'));
  assert.equal(h.s.queuedJobs, 2, 'the refused job was never queued');
  // Another principal with the same deadline is admitted: the fair policy serves it before a's backlog.
  assert.equal(h.s.estimate('tenant:b', 1).waitMs, 1000, 'a newcomer waits only for the running job');
  const b = h.s.submit(h.job('tenant:b', 'b0', 1, { deadline }));
  assert.equal(h.s.estimate('tenant:c', 1).waitMs, 2000, 'the next newcomer also waits for b0 (same virtual start, earlier arrival)');
  const outcomes = Promise.allSettled(ok);
  await h.drain(4, 1000);
  assert.equal(await b, 'b0');
  // b0 was served first (fair order), so a2 could only start at 3 s = its deadline: dropped, not run.
  assert.deepEqual(h.started, ['a0', 'b0', 'a1']);
  assert.deepEqual((await outcomes).map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected']);
  const st = h.s.stats();
  assert.equal(st.refusedDeadline, 1);
  assert.equal(st.admitted, 4);
  assert.equal(st.expired, 1);
});

test('deadline admission: Retry-After grows with the backlog and counts the fair share', async () => {
  const h = harness({ concurrency: 2, reservedThreads: 0 });
  for (let i = 0; i < 10; i++) void h.s.submit(h.job('tenant:a', `a${i}`, 1)); // no deadline: all queued
  for (let i = 0; i < 10; i++) void h.s.submit(h.job('tenant:b', `b${i}`, 1));
  const err = refusal(await h.s.submit(h.job('tenant:a', 'late', 1, { deadline: 2000 })).then(() => null, (e: unknown) => e));
  // a: 8 s queued + 2 × 1 s running = 10 s of its own work; two active principals on two threads → 1 thread each.
  assert.equal(err.extra?.retryAfter, 10);
  const errC = refusal(await h.s.submit(h.job('tenant:c', 'c', 1, { deadline: 1500 })).then(() => null, (e: unknown) => e));
  assert.equal(errC.extra?.retryAfter, 1, 'no backlog of its own: retry soon');
});

test('a job that would start at once is never refused for its own length', async () => {
  const h = harness({ concurrency: 1 });
  const p = h.s.submit(h.job('tenant:a', 'huge', 15, { deadline: 1000 }));
  assert.deepEqual(h.started, ['huge']);
  const err = refusal(await h.s.submit(h.job('tenant:a', 'next', 15, { deadline: 1000 })).then(() => null, (e: unknown) => e));
  assert.equal(err.code, 'overloaded');
  await h.complete('huge', 15000);
  assert.equal(await p, 'huge');
});

test('a queued job whose deadline passed before its turn is dropped, not run', async () => {
  const h = harness({ concurrency: 1 });
  void h.s.submit(h.job('tenant:a', 'a0', 1));
  const late = h.s.submit(h.job('tenant:b', 'b0', 0.1, { deadline: 2000 })).then(() => null, (e: unknown) => e);
  await h.complete('a0', 5000); // a0 took far longer than estimated
  const err = refusal(await late);
  assert.equal(err.code, 'overloaded');
  assert.ok(!h.started.includes('b0'));
  assert.equal(h.s.stats().expired, 1);
});

test('expireGraceMs: a late job still runs within the grace', async () => {
  const h = harness({ concurrency: 1, expireGraceMs: 5000 });
  void h.s.submit(h.job('tenant:a', 'a0', 1));
  const late = h.s.submit(h.job('tenant:b', 'b0', 0.1, { deadline: 2000 }));
  await h.complete('a0', 5000);
  assert.deepEqual(h.started, ['a0', 'b0']);
  await h.complete('b0', 100);
  assert.equal(await late, 'b0');
});

test('gone clients: an aborted job is dropped before it runs, others proceed', async () => {
  const h = harness({ concurrency: 1 });
  void h.s.submit(h.job('tenant:a', 'a0', 1));
  const ac = new AbortController();
  const gone = h.s.submit(h.job('anon:203.0.113.0/24', 'gone', 1, { signal: ac.signal }));
  const stays = h.s.submit(h.job('tenant:c', 'stays', 1));
  assert.equal(h.s.queuedJobs, 2);
  assert.equal(h.s.stats().top.find((x) => x.principal === 'anon:203.0.113.0/24')?.queuedSeconds, 1);
  ac.abort();
  const err = refusal(await gone.then(() => null, (e: unknown) => e));
  assert.equal(err.extra?.cancelled, true);
  assert.equal(h.s.queuedJobs, 1);
  assert.equal(h.s.queuedSeconds, 1);
  await h.drain(2, 1000);
  assert.deepEqual(h.started, ['a0', 'stays']);
  assert.equal(await stays, 'stays');
  // Already aborted on submit: never queued.
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(h.s.submit(h.job('tenant:a', 'never', 1, { signal: pre.signal })), (e: unknown) => e instanceof AppError && e.extra?.cancelled === true);
  assert.ok(!h.started.includes('never'));
  assert.equal(h.s.stats().cancelled, 2);
});

test('an abort after the job started does not affect it', async () => {
  const h = harness({ concurrency: 1 });
  const ac = new AbortController();
  const p = h.s.submit(h.job('tenant:a', 'a0', 1, { signal: ac.signal }));
  ac.abort();
  await h.complete('a0', 1000);
  assert.equal(await p, 'a0');
});

test('batches: items admitted one by one in the same accounting; the first that misses the deadline is refused, earlier ones stay', async () => {
  const h = harness({ concurrency: 1 });
  const deadline = 3500;
  const batch = h.s.submitBatch(Array.from({ length: 6 }, (_, i) => h.job('tenant:a', `item${i}`, 1, { deadline })));
  assert.equal(batch.results.length, 3, 'items end at 1, 2, 3 s; the fourth would end at 4 s > 3.5 s');
  assert.equal(batch.refused?.index, 3);
  assert.equal(batch.refused?.error.code, 'overloaded');
  assert.equal(batch.refused?.error.extra?.retryAfter, 3);
  assert.equal(h.s.queuedJobs, 2);
  // A later single job of the same principal sees the admitted items as its backlog.
  await assert.rejects(h.s.submit(h.job('tenant:a', 'single', 1, { deadline })), (e: unknown) => e instanceof AppError && e.code === 'overloaded');
  // Another principal is not charged for a's batch.
  const other = h.s.submit(h.job('tenant:b', 'other', 1, { deadline }));
  await h.drain(4, 1000);
  assert.deepEqual(h.started, ['item0', 'other', 'item1', 'item2']);
  assert.deepEqual(await Promise.all(batch.results), ['item0', 'item1', 'item2']);
  assert.equal(await other, 'other');
});

test('batches: onRefusal "cancel" drops every admitted item, and none started before the batch was whole', async () => {
  const h = harness({ concurrency: 1 });
  const batch = h.s.submitBatch(Array.from({ length: 5 }, (_, i) => h.job('tenant:a', `item${i}`, 1, { deadline: 2000 })), { onRefusal: 'cancel' });
  assert.equal(batch.refused?.index, 2);
  assert.equal(batch.results.length, 2);
  for (const r of batch.results) await assert.rejects(r, (e: unknown) => e instanceof AppError && e.code === 'overloaded', 'admitted items are cancelled');
  assert.equal(h.s.queuedJobs, 0);
  assert.equal(h.s.running, 0);
  assert.deepEqual(h.started, [], 'a refused batch cost no worker time');
  // The scheduler is free for the next job at once.
  const next = h.s.submit(h.job('tenant:b', 'next', 0.001));
  await h.drain(1, 1);
  assert.equal(await next, 'next');
});

test('global caps: queued jobs and queued CPU-seconds', async () => {
  const h = harness({ concurrency: 1, maxQueuedJobs: 2 });
  const ps = [0, 1, 2].map((i) => h.s.submit(h.job(`tenant:${i}`, `j${i}`, 0.01)));
  await assert.rejects(h.s.submit(h.job('tenant:x', 'x', 0.01)), (e: unknown) => e instanceof AppError && e.code === 'overloaded' && typeof e.extra?.retryAfter === 'number');
  assert.equal(h.s.stats().refusedCapacity, 1);
  await h.drain(3, 10);
  await Promise.all(ps);
  const h2 = harness({ concurrency: 1, maxQueuedSeconds: 2 });
  void h2.s.submit(h2.job('tenant:a', 'run', 1));
  void h2.s.submit(h2.job('tenant:a', 'q1', 1.5));
  await assert.rejects(h2.s.submit(h2.job('tenant:b', 'q2', 1)), (e: unknown) => e instanceof AppError && e.code === 'overloaded');
  assert.equal(h2.s.queuedSeconds, 1.5);
});

test('a job that throws or rejects frees its thread and rejects its caller', async () => {
  const h = harness({ concurrency: 1 });
  const bad = h.s.submit({ principal: 'tenant:a', cost: 0.01, run: () => { throw new Error('sync boom'); } });
  const bad2 = h.s.submit({ principal: 'tenant:a', cost: 0.01, run: () => Promise.reject(new Error('async boom')) });
  const good = h.s.submit(h.job('tenant:a', 'good', 0.01));
  await assert.rejects(bad, /sync boom/);
  await assert.rejects(bad2, /async boom/);
  await settle();
  await h.complete('good');
  assert.equal(await good, 'good');
  assert.equal(h.s.running, 0);
});

test('stats: queued cost per principal, queue length, counters; idle principals are forgotten', async () => {
  const settled: string[] = [];
  const h = harness({ concurrency: 1, onSettled: (i) => settled.push(`${i.principal}:${i.outcome}`) });
  void h.s.submit(h.job('tenant:a', 'a0', 0.5));
  void h.s.submit(h.job('tenant:a', 'a1', 0.5));
  void h.s.submit(h.job('tenant:a', 'a2', 0.25));
  void h.s.submit(h.job('anon:192.0.2.0/24', 'n0', 0.125));
  const st = h.s.stats();
  assert.equal(st.running, 1);
  assert.equal(st.queuedJobs, 3);
  assert.equal(st.queuedSeconds, 0.875);
  assert.equal(st.activePrincipals, 2);
  assert.deepEqual(st.top, [
    { principal: 'tenant:a', queuedJobs: 2, queuedSeconds: 0.75, running: 1 },
    { principal: 'anon:192.0.2.0/24', queuedJobs: 1, queuedSeconds: 0.125, running: 0 },
  ]);
  assert.equal(h.s.stats(1).top.length, 1);
  await h.drain(4, 100);
  const end = h.s.stats();
  assert.equal(end.queuedJobs, 0);
  assert.equal(end.queuedSeconds, 0);
  assert.equal(end.activePrincipals, 0);
  assert.equal(end.completed, 4);
  assert.deepEqual(settled.sort(), ['anon:192.0.2.0/24:ok', 'tenant:a:ok', 'tenant:a:ok', 'tenant:a:ok']);
});

test('principalKey: tenant, admin, anonymous by /24 (IPv4) or /64 (IPv6)', () => {
  assert.equal(principalKey({ kind: 'tenant', tenantId: 't-1', tokenId: 'j' }, '10.0.0.1'), 'tenant:t-1');
  assert.equal(principalKey({ kind: 'admin' }, '10.0.0.1'), 'admin');
  assert.equal(principalKey({ kind: 'anonymous' }, '203.0.113.77'), 'anon:203.0.113.0/24');
  assert.equal(principalKey(null, '203.0.113.200'), 'anon:203.0.113.0/24');
  assert.equal(addressPrefix('::ffff:198.51.100.9'), '198.51.100.0/24');
  assert.equal(addressPrefix('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(addressPrefix('2001:0DB8:0001:0002::1'), '2001:db8:1:2::/64');
  assert.equal(addressPrefix('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressPrefix('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressPrefix('::1'), '0:0:0:0::/64');
  assert.equal(addressPrefix('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64');
  assert.equal(addressPrefix('[2001:db8:aa:bb::7]'), '2001:db8:aa:bb::/64');
  assert.equal(addressPrefix('not an address'), 'unknown');
  assert.equal(addressPrefix(undefined), 'unknown');
  assert.equal(addressPrefix('999.1.1.1'), 'unknown');
});

test('addressPrefix: configurable prefix lengths (ANON_PREFIX_V4 / ANON_PREFIX_V6)', async (t) => {
  const { configureAddressPrefixes } = await import('../../src/workers/principal.ts');
  t.after(() => configureAddressPrefixes(24, 64));
  configureAddressPrefixes(32, 128);
  assert.equal(addressPrefix('127.0.0.11'), '127.0.0.11/32');
  assert.equal(addressPrefix('2001:db8::1'), '2001:db8:0:0:0:0:0:1/128');
  configureAddressPrefixes(20, 48);
  assert.equal(addressPrefix('203.0.127.77'), '203.0.112.0/20');
  assert.equal(addressPrefix('2001:db8:1:2::1'), '2001:db8:1::/48');
  assert.throws(() => configureAddressPrefixes(33, 64), RangeError);
});
