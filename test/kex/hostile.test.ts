/**
 * Hostile input for the kex routes: each case is a 4xx problem+json, changes no state and never
 * runs the inner request; nothing answers 5xx.
 */
import { test, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, problemOf, type TestApp } from '../support/app.ts';
import { nobleBackend as nb } from '../../src/crypto/noble.ts';
import { base64urlDecode, base64urlEncode } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';
import { envelopeBody, fetchPrekey, handshake, helloBody, openResponse, send, type TestSession } from './_client.ts';

let t: TestApp;
// The sweeper runs only when a test calls maintain(): one test moves Date forward, and PGlite's now() with it.
before(async () => { t = await testApp({ KEX_SWEEP_MS: '3600000' }); });
after(() => t.close());

/** Sessions (fence, confirmation, binding) and replay digests, wherever they live (src/kex/session-table.ts). */
async function state() {
  return JSON.stringify(await t.app.ctx.kex.sessions.snapshot());
}

async function refused(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code?: string) {
  assert.ok(res.statusCode >= 400 && res.statusCode < 500, `expected 4xx, got ${res.statusCode}: ${res.body}`);
  const p = problemOf(res);
  assert.equal(res.statusCode, status, res.body);
  if (code) assert.equal(p.code, code, res.body);
  return p;
}

const openSession = (payload: unknown) => t.app.inject({ method: 'POST', url: '/v1/kex/sessions', payload: payload as object });

test('openSession: wrong lengths, bad encodings and unknown fields are 400 with no state change', async () => {
  const prekey = await fetchPrekey(t.app);
  const good = helloBody(P.clientStart(nb, prekey).hello);
  const before = await state();
  const cases: Array<Record<string, unknown>> = [
    { ...good, ciphertext: good.ciphertext.slice(0, -2) },
    { ...good, ciphertext: good.ciphertext + 'AA' },
    { ...good, clientPublicKey: good.clientPublicKey.slice(0, -3) },
    { ...good, clientPublicKey: base64urlEncode(new Uint8Array(1184)) },
    { ...good, proof: good.proof.slice(0, 40) },
    { ...good, ciphertext: '+' + good.ciphertext.slice(1) },
    { ...good, extra: 1 },
    { prekeyId: good.prekeyId, ciphertext: good.ciphertext, clientPublicKey: good.clientPublicKey },
    { ...good, prekeyId: '../x' },
  ];
  for (const c of cases) await refused(await openSession(c), 400, 'validation_failed');
  assert.equal(await state(), before);
});

test('openSession: a valid-looking ciphertext for another prekey is refused (early proof) without state', async () => {
  const prekey = await fetchPrekey(t.app);
  const other = nb.keygen('X-Wing');
  // Everything as a real client would do it, but encapsulated to another X-Wing key.
  const pending = P.clientStart(nb, { ...prekey, publicKey: other.publicKey });
  const t1 = P.transcriptPrefix(prekey, pending.hello.clientPublicKey, pending.hello.ciphertext);
  const proof = P.earlyProof(nb, pending.ss1, nb.hash('SHA-512', t1));
  const before = await state();
  await refused(await openSession(helloBody({ ...pending.hello, proof })), 400, 'decryption_failed');
  // And a random proof with a genuine ciphertext.
  const real = P.clientStart(nb, prekey).hello;
  await refused(await openSession(helloBody({ ...real, proof: nb.randomBytes(32) })), 400, 'decryption_failed');
  assert.equal(await state(), before);
});

