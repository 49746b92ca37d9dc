/**
 * The request scope seam: AsyncLocalStorage entered by root fastify hooks, seen by code deep inside a
 * handler (after awaits, timers and body parsing), per request, lazily authenticated, inherited by
 * inner (envelope) requests, aborted when the client goes away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import Fastify from 'fastify';
import { currentScope, enterScope, registerRequestScope, runInScope } from '../../src/workers/request-scope.ts';
import type { Principal } from '../../src/http/auth.ts';

/** What the worker pool would do: read the scope where the task is submitted, deep in a service. */
async function deepInAService(): Promise<{ principal: string | undefined; deadline: number | undefined; hasSignal: boolean }> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 1));
  const s = currentScope();
  return { principal: s?.principal, deadline: s?.deadline, hasSignal: s?.signal instanceof AbortSignal };
}

test('runInScope / currentScope follow async work; no scope outside', async () => {
  assert.equal(currentScope(), undefined);
  const seen = await runInScope({ principal: 'system' }, () => deepInAService());
  assert.equal(seen.principal, 'system');
  assert.equal(currentScope(), undefined);
  const nested = await runInScope({ principal: 'outer', deadline: 5 }, () => runInScope({ principal: 'inner' }, () => deepInAService()));
  assert.equal(nested.principal, 'inner');
  await runInScope({ principal: 'x' }, async () => {
    enterScope({ principal: 'entered' });
    assert.equal((await deepInAService()).principal, 'entered');
  });
});

function app(now: { t: number }) {
  const f = Fastify();
  f.decorateRequest('principal', null as never);
  registerRequestScope(f, { deadlineMs: 5000, now: () => now.t });
  // Stands in for src/http/auth.ts: a route-level async onRequest hook that runs after the root one.
  const authenticate = async (req: { headers: Record<string, unknown>; principal: Principal }) => {
    await new Promise((r) => setImmediate(r));
    const tenant = req.headers['x-test-tenant'];
    req.principal = typeof tenant === 'string' ? { kind: 'tenant', tenantId: tenant, tokenId: 'j' } : { kind: 'anonymous' };
  };
  f.get('/work', { onRequest: authenticate as never }, async () => deepInAService());
  f.post('/work', { onRequest: authenticate as never }, async (req) => ({ ...(await deepInAService()), body: req.body }));
  f.get('/envelope', { onRequest: authenticate as never }, async () => {
    now.t += 1000; // the outer request has been running for a second
    const inner = await f.inject({ method: 'GET', url: '/work', remoteAddress: '192.0.2.55' });
    return { outer: await deepInAService(), inner: inner.json() };
  });
  return f;
}

test('fastify: every request sees its own scope (principal after auth, deadline from arrival), through body parsing', async () => {
  const now = { t: 1_000_000 };
  const f = app(now);
  try {
    const get = await f.inject({ method: 'GET', url: '/work', remoteAddress: '198.51.100.7' });
    assert.deepEqual(get.json(), { principal: 'anon:198.51.100.0/24', deadline: 1_005_000, hasSignal: true });
    const post = await f.inject({ method: 'POST', url: '/work', remoteAddress: '2001:db8:1:2::99', headers: { 'x-test-tenant': 't-1' }, payload: { a: 1 } });
    assert.deepEqual(post.json(), { principal: 'tenant:t-1', deadline: 1_005_000, hasSignal: true, body: { a: 1 } });
    // Concurrent requests do not see each other's scope.
    const many = await Promise.all(Array.from({ length: 30 }, (_, i) => f.inject({
      method: i % 2 ? 'POST' : 'GET', url: '/work', remoteAddress: `203.0.${i}.1`,
      ...(i % 2 ? { payload: { i } } : {}), ...(i % 3 === 0 ? { headers: { 'x-test-tenant': `t${i}` } } : {}),
    })));
    many.forEach((r, i) => assert.equal(r.json().principal, i % 3 === 0 ? `tenant:t${i}` : `anon:203.0.${i}.0/24`));
  } finally {
    await f.close();
  }
});

test('fastify: an inner request (envelope, app.inject inside a handler) keeps the outer deadline', async () => {
  const now = { t: 0 };
  const f = app(now);
  try {
    const r = (await f.inject({ method: 'GET', url: '/envelope', remoteAddress: '198.51.100.7' })).json();
    assert.equal(r.outer.principal, 'anon:198.51.100.0/24');
    assert.equal(r.inner.principal, 'anon:192.0.2.0/24', 'the inner request is its own principal (remoteAddress)');
    assert.equal(r.outer.deadline, 5000);
    assert.equal(r.inner.deadline, 5000, 'min(outer deadline 5000, inner arrival 1000 + 5000)');
    assert.equal(r.inner.hasSignal, true);
  } finally {
    await f.close();
  }
});

test('fastify over a real socket: the scope signal aborts when the client goes away', { timeout: 20_000 }, async () => {
  const f = Fastify();
  f.decorateRequest('principal', null as never);
  registerRequestScope(f, { deadlineMs: 5000 });
  let started!: () => void;
  const handlerStarted = new Promise<void>((r) => { started = r; });
  let aborted!: (v: string) => void;
  const sawAbort = new Promise<string>((r) => { aborted = r; });
  f.post('/slow', async () => {
    const s = currentScope()!;
    s.signal!.addEventListener('abort', () => aborted(s.principal));
    started();
    await sawAbort;
    return { ok: true };
  });
  await f.listen({ port: 0, host: '127.0.0.1' });
  try {
    const { port } = f.server.address() as { port: number };
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/slow', headers: { 'content-type': 'application/json' } });
    req.on('error', () => {});
    req.end(JSON.stringify({ x: 1 }));
    await handlerStarted;
    req.destroy();
    assert.equal(await sawAbort, 'anon:127.0.0.0/24');
  } finally {
    await f.close();
  }
});
