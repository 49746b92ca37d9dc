/** The app answers its foundation operations through inject, and every error is problem+json. */
import { describe, test, before, after } from 'node:test';
import { helmetHeaders } from '../../src/http/security-headers.ts';
import assert from 'node:assert/strict';
import { testApp, problemOf, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { SIGNATURE_ALGORITHMS, KEM_ALGORITHMS } from '../../src/crypto/algorithms.ts';
import { nativeBackend, nobleBackend } from '../../src/crypto/index.ts';
import { NOBLE_SERVED, signatureBackendFor } from '../../src/crypto/routing.ts';
import { UnsupportedError } from '../../src/errors.ts';

describe('foundation operations (inject)', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
    // A body-taking route on the same validator and error handler, to exercise the plumbing
    // before the capability operations exist.
    t.app.post('/test/echo', {
      schema: {
        body: {
          type: 'object', required: ['name', 'count'], additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 16 }, count: { type: 'integer', minimum: 0 } },
        },
      },
    }, async (req) => req.body);
  });
  after(() => t.close());

  test('GET /v1/health', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/health' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  test('GET /v1/ready reports the store', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/ready' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { ready: true, store: 'pglite' });
  });

  test('GET /v1/algorithms lists all 19 algorithms with sizes and the backend', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/algorithms' });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { backend: string; algorithms: Array<{ name: string; kind: string; publicKeySize: number; signatureSize?: number; cipherTextSize?: number }> };
    assert.equal(body.backend, 'native');
    assert.deepEqual(body.algorithms.map((a) => a.name).sort(), [...KEM_ALGORITHMS, ...SIGNATURE_ALGORITHMS].sort());
    const mldsa = body.algorithms.find((a) => a.name === 'ML-DSA-65')!;
    assert.equal(mldsa.kind, 'signature');
    assert.equal(mldsa.publicKeySize, 1952);
    assert.equal(mldsa.signatureSize, 3309);
    assert.equal(body.algorithms.find((a) => a.name === 'X-Wing')!.cipherTextSize, 1120);
    // The cost model is published: an SLH-DSA "s" signature costs far more than an ML-DSA-44 verify.
    const costs = (res.json() as { costs: { unit: string; algorithms: Record<string, Record<string, number>>; operations: Record<string, number> } }).costs;
    assert.equal(costs.unit, 'cpu-seconds');
    assert.ok(costs.algorithms['SLH-DSA-SHAKE-256s']!.sign! > 1000 * costs.algorithms['ML-DSA-44']!.verify!);
    assert.ok(costs.operations['kex.respond']! > 0);
  });

  test('the noble backend is reported when configured', async () => {
    const n = await testApp({ CRYPTO_BACKEND: 'noble' });
    try {
      const res = await n.app.inject({ method: 'GET', url: '/v1/algorithms' });
      assert.equal((res.json() as { backend: string }).backend, 'noble');
      assert.deepEqual((res.json() as { servedByNoble: unknown[] }).servedByNoble, [], 'nothing is redirected when noble is the backend');
    } finally { await n.close(); }
  });

  test('on native, the operations served by noble are declared, and the native backend itself never falls back', async () => {
    const body = (await t.app.inject({ method: 'GET', url: '/v1/algorithms' })).json() as { servedByNoble: Array<{ operation: string; reason: string }> };
    assert.deepEqual(body.servedByNoble.map((u) => u.operation), NOBLE_SERVED.map((u) => u.operation));
    assert.ok(body.servedByNoble.every((u) => u.reason.length > 0));
    // The choice is made by src/crypto/routing.ts, not inside the backend: native alone refuses.
    const kp = nativeBackend.signatureKeygen('ML-DSA-65');
    assert.throws(() => nativeBackend.sign('ML-DSA-65', kp.secretKey, new Uint8Array(32), { prehash: 'SHA2-512' }), UnsupportedError);
    assert.throws(() => nativeBackend.signMu('ML-DSA-65', kp.secretKey, new Uint8Array(64)), UnsupportedError);
    assert.equal(signatureBackendFor(nativeBackend, { prehash: 'SHA2-512' }).name, 'noble');
    assert.equal(signatureBackendFor(nativeBackend, { mu: new Uint8Array(64) }).name, 'noble');
    assert.equal(signatureBackendFor(nativeBackend, {}).name, 'native');
    assert.equal(signatureBackendFor(nobleBackend, {}).name, 'noble');
  });

  test('/docs serves the API docs UI and the same openapi document', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /text\/html/);
    const spec = await t.app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(spec.statusCode, 200);
    const doc = spec.json() as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/v1/health']);
  });

  test('/metrics is Prometheus text and counts requests by operation', async () => {
    await t.app.inject({ method: 'GET', url: '/v1/health' });
    const anonymous = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(anonymous.statusCode, 401, 'METRICS_ACCESS=admin by default');
    assert.equal(problemOf(anonymous).code, 'unauthorized');
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/plain/);
    assert.match(res.body, /http_requests_total\{operation="getHealth",status="200"\} \d+/);
    assert.match(res.body, /process_resident_memory_bytes \d+/);
  });

  test('responses a handler did not mark cacheable are no-store', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/health' })).headers['cache-control'], 'no-store');
    assert.equal((await t.app.inject({ method: 'GET', url: '/nope' })).headers['cache-control'], 'no-store');
  });

  test('security headers from helmet, computed once, on answers and on problems', async () => {
    const expected = helmetHeaders({ contentSecurityPolicy: { directives: { defaultSrc: ["'self'"] } } });
    assert.ok(Object.keys(expected).length >= 10, 'helmet produced its header set');
    for (const url of ['/v1/health', '/v1/nope']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.match(String(res.headers['content-security-policy']), /default-src 'self'.*script-src 'self'.*style-src 'self' 'unsafe-inline'/);
      for (const name of Object.keys(expected).filter((n) => n !== 'content-security-policy')) assert.equal(res.headers[name], expected[name], `${url}: ${name}`);
    }
  });

  describe('problem+json errors', () => {
    test('unknown route → 404', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/nope' });
      assert.equal(res.statusCode, 404);
      assert.equal(problemOf(res).code, 'not_found');
    });

    test('wrong method → 405 with Allow', async () => {
      const res = await t.app.inject({ method: 'DELETE', url: '/v1/health' });
      assert.equal(res.statusCode, 405);
      assert.equal(problemOf(res).code, 'method_not_allowed');
      assert.equal(res.headers.allow, 'GET');
    });

    test('invalid body names the field', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'a', count: 'three' } });
      assert.equal(res.statusCode, 400);
      const p = problemOf(res);
      assert.equal(p.code, 'validation_failed');
      assert.equal(p.field, 'body.count');
    });

    test('bodies are never type-coerced', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/test/echo', payload: { name: 5, count: 1 } });
      assert.equal(res.statusCode, 400);
      assert.equal(problemOf(res).field, 'body.name');
    });

    test('missing field is named', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'a' } });
      assert.equal(problemOf(res).field, 'body.count');
    });

    test('unknown field is rejected, not dropped', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'a', count: 1, admin: true } });
      assert.equal(res.statusCode, 400);
      const p = problemOf(res);
      assert.equal(p.field, 'body.admin');
      assert.match(p.detail, /unknown field/);
    });

    test('malformed JSON → 400', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: '{"name":' });
      assert.equal(res.statusCode, 400);
      assert.equal(problemOf(res).code, 'validation_failed');
    });

    test('oversize body → 413', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(t.config.bodyLimit), count: 1 }) });
      assert.equal(res.statusCode, 413);
      assert.equal(problemOf(res).code, 'payload_too_large');
    });

    test('unsupported content type → 415', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'text/xml' }, payload: '<a/>' });
      assert.equal(res.statusCode, 415);
      assert.equal(problemOf(res).code, 'unsupported_media_type');
    });

    test('a malformed Authorization header on a public route is ignored, not reflected', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/health', headers: { authorization: `Bearer ${ADMIN_TOKEN}\u0000` } });
      assert.equal(res.statusCode, 200);
    });
  });
});

describe('router-level errors are problems too', () => {
  let t: TestApp;
  before(async () => { t = await testApp(); });
  after(() => t.close());

  test('an over-long path parameter → 400 problem', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/keys/${'a'.repeat(500)}` });
    assert.equal(res.statusCode, 400);
    assert.equal(problemOf(res).code, 'validation_failed');
  });

  test('a malformed percent-encoding → 4xx problem', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/keys/%E0%A4%A' });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500);
    problemOf(res);
  });
});
