/**
 * Several instances on one real PostgreSQL: a session opened on one is usable on the other, a
 * sequence number is accepted by exactly one instance even when raced, and a close on either
 * ends it everywhere. No kex secret is in the store in a form the server could open alone.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { testApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { nobleBackend as nb } from '../../src/crypto/noble.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';
import { envelopeBody, handshake, openResponse, send } from './_client.ts';

let pg: TestPostgres;
let stores: Store[];
let a: TestApp;
let b: TestApp;
before(async () => {
  pg = await startPostgres();
  stores = [await openStore({ dataDir: '/nonexistent', databaseUrl: pg.url }), await openStore({ dataDir: '/nonexistent', databaseUrl: pg.url })];
  // Instances of one deployment share the master key and the admin token.
  const secrets = { masterKey: new Uint8Array(randomBytes(32)), adminToken: ADMIN_TOKEN };
  a = await testApp({}, { store: stores[0]!, secrets });
  b = await testApp({}, { store: stores[1]!, secrets });
});
after(async () => {
  await b?.close();
  await a?.close();
  for (const s of stores ?? []) await s.close();
  await pg?.stop();
});

test('open on A, envelopes alternate between A and B, raced replay accepted once, close on B erases on A', async () => {
  assert.equal(a.store.kind, 'postgres');
  const s = await handshake(a.app);
  for (let seq = 1; seq <= 4; seq++) {
    const app = seq % 2 ? b.app : a.app;
    const res = await send(app, s, envelopeBody(s, seq, { method: 'GET', path: '/v1/health' }));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(openResponse(s, seq, (res.json() as { sealed: string }).sealed).status, 200);
  }
  // The same envelope raced to both instances: exactly one runs it.
  const body = envelopeBody(s, 5, { method: 'GET', path: '/v1/health' });
  const raced = await Promise.all([send(a.app, s, body), send(b.app, s, body), send(a.app, s, body), send(b.app, s, body)]);
  assert.deepEqual(raced.map((r) => r.statusCode).sort(), [200, 409, 409, 409]);

  const close = await b.app.inject({ method: 'DELETE', url: `/v1/kex/sessions/${s.sessionId}`, payload: { seq: 6, sealed: base64urlEncode(P.sealEnvelope(nb, s.keys, 'close', s.sessionId, 6, new Uint8Array(0))) } });
  assert.equal(close.statusCode, 200, close.body);
  assert.equal((await send(a.app, s, envelopeBody(s, 7, { method: 'GET', path: '/v1/health' }))).statusCode, 404);
  await a.app.ctx.kex.maintain();
  assert.equal(a.app.ctx.kex.vault.has(`s:${s.sessionId}`), false, 'A dropped the keys of the session closed on B');
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
