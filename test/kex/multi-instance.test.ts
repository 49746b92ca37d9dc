/**
 * Several instances on one real PostgreSQL: a session opened on one is usable on the other, a
 * sequence number is accepted by exactly one instance even when raced, a client moving instance
 * skips ahead without any request running twice (PROTOCOL.md §6.2), and a close on either ends it
 * everywhere. No kex secret is in the store in a form the server could open alone.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { twoInstances, type InstancePair } from '../support/pair.ts';
import { nobleBackend as nb } from '../../src/crypto/noble.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';
import { envelopeBody, handshake, openResponse, send } from './_client.ts';
import { createClient } from '../../src/client/index.ts';

/** A short sequence lease, so a client moving instance waits little. */
const LEASE_MS = 300;

let pair: InstancePair;
let a: TestApp;
let b: TestApp;
let urlA: string;
let urlB: string;
before(async () => {
  pair = await twoInstances({ KEX_SEQ_LEASE_MS: String(LEASE_MS) }, { listen: true });
  ({ a, b, urlA, urlB } = pair);
});
after(async () => { await pair?.close(); });

const health = { method: 'GET', path: '/v1/health' };
const nextSeqOf = (res: { statusCode: number; json: () => unknown }) => { assert.equal(res.statusCode, 409); return (res.json() as { nextSeq: number }).nextSeq; };

test('a client moving instance skips ahead; the refused envelope never runs later; a raced envelope runs once; close on B ends it on A', async () => {
  assert.equal(a.store.kind, 'postgres');
  const s = await handshake(a.app);
  // seq 1 on B: B reserves a window and accepts from memory afterwards.
  let res = await send(b.app, s, envelopeBody(s, 1, health));
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(openResponse(s, 1, (res.json() as { sealed: string }).sealed).status, 200);
  assert.equal((await send(b.app, s, envelopeBody(s, 2, health))).statusCode, 200);
  // seq 3 on A: A waits for B's lease to end, then refuses it with the next usable number.
  const t0 = performance.now();
  const refused = envelopeBody(s, 3, health);
  const next = nextSeqOf(await send(a.app, s, refused));
  assert.ok(performance.now() - t0 >= LEASE_MS * 0.5, 'A waited for B\'s lease');
  assert.ok(next > 3, `nextSeq ${next}`);
  // The refused envelope is dead everywhere: B (whose window held 3) no longer takes it.
  nextSeqOf(await send(b.app, s, refused));
  nextSeqOf(await send(a.app, s, refused));
  // The client seals again under nextSeq: A accepts.
  res = await send(a.app, s, envelopeBody(s, next, health));
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(a.app.ctx.kex.seq.stats.waits >= 1, true);
  // The same envelope raced to both instances: exactly one runs it.
  const body = envelopeBody(s, next + 1, health);
  const raced = await Promise.all([send(a.app, s, body), send(b.app, s, body), send(a.app, s, body), send(b.app, s, body)]);
  assert.deepEqual(raced.map((r) => r.statusCode).sort(), [200, 409, 409, 409]);

  // A close on B waits for A's lease and ends the session everywhere.
  const closeSeq = next + 2;
  const close = await b.app.inject({ method: 'DELETE', url: `/v1/kex/sessions/${s.sessionId}`, payload: { seq: closeSeq, sealed: base64urlEncode(P.sealEnvelope(nb, s.keys, 'close', s.sessionId, closeSeq, new Uint8Array(0))) } });
  assert.equal(close.statusCode, 409, 'closeSeq sits inside A\'s window: B refuses it once the lease ended');
  const closeNext = (close.json() as { nextSeq: number }).nextSeq;
  const close2 = await b.app.inject({ method: 'DELETE', url: `/v1/kex/sessions/${s.sessionId}`, payload: { seq: closeNext, sealed: base64urlEncode(P.sealEnvelope(nb, s.keys, 'close', s.sessionId, closeNext, new Uint8Array(0))) } });
  assert.equal(close2.statusCode, 200, close2.body);
  assert.equal((await send(a.app, s, envelopeBody(s, closeNext + 1, health))).statusCode, 404);
  await a.app.ctx.kex.maintain();
  assert.equal(a.app.ctx.kex.vault.has(`s:${s.sessionId}`), false, 'A dropped the keys of the session closed on B');
});

