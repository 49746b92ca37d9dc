/**
 * From a real socket, through the SDK only: register, open a secure session, challenge + prove +
 * login bound to the session's client key, use the token inside that session for a tenant operation
 * (createKey, sign), rotate the secret; wrong secrets and pinned hashes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, type TestApp } from '../support/app.ts';
import { createClient, ServiceError, type PqzkClient } from '../../src/client/index.ts';
import { generateSecret } from '../../src/client/zk.ts';
import { sessionKeyThumbprint } from '../../src/keys/tokens.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';

let t: TestApp;
let url: string;
let client: PqzkClient;
before(async () => {
  t = await testApp();
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  client = createClient(url);
});
after(async () => {
  await t.close();
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
});
// The app shares this process: prove on snarkjs's worker threads so its event loop stays responsive.
const mt = { singleThread: false };

const unauthorized = (e: unknown) => e instanceof ServiceError && e.status === 401 && e.problem.detail === 'login failed';

test('register → secure session → login bound to it → tenant operation inside the session → rotate', async () => {
  const reg = await client.zk.register('dana');
  assert.match(reg.secret, /^[1-9][0-9]*$/);
  assert.ok(BigInt(reg.secret) < 1n << 248n);
  const session = await client.openSecureSession({ identityKey: (await t.app.ctx.systemKeys.identity()).publicKey });
  const sessionPublicKey = session.clientPublicKey; // the X-Wing client public key sent in openSession
  assert.equal(sessionPublicKey.length, 1216);
  const { accessToken, expiresIn, provingMs } = await client.zk.login('dana', reg.secret, sessionPublicKey, mt);
  assert.equal(expiresIn, 900);
  assert.ok(provingMs > 0);
  const claims = await t.app.ctx.tokens.verify(accessToken);
  assert.equal(claims.sub, 'dana');
  assert.equal(claims.cnf, sessionKeyThumbprint(sessionPublicKey));

  session.setToken(accessToken);
  const key = await session.call('POST', '/v1/keys', { name: 'dana-key', algorithm: 'ML-DSA-65' });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  assert.equal((key.body as { name: string }).name, 'dana-key');
  const message = base64urlEncode(new TextEncoder().encode('hi'));
  const signed = await session.call('POST', '/v1/keys/dana-key/sign', { message });
  assert.equal(signed.status, 200, JSON.stringify(signed.body));
  const { signature } = signed.body as { signature: string };
  const verified = await session.call('POST', '/v1/keys/dana-key/verify', { message, signature });
  assert.equal((verified.body as { valid: boolean }).valid, true);
  // The same token outside the session: refused.
  await assert.rejects(createClient(url, { token: accessToken }).keys.get('dana-key'), (e: unknown) => e instanceof ServiceError && e.status === 401);
  await session.close();

  // The wrong secret cannot log in; an unknown user fails the same way.
  await assert.rejects(client.zk.login('dana', generateSecret(), sessionPublicKey, mt), unauthorized);
  await assert.rejects(client.zk.login('nobody', reg.secret, sessionPublicKey, mt), unauthorized);

  // Rotation: the old secret proves the new commitment; afterwards only the new secret works.
  const rotated = await client.zk.rotate('dana', reg.secret, undefined, mt);
  assert.notEqual(rotated.secret, reg.secret);
  await assert.rejects(client.zk.login('dana', reg.secret, sessionPublicKey, mt), unauthorized);
  const again = await client.zk.login('dana', rotated.secret, sessionPublicKey, mt);
  assert.equal((await t.app.ctx.tokens.verify(again.accessToken)).sub, 'dana');
});

test('pinned artifact hashes: a mismatch refuses to prove', async () => {
  const fresh = createClient(url);
  const reg = await fresh.zk.register('erin');
  await assert.rejects(
    fresh.zk.login('erin', reg.secret, new Uint8Array(32).fill(1), { pins: { 'login.zkey': '00'.repeat(32) } }),
    /different SHA-256 than the pinned one/,
  );
  const info = await fresh.zk.circuit();
  const pins = Object.fromEntries(info.artifacts.map((a) => [a.name, a.sha256]));
  const ok = await fresh.zk.login('erin', reg.secret, new Uint8Array(32).fill(1), { pins, ...mt });
  assert.ok(ok.accessToken.split('.').length === 3);
});

test('register refuses a secret that is not a canonical field element', async () => {
  await assert.rejects(client.zk.register('frank', '0x2a'));
  await assert.rejects(client.zk.register('frank', 'password123'));
});
