/**
 * Keyword PIR and the key directory across two instances on one real PostgreSQL: a keyword
 * database uploaded through A is looked up through B (over real sockets, through the SDK); an entry
 * published through A is found through B, and B's own rebuild sees nothing changed (the content
 * digest is shared through the store, so instances do not fight with versions); an unpublish
 * through B reaches lookups through A.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { twoInstances, type InstancePair } from '../support/pair.ts';
import { createClient } from '../../src/client/index.ts';
import { DIRECTORY_DB_NAME } from '../../src/pir/directory-entry.ts';

const enc = new TextEncoder();
let pair: InstancePair;
let a: TestApp;
let b: TestApp;
let urlA: string;
let urlB: string;
before(async () => {
  pair = await twoInstances({ PIR_GRACE_SECONDS: '1' }, { listen: true });
  ({ a, b, urlA, urlB } = pair);
});
after(async () => { await pair?.close(); });

test('keyword upload on A, lookups through B; directory publish on A, found through B; unpublish on B', async () => {
  assert.equal(a.store.kind, 'postgres');
  const identity = (await a.app.ctx.systemKeys.identity()).publicKey;
  assert.deepEqual((await b.app.ctx.systemKeys.identity()).publicKey, identity, 'one identity for both instances');
  const entries = Array.from({ length: 2000 }, (_, i) => ({ key: enc.encode(`user-${i}`), value: enc.encode(`v${i}`) }));
  await createClient(urlA, { token: ADMIN_TOKEN }).pir.uploadKeyword('users', entries, 8);
  const db = await createClient(urlB).pir.open('users', { identityPublicKey: identity });
  for (const i of [0, 1999, 777]) assert.deepEqual(await db.lookup(entries[i]!.key), entries[i]!.value);
  assert.equal(await db.lookup('user-2000'), null);
  assert.ok(b.app.ctx.pir.loadedVersions().includes('users@1'), 'B loaded the keyword version from the store');

  const { token } = await a.app.ctx.tokens.mint('erin', {});
  const erin = createClient(urlA, { token });
  await erin.keys.create({ name: 'erin-sig', algorithm: 'ML-DSA-65' });
  await erin.pir.directory.publish('erin', 'erin-sig');
  const v = await a.app.ctx.pirDirectory.rebuildDirectory();
  assert.equal(typeof v, 'number');
  assert.equal(await b.app.ctx.pirDirectory.rebuildDirectory(), undefined, 'B sees the same content: no second version');
  const found = await createClient(urlB).pir.directory.lookup('erin', { identityPublicKey: identity });
  assert.equal(found?.algorithm, 'ML-DSA-65');
  assert.deepEqual(found?.publicKey, (await erin.keys.publicKey('erin-sig')).publicKey);

  await createClient(urlB, { token }).pir.directory.unpublish('erin');
  await b.app.ctx.pirDirectory.rebuildDirectory();
  const dirA = createClient(urlA).pir.directory;
  assert.equal(await dirA.lookup('erin', { identityPublicKey: identity }), null);
  const versions = await a.store.query<{ n: number }>('SELECT count(*)::int AS n FROM pir_databases WHERE name = $1', [DIRECTORY_DB_NAME]);
  assert.equal(versions[0]!.n, 2, 'one version per change, not per instance');
});
