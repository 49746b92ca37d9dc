/**
 * The login batcher's bounds: a full queue refuses at once (503 overloaded), and a login whose
 * request is past its deadline or gone is refused before it is verified. No timing assertions: the
 * batch runner is a test double that records what it was asked to verify.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VerifyBatcher } from '../../src/zk/batcher.ts';
import { AppError } from '../../src/errors.ts';

test('a full queue refuses at once; expired and aborted logins are never verified', async () => {
  const verified: unknown[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const b = new VerifyBatcher(async (items) => { verified.push(...items.map((i) => i.proof)); await gate; return items.map(() => true); }, { maxBatch: 2, maxWaitMs: 0, maxInFlight: 1, maxQueue: 3 });
  const first = b.verify('running', []); // dispatched at once (a batch of one), holds the only slot
  await new Promise((r) => setTimeout(r, 5));
  const gone = new AbortController();
  const queued = [
    b.verify('expired', [], { deadline: Date.now() - 1 }),
    b.verify('aborted', [], { signal: gone.signal }),
    b.verify('ok', [], { deadline: Date.now() + 60_000 }),
  ];
  gone.abort();
  await assert.rejects(b.verify('fourth', []), (e: unknown) => e instanceof AppError && e.code === 'overloaded' && e.extra?.retryAfter === 1);
  release();
  assert.equal(await first, true);
  const [expired, aborted, ok] = await Promise.allSettled(queued);
  assert.equal(expired.status, 'rejected');
  assert.equal(aborted.status, 'rejected');
  assert.deepEqual(ok, { status: 'fulfilled', value: true });
  assert.deepEqual(verified, ['running', 'ok'], 'the expired and the aborted login were dropped before verification');
  b.close();
});
