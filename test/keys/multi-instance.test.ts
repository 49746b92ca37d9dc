/**
 * Two instances on one PostgreSQL: started together they end up with ONE identity key and ONE token
 * key; a token minted by one verifies on the other, also after a rotation on the other.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { testApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { openStore, type Store } from '../../src/store/index.ts';

let pg: TestPostgres;
let stores: Store[] = [];
let apps: TestApp[] = [];

before(async () => {
  pg = await startPostgres();
  stores = await Promise.all([0, 1].map(() => openStore({ dataDir: '/nonexistent', databaseUrl: pg.url })));
  const secrets = { masterKey: new Uint8Array(randomBytes(32)), adminToken: ADMIN_TOKEN };
  // Started concurrently: both race to create the system keys.
  apps = await Promise.all(stores.map((store) => testApp({ WORKERS: '1' }, { store, secrets })));
});
after(async () => {
  for (const a of apps) await a.close();
  for (const s of stores) await s.close();
  await pg?.stop();
});

test('one identity key and one token key after a concurrent first start', async () => {
  const [a, b] = apps as [TestApp, TestApp];
  const rows = await stores[0]!.query("SELECT name, latest_version FROM keys WHERE owner = 'system' ORDER BY name");
  assert.deepEqual(rows.map((r) => r.name), ['identity', 'token-signing']);
  const [ia, ib] = [await a.app.ctx.systemKeys.identity(), await b.app.ctx.systemKeys.identity()];
  assert.equal(ia.keyId, ib.keyId);
  assert.deepEqual(ia.publicKey, ib.publicKey);
  const msg = new TextEncoder().encode('prekey');
  const sig = await a.app.ctx.systemKeys.signIdentity(msg, new TextEncoder().encode('ctx'));
  assert.equal(await b.app.ctx.systemKeys.verifyIdentity(msg, sig, new TextEncoder().encode('ctx')), true);
  assert.equal(await b.app.ctx.systemKeys.verifyIdentity(msg, sig), false);
});

test('tokens cross instances, also after a token-key rotation on the other instance', async () => {
  const [a, b] = apps as [TestApp, TestApp];
  const before = await a.app.ctx.tokens.mint('alice');
  assert.equal((await b.app.ctx.tokens.verify(before.token)).sub, 'alice');
  await b.app.ctx.tokens.rotate();
  const after = await a.app.ctx.tokens.mint('alice');
  assert.notEqual(after.kid, before.kid, 'instance A mints with the key B rotated to');
  await new Promise((r) => setTimeout(r, 1100)); // unknown kids trigger a reload at most once a second
  assert.equal((await b.app.ctx.tokens.verify(after.token)).sub, 'alice');
  assert.equal((await a.app.ctx.tokens.verify(before.token)).sub, 'alice');
});

test('identity rotation on one instance is seen by the other', async () => {
  const [a, b] = apps as [TestApp, TestApp];
  const v = (await b.app.ctx.systemKeys.identity()).version;
  await a.app.ctx.systemKeys.rotateIdentity();
  assert.equal((await b.app.ctx.systemKeys.identity()).version, v + 1);
  assert.equal((await b.app.ctx.systemKeys.identityVersions()).length, v + 1);
});
