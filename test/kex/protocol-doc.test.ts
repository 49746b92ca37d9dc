/**
 * docs/PROTOCOL.md says what the service answers in the cases a client written from the document
 * alone asked about: each malformed handshake field (§4.1), sequence gaps (§6), close errors and
 * closing a session that never sent an envelope (§7), the thumbprints (§2), and the exact bytes of
 * the server's answer to the §10 vector's inner request. These tests hold the service to the text.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, problemOf, type TestApp } from '../support/app.ts';
import { nobleBackend as nb } from '../../src/crypto/noble.ts';
import { base64urlDecode, base64urlEncode } from '../../src/crypto/bytes.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { jwkThumbprint, publicKeyThumbprint } from '../../src/crypto/thumbprint.ts';
import * as P from '../../src/kex/protocol.ts';
import { INPUTS } from './_vector.ts';
import { envelopeBody, fetchPrekey, handshake, helloBody, openResponse, send, type TestSession } from './_client.ts';

let t: TestApp;
before(async () => { t = await testApp({ KEX_SWEEP_MS: '3600000' }); });
after(() => t.close());

type Res = { statusCode: number; headers: Record<string, unknown>; body: string };
function refused(res: Res, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(problemOf(res).code, code, res.body);
}
const openSession = (payload: unknown) => t.app.inject({ method: 'POST', url: '/v1/kex/sessions', payload: payload as object });
const close = (s: TestSession, seq: number, sealed?: string) => t.app.inject({
  method: 'DELETE', url: `/v1/kex/sessions/${s.sessionId}`,
  payload: { seq, sealed: sealed ?? base64urlEncode(P.sealEnvelope(nb, s.keys, 'close', s.sessionId, seq, new Uint8Array(0))) },
});
/** The same bytes, but the last base64url character with a non-zero unused low bit (non-canonical). */
function nonCanonical(b64: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(b64.at(-1)!);
  return b64.slice(0, -1) + alphabet[last | 1];
}
/** The session's bookkeeping (session-table.ts: memory on the embedded store, the tables on PostgreSQL). */
const sessionRow = async (id: string) => {
  const v = (await t.app.ctx.kex.sessions.snapshot()).sessions.find((x) => x.sessionId === id);
  return v ? { recv_seq: String(v.recvSeq), confirmed: v.confirmed } : undefined;
};

test('§2: keyId is the RFC 7638 thumbprint of {"alg","kty","pub"}; skt is base64url SHA-256 of the raw client key', async () => {
  const prekey = await fetchPrekey(t.app);
  const pk = prekey.identity.publicKey;
  const json = `{"alg":"ML-DSA-65","kty":"AKP","pub":"${base64urlEncode(pk)}"}`;
  assert.equal(prekey.identity.keyId, base64urlEncode(sha256(new TextEncoder().encode(json))));
  assert.equal(prekey.identity.keyId, jwkThumbprint('ML-DSA-65', pk));
  const s = await handshake(t.app);
  assert.equal(publicKeyThumbprint(s.hello.clientPublicKey), base64urlEncode(sha256(s.hello.clientPublicKey)));
  const stored = (await t.app.ctx.kex.sessions.snapshot()).sessions.find((x) => x.sessionId === s.sessionId);
  assert.equal(stored!.clientKeyThumbprint, base64urlEncode(sha256(s.hello.clientPublicKey)));
});

