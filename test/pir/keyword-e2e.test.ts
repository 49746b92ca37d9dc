/**
 * Keyword PIR and the key directory end to end: through the SDK over a real socket. A keyword
 * database is uploaded, opened pinned, and looked up (present keys → their values, absent → null)
 * with the same number of PIR queries for every lookup; a new version is followed; a tenant
 * publishes a managed key in the directory and an anonymous client finds it privately, verified
 * under the service identity; rotation and unpublishing reach the directory.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, ADMIN_TOKEN, type TestApp, listeningTestApp } from '../support/app.ts';
import { createClient } from '../../src/client/index.ts';
import { DIRECTORY_DB_NAME } from '../../src/pir/directory-entry.ts';

const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const enc = new TextEncoder();

/** A fetch that counts pirQuery requests (POST …/query). */
function countingFetch(): { fetch: typeof globalThis.fetch; queries: () => number } {
  let n = 0;
  return {
    fetch: (input, init) => {
      const req = input instanceof Request ? input : new Request(input, init);
      if (req.method === 'POST' && new URL(req.url).pathname.endsWith('/query')) n++;
      return globalThis.fetch(input, init);
    },
    queries: () => n,
  };
}

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('keyword PIR through the SDK over a real socket', () => {
  let t: TestApp;
  let url: string;
  let identity: Uint8Array;
  before(async () => {
    const listening = await listeningTestApp({ RATE_LIMIT_MAX: '1000000' });
    t = listening;
    url = listening.baseUrl;
    identity = (await t.app.ctx.systemKeys.identity()).publicKey;
  });
  after(() => t.close());

  test('upload 3000 entries; 100 present keys found, 100 absent → null, 2·m queries each; a new version is followed', async () => {
    const entries = Array.from({ length: 3000 }, (_, i) => ({ key: enc.encode(`+1555${String(i).padStart(7, '0')}`), value: rand(i % 48) }));
    const admin = createClient(url, { token: ADMIN_TOKEN });
    const cfg = await admin.pir.uploadKeyword('spam', entries, 48);
    assert.equal(cfg.keyword?.entries, 3000);
    const counter = countingFetch();
    const db = await createClient(url, { fetch: counter.fetch }).pir.open('spam', { identityPublicKey: identity });
    const perLookup = db.config.keyword!.hashes * db.config.keyword!.recordsPerBucket;
    assert.equal(perLookup, 2);
    for (let j = 0; j < 100; j++) {
      const i = Math.floor(Math.random() * entries.length);
      const before = counter.queries();
      assert.deepEqual(await db.lookup(entries[i]!.key), entries[i]!.value, `entry ${i}`);
      assert.equal(counter.queries() - before, perLookup);
    }
    for (let j = 0; j < 100; j++) {
      const before = counter.queries();
      assert.equal(await db.lookup(`absent-${j}-${Math.random()}`), null);
      assert.equal(counter.queries() - before, perLookup, 'an absent key costs the same queries');
    }
    // A new version (another salt and layout): after a refresh the handle uses its layout.
    const changed = entries.slice(0, 10).map((e) => ({ key: e.key, value: enc.encode('changed') }));
    await admin.pir.uploadKeyword('spam', changed, 8);
    await db.refresh();
    assert.deepEqual(await db.lookup(entries[3]!.key), enc.encode('changed'));
    assert.equal(db.version, 2);
    assert.equal(await db.lookup(entries[500]!.key), null, 'gone in version 2');
    // An index database has no keyword layout.
    await admin.pir.upload('plain', rand(64), 8);
    const plain = await createClient(url).pir.open('plain', { identityPublicKey: identity });
    await assert.rejects(plain.lookup('x'), /not a keyword database/);
  });

  test('directory: a published X-Wing key is found privately and verifies; rotation and unpublish reach it', async () => {
    const { token } = await t.app.ctx.tokens.mint('bob', {});
    const bob = createClient(url, { token });
    await bob.keys.create({ name: 'bob-kem', algorithm: 'X-Wing' });
    assert.equal(await createClient(url).pir.directory.lookup('bob@example.org', { identityPublicKey: identity }), null, 'no directory yet');
    const listing = await bob.pir.directory.publish('bob@example.org', 'bob-kem');
    assert.equal(listing.entryName, 'bob@example.org');
    assert.deepEqual((await bob.pir.directory.list()).map((e) => e.entryName), ['bob@example.org']);
    const pk = await bob.keys.publicKey('bob-kem');

    const anyone = createClient(url).pir.directory;
    const found = await until(() => anyone.lookup('bob@example.org', { identityPublicKey: identity }), (v) => v !== null);
    assert.ok(found, 'the directory rebuild published the entry');
    assert.equal(found.algorithm, 'X-Wing');
    assert.equal(found.version, 1);
    assert.deepEqual(found.publicKey, pk.publicKey);
    assert.deepEqual(found.identity.publicKey, identity);
    assert.equal(found.owner, 'tenant:bob', 'the signed entry names its publisher');
    assert.equal((await anyone.lookup('bob@example.org', { identityPublicKey: identity, owner: 'tenant:bob' }))?.owner, 'tenant:bob');
    assert.equal(await anyone.lookup('nobody@example.org', { identityPublicKey: identity }), null);

    // Names are first come, first served: a squatter's entry says who published it, and a looker that
    // knows whom it means refuses it.
    const mallory = createClient(url, { token: (await t.app.ctx.tokens.mint('mallory', {})).token });
    await mallory.keys.create({ name: 'm-kem', algorithm: 'X-Wing' });
    await mallory.pir.directory.publish('bob@example.com', 'm-kem');
    const squatted = await until(() => anyone.lookup('bob@example.com', { identityPublicKey: identity }), (r) => r !== null);
    assert.equal(squatted?.owner, 'tenant:mallory');
    await assert.rejects(anyone.lookup('bob@example.com', { identityPublicKey: identity, owner: 'tenant:bob' }), /published by tenant:mallory, not tenant:bob/);
    await mallory.pir.directory.unpublish('bob@example.com');

    // Rotation: the next rebuild (sweep tick; called directly here) publishes version 2.
    await bob.keys.rotate('bob-kem');
    const v = await t.app.ctx.pirDirectory.rebuildDirectory();
    assert.ok(typeof v === 'number', 'a rotation makes a new directory version');
    assert.equal(await t.app.ctx.pirDirectory.rebuildDirectory(), undefined, 'nothing changed: no new version');
    const rotated = await until(() => anyone.lookup('bob@example.org', { identityPublicKey: identity }), (r) => r?.version === 2);
    assert.equal(rotated?.version, 2);
    assert.deepEqual(rotated?.publicKey, (await bob.keys.publicKey('bob-kem')).publicKey);

    await bob.pir.directory.unpublish('bob@example.org');
    const gone = await until(() => anyone.lookup('bob@example.org', { identityPublicKey: identity }), (v) => v === null);
    assert.equal(gone, null);
  });

  test('directory: an entry whose key was deleted is left out of the next version; the others stay', async () => {
    const { token } = await t.app.ctx.tokens.mint('fay', {});
    const fay = createClient(url, { token });
    await fay.keys.create({ name: 'fay-tmp', algorithm: 'ML-KEM-768' });
    await fay.keys.create({ name: 'fay-keep', algorithm: 'ML-DSA-44' });
    await fay.pir.directory.publish('fay-tmp', 'fay-tmp');
    await fay.pir.directory.publish('fay', 'fay-keep');
    await t.app.ctx.pirDirectory.rebuildDirectory();
    const dir = createClient(url).pir.directory;
    assert.equal((await until(() => dir.lookup('fay-tmp', { identityPublicKey: identity }), (v) => v !== null))?.algorithm, 'ML-KEM-768');
    await fay.keys.update('fay-tmp', { deletionAllowed: true });
    await fay.keys.delete('fay-tmp');
    assert.equal(typeof await t.app.ctx.pirDirectory.rebuildDirectory(), 'number');
    assert.equal(await until(() => dir.lookup('fay-tmp', { identityPublicKey: identity }), (v) => v === null), null);
    assert.equal((await dir.lookup('fay', { identityPublicKey: identity }))?.algorithm, 'ML-DSA-44');
  });

  test('a wrong pin is refused; the directory name cannot be uploaded by the admin', async () => {
    const other = rand(1952);
    await assert.rejects(createClient(url).pir.directory.lookup('bob@example.org', { identityPublicKey: other }), /pinned key/);
    const res = await t.app.inject({ method: 'PUT', url: `/v1/pir/databases/${DIRECTORY_DB_NAME}?format=keyword&maxValueSize=8`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from('PQKW') });
    assert.equal(res.statusCode, 403, res.body);
  });

  test('a version change during a lookup (409) is followed and the lookup redone under the new layout', async () => {
    const g = await testApp({ RATE_LIMIT_MAX: '1000000', PIR_GRACE_SECONDS: '1' });
    try {
      const gurl = await g.app.listen({ port: 0, host: '127.0.0.1' });
      const admin = createClient(gurl, { token: ADMIN_TOKEN });
      const key = enc.encode('moving');
      await admin.pir.uploadKeyword('moving', [{ key, value: enc.encode('one') }, { key: enc.encode('other'), value: enc.encode('x') }], 8);
      const db = await createClient(gurl).pir.open('moving', { identityPublicKey: (await g.app.ctx.systemKeys.identity()).publicKey });
      assert.deepEqual(await db.lookup(key), enc.encode('one'));
      const salt1 = db.config.keyword!.salt;
      await admin.pir.uploadKeyword('moving', [{ key, value: enc.encode('two') }], 8);
      await new Promise((r) => setTimeout(r, 2500)); // past the grace period and the metadata cache
      assert.deepEqual(await db.lookup(key), enc.encode('two'));
      assert.equal(db.version, 2);
      assert.notEqual(db.config.keyword!.salt, salt1, 'a new version has a new salt');
      assert.equal(await db.lookup('other'), null);
    } finally {
      await g.close();
    }
  });
});
