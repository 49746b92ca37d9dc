/**
 * Hostile input to the key lifecycle over HTTP (issue 15 §2): rotation periods and version limits out
 * of range or of the wrong type, destroying unknown, current, already destroyed or malformed versions,
 * another tenant's key, no token. Each is a 4xx problem+json and leaves every table unchanged. Plus the
 * answer shapes of the accepted calls and the 410 problem of a destroyed version.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, problemOf, type TestApp } from '../support/app.ts';
import { storeDigest } from '../support/digest.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';

let t: TestApp;
let alice: string;
let bob: string;
const msg = base64urlEncode(new TextEncoder().encode('hello'));

const call = async (method: string, url: string, payload?: unknown, token: string | null = alice) => {
  const res = await t.app.inject({ method: method as 'POST', url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { res, body: res.body ? JSON.parse(res.body) : undefined };
};

before(async () => {
  t = await testApp();
  alice = (await t.app.ctx.tokens.mint('alice')).token;
  bob = (await t.app.ctx.tokens.mint('bob')).token;
  assert.equal((await call('POST', '/v1/keys', { name: 'k', algorithm: 'ML-DSA-44', rotationPeriod: 86_400, maxVersions: 5 })).res.statusCode, 201);
  assert.equal((await call('POST', '/v1/keys/k/rotate')).res.statusCode, 200);
  assert.equal((await call('POST', '/v1/keys/k/rotate')).res.statusCode, 200);
  assert.equal((await call('DELETE', '/v1/keys/k/versions/1')).res.statusCode, 200);
});
after(() => t.close());

type Case = [label: string, method: string, url: string, payload: unknown, status: number, code: string, token?: string | null];

const periods: unknown[] = [0, 1, 3599, 315_360_001, -3600, 3600.5, 1e300, '3600', '1h', 'PT1H', true, [3600], { s: 3600 }];
const limits: unknown[] = [0, -1, 1001, 2.5, '2', false];

const cases = (): Case[] => [
  ...periods.map((p): Case => [`create rotationPeriod ${JSON.stringify(p)}`, 'POST', '/v1/keys', { name: 'fresh', algorithm: 'ML-DSA-44', rotationPeriod: p }, 400, 'validation_failed']),
  ['create rotationPeriod null', 'POST', '/v1/keys', { name: 'fresh', algorithm: 'ML-DSA-44', rotationPeriod: null }, 400, 'validation_failed'],
  ...limits.map((m): Case => [`create maxVersions ${JSON.stringify(m)}`, 'POST', '/v1/keys', { name: 'fresh', algorithm: 'ML-DSA-44', maxVersions: m }, 400, 'validation_failed']),
  ...periods.map((p): Case => [`update rotationPeriod ${JSON.stringify(p)}`, 'PATCH', '/v1/keys/k', { rotationPeriod: p }, 400, 'validation_failed']),
  ...limits.map((m): Case => [`update maxVersions ${JSON.stringify(m)}`, 'PATCH', '/v1/keys/k', { maxVersions: m }, 400, 'validation_failed']),
  ['update: one good field and one bad', 'PATCH', '/v1/keys/k', { deletionAllowed: true, rotationPeriod: 60 }, 400, 'validation_failed'],
  ['public-key-only key with a rotation period', 'POST', '/v1/keys', { name: 'fresh', algorithm: 'ML-DSA-44', publicKey: base64urlEncode(new Uint8Array(1312)), rotationPeriod: 3600 }, 400, 'unsupported_operation'],
  ['destroy the current version', 'DELETE', '/v1/keys/k/versions/3', undefined, 409, 'conflict'],
  ['destroy a destroyed version', 'DELETE', '/v1/keys/k/versions/1', undefined, 409, 'conflict'],
  ['destroy a version beyond the latest', 'DELETE', '/v1/keys/k/versions/4', undefined, 404, 'not_found'],
  ['destroy version 1000000000', 'DELETE', '/v1/keys/k/versions/1000000000', undefined, 404, 'not_found'],
  ['destroy version 0', 'DELETE', '/v1/keys/k/versions/0', undefined, 400, 'validation_failed'],
  ['destroy version -1', 'DELETE', '/v1/keys/k/versions/-1', undefined, 400, 'validation_failed'],
  ['destroy version 1.5', 'DELETE', '/v1/keys/k/versions/1.5', undefined, 400, 'validation_failed'],
  ['destroy version abc', 'DELETE', '/v1/keys/k/versions/abc', undefined, 400, 'validation_failed'],
  ['destroy version 10000000000', 'DELETE', '/v1/keys/k/versions/10000000000', undefined, 400, 'validation_failed'],
  ['destroy version v1', 'DELETE', '/v1/keys/k/versions/v1', undefined, 400, 'validation_failed'],
  ['destroy version 0x2', 'DELETE', '/v1/keys/k/versions/0x2', undefined, 400, 'validation_failed'],
  ['destroy a version of an unknown key', 'DELETE', '/v1/keys/nope/versions/1', undefined, 404, 'not_found'],
  ["destroy a version of another tenant's key", 'DELETE', '/v1/keys/k/versions/2', undefined, 404, 'not_found', 'bob'],
  ['destroy without a token', 'DELETE', '/v1/keys/k/versions/2', undefined, 401, 'unauthorized', null],
  ['destroy with a body', 'DELETE', '/v1/keys/k/versions/2', { version: 2 }, 415, 'unsupported_media_type'],
  ['destroy version 1e0', 'DELETE', '/v1/keys/k/versions/1e0', undefined, 400, 'validation_failed'],
  ['destroy version +2', 'DELETE', '/v1/keys/k/versions/+2', undefined, 400, 'validation_failed'],
  ['destroy version 02', 'DELETE', '/v1/keys/k/versions/02', undefined, 400, 'validation_failed'],
  ['destroy version " 2"', 'DELETE', '/v1/keys/k/versions/%202', undefined, 400, 'validation_failed'],
  ['sign with the destroyed version', 'POST', '/v1/keys/k/sign', { message: msg, version: 1 }, 410, 'key_version_destroyed'],
  ['export the destroyed version of a non-exportable key', 'POST', '/v1/keys/k/export', { version: 1 }, 403, 'forbidden'],
];

test('every hostile lifecycle request is a clear 4xx problem and changes nothing', async (tt) => {
  for (const [label, method, url, payload, status, code, who] of cases()) {
    await tt.test(label, async () => {
      const before = await storeDigest(t.store);
      const token = who === null ? null : who === 'bob' ? bob : alice;
      const { res } = await call(method, url, payload, token);
      assert.equal(res.statusCode, status, `${label}: ${res.body.slice(0, 300)}`);
      const p = problemOf(res);
      assert.equal(p.code, code, `${label}: ${res.body.slice(0, 300)}`);
      if (who === 'bob') assert.doesNotMatch(p.detail, /alice|version/, 'no existence leak');
      assert.equal(await storeDigest(t.store), before, `${label} changed the store`);
    });
  }
});

test('the 410 of a destroyed version names the code and version, with the same shape as other refusals', async () => {
  const { res, body } = await call('POST', '/v1/keys/k/sign', { message: msg, version: 1 });
  assert.equal(res.statusCode, 410);
  assert.equal(body.type, 'urn:pqzk:problem:key_version_destroyed');
  assert.equal(body.version, 1);
  assert.match(body.detail, /version 1 of key k was destroyed/);
  assert.deepEqual(Object.keys(body).sort(), ['code', 'detail', 'status', 'title', 'type', 'version']);
});

test('accepted lifecycle calls answer with the Key shape: rotation, limit, version states', async () => {
  const { res, body } = await call('GET', '/v1/keys/k');
  assert.equal(res.statusCode, 200);
  assert.equal(body.rotationPeriod, 86_400);
  assert.equal(body.maxVersions, 5);
  assert.match(body.nextRotationAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(body.publicKeyOnly, false);
  assert.equal(body.decapsulateAllowed, undefined, 'a signature key has no decapsulate flag');
  assert.deepEqual(body.versions.map((v: { state: string }) => v.state), ['destroyed', 'enabled', 'enabled']);
  assert.ok(body.versions[0].destroyedAt && !body.versions[1].destroyedAt);
  const off = await call('PATCH', '/v1/keys/k', { rotationPeriod: null, maxVersions: null });
  assert.equal(off.res.statusCode, 200, off.res.body);
  assert.equal(off.body.rotationPeriod, undefined);
  assert.equal(off.body.nextRotationAt, undefined);
  assert.equal(off.body.maxVersions, undefined);
  const kem = await call('POST', '/v1/keys', { name: 'kem', algorithm: 'ML-KEM-512', decapsulateAllowed: true, rotationPeriod: 3600 });
  assert.equal(kem.res.statusCode, 201, kem.res.body);
  assert.equal(kem.body.decapsulateAllowed, true);
  assert.equal(kem.body.rotationPeriod, 3600);
  // listKeys shows the policy too (not the per-key capability flags, which cost a lookup each).
  const list = await call('GET', '/v1/keys');
  assert.equal(list.body.keys.find((k: { name: string }) => k.name === 'kem').rotationPeriod, 3600);
});
