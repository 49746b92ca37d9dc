/**
 * Hostile-load limits of the kex capability: a replayed openSession is refused before any KEM
 * operation, live sessions are capped per client address prefix, the sweeper's work per tick is
 * bounded, inner requests are limited in depth and response size, and binary routes are not
 * reachable through an envelope. No timing assertions.
 */
import { test, describe, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, problemOf, type TestApp } from '../support/app.ts';
import { nobleBackend as nb } from '../../src/crypto/noble.ts';
import * as P from '../../src/kex/protocol.ts';
import { SessionQuota } from '../../src/kex/quota.ts';
import { AppError } from '../../src/errors.ts';
import { jsonDepth, MAX_JSON_DEPTH } from '../../src/http/json.ts';
import { envelopeBody, fetchPrekey, handshake, helloBody, openResponse, send } from './_client.ts';

describe('session quota (fake clock)', () => {
  test('caps per prefix and in all; a full instance evicts the largest holder\'s oldest session; closing or expiry frees a slot', () => {
    let now = 1_000_000;
    const q = new SessionQuota({ perPrefix: 2, total: 3, now: () => now });
    q.admit('a'); q.add('s1', 'a', now + 10_000);
    q.admit('a'); q.add('s2', 'a', now + 20_000);
    assert.throws(() => q.admit('a'), (e: unknown) => e instanceof AppError && e.code === 'rate_limited' && e.extra?.retryAfter === 10);
    q.admit('b'); q.add('s3', 'b', now + 30_000);
    // Full: 'c' holds nothing and 'a' holds two, so 'a' gives up its oldest (s1) for the newcomer.
    assert.equal(q.admit('c'), 's1');
    q.add('s4', 'c', now + 40_000);
    // Full again, and nobody holds two more than 'c' would: refused.
    assert.throws(() => q.admit('c'), (e: unknown) => e instanceof AppError && e.code === 'overloaded');
    q.remove('s4');
    q.remove('s2');
    assert.equal(q.admit('a'), undefined);
    now += 30_000; // s3 expires
    assert.equal(q.admit('c'), undefined);
    assert.equal(q.size, 0);
  });
});