test('§4.1: the status and code of each malformed handshake field', async () => {
  const prekey = await fetchPrekey(t.app);
  const good = helloBody(P.clientStart(nb, prekey).hello);
  // Schema (before any handler code): 400 validation_failed.
  const schema: Array<Record<string, unknown>> = [
    { ...good, ciphertext: good.ciphertext.slice(0, -1) }, // wrong length
    { ...good, clientPublicKey: good.clientPublicKey + 'A' },
    { ...good, proof: good.proof.slice(0, 42) },
    { ...good, proof: '=' + good.proof.slice(1) }, // not base64url (padding, +, /)
    { ...good, ciphertext: '/' + good.ciphertext.slice(1) },
    { ...good, prekeyId: '' }, { ...good, prekeyId: 'a.b' }, { ...good, prekeyId: 'x'.repeat(65) }, { ...good, prekeyId: 7 },
    { ...good, extra: true },
    { prekeyId: good.prekeyId, ciphertext: good.ciphertext, clientPublicKey: good.clientPublicKey },
  ];
  for (const c of schema) refused(await openSession(c), 400, 'validation_failed');
  // Right length, but the unused low bits of the last character are not zero: 400 invalid_input.
  for (const f of ['ciphertext', 'clientPublicKey', 'proof'] as const) refused(await openSession({ ...good, [f]: nonCanonical(good[f]) }), 400, 'invalid_input');
  // Well-formed, unknown prekey: 410 gone.
  refused(await openSession({ ...good, prekeyId: 'no-such-prekey' }), 410, 'gone');
  // Well-formed, but the proof does not verify (any bit of any field changed): 400 decryption_failed.
  const proof = base64urlDecode(good.proof); proof[0]! ^= 1;
  refused(await openSession({ ...good, proof: base64urlEncode(proof) }), 400, 'decryption_failed');
  const ct = base64urlDecode(good.ciphertext); ct[5]! ^= 1;
  refused(await openSession({ ...good, ciphertext: base64urlEncode(ct) }), 400, 'decryption_failed');
  const pkc = base64urlDecode(good.clientPublicKey); pkc[5]! ^= 1;
  refused(await openSession({ ...good, clientPublicKey: base64urlEncode(pkc) }), 400, 'decryption_failed');
  // A client key the server cannot encapsulate to (ML-KEM coefficients ≥ q), with a proof that verifies: 400 decryption_failed.
  const bad = new Uint8Array(P.SIZES.publicKey).fill(0xff);
  const pending = P.clientStart(nb, prekey);
  const t1 = P.transcriptPrefix(prekey, bad, pending.hello.ciphertext);
  const proofBad = P.earlyProof(nb, pending.ss1, nb.hash('SHA-512', t1));
  refused(await openSession(helloBody({ ...pending.hello, clientPublicKey: bad, proof: proofBad })), 400, 'decryption_failed');
  // ct1 whose X25519 half is a low-order point (all-zero shared secret): 400 decryption_failed.
  const lowOrder = P.clientStart(nb, prekey).hello;
  const ctLow = lowOrder.ciphertext.slice(); ctLow.fill(0, 1088);
  refused(await openSession(helloBody({ ...lowOrder, ciphertext: ctLow })), 400, 'decryption_failed');
  // The same hello twice: 409 conflict.
  const once = helloBody(P.clientStart(nb, prekey).hello);
  assert.equal((await openSession(once)).statusCode, 200);
  refused(await openSession(once), 409, 'conflict');
});

test('§6: sequence numbers must strictly increase; gaps are allowed; refused envelopes consume nothing', async () => {
  const s = await handshake(t.app);
  const call = (seq: number, opts: { confirm?: boolean } = {}) => send(t.app, s, envelopeBody(s, seq, { method: 'GET', path: '/v1/health' }, opts));
  // A refused envelope (here: no confirmation on the first one) does not consume its number.
  refused(await call(5, { confirm: false }), 400, 'invalid_input');
  assert.equal((await sessionRow(s.sessionId))!.recv_seq, '0');
  for (const seq of [5, 6, 40, 2 ** 40]) {
    const res = await call(seq, { confirm: seq === 5 });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as { seq: number }).seq, seq);
    assert.equal(openResponse(s, seq, (res.json() as { sealed: string }).sealed).status, 200);
  }
  // recv_seq is the fence: the end of the window this instance reserved (§6.2), at least the highest accepted.
  assert.ok(Number((await sessionRow(s.sessionId))!.recv_seq) >= 2 ** 40);
  const replayed = await call(2 ** 40);
  refused(replayed, 409, 'conflict'); // replay
  assert.equal((replayed.json() as { nextSeq: number }).nextSeq, 2 ** 40 + 1, 'the 409 names the next usable number');
  refused(await call(41), 409, 'conflict'); // below the highest accepted
  // After the first accepted envelope the confirmation is optional, but a wrong one is still refused.
  const wrong = { ...envelopeBody(s, 2 ** 40 + 1, { method: 'GET', path: '/v1/health' }), confirmation: base64urlEncode(new Uint8Array(32)) };
  refused(await send(t.app, s, wrong), 400, 'decryption_failed');
  const ok = await call(2 ** 40 + 1, { confirm: false });
  assert.equal(ok.statusCode, 200, ok.body);
});

