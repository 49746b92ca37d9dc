/** Over a real socket, through the generated client: the service answers its foundation operations. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { listeningTestApp, type TestApp } from '../support/app.ts';
import { createClient, ServiceError } from '../../src/client/index.ts';
import { KEM_ALGORITHMS, SIGNATURE_ALGORITHMS } from '../../src/crypto/algorithms.ts';

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
  // 4 KEMs, 3 ML-DSA, 12 SLH-DSA, 6 composite ML-DSA.
  assert.equal(algs.algorithms.length, KEM_ALGORITHMS.length + SIGNATURE_ALGORITHMS.length);
  assert.equal(algs.algorithms.length, 25);
  const composite = algs.algorithms.find((a) => a.name === 'MLDSA65-ECDSA-P256-SHA512');
  assert.equal(composite?.standard, 'draft-ietf-lamps-pq-composite-sigs-19');
  assert.equal(composite?.publicKeySize, 2017);
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
