/**
 * The tarpit holds 429 answers (bounded per prefix and in all) and never 2xx / 503 answers. The wait is
 * injected, so nothing here depends on timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { registerTarpit, TarpitLedger } from '../../src/http/tarpit.ts';

test('ledger: bounded per prefix and in all; release frees a slot', () => {
  const l = new TarpitLedger(2, 3);
  assert.equal(l.take('a'), true);
  assert.equal(l.take('a'), true);
  assert.equal(l.take('a'), false, 'per-prefix bound');
  assert.equal(l.take('b'), true);
  assert.equal(l.take('c'), false, 'total bound');
  l.release('a');
  assert.equal(l.take('c'), true);
  assert.equal(l.held, 3);
});

test('a 429 waits for the tarpit, other answers do not; beyond the bound a 429 goes out at once', async () => {
  const app = Fastify();
  const waits: Array<() => void> = [];
  const ledger = registerTarpit(app, { delayMs: 1000, maxPerPrefix: 1, sleep: () => new Promise<void>((r) => waits.push(r)) });
  app.get('/limited', async (_req, reply) => reply.code(429).send({ code: 'rate_limited' }));
  app.get('/busy', async (_req, reply) => reply.code(503).send({ code: 'overloaded' }));
  app.get('/ok', async () => ({ ok: true }));
  try {
    assert.equal((await app.inject({ method: 'GET', url: '/ok' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/busy' })).statusCode, 503);
    assert.equal(waits.length, 0, 'only 429s are held');
    const held = app.inject({ method: 'GET', url: '/limited' });
    await new Promise((r) => setImmediate(r));
    assert.equal(waits.length, 1);
    assert.equal(ledger.held, 1);
    const second = await app.inject({ method: 'GET', url: '/limited' });
    assert.equal(second.statusCode, 429, 'over the per-prefix bound: answered at once');
    waits[0]!();
    assert.equal((await held).statusCode, 429);
    assert.equal(ledger.held, 0);
  } finally { await app.close(); }
});
