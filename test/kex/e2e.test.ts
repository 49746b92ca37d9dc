/** Over a real socket, through the SDK: handshake, an envelope call to a signing operation, close. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { listeningTestApp, type TestApp } from '../support/app.ts';
import { createClient } from '../../src/client/index.ts';
import { base64urlEncode, base64urlDecode } from '../../src/crypto/bytes.ts';
import { nativeBackend } from '../../src/crypto/native.ts';

let t: TestApp;
let baseUrl: string;
before(async () => ({ baseUrl, ...t } = await listeningTestApp()));
after(() => t.close());

test('SDK: pinned handshake, createKey + sign through the envelope, close', async () => {
  const { token } = await t.app.ctx.tokens.mint('alice');
  const identity = await t.app.ctx.systemKeys.identity();
  const client = createClient(baseUrl, { token });
  const s = await client.openSecureSession({ identityKey: identity.publicKey });
  assert.equal(s.sessionId.length, 22);
  assert.deepEqual(s.identity.publicKey, identity.publicKey);

  const created = await s.call('POST', '/v1/keys', { name: 'k1', algorithm: 'ML-DSA-65' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const message = new TextEncoder().encode('signed through the envelope');
  const signed = await s.call('POST', '/v1/keys/k1/sign', { message: base64urlEncode(message) });
  assert.equal(signed.status, 200, JSON.stringify(signed.body));
  const { signature } = signed.body as { signature: string };
  const pub = await s.call('GET', '/v1/keys/k1/public?format=raw');
  assert.equal(pub.status, 200, JSON.stringify(pub.body));
  const pk = base64urlDecode((pub.body as { publicKey: string }).publicKey);
  const sig = base64urlDecode(signature.replace(/^v\d+:/, ''));
  assert.equal(nativeBackend.verify('ML-DSA-65', pk, message, sig), true);

  // The inner request runs with the same auth rules: no token inside → 401 inside the envelope.
  client.setToken(undefined);
  const anon = await s.call('GET', '/v1/keys');
  assert.equal(anon.status, 401);
  assert.equal((anon.body as { code: string }).code, 'unauthorized');

  await s.close();
  await assert.rejects(s.call('GET', '/v1/health'), /closed/);
  assert.equal((await t.store.query('SELECT count(*)::int AS n FROM kex_sessions'))[0]!.n, 0);
});

test('SDK: refuses a wrong pinned identity and requires an explicit trust-on-first-use', async () => {
  const client = createClient(baseUrl);
  await assert.rejects(client.openSecureSession(), /pin the server identity/);
  const other = nativeBackend.signatureKeygen('ML-DSA-65').publicKey;
  await assert.rejects(client.openSecureSession({ identityKey: other }), /does not match the pinned key/);
  const tofu = await client.openSecureSession({ trustOnFirstUse: true });
  const h = await tofu.call('GET', '/v1/health');
  assert.deepEqual(h, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: { status: 'ok' } });
  await tofu.close();
});
