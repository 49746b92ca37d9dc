/**
 * Live updates across two instances on one real PostgreSQL: a patch made on A is served by B (B
 * loads the patched version from the store and checks its SHA-256s), B's reader follows it with a
 * hint delta that B computes from the stored chain, a stale patch on B gets 409 with the current
 * config, and two racing patches of one base version on A and B: exactly one wins.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { twoInstances, type InstancePair } from '../support/pair.ts';
import { createClient } from '../../src/client/index.ts';
import { encodeRecordChanges } from '../../src/pir/changes.ts';
import type { PirConfigJson } from '../../src/pir/config.ts';
import { fillRandom } from './_helpers.ts';

const SIZE = 32, COUNT = 6000;
let pair: InstancePair;
let a: TestApp;
let b: TestApp;
let urlA: string;
let urlB: string;
before(async () => {
  pair = await twoInstances({}, { listen: true });
  ({ a, b, urlA, urlB } = pair);
});
after(async () => { await pair?.close(); });

test('patch on A, served by B with a hint delta; stale and racing patches get 409', async () => {
  assert.equal(a.store.kind, 'postgres');
  const identity = (await a.app.ctx.systemKeys.identity()).publicKey;
  const v1 = fillRandom(new Uint8Array(SIZE * COUNT));
  const adminA = createClient(urlA, { token: ADMIN_TOKEN });
  await adminA.pir.upload('shared', v1, SIZE, { queriesPerHint: 4096 });
  const db = await createClient(urlB).pir.open('shared', { identityPublicKey: identity });
  assert.deepEqual(await db.get(10), v1.subarray(10 * SIZE, 11 * SIZE));

  const fresh = fillRandom(new Uint8Array(SIZE));
  const v2 = await adminA.pir.patch('shared', 1, [{ index: 10, record: fresh }, { index: 4321, record: null }], SIZE);
  assert.equal(v2.parentVersion, 1);
  // B trusts its version list for up to 2 s: refresh until it presents version 2.
  for (let i = 0; i < 50 && db.version < 2; i++) {
    await db.refresh();
    if (db.version < 2) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(db.version, 2);
  assert.deepEqual(db.lastHintUpdate, { kind: 'records', bytes: 20 + 2 * (4 + 2 * SIZE) }, 'B served the record delta from the chain in the store');
  const rowsDelta = await b.app.inject({ method: 'GET', url: '/v1/pir/databases/shared/hint-delta?from=1&version=2' });
  assert.equal(rowsDelta.statusCode, 200);
  assert.ok(rowsDelta.rawPayload.length < v2.sizes.hint / 2, 'and the rows delta');
  assert.ok(b.app.ctx.pir.loadedVersions().includes('shared@2'), 'B loaded the patched version from the store');
  assert.deepEqual(await db.get(10), fresh);
  assert.deepEqual(await db.get(4321), new Uint8Array(SIZE));
  assert.deepEqual(await db.get(11), v1.subarray(11 * SIZE, 12 * SIZE));

  // A stale patch on B (base 1, current 2): 409 carrying version 2's signed config.
  const patch = (x: TestApp, base: number, index: number) => x.app.inject({
    method: 'PATCH', url: `/v1/pir/databases/shared?baseVersion=${base}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
    payload: Buffer.from(encodeRecordChanges([{ index, record: null }], SIZE)),
  });
  const stale = await patch(b, 1, 5);
  assert.equal(stale.statusCode, 409, stale.body.slice(0, 200));
  assert.equal((stale.json() as { currentConfig: PirConfigJson }).currentConfig.version, 2);

  // Racing patches of version 2 on A and B: one version 3, the other 409.
  await new Promise((r) => setTimeout(r, 2100)); // both instances see version 2 as current
  const raced = await Promise.all([patch(a, 2, 7), patch(b, 2, 8)]);
  assert.deepEqual(raced.map((r) => r.statusCode).sort(), [201, 409], raced.map((r) => r.body.slice(0, 200)).join('\n'));
  const rows = await a.store.query<{ version: number; parent_version: number | null }>("SELECT version, parent_version FROM pir_databases WHERE name = 'shared' ORDER BY version");
  assert.deepEqual(rows, [{ version: 1, parent_version: null }, { version: 2, parent_version: 1 }, { version: 3, parent_version: 2 }]);
});
