/** The auth hook: public / admin / tenant requirements from the contract, 401 vs 403, constant-time admin check. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, problemOf, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { makeAuthenticator, isAdminToken } from '../../src/http/auth.ts';
import { AppError } from '../../src/errors.ts';

describe('auth hook', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
    const authenticate = makeAuthenticator({
      adminToken: ADMIN_TOKEN,
      tokens: () => ({
        async verify(token: string) {
          if (token === 'tenant.alice.sig') return { sub: 'alice', jti: 'j1' };
          throw new AppError('unauthorized', 'invalid access token');
        },
      }),
    });
    const reply = async (req: { principal: unknown }) => ({ principal: req.principal });
    t.app.get('/t/public', { onRequest: authenticate([]) }, reply);
    t.app.get('/t/admin', { onRequest: authenticate([{ adminToken: [] }]) }, reply);
    t.app.get('/t/tenant', { onRequest: authenticate([{ tenantToken: [] }, { adminToken: [] }]) }, reply);
    t.app.get('/t/tenant-only', { onRequest: authenticate([{ tenantToken: [] }]) }, reply);
  });
  after(() => t.close());

  const get = (url: string, token?: string) => t.app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });

  test('public needs nothing', async () => {
    assert.equal((await get('/t/public')).statusCode, 200);
  });

  test('missing credentials → 401 problem with WWW-Authenticate', async () => {
    const res = await get('/t/admin');
    assert.equal(res.statusCode, 401);
    assert.equal(problemOf(res).code, 'unauthorized');
    assert.equal(res.headers['www-authenticate'], 'Bearer');
  });

  test('malformed header → 401', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/t/admin', headers: { authorization: 'Basic abc' } });
    assert.equal(res.statusCode, 401);
  });

  test('admin token opens admin and tenant operations', async () => {
    assert.deepEqual((await get('/t/admin', ADMIN_TOKEN)).json(), { principal: { kind: 'admin' } });
    assert.deepEqual((await get('/t/tenant', ADMIN_TOKEN)).json(), { principal: { kind: 'admin' } });
  });

  test('admin token on a tenant-only operation → 403', async () => {
    const res = await get('/t/tenant-only', ADMIN_TOKEN);
    assert.equal(res.statusCode, 403);
    assert.equal(problemOf(res).code, 'forbidden');
  });

  test('tenant token → tenant principal; on an admin operation → 403', async () => {
    const ok = (await get('/t/tenant', 'tenant.alice.sig')).json() as { principal: { kind: string; tenantId: string } };
    assert.equal(ok.principal.kind, 'tenant');
    assert.equal(ok.principal.tenantId, 'alice');
    const res = await get('/t/admin', 'tenant.alice.sig');
    assert.equal(res.statusCode, 403);
  });

  test('a wrong token → 401, and the token is not echoed', async () => {
    const res = await get('/t/tenant', 'tenant.mallory.sig');
    assert.equal(res.statusCode, 401);
    assert.ok(!res.body.includes('mallory'));
    const res2 = await get('/t/admin', `${ADMIN_TOKEN}x`);
    assert.equal(res2.statusCode, 401);
  });

  test('isAdminToken compares whole values', () => {
    assert.equal(isAdminToken(ADMIN_TOKEN, ADMIN_TOKEN), true);
    assert.equal(isAdminToken(ADMIN_TOKEN.slice(0, -1), ADMIN_TOKEN), false);
    assert.equal(isAdminToken('', ADMIN_TOKEN), false);
  });
});
