/** Regression tests for findings of the security review (see the closing notes). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testApp, problemOf, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { loadSpec } from '../../src/http/openapi.ts';

let t: TestApp;
before(async () => { t = await testApp(); });
after(() => t.close());

test('createKey validates ?owner: the admin cannot create keys for `system` or an unreachable owner', async () => {
  for (const owner of ['system', 'whatever/x', 'tenant:', 'tenant:a b']) {
    const res = await t.app.inject({ method: 'POST', url: `/v1/keys?owner=${encodeURIComponent(owner)}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { name: 'hidden', algorithm: 'ML-DSA-44' } });
    assert.equal(res.statusCode, 400, `${owner}: ${res.body}`);
    assert.equal(problemOf(res).field, 'querystring.owner');
  }
  const ok = await t.app.inject({ method: 'POST', url: '/v1/keys?owner=tenant:carol', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: { name: 'for-carol', algorithm: 'ML-DSA-44' } });
  assert.equal(ok.statusCode, 201, ok.body);
});

test('login is rate limited per client address (x-rate-limit in openapi.yaml)', async () => {
  let limited = 0;
  for (let i = 0; i < 125; i++) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/zk/login', payload: {} });
    if (res.statusCode === 429) { limited++; assert.equal(problemOf(res).code, 'rate_limited'); }
  }
  assert.ok(limited >= 5, `expected 429s after 120 attempts, got ${limited}`);
});

test('an operation without declared security stops start-up (no global default to fail open)', () => {
  const spec = readFileSync('openapi.yaml', 'utf8');
  assert.doesNotMatch(spec, /^security:/m, 'openapi.yaml must not declare a global security default');
  const bad = spec.replace(/(operationId: getHealth\n(?:.*\n)*?)\s+security: \[\]\n/, '$1\n');
  assert.notEqual(bad, spec);
  const file = join(mkdtempSync(join(tmpdir(), 'pqzk-spec-')), 'openapi.yaml');
  writeFileSync(file, bad);
  assert.throws(() => loadSpec(file), /getHealth declares no security/);
});