test('§6: the server answers the §10 vector inner request with exactly the vector innerResponse plaintext', async () => {
  const s = await handshake(t.app);
  const sealed = P.sealEnvelope(nb, s.keys, 'request', s.sessionId, INPUTS.seq, new TextEncoder().encode(INPUTS.innerRequest));
  const res = await send(t.app, s, { seq: INPUTS.seq, sealed: base64urlEncode(sealed), confirmation: base64urlEncode(s.keys.clientConfirmation) });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { seq: number; sealed: string };
  assert.deepEqual(Object.keys(body).sort(), ['sealed', 'seq']);
  const plain = P.openEnvelope(nb, s.keys, 'response', s.sessionId, INPUTS.seq, base64urlDecode(body.sealed));
  assert.equal(new TextDecoder().decode(plain), INPUTS.innerResponse);
});

test('§7: closing a session that never sent an envelope works (seq 1, no confirmation needed)', async () => {
  const s = await handshake(t.app);
  assert.deepEqual(await sessionRow(s.sessionId), { recv_seq: '0', confirmed: false });
  const res = await close(s, 1);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { closed: true });
  assert.equal(await sessionRow(s.sessionId), undefined);
  assert.equal(t.app.ctx.kex.vault.has(`s:${s.sessionId}`), false);
  refused(await send(t.app, s, envelopeBody(s, 2, { method: 'GET', path: '/v1/health' })), 404, 'not_found');
  refused(await close(s, 2), 404, 'not_found');
});

test('§7: close errors (status and code) and gaps before the close', async () => {
  const s = await handshake(t.app);
  const env = await send(t.app, s, envelopeBody(s, 3, { method: 'GET', path: '/v1/health' }));
  assert.equal(env.statusCode, 200, env.body);
  const good = base64urlEncode(P.sealEnvelope(nb, s.keys, 'close', s.sessionId, 9, new Uint8Array(0)));
  refused(await close(s, 9, good.slice(0, 21)), 400, 'validation_failed'); // sealed is exactly 22 characters
  refused(await close(s, 9, nonCanonical(good)), 400, 'invalid_input'); // non-canonical base64url
  refused(await t.app.inject({ method: 'DELETE', url: `/v1/kex/sessions/${s.sessionId}`, payload: { seq: 0, sealed: good } }), 400, 'validation_failed');
  refused(await close(s, 10, good), 400, 'decryption_failed'); // seq not the one sealed
  const flipped = base64urlDecode(good); flipped[3]! ^= 1;
  refused(await close(s, 9, base64urlEncode(flipped)), 400, 'decryption_failed');
  // A sealed request under the close's seq is not a close (kind is in the AAD).
  refused(await close(s, 9, base64urlEncode(P.sealEnvelope(nb, s.keys, 'request', s.sessionId, 9, new Uint8Array(0)))), 400, 'decryption_failed');
  refused(await close(s, 3), 409, 'conflict'); // not above the last accepted seq
  refused(await close(s, 2), 409, 'conflict');
  refused(await t.app.inject({ method: 'DELETE', url: `/v1/kex/sessions/${'C'.repeat(22)}`, payload: { seq: 9, sealed: good } }), 404, 'not_found');
  refused(await t.app.inject({ method: 'DELETE', url: '/v1/kex/sessions/short', payload: { seq: 9, sealed: good } }), 404, 'not_found');
  const fence = (await sessionRow(s.sessionId))!.recv_seq;
  assert.ok(Number(fence) >= 3);
  assert.equal((await sessionRow(s.sessionId))!.recv_seq, fence, 'refused closes change nothing');
  const ok = await close(s, 9, good); // a gap (3 → 9) is fine
  assert.equal(ok.statusCode, 200, ok.body);
  refused(await close(s, 9, good), 404, 'not_found'); // closed: the session is gone
});
