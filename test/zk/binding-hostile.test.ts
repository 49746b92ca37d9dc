/**
 * Session binding of ZK-login tokens (cnf.skt = SHA-256 of the X-Wing client public key sent in
 * openSession): accepted only on inner requests of that session; refused directly, in another
 * session, and in a session that has no recorded client key. An outer client cannot forge the
 * internal header through which the envelope runner tells the auth hook the session's key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { testApp, problemOf, type TestApp } from '../support/app.ts';
import { createClient, ServiceError } from '../../src/client/index.ts';
import { SESSION_BINDING_HEADER } from '../../src/http/auth.ts';
import { checkInner } from '../../src/kex/service.ts';
import { sessionKeyThumbprint } from '../../src/keys/tokens.ts';
import { envelopeBody, handshake, openResponse, send, type TestSession } from '../kex/_client.ts';
import { releaseProver } from './_support.ts';

let t: TestApp;
let url: string;
let identityKey: Uint8Array;
before(async () => {
  t = await testApp({ KEX_SESSION_STATE: 'store' }); // the test edits kex_sessions rows
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  identityKey = (await t.app.ctx.systemKeys.identity()).publicKey;
});
after(async () => { await t.close(); await releaseProver(); });

const BOUND = /bound to a session key/;
const mt = { singleThread: false };
const listKeys = (token: string) => ({ method: 'GET', path: '/v1/keys', headers: { authorization: `Bearer ${token}` } });

/** One inner request through a hand-run session; returns the opened inner response. */
async function inner(s: TestSession, seq: number, req: unknown) {
  const res = await send(t.app, s, envelopeBody(s, seq, req));
  assert.equal(res.statusCode, 200, res.body);
  return openResponse(s, seq, (res.json() as { sealed: string }).sealed);
}

test('a ZK-login token: 401 used directly, 401 in a session with another client key, 2xx in its own session', async () => {
  const client = createClient(url);
  const reg = await client.zk.register('zoe');
  const session = await client.openSecureSession({ identityKey });
  const other = await client.openSecureSession({ identityKey });
  assert.notDeepEqual(session.clientPublicKey, other.clientPublicKey);
  const { accessToken } = await client.zk.login('zoe', reg.secret, session.clientPublicKey, mt);
  assert.equal((await t.app.ctx.tokens.verify(accessToken)).cnf, sessionKeyThumbprint(session.clientPublicKey));

  // Directly, over the socket and through inject (problem+json).
  await assert.rejects(createClient(url, { token: accessToken }).keys.list(),
    (e: unknown) => e instanceof ServiceError && e.status === 401 && e.problem.code === 'unauthorized' && BOUND.test(e.problem.detail ?? ''));
  const direct = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${accessToken}` }, payload: { name: 'x', algorithm: 'ML-DSA-44' } });
  assert.equal(direct.statusCode, 401);
  assert.match(problemOf(direct).detail, BOUND);

  // In a session with another client key.
  other.setToken(accessToken);
  const wrong = await other.call('POST', '/v1/keys', { name: 'zoe-key', algorithm: 'ML-DSA-44' });
  assert.equal(wrong.status, 401);
  assert.match(String(wrong.headers['content-type']), /^application\/problem\+json/);
  assert.equal((wrong.body as { code: string }).code, 'unauthorized');
  assert.match((wrong.body as { detail: string }).detail, BOUND);

  // In its own session.
  session.setToken(accessToken);
  const created = await session.call('POST', '/v1/keys', { name: 'zoe-key', algorithm: 'ML-DSA-44' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const listed = await session.call('GET', '/v1/keys');
  assert.equal(listed.status, 200);
  assert.deepEqual((listed.body as { keys: Array<{ name: string }> }).keys.map((k) => k.name), ['zoe-key']);
  // Nothing was created by the refused calls; setToken(undefined) falls back to the client's (absent) token.
  session.setToken(undefined);
  assert.equal((await session.call('GET', '/v1/keys')).status, 401);
  await session.close();
  await other.close();
});

test('bound tokens through hand-run sessions; unbound tokens behave as before', async () => {
  const s1 = await handshake(t.app);
  const s2 = await handshake(t.app);
  const stored = await t.store.query<{ client_key_thumbprint: string }>('SELECT client_key_thumbprint FROM kex_sessions WHERE session_id = $1', [s1.sessionId]);
  assert.equal(stored[0]!.client_key_thumbprint, sessionKeyThumbprint(s1.hello.clientPublicKey));

  const { token: bound } = await t.app.ctx.tokens.mint('yan', { cnf: s1.hello.clientPublicKey });
  assert.equal((await inner(s1, 1, listKeys(bound))).status, 200);
  const refused = await inner(s2, 1, listKeys(bound));
  assert.equal(refused.status, 401);
  assert.match((refused.body as { detail: string }).detail, BOUND);

  // Unbound (admin-minted, no cnf): directly and in any session, as before.
  const { token: plain } = await t.app.ctx.tokens.mint('yan');
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Bearer ${plain}` } })).statusCode, 200);
  assert.equal((await inner(s2, 2, listKeys(plain))).status, 200);
  assert.equal((await inner(s1, 2, listKeys(plain))).status, 200);

  // A session without a recorded client key (opened before migration 006): bound tokens are refused.
  // The binding is read with each sequence window (PROTOCOL.md §6.2): forget the live one and jump past it.
  await t.store.query('UPDATE kex_sessions SET client_key_thumbprint = NULL WHERE session_id = $1', [s1.sessionId]);
  t.app.ctx.kex.seq.forget(s1.sessionId);
  assert.equal((await inner(s1, 5000, listKeys(bound))).status, 401);
  assert.equal((await inner(s1, 5001, listKeys(plain))).status, 200);
});

