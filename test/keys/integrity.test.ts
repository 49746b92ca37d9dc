/**
 * Integrity of key rows at rest (src/keys/integrity.ts): an attacker who can write the database but
 * does not hold the master key changes a column with plain SQL; every path that relies on it refuses
 * with the fixed 500 instead of acting on the forged value.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ml_dsa44, ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { testApp, problemOf, type TestApp } from '../support/app.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import { jwkThumbprint } from '../../src/keys/tokens.ts';

const FIXED = 'stored key material failed its integrity check';
const utf8 = (s: string) => new TextEncoder().encode(s);
const msg = utf8('pay 1000 to mallory');

function assertIntegrity500(res: { statusCode: number; headers: Record<string, unknown>; body: string }): void {
  assert.equal(res.statusCode, 500, res.body);
  const p = problemOf(res);
  assert.equal(p.code, 'internal');
  assert.equal(p.detail, FIXED);
  assert.doesNotMatch(res.body, /"valid"|privateKey|publicKey/);
}

describe('tampered key rows (tenant keys)', () => {
  let t: TestApp;
  let auth: { authorization: string };
  const keyId = async (name: string, owner = 'tenant:alice') =>
    (await t.store.query<{ id: string }>('SELECT id FROM keys WHERE owner = $1 AND name = $2', [owner, name]))[0]!.id;
  const create = async (name: string, algorithm = 'ML-DSA-44', exportable = false) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: auth, payload: { name, algorithm, exportable } });
    assert.equal(res.statusCode, 201, res.body);
    return keyId(name);
  };
  const inject = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
    t.app.inject({ method, url, headers: auth, ...(payload !== undefined ? { payload: payload as object } : {}) });

  before(async () => {
    t = await testApp();
    auth = { authorization: `Bearer ${(await t.app.ctx.tokens.mint('alice')).token}` };
  });
  after(() => t.close());

  test('control: untouched keys sign, verify, export and survive a PATCH (the MAC is rewritten)', async () => {
    await create('ok', 'ML-DSA-44', true);
    const sig = JSON.parse((await inject('POST', '/v1/keys/ok/sign', { message: base64urlEncode(msg) })).body).signature;
    assert.deepEqual(JSON.parse((await inject('POST', '/v1/keys/ok/verify', { message: base64urlEncode(msg), signature: sig })).body), { valid: true, version: 1 });
    assert.equal((await inject('POST', '/v1/keys/ok/export', {})).statusCode, 200);
    assert.equal((await inject('POST', '/v1/keys/ok/rotate')).statusCode, 200);
    assert.equal((await inject('PATCH', '/v1/keys/ok', { minVersion: 2, deletionAllowed: true })).statusCode, 200);
    assert.equal((await inject('POST', '/v1/keys/ok/sign', { message: base64urlEncode(msg) })).statusCode, 200);
    assert.equal((await inject('GET', '/v1/keys/ok')).statusCode, 200);
    const rows = await t.store.query<{ row_mac: Uint8Array | null }>('SELECT row_mac FROM key_versions WHERE key_id = $1', [await keyId('ok')]);
    assert.equal(rows.length, 2);
    for (const r of rows) assert.equal(r.row_mac?.length, 32);
  });

  test('public_key swapped for the attacker\'s: verify of a forged signature is a 500, never valid:true', async () => {
    const id = await create('swap');
    const attacker = ml_dsa44.keygen();
    await t.store.query('UPDATE key_versions SET public_key = $2 WHERE key_id = $1 AND version = 1', [id, attacker.publicKey]);
    const forged = `v1:${base64urlEncode(ml_dsa44.sign(msg, attacker.secretKey))}`;
    assertIntegrity500(await inject('POST', '/v1/keys/swap/verify', { message: base64urlEncode(msg), signature: forged }));
    // Still refused on a second request (the failure is not cached as a success).
    assertIntegrity500(await inject('POST', '/v1/keys/swap/verify', { message: base64urlEncode(msg), signature: forged }));
    assertIntegrity500(await inject('GET', '/v1/keys/swap/public'));
    assertIntegrity500(await inject('GET', '/v1/keys/swap'));
    assertIntegrity500(await inject('POST', '/v1/keys/swap/sign', { message: base64urlEncode(msg) }));
  });

  test('exportable flipped to true: export refused', async () => {
    const id = await create('secret');
    assert.equal((await inject('POST', '/v1/keys/secret/export', {})).statusCode, 403);
    await t.store.query('UPDATE keys SET exportable = true WHERE id = $1', [id]);
    assertIntegrity500(await inject('POST', '/v1/keys/secret/export', {}));
    assertIntegrity500(await inject('POST', '/v1/keys/secret/export', { format: 'jwk' }));
  });

  test('algorithm changed: sign, verify and public key refused', async () => {
    const id = await create('alg');
    await t.store.query('UPDATE keys SET algorithm = $2 WHERE id = $1', [id, 'ML-DSA-65']);
    assertIntegrity500(await inject('POST', '/v1/keys/alg/sign', { message: base64urlEncode(msg) }));
    assertIntegrity500(await inject('GET', '/v1/keys/alg/public'));
    const sig = `v1:${base64urlEncode(new Uint8Array(3309))}`;
    assertIntegrity500(await inject('POST', '/v1/keys/alg/verify', { message: base64urlEncode(msg), signature: sig }));
  });

  test('min_version lowered: the retired version does not sign again; PATCH and rotate refuse the row', async () => {
    const id = await create('retired');
    assert.equal((await inject('POST', '/v1/keys/retired/rotate')).statusCode, 200);
    assert.equal((await inject('PATCH', '/v1/keys/retired', { minVersion: 2 })).statusCode, 200);
    assert.equal((await inject('POST', '/v1/keys/retired/sign', { message: base64urlEncode(msg), version: 1 })).statusCode, 400);
    await t.store.query('UPDATE keys SET min_version = 1 WHERE id = $1', [id]);
    await new Promise((r) => setTimeout(r, 1100)); // past the 1 s row cache
    assertIntegrity500(await inject('POST', '/v1/keys/retired/sign', { message: base64urlEncode(msg), version: 1 }));
    assertIntegrity500(await inject('PATCH', '/v1/keys/retired', { deletionAllowed: true }));
    assertIntegrity500(await inject('POST', '/v1/keys/retired/rotate'));
  });

  test('a row without a MAC (written before migration 007) fails the check', async () => {
    const id = await create('legacy');
    await t.store.query('UPDATE key_versions SET row_mac = NULL WHERE key_id = $1', [id]);
    assertIntegrity500(await inject('POST', '/v1/keys/legacy/sign', { message: base64urlEncode(msg) }));
    const id2 = await create('legacy2');
    await t.store.query('UPDATE keys SET row_mac = NULL WHERE id = $1', [id2]);
    assertIntegrity500(await inject('GET', '/v1/keys/legacy2/public'));
  });

  test('a key moved to another owner does not sign for them', async () => {
    const id = await create('moved');
    await t.store.query('UPDATE keys SET owner = $2 WHERE id = $1', [id, 'tenant:bob']);
    const bob = { authorization: `Bearer ${(await t.app.ctx.tokens.mint('bob')).token}` };
    assertIntegrity500(await t.app.inject({ method: 'POST', url: '/v1/keys/moved/sign', headers: bob, payload: { message: base64urlEncode(msg) } }));
  });

  test('the log names the key id and carries no key bytes', async () => {
    const lines: string[] = [];
    const log = t.app.ctx.log;
    const original = log.error.bind(log);
    (log as { error: unknown }).error = (obj: unknown, m?: string) => { lines.push(JSON.stringify([obj, m])); };
    try {
      const id = await create('logged');
      const pk = ml_dsa44.keygen().publicKey;
      await t.store.query('UPDATE key_versions SET public_key = $2 WHERE key_id = $1', [id, pk]);
      assertIntegrity500(await inject('GET', '/v1/keys/logged/public'));
      assert.ok(lines.some((l) => l.includes(id)), lines.join('\n'));
      assert.ok(!lines.some((l) => l.includes(base64urlEncode(pk.subarray(0, 24))) || /"\d+":\d+/.test(l)), lines.join('\n'));
    } finally {
      (log as { error: unknown }).error = original;
    }
  });
});

describe('tampered token-signing key', () => {
  let t: TestApp;
  before(async () => { t = await testApp(); });
  after(() => t.close());

  test('a public_key swapped for the attacker\'s: a token the attacker mints is a 401, and minting stops', async () => {
    const genuine = (await t.app.ctx.tokens.mint('alice')).token;
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Bearer ${genuine}` } })).statusCode, 200);

    const attacker = ml_dsa65.keygen();
    await t.store.query(
      `UPDATE key_versions SET public_key = $1 WHERE key_id = (SELECT id FROM keys WHERE owner = 'system' AND name = 'token-signing')`,
      [attacker.publicKey],
    );
    const b64 = (o: unknown) => base64urlEncode(utf8(JSON.stringify(o)));
    const iat = Math.floor(Date.now() / 1000);
    const input = `${b64({ alg: 'ML-DSA-65', kid: jwkThumbprint('ML-DSA-65', attacker.publicKey), typ: 'JWT' })}.${b64({ sub: 'victim', iat, exp: iat + 600, jti: 'x' })}`;
    const forged = `${input}.${base64urlEncode(ml_dsa65.sign(utf8(input), attacker.secretKey))}`;
    // An unknown kid makes the verifier re-read the versions (at most once a second): wait for that.
    await new Promise((r) => setTimeout(r, 1100));
    const res = await t.app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Bearer ${forged}` } });
    assert.equal(res.statusCode, 401, res.body);
    assert.equal(problemOf(res).code, 'unauthorized');
    const jwks = JSON.parse((await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body) as { keys: Array<{ pub: string }> };
    assert.ok(!jwks.keys.some((k) => k.pub === base64urlEncode(attacker.publicKey)));
    await assert.rejects(t.app.ctx.tokens.mint('alice'), (e: Error & { code?: string }) => e.code === 'internal' && e.message === FIXED);
  });
});
