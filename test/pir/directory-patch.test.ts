/**
 * Directory live updates (src/pir/directory.ts over keyword-patch.ts): publishing a new entry,
 * re-pointing after a key rotation and unpublishing each make one version whose parentVersion is
 * the previous one, with the same keyword layout and salt; an SDK handle follows with a hint delta
 * (no full hint download) and then finds the new state. A change of more than maxPatchEntries
 * entries falls back to a full rebuild (new salt, full hint), sized with headroom.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { type TestApp, listeningTestApp } from '../support/app.ts';
import { createClient } from '../../src/client/index.ts';
import { decodeDirectoryValue, DIRECTORY_DB_NAME } from '../../src/pir/directory-entry.ts';
import { directoryCapacity, maxPatchEntries } from '../../src/pir/directory.ts';
import { keywordShape } from '../../src/pir/keyword.ts';

/** A fetch that counts full hint downloads (GET …/hint) and hint deltas (GET …/hint-delta). */
function countingFetch(): { fetch: typeof globalThis.fetch; hints: () => number; deltas: () => number } {
  let hints = 0, deltas = 0;
  return {
    fetch: (input, init) => {
      const req = input instanceof Request ? input : new Request(input, init);
      const path = new URL(req.url).pathname;
      if (req.method === 'GET' && path.endsWith('/hint')) hints++;
      if (req.method === 'GET' && path.endsWith('/hint-delta')) deltas++;
      return globalThis.fetch(input, init);
    },
    hints: () => hints,
    deltas: () => deltas,
  };
}

describe('directory changes are keyword patches followed by hint deltas', () => {
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

  test('publish, rotate, unpublish: parentVersion chain, same salt, delta refresh, new state found; full rebuild for a large change', async () => {
    // Debounced rebuilds off: each step's explicit rebuildDirectory() is the one that runs (no timer races).
    await t.app.ctx.pirDirectory.close();
    const { token } = await t.app.ctx.tokens.mint('carol', {});
    const carol = createClient(url, { token });
    for (const k of ['k1', 'k2', 'k3', 'k4']) await carol.keys.create({ name: k, algorithm: 'X-Wing' });
    await carol.pir.directory.publish('e1', 'k1');
    await carol.pir.directory.publish('e2', 'k2');
    await t.app.ctx.pirDirectory.rebuildDirectory();

    const counter = countingFetch();
    const db = await createClient(url, { fetch: counter.fetch }).pir.open(DIRECTORY_DB_NAME, { identityPublicKey: identity });
    const salt = db.config.keyword!.salt;
    assert.equal(db.config.keyword!.entries, directoryCapacity(2), 'a full rebuild leaves headroom');
    assert.ok(directoryCapacity(2) > 2);
    assert.equal(db.config.keyword!.buckets, keywordShape(directoryCapacity(2), db.config.keyword!.maxValueSize).buckets);
    const pkOf = async (name: string): Promise<Uint8Array | undefined> => {
      const v = await db.lookup(name);
      return v === null ? undefined : decodeDirectoryValue(name, v).publicKey;
    };
    assert.deepEqual(await pkOf('e1'), (await carol.keys.publicKey('k1')).publicKey);

    /** Runs the rebuild, refreshes the handle and checks it moved one patched version by a delta. */
    const step = async (what: string): Promise<void> => {
      const prev = db.version;
      const hints = counter.hints(), deltas = counter.deltas();
      await t.app.ctx.pirDirectory.rebuildDirectory();
      await db.refresh();
      assert.equal(db.version, prev + 1, `${what}: one new version`);
      assert.equal(db.config.parentVersion, prev, `${what}: patched from the previous version`);
      assert.equal(db.config.keyword!.salt, salt, `${what}: same salt and layout`);
      assert.notEqual(db.lastHintUpdate.kind, 'full', `${what}: the handle followed with a delta (hint rows or records)`);
      assert.equal(counter.hints() - hints, 0, `${what}: no full hint download`);
      assert.equal(counter.deltas() - deltas, 1, `${what}: one hint delta`);
    };

    await carol.pir.directory.publish('e3', 'k3');
    await step('publish');
    assert.deepEqual(await pkOf('e3'), (await carol.keys.publicKey('k3')).publicKey);
    assert.deepEqual(await pkOf('e1'), (await carol.keys.publicKey('k1')).publicKey, 'the others stay');

    const before1 = await pkOf('e1');
    await carol.keys.rotate('k1');
    await step('rotation');
    const after1 = await pkOf('e1');
    assert.deepEqual(after1, (await carol.keys.publicKey('k1')).publicKey);
    assert.notDeepEqual(after1, before1, 'the rotated key is published');
    assert.equal(decodeDirectoryValue('e1', (await db.lookup('e1'))!).keyVersion, 2);

    await carol.pir.directory.unpublish('e2');
    await step('unpublish');
    assert.equal(await db.lookup('e2'), null, 'unpublished');
    assert.ok(await pkOf('e3'));

    // The signed lookup (fresh client) verifies the patched entry under the service identity.
    const found = await createClient(url).pir.directory.lookup('e1', { identityPublicKey: identity });
    assert.equal(found?.version, 2);

    // More entries change at once than a patch takes: a full rebuild (the third entry above always found
    // a free slot: at most one bucket was full and b1 ≠ b2).
    const many = Array.from({ length: maxPatchEntries(3) + 1 }, (_, i) => `bulk-${i}`);
    for (const name of many) await carol.pir.directory.publish(name, 'k4');
    const prev = db.version, hints = counter.hints();
    await t.app.ctx.pirDirectory.rebuildDirectory();
    await db.refresh();
    assert.equal(db.version, prev + 1);
    assert.equal(db.config.parentVersion, undefined, 'a large change falls back to a full upload');
    assert.equal(db.config.keyword!.entries, directoryCapacity(2 + many.length), 'e1, e3 and the bulk entries, with headroom');
    assert.notEqual(db.config.keyword!.salt, salt);
    assert.equal(db.lastHintUpdate.kind, 'full');
    assert.equal(counter.hints() - hints, 1);
    for (const e of ['e1', 'e3', many[0]!, many[many.length - 1]!]) assert.ok(await pkOf(e), `${e} after the rebuild`);
    assert.equal(await db.lookup('e2'), null);
    assert.equal(await t.app.ctx.pirDirectory.rebuildDirectory(), undefined, 'nothing changed: no new version');
  });
});