test('an outer request cannot forge the internal session-binding header', async () => {
  const s = await handshake(t.app);
  const thumb = sessionKeyThumbprint(s.hello.clientPublicKey);
  const { token: bound } = await t.app.ctx.tokens.mint('xia', { cnf: thumb });
  const { token: plain } = await t.app.ctx.tokens.mint('xia');
  const guess = () => `${randomBytes(32).toString('base64url')}.${thumb}`;
  const forged = [guess(), guess(), `${'A'.repeat(43)}.${thumb}`, thumb, `.${thumb}`, 'x', ''];
  for (const value of forged) {
    for (const [method, path, token] of [['GET', '/v1/keys', bound], ['GET', '/v1/keys', plain], ['GET', '/v1/health', undefined]] as const) {
      const res = await t.app.inject({ method, url: path, headers: { [SESSION_BINDING_HEADER]: value, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
      assert.equal(res.statusCode, 401, `${path} with forged header ${JSON.stringify(value.slice(0, 8))}: ${res.body}`);
      assert.equal(problemOf(res).code, 'unauthorized');
    }
  }
  // On the outer envelope request itself: refused before the envelope is opened (seq 1 stays unused).
  const outer = await send(t.app, s, envelopeBody(s, 1, listKeys(bound)), { [SESSION_BINDING_HEADER]: guess() });
  assert.equal(outer.statusCode, 401);
  problemOf(outer);
  // Inside the sealed inner request: the header is not an allowed inner header.
  assert.throws(() => checkInner({ ...listKeys(bound), headers: { authorization: `Bearer ${bound}`, [SESSION_BINDING_HEADER]: guess() } }),
    (e: unknown) => (e as { code?: string }).code === 'invalid_input');
  const sneaked = await send(t.app, s, envelopeBody(s, 1, { ...listKeys(bound), headers: { authorization: `Bearer ${bound}`, [SESSION_BINDING_HEADER]: guess() } }));
  assert.equal(sneaked.statusCode, 400);
  // The honest call still works afterwards with the first sequence number.
  assert.equal((await inner(s, 1, listKeys(bound))).status, 200);
});
