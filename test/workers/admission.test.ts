/** The pool seam: tasks are costed, accounted to the request scope and scheduled (fake clock, fake tasks). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAdmission, createAnonymousBudget, budgetGauges, schedulerOptions } from '../../src/workers/admission.ts';
import { createCostModel } from '../../src/workers/cost.ts';
import { runInScope } from '../../src/workers/request-scope.ts';
import { AppError } from '../../src/errors.ts';

const config = { schedLongTaskMs: 50, schedReservedThreads: 1, schedMaxQueuedCpuMs: 0, schedExpireGraceMs: 0, workerQueue: 10_000 };

test('tasks are accounted to the request scope, costed by the model, refused past the deadline', async () => {
  let t = 0;
  const costs = createCostModel();
  const a = createAdmission({ threads: 1, costs, config, now: () => t });
  const release: Array<() => void> = [];
  const start = () => new Promise<string>((r) => release.push(() => r('done')));
  const slh = { algorithm: 'SLH-DSA-SHAKE-256s', message: new Uint8Array(32) };
  const first = runInScope({ principal: 'tenant:t1', deadline: 3000 }, () => a.run('keys.sign', slh, start));
  const second = runInScope({ principal: 'tenant:t1', deadline: 3000 }, () => a.run('keys.sign', slh, start));
  // ~1.26 s each: a third would end near 3.8 s > 3 s.
  await assert.rejects(runInScope({ principal: 'tenant:t1', deadline: 3000 }, () => a.run('keys.sign', slh, start)),
    (e: unknown) => e instanceof AppError && e.code === 'overloaded' && (e.extra?.retryAfter as number) >= 2);
  const top = a.scheduler.stats().top;
  assert.equal(top[0]?.principal, 'tenant:t1');
  assert.ok(Math.abs(top[0]!.queuedSeconds - costs.task('keys.sign', slh)) < 1e-12);
  // Outside any scope: 'system', no deadline.
  const background = a.run('pool.echo', { value: 'x' }, start);
  assert.ok(a.scheduler.stats().top.some((p) => p.principal === 'system'));
  const g = a.gauges();
  assert.equal(g.scheduler_queued_tasks, 2);
  assert.equal(g.scheduler_refused_deadline_total, 1);
  assert.equal(g.cost_model_factor, 1);
  while (release.length) { t += 1000; release.shift()!(); await new Promise((r) => setImmediate(r)); }
  assert.deepEqual(await Promise.all([first, second, background]), ['done', 'done', 'done']);
});

test('runBatch admits the items of one request one by one', async () => {
  const a = createAdmission({ threads: 1, costs: createCostModel(), config, now: () => 0 });
  const b = runInScope({ principal: 'tenant:t2', deadline: 2000 }, () =>
    a.runBatch('pool.spin', [{ ms: 900 }, { ms: 900 }, { ms: 900 }], async (input) => (input as { ms: number }).ms));
  assert.equal(b.results.length, 2);
  assert.equal(b.refused?.index, 2);
  assert.deepEqual(await Promise.all(b.results), [900, 900]);
});

test('configuration: scheduler options and the anonymous budget', () => {
  const o = schedulerOptions({ ...config, schedMaxQueuedCpuMs: 30_000, workerQueue: 256 }, 2);
  assert.equal(o.maxQueuedSeconds, 30);
  assert.equal(o.maxQueuedJobs, 256);
  assert.equal(o.longJobSeconds, 0.05);
  assert.equal(schedulerOptions(config, 2).maxQueuedSeconds, undefined);
  assert.equal(createAnonymousBudget({ anonCpuMsPerMinute: 0, anonCpuBurstMs: 1, anonBudgetMaxPrefixes: 1 }), undefined);
  const budget = createAnonymousBudget({ anonCpuMsPerMinute: 6000, anonCpuBurstMs: 2000, anonBudgetMaxPrefixes: 10 }, () => 0)!;
  assert.equal(budget.remaining('anon:x'), 2);
  budget.charge('anon:x', 0.5);
  assert.equal(budgetGauges(budget).anon_budget_charged_total, 1);
  assert.deepEqual(budgetGauges(undefined), {});
});