describe('kex limits (inject)', () => {
  let t: TestApp;
  before(async () => { t = await testApp({ KEX_MAX_SESSIONS_PER_ADDRESS: '3', KEX_MAX_INNER_RESPONSE_BYTES: '2048' }); });
  after(() => t.close());

  test('a replayed openSession is a 409 that runs no KEM operation', async () => {
    const prekey = await fetchPrekey(t.app);
    const body = helloBody(P.clientStart(nb, prekey).hello);
    const run = mock.method(t.app.ctx.pool, 'run');
    try {
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/kex/sessions', payload: body, remoteAddress: '10.9.9.9' })).statusCode, 200);
      const kemCalls = () => run.mock.calls.filter((c) => c.arguments[0] === 'kex.respond').length;
      assert.equal(kemCalls(), 1);
      const replay = await t.app.inject({ method: 'POST', url: '/v1/kex/sessions', payload: body, remoteAddress: '10.9.9.9' });
      assert.equal(replay.statusCode, 409);
      assert.equal(problemOf(replay).code, 'conflict');
      assert.equal(kemCalls(), 1, 'the replay cost no decapsulation');
    } finally { run.mock.restore(); }
  });

  test('live sessions are capped per address prefix (429 + Retry-After); another prefix is unaffected', async () => {
    const open = async (remoteAddress: string) => {
      const prekey = await fetchPrekey(t.app);
      return t.app.inject({ method: 'POST', url: '/v1/kex/sessions', payload: helloBody(P.clientStart(nb, prekey).hello), remoteAddress });
    };
    // 192.0.2.0/24 holds three sessions (the cap); .77 shares the prefix.
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) assert.equal((await open(ip)).statusCode, 200);
    const refused = await open('192.0.2.77');
    assert.equal(refused.statusCode, 429, refused.body);
    assert.equal(problemOf(refused).code, 'rate_limited');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal((await open('198.51.100.1')).statusCode, 200, 'another prefix still opens sessions');
  });

  test('binary routes are not reachable through an envelope (403 before the sequence number is used)', async () => {
    const s = await handshake(t.app);
    const res = await send(t.app, s, envelopeBody(s, 1, { method: 'GET', path: '/v1/zk/circuit/login.wasm' }));
    assert.equal(res.statusCode, 403, res.body);
    assert.equal(problemOf(res).code, 'forbidden');
    // seq 1 is still unused: a JSON route with it works.
    const ok = await send(t.app, s, envelopeBody(s, 1, { method: 'GET', path: '/v1/health' }));
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(openResponse(s, 1, (ok.json() as { sealed: string }).sealed).status, 200);
  });

  test('an inner response over KEX_MAX_INNER_RESPONSE_BYTES comes back as a 413 problem inside the envelope', async () => {
    const s = await handshake(t.app);
    const res = await send(t.app, s, envelopeBody(s, 1, { method: 'GET', path: '/v1/algorithms' }));
    assert.equal(res.statusCode, 200, res.body);
    const inner = openResponse(s, 1, (res.json() as { sealed: string }).sealed) as { status: number; body: { code: string; detail: string } };
    assert.equal(inner.status, 413);
    assert.equal(inner.body.code, 'payload_too_large');
    assert.match(inner.body.detail, /KEX_MAX_INNER_RESPONSE_BYTES/);
  });

  test('an inner request nested 200,000 levels deep is a 400, not a 500, and uses no sequence number', async () => {
    const s = await handshake(t.app);
    const deep = `{"method":"POST","path":"/v1/verify","body":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const res = await send(t.app, s, envelopeBody(s, 1, deep));
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(problemOf(res).code, 'validation_failed');
    assert.equal((await send(t.app, s, envelopeBody(s, 1, { method: 'GET', path: '/v1/health' }))).statusCode, 200);
  });
});

test('jsonDepth: strings do not count, the scan stops past the limit', () => {
  assert.equal(jsonDepth('{"a":[1,{"b":"[[[[{{{"}]}'), 3);
  assert.equal(jsonDepth('"\\"[["'), 0);
  assert.equal(jsonDepth('['.repeat(1000), MAX_JSON_DEPTH), MAX_JSON_DEPTH + 1);
});

describe('PROTOCOL.md conformance found by a docs-only client', () => {
  let t: TestApp;
  before(async () => { t = await testApp(); });
  after(() => t.close());

  test('openSession expiresAt is RFC 3339 in whole seconds (§1)', async () => {
    const prekey = await fetchPrekey(t.app);
    const res = await t.app.inject({ method: 'POST', url: '/v1/kex/sessions', payload: helloBody(P.clientStart(nb, prekey).hello) });
    assert.equal(res.statusCode, 200, res.body);
    assert.match((res.json() as { expiresAt: string }).expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('absolute inner paths outside /v1/ (/metrics, /docs) are 403 forbidden (§6)', async () => {
    const s = await handshake(t.app);
    for (const [i, path] of ['/metrics', '/docs/json', '/.well-known/jwks.json'].entries()) {
      const res = await send(t.app, s, envelopeBody(s, i + 1, { method: 'GET', path }));
      assert.equal(res.statusCode, 403, `${path}: ${res.body}`);
      assert.equal(problemOf(res).code, 'forbidden');
    }
  });
});

test('refused envelopes are charged to the anonymous budget: a client looping on refusals gets 429 (working envelopes are not charged)', async () => {
  const t = await testApp({ ANON_CPU_MS_PER_MINUTE: '60', ANON_CPU_BURST_MS: '20' });
  try {
    const s = await handshake(t.app);
    // Working envelopes: many, never refused for budget.
    for (let seq = 1; seq <= 30; seq++) assert.equal((await send(t.app, s, envelopeBody(s, seq, { method: 'GET', path: '/v1/health' }))).statusCode, 200);
    const statuses: number[] = [];
    for (let seq = 31; seq <= 50; seq++) statuses.push((await send(t.app, s, envelopeBody(s, seq, { method: 'GET', path: '/metrics' }))).statusCode);
    assert.equal(statuses[0], 403);
    assert.ok(statuses.includes(429), `refusals were never limited: ${statuses.join(' ')}`);
  } finally { await t.close(); }
});
