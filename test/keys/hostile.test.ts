/** Hostile input: every malformed request gets the right 4xx problem+json and changes nothing in the store. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, problemOf, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { TokenService, jwkThumbprint } from '../../src/keys/tokens.ts';

let t: TestApp;
let alice: string;
let bob: string;
let sig: string;
const msg = base64urlEncode(new TextEncoder().encode('hello'));
const b64 = (n: number) => base64urlEncode(new Uint8Array(n).fill(1));

before(async () => {
  t = await testApp();
  alice = (await t.app.ctx.tokens.mint('alice')).token;
  bob = (await t.app.ctx.tokens.mint('bob')).token;
  const auth = { authorization: `Bearer ${alice}` };
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/keys', headers: auth, payload: { name: 'k', algorithm: 'ML-DSA-44' } })).statusCode, 201);
  sig = JSON.parse((await t.app.inject({ method: 'POST', url: '/v1/keys/k/sign', headers: auth, payload: { message: msg } })).body).signature;
  await t.app.inject({ method: 'POST', url: '/v1/keys/k/rotate', headers: auth });
  await t.app.inject({ method: 'PATCH', url: '/v1/keys/k', headers: auth, payload: { minVersion: 2 } });
});
after(() => t.close());

const snapshot = async () => JSON.stringify([
  await t.store.query('SELECT id, owner, name, algorithm, exportable, deletion_allowed, min_version, latest_version, updated_at FROM keys ORDER BY id'),
  await t.store.query('SELECT key_id, version, wrapped_secret FROM key_versions ORDER BY key_id, version'),
]);

type Case = [label: string, method: string, url: string, payload: unknown, status: number, code: string, token?: string];

const cases = (): Case[] => [
  ['unknown algorithm', 'POST', '/v1/keys', { name: 'x', algorithm: 'ML-DSA-66' }, 400, 'validation_failed'],
  ['lower-case algorithm', 'POST', '/v1/keys', { name: 'x', algorithm: 'ml-dsa-65' }, 400, 'validation_failed'],
  ['bad key name', 'POST', '/v1/keys', { name: '../etc', algorithm: 'ML-DSA-65' }, 400, 'validation_failed'],
  ['name too long', 'POST', '/v1/keys', { name: 'a'.repeat(65), algorithm: 'ML-DSA-65' }, 400, 'validation_failed'],
  ['unknown field', 'POST', '/v1/keys', { name: 'x', algorithm: 'ML-DSA-65', seed: 'AA' }, 400, 'validation_failed'],
  ['existing name', 'POST', '/v1/keys', { name: 'k', algorithm: 'ML-DSA-65' }, 409, 'conflict'],
  ['exportable cannot be turned on', 'PATCH', '/v1/keys/k', { exportable: true }, 400, 'validation_failed'],
  ['minVersion above latest', 'PATCH', '/v1/keys/k', { minVersion: 9 }, 400, 'invalid_input'],
  ['delete without deletionAllowed', 'DELETE', '/v1/keys/k', undefined, 409, 'conflict'],
  ['export of a non-exportable key', 'POST', '/v1/keys/k/export', {}, 403, 'forbidden'],
  ['malformed base64url (charset)', 'POST', '/v1/keys/k/sign', { message: 'a+b/' }, 400, 'validation_failed'],
  ['malformed base64url (length)', 'POST', '/v1/keys/k/sign', { message: 'abcde' }, 400, 'invalid_input'],
  ['malformed base64url (trailing bits)', 'POST', '/v1/keys/k/sign', { message: 'AB' }, 400, 'invalid_input'],
  ['empty message', 'POST', '/v1/keys/k/sign', { message: '' }, 400, 'validation_failed'],
  ['oversize message', 'POST', '/v1/keys/k/sign', { message: b64(256 * 1024 + 3) }, 400, 'validation_failed'],
  ['neither message nor mu', 'POST', '/v1/keys/k/sign', {}, 400, 'invalid_input'],
  ['both message and mu', 'POST', '/v1/keys/k/sign', { message: msg, mu: b64(64) }, 400, 'invalid_input'],
  ['mu of 63 bytes', 'POST', '/v1/keys/k/sign', { mu: b64(63) }, 400, 'invalid_input'],
  ['context of 256 bytes', 'POST', '/v1/keys/k/sign', { message: msg, context: b64(256) }, 400, 'invalid_input'],
  ['unknown prehash', 'POST', '/v1/keys/k/sign', { message: msg, prehash: 'MD5' }, 400, 'validation_failed'],
  ['prehash weaker than the parameter set', 'POST', '/v1/keys/k/sign', { message: msg, prehash: 'SHA2-224' }, 400, 'invalid_input'],
  ['deterministic on the native backend', 'POST', '/v1/keys/k/sign', { message: msg, deterministic: true }, 400, 'unsupported_operation'],
  ['sign with a version below minVersion', 'POST', '/v1/keys/k/sign', { message: msg, version: 1 }, 400, 'invalid_input'],
  ['sign with an unknown version', 'POST', '/v1/keys/k/sign', { message: msg, version: 7 }, 400, 'invalid_input'],
  ['batch mixed with message', 'POST', '/v1/keys/k/sign', { message: msg, batch: [{ message: msg }] }, 400, 'invalid_input'],
  ['batch too large', 'POST', '/v1/keys/k/sign', { batch: Array.from({ length: 65 }, () => ({ message: msg })) }, 400, 'validation_failed'],
  ['signature without version prefix', 'POST', '/v1/keys/k/verify', { message: msg, signature: sig.slice(3) }, 400, 'invalid_input'],
  ['signature of wrong length', 'POST', '/v1/keys/k/verify', { message: msg, signature: `v2:${b64(100)}` }, 400, 'invalid_input'],
  ['signature with unknown version', 'POST', '/v1/keys/k/verify', { message: msg, signature: sig.replace(/^v1:/, 'v9:') }, 400, 'invalid_input'],
  ['signature below minVersion', 'POST', '/v1/keys/k/verify', { message: msg, signature: sig }, 400, 'invalid_input'],
  ['public key of wrong size', 'POST', '/v1/verify', { algorithm: 'ML-DSA-44', publicKey: b64(1311), message: msg, signature: b64(2420) }, 400, 'invalid_input'],
  ['public key: SPKI of another algorithm', 'POST', '/v1/verify', { algorithm: 'ML-DSA-65', publicKey: 'MA', message: msg, signature: b64(3309) }, 400, 'invalid_input'],
  ['verifyWithPublicKey: unknown algorithm', 'POST', '/v1/verify', { algorithm: 'Ed25519', publicKey: b64(32), message: msg, signature: b64(64) }, 400, 'validation_failed'],
  ['verifyWithPublicKey: wrong signature length', 'POST', '/v1/verify', { algorithm: 'ML-DSA-44', publicKey: b64(1312), message: msg, signature: b64(2419) }, 400, 'invalid_input'],
  ['jwk format for SLH-DSA is unsupported', 'GET', '/v1/keys/k/public?format=xml', undefined, 400, 'validation_failed'],
  ["another tenant's key name", 'POST', '/v1/keys/k/sign', { message: msg }, 404, 'not_found', 'bob'],
  ["another tenant's key, naming the owner", 'GET', '/v1/keys/k?owner=tenant:alice', undefined, 404, 'not_found', 'bob'],
  ["another tenant's key: delete", 'DELETE', '/v1/keys/k', undefined, 404, 'not_found', 'bob'],
  ["another tenant's key: rotate", 'POST', '/v1/keys/k/rotate', undefined, 404, 'not_found', 'bob'],
  ['no token', 'POST', '/v1/keys/k/rotate', undefined, 401, 'unauthorized', 'none'],
];

test('each malformed request → its 4xx problem, and the store is unchanged', async () => {
  const before = await snapshot();
  for (const [label, method, url, payload, status, code, who] of cases()) {
    const token = who === 'bob' ? bob : who === 'none' ? undefined : alice;
    const res = await t.app.inject({
      method: method as 'POST', url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload !== undefined ? { payload: payload as object } : {}),
    });
    assert.equal(res.statusCode, status, `${label}: ${res.body.slice(0, 300)}`);
    assert.equal(problemOf(res).code, code, label);
  }
  assert.equal(await snapshot(), before, 'hostile requests changed the store');
});

test('a tampered but well-formed signature is valid:false (200), not an error', async () => {
  const auth = { authorization: `Bearer ${alice}` };
  const good = JSON.parse((await t.app.inject({ method: 'POST', url: '/v1/keys/k/sign', headers: auth, payload: { message: msg } })).body).signature as string;
  const bytes = Buffer.from(good.slice(3), 'base64url');
  bytes[100]! ^= 1;
  const res = await t.app.inject({ method: 'POST', url: '/v1/keys/k/verify', headers: auth, payload: { message: msg, signature: `v2:${bytes.toString('base64url')}` } });
  assert.equal(res.statusCode, 200);
  assert.equal(JSON.parse(res.body).valid, false);
});

test('hostile tokens: alg none, wrong alg, expired, wrong key, tampered payload, garbage → 401', async () => {
  const [h, p, s] = alice.split('.') as [string, string, string];
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
  // A token signed by a key that is not the service's (same claims, valid ML-DSA-65 signature).
  const foreignKey = ml_dsa65.keygen();
  const signWith = (hdr: unknown) => {
    const input = `${enc(hdr)}.${p}`;
    return `${input}.${Buffer.from(ml_dsa65.sign(new TextEncoder().encode(input), foreignKey.secretKey)).toString('base64url')}`;
  };
  const foreign = signWith({ ...header, kid: jwkThumbprint('ML-DSA-65', foreignKey.publicKey) });
  const expired = (await new TokenService(t.app.ctx, t.app.ctx.keys, { now: () => Date.now() - 7200_000 }).mint('alice', { ttl: 60 })).token;
  const bad: Array<[string, string]> = [
    ['alg none', `${enc({ ...header, alg: 'none' })}.${p}.`],
    ['alg none with signature', `${enc({ ...header, alg: 'none' })}.${p}.${s}`],
    ['wrong alg', `${enc({ ...header, alg: 'ML-DSA-44' })}.${p}.${s}`],
    ['HS256', `${enc({ alg: 'HS256', typ: 'JWT' })}.${p}.${s}`],
    ['crit header', `${enc({ ...header, crit: ['exp'] })}.${p}.${s}`],
    ['expired', expired],
    ['signed by another key (unknown kid)', foreign],
    ['signed by another key under our kid', signWith(header)],
    ['tampered payload', `${h}.${enc({ ...payload, sub: 'bob' })}.${s}`],
    ['tampered signature', `${h}.${p}.${s.slice(0, -4)}AAAA`],
    ['garbage', 'a.b.c'],
    ['two parts', `${h}.${p}`],
  ];
  for (const [label, token] of bad) {
    const res = await t.app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 401, `${label}: ${res.body}`);
    assert.equal(problemOf(res).code, 'unauthorized', label);
  }
  // The admin token is not a JWT and still works; the original token still works.
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Bearer ${alice}` } })).statusCode, 200);
});
