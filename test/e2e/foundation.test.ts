/** Over a real socket, through the generated client: the service answers its foundation operations. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { listeningTestApp, type TestApp } from '../support/app.ts';
import { createClient, ServiceError } from '../../src/client/index.ts';

let t: TestApp;
let baseUrl: string;
before(async () => ({ baseUrl, ...t } = await listeningTestApp()));
after(() => t.close());

test('health, ready and algorithms through the SDK', async () => {
  const client = createClient(baseUrl);
  assert.deepEqual(await client.health(), { status: 'ok' });
  const ready = client.api.GET('/v1/ready');
  assert.equal((await ready).data?.ready, true);
  const algs = await client.algorithms();
  assert.equal(algs.backend, 'native');
  assert.equal(algs.algorithms.length, 19);
});

test('errors arrive as ServiceError carrying the problem', async () => {
  const client = createClient(baseUrl);
  const res = await fetch(`${baseUrl}/v1/health`, { method: 'POST' });
  assert.equal(res.status, 405);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const { unwrap } = await import('../../src/client/index.ts');
  const error: unknown = await res.json();
  assert.throws(() => unwrap({ error, response: res }), (err: unknown) =>
    err instanceof ServiceError && err.status === 405 && err.problem.code === 'method_not_allowed');
  assert.ok(client);
});

test('the bearer token is sent on every call', async () => {
  let seen: string | null = null;
  const client = createClient(baseUrl, {
    token: 'tok-123',
    fetch: async (input: string | URL | Request, init?: RequestInit) => {
      const req = new Request(input, init);
      seen = req.headers.get('authorization');
      return fetch(req);
    },
  });
  await client.health();
  assert.equal(seen, 'Bearer tok-123');
});