test('openSession: unknown or expired prekeyId is 410; a replayed handshake is 409', async () => {
  const prekey = await fetchPrekey(t.app);
  const hello = P.clientStart(nb, prekey).hello;
  const before = await state();
  await refused(await openSession({ ...helloBody(hello), prekeyId: 'no-such-prekey' }), 410, 'gone');
  assert.equal(await state(), before);
  const first = await openSession(helloBody(hello));
  assert.equal(first.statusCode, 200, first.body);
  const afterFirst = await state();
  await refused(await openSession(helloBody(hello)), 409, 'conflict');
  assert.equal(await state(), afterFirst);
  // Past notAfter (the clock moved on; private half not yet erased): 410.
  const late = P.clientStart(nb, prekey).hello;
  mock.timers.enable({ apis: ['Date'], now: (prekey.notAfter + 1) * 1000 });
  try {
    await refused(await openSession(helloBody(late)), 410, 'gone');
  } finally {
    mock.timers.reset();
  }
  assert.equal(await state(), afterFirst);
  // Past notAfter + grace: the sweeper erases it; still 410, and the service makes a fresh prekey.
  await t.store.query(`UPDATE kex_prekeys SET not_after = now() - interval '1 day' WHERE prekey_id = $1`, [prekey.prekeyId]);
  await t.app.ctx.kex.maintain();
  assert.equal(t.app.ctx.kex.vault.has(`p:${prekey.prekeyId}`), false, 'the prekey private half is erased');
  await refused(await openSession(helloBody(P.clientStart(nb, prekey).hello)), 410, 'gone');
  const fresh = await fetchPrekey(t.app);
  assert.notEqual(fresh.prekeyId, prekey.prekeyId);
});

test('envelope: unknown session, replay, reordering, missing confirmation → 4xx without running anything', async () => {
  const s = await handshake(t.app);
  const unknown: TestSession = { ...s, sessionId: 'A'.repeat(22) };
  await refused(await send(t.app, unknown, envelopeBody(unknown, 1, { method: 'GET', path: '/v1/health' })), 404, 'not_found');
  await refused(await t.app.inject({ method: 'POST', url: '/v1/kex/sessions/short/envelope', payload: envelopeBody(s, 1, {}) }), 404, 'not_found');
  const before = await state();
  await refused(await send(t.app, s, envelopeBody(s, 1, { method: 'GET', path: '/v1/health' }, { confirm: false })), 400, 'invalid_input');
  const badConf = { ...envelopeBody(s, 1, { method: 'GET', path: '/v1/health' }), confirmation: base64urlEncode(nb.randomBytes(32)) };
  await refused(await send(t.app, s, badConf), 400, 'decryption_failed');
  await refused(await send(t.app, s, { ...envelopeBody(s, 1, {}), seq: 0 }), 400, 'validation_failed');
  assert.equal(await state(), before);

  const e3 = envelopeBody(s, 3, { method: 'GET', path: '/v1/health' });
  const ok = await send(t.app, s, e3);
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(openResponse(s, 3, (ok.json() as { sealed: string }).sealed).status, 200);
  const afterOk = await state();
  await refused(await send(t.app, s, e3), 409, 'conflict'); // replay
  await refused(await send(t.app, s, envelopeBody(s, 2, { method: 'GET', path: '/v1/health' })), 409, 'conflict'); // reordered
  assert.equal(await state(), afterOk);
});

test('envelope: a bit flip anywhere (sealed, seq, confirmation) or truncation is 400 and the genuine envelope still works after', async () => {
  const s = await handshake(t.app);
  const genuine = envelopeBody(s, 1, { method: 'POST', path: '/v1/verify', body: { algorithm: 'ML-DSA-44', publicKey: 'AA', message: 'AA', signature: 'AA' } });
  const sealed = base64urlDecode(genuine.sealed);
  const before = await state();
  for (let i = 0; i < sealed.length; i++) {
    const bad = sealed.slice();
    bad[i]! ^= 1 << (i % 8);
    await refused(await send(t.app, s, { ...genuine, sealed: base64urlEncode(bad) }), 400, 'decryption_failed');
  }
  for (const cut of [1, 16, sealed.length - 1]) {
    await refused(await send(t.app, s, { ...genuine, sealed: base64urlEncode(sealed.subarray(0, sealed.length - cut)) }), 400);
  }
  await refused(await send(t.app, s, { ...genuine, seq: 2 }), 400, 'decryption_failed');
  const conf = base64urlDecode(genuine.confirmation!);
  conf[7]! ^= 0x80;
  await refused(await send(t.app, s, { ...genuine, confirmation: base64urlEncode(conf) }), 400, 'decryption_failed');
  // The same ciphertext under another session id does not open either.
  const other = await handshake(t.app);
  const beforeOther = await state();
  await refused(await send(t.app, other, genuine), 400, 'decryption_failed');
  assert.equal(await state(), beforeOther);
  assert.notEqual(before, beforeOther); // (the second handshake added a row)
  const ok = await send(t.app, s, genuine);
  assert.equal(ok.statusCode, 200, ok.body);
});