test('SDK over two instances: a session stays on one; behind a load balancer without stickiness GETs skip ahead and other calls fail once, never running twice', async () => {
  const identity = ((await a.app.inject({ method: 'GET', url: '/v1/kex/prekey' })).json() as { identity: { publicKey: string } }).identity.publicKey;
  // Two base URLs: sessions are spread over the instances, each one staying on its instance.
  const sticky = createClient([urlA, urlB], { token: ADMIN_TOKEN });
  const waits0 = a.app.ctx.kex.seq.stats.waits + b.app.ctx.kex.seq.stats.waits;
  const session = await sticky.openSecureSession({ identityKey: identity });
  const names = Array.from({ length: 6 }, (_, i) => `sticky-${i}-${Date.now()}`);
  for (const name of names) assert.equal((await session.call('POST', '/v1/keys', { name, algorithm: 'ML-DSA-44' })).status, 201);
  await session.close();
  assert.equal(a.app.ctx.kex.seq.stats.waits + b.app.ctx.kex.seq.stats.waits, waits0, 'a sticky session never waits for a lease');

  // A load balancer that alternates every request between the instances.
  let n = 0;
  const alternating: typeof fetch = (input, init) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    url.host = new URL(n++ % 2 ? urlB : urlA).host;
    return fetch(new Request(url, req));
  };
  const lb = createClient(urlA, { token: ADMIN_TOKEN, fetch: alternating });
  const s = await lb.openSecureSession({ identityKey: identity });
  for (let i = 0; i < 4; i++) assert.equal((await s.call('GET', '/v1/keys?limit=1')).status, 200, 'a GET that moved is sealed again under nextSeq');
  const name = `moved-${Date.now()}`;
  const outcomes: string[] = [];
  for (let i = 0; i < 4; i++) {
    try {
      outcomes.push(String((await s.call('POST', '/v1/keys', { name: `${name}-${i}`, algorithm: 'ML-DSA-44' })).status));
    } catch (err) {
      assert.ok(err instanceof Error && (err as { status?: number }).status === 409, String(err));
      outcomes.push('409');
    }
  }
  assert.ok(outcomes.includes('409'), `a POST that moved fails with the 409 (${outcomes})`);
  const listed = (await a.app.inject({ method: 'GET', url: '/v1/keys?limit=1000', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json() as { keys: Array<{ name: string }> };
  for (let i = 0; i < 4; i++) {
    const made = listed.keys.filter((k) => k.name === `${name}-${i}`).length;
    assert.equal(made, outcomes[i] === '201' ? 1 : 0, `call ${i} (${outcomes[i]}) ran ${made} times`);
  }
  await s.close();
});

test('a handshake on B with a prekey fetched from A; the store holds no plaintext secret', async () => {
  const s = await handshake(b.app, undefined);
  const res = await send(a.app, s, envelopeBody(s, 1, { method: 'GET', path: '/v1/health' }));
  assert.equal(res.statusCode, 200, res.body);
  // Every bytea value in the kex tables, against the session's keys.
  const dump = await a.store.query<{ v: Uint8Array }>(`
    SELECT public_key AS v FROM kex_instances UNION ALL SELECT public_key FROM kex_prekeys UNION ALL SELECT signature FROM kex_prekeys
    UNION ALL SELECT ciphertext FROM kex_grants UNION ALL SELECT sealed FROM kex_grants UNION ALL SELECT digest FROM kex_handshakes`);
  assert.ok(dump.length > 0);
  const all = Buffer.concat(dump.map((r) => Buffer.from(r.v)));
  for (const k of [s.keys.c2sKey, s.keys.s2cKey, s.keys.clientConfirmation]) assert.equal(all.indexOf(Buffer.from(k)), -1);
});

test('a registry entry written by a database writer without the master key receives no grant', async () => {
  // The attacker registers its own X-Wing grant key, "seen" far in the future so it never goes stale,
  // once without a MAC and once with a MAC made under a key it guessed.
  const attacker = nb.keygen('X-Wing');
  await a.store.query(`INSERT INTO kex_instances (instance_id, key_id, public_key, registry_mac, seen_at)
    VALUES ('evil-1', 'k1', $1, NULL, now()), ('evil-2', 'k2', $1, $2, now() + interval '10 years'), ('evil-3', 'k3', $1, $2, now())`,
  [attacker.publicKey, new Uint8Array(32).fill(7)]);
  const s = await handshake(a.app);
  assert.equal((await send(a.app, s, envelopeBody(s, 1, { method: 'GET', path: '/v1/health' }))).statusCode, 200);
  const grantees = (await a.store.query<{ instance_id: string }>('SELECT DISTINCT instance_id FROM kex_grants')).map((r) => r.instance_id);
  assert.deepEqual(grantees.filter((id) => id.startsWith('evil')), [], 'no grant to a forged registry entry');
  assert.ok(grantees.includes(b.app.ctx.kex.vault.instanceId), 'the genuine second instance is granted to');
  await a.store.query("DELETE FROM kex_instances WHERE instance_id LIKE 'evil-%'");
});
