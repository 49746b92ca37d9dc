/** The worker pool runs tasks off the event loop and refuses work beyond its bounded queue. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWorkerPool } from '../../src/workers/pool.ts';
import { AppError } from '../../src/errors.ts';

test('runs a task in a worker thread', async () => {
  const pool = createWorkerPool({ threads: 1, maxQueue: 4 });
  try {
    assert.deepEqual(await pool.run('pool.echo', { value: 'hi' }), { value: 'hi' });
  } finally { await pool.close(); }
});

test('a full queue answers overloaded (503 + Retry-After) at once instead of queueing', async () => {
  const pool = createWorkerPool({ threads: 1, maxQueue: 2 });
  try {
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => pool.run('pool.spin', { ms: 150 })));
    const rejected = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as AppError);
    assert.ok(rejected.length >= 4, `expected refusals, got ${rejected.length}`);
    for (const err of rejected) {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'overloaded');
      assert.equal(err.status, 503);
      assert.equal(err.extra?.retryAfter, 1);
    }
    assert.ok(results.filter((r) => r.status === 'fulfilled').length >= 2);
    assert.ok(Date.now() - started < 8 * 150, 'refused tasks did not wait for a worker');
  } finally { await pool.close(); }
});

test('an AppError thrown in a task keeps its code and status across the thread boundary', async () => {
  const pool = createWorkerPool({ threads: 1, maxQueue: 4 });
  try {
    await assert.rejects(pool.run('pool.fail', { code: 'invalid_input', message: 'bad bytes' }), (err: unknown) =>
      err instanceof AppError && err.code === 'invalid_input' && err.status === 400 && err.message === 'bad bytes');
  } finally { await pool.close(); }
});