test('envelope: forbidden routes and malformed inner requests are refused before the sequence number is consumed', async () => {
  const s = await handshake(t.app);
  const before = await state();
  let seq = 0;
  const forbidden = ['/v1/kex/prekey', '/v1/kex/sessions', `/v1/kex/sessions/${s.sessionId}/envelope`, '/v1/KEX/prekey', '/docs', '/metrics', '/v1/../docs', '/v1//kex/prekey', 'http://evil/v1/health', '/.well-known/jwks.json'];
  for (const path of forbidden) {
    const res = await send(t.app, s, envelopeBody(s, ++seq, { method: 'GET', path }));
    const p = await refused(res, res.statusCode);
    assert.ok(['forbidden', 'invalid_input'].includes(p.code), `${path}: ${p.code}`);
  }
  const malformed: unknown[] = [
    'not json', '[]', { method: 'TRACE', path: '/v1/health' }, { method: 'GET' }, { method: 'GET', path: '/v1/health', headers: { 'x-admin-token': 'x' } },
    { method: 'GET', path: '/v1/health', headers: { authorization: 'Bearer a\r\nx: y' } }, { method: 'GET', path: '/v1/health', extra: 1 },
    { method: 'POST', path: '/v1/verify', headers: { 'content-type': 'text/plain' }, body: 'x' },
  ];
  for (const m of malformed) await refused(await send(t.app, s, envelopeBody(s, ++seq, m)), 400, 'invalid_input');
  assert.equal(await state(), before);
  // An inner request refused by the inner route's own auth is answered inside the envelope.
  const res = await send(t.app, s, envelopeBody(s, ++seq, { method: 'GET', path: '/v1/keys', headers: { authorization: 'Bearer not.a.token' } }));
  assert.equal(res.statusCode, 200, res.body);
  const inner = openResponse(s, seq, (res.json() as { sealed: string }).sealed);
  assert.equal(inner.status, 401);
});

test('closeSession: tampered or replayed close is refused; a genuine close erases the session', async () => {
  const s = await handshake(t.app);
  const close = (seq: number, sealed: Uint8Array) => t.app.inject({ method: 'DELETE', url: `/v1/kex/sessions/${s.sessionId}`, payload: { seq, sealed: base64urlEncode(sealed) } });
  const good = P.sealEnvelope(nb, s.keys, 'close', s.sessionId, 1, new Uint8Array(0));
  const before = await state();
  const bad = good.slice(); bad[0]! ^= 1;
  await refused(await close(1, bad), 400, 'decryption_failed');
  // A request envelope cannot be turned into a close (kind is in the AAD).
  await refused(await close(1, P.sealEnvelope(nb, s.keys, 'request', s.sessionId, 1, new Uint8Array(0))), 400, 'decryption_failed');
  await refused(await t.app.inject({ method: 'DELETE', url: `/v1/kex/sessions/${'B'.repeat(22)}`, payload: { seq: 1, sealed: base64urlEncode(good) } }), 404, 'not_found');
  assert.equal(await state(), before);
  const ok = await close(1, good);
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(t.app.ctx.kex.vault.has(`s:${s.sessionId}`), false);
  await refused(await close(1, good), 404, 'not_found');
  await refused(await send(t.app, s, envelopeBody(s, 2, { method: 'GET', path: '/v1/health' })), 404, 'not_found');
});

test('expired sessions are erased by the sweeper', async () => {
  const s = await handshake(t.app);
  assert.equal(t.app.ctx.kex.vault.has(`s:${s.sessionId}`), true);
  // Past the session's expiry (the TTL is 900 s by default); PGlite's now() follows Date.
  mock.timers.enable({ apis: ['Date'], now: Date.now() + 901_000 });
  try {
    await refused(await send(t.app, s, envelopeBody(s, 1, { method: 'GET', path: '/v1/health' })), 404, 'not_found');
    await t.app.ctx.kex.maintain();
  } finally {
    mock.timers.reset();
  }
  assert.equal(t.app.ctx.kex.vault.has(`s:${s.sessionId}`), false);
  assert.equal((await t.app.ctx.kex.sessions.snapshot()).sessions.some((x) => x.sessionId === s.sessionId), false);
});
