/**
 * Two instances on one real PostgreSQL: a version uploaded through A is answered by B (loaded lazily
 * from the store and checked against its SHA-256s), racing uploads get distinct versions, a stale
 * version is refused by both once its grace period is over, and the sweep purges its blobs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { twoInstances, type InstancePair } from '../support/pair.ts';
import { createClient } from '../../src/client/index.ts';
import { fillRandom } from './_helpers.ts';

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

test('upload on A, private reads through B; racing uploads get distinct versions; grace then purge', async () => {
  assert.equal(a.store.kind, 'postgres');
  const identity = (await a.app.ctx.systemKeys.identity()).publicKey;
  // Blobs are stored in 4 MiB chunks: 5 MiB of records spans two.
  const records = fillRandom(new Uint8Array(64 * 81920));
  await createClient(urlA, { token: ADMIN_TOKEN }).pir.upload('shared', records, 64);
  const db = await createClient(urlB).pir.open('shared', { identityPublicKey: identity });
  assert.deepEqual(b.app.ctx.pir.loadedVersions(), ['shared@1'], 'B loaded version 1 from the store');
  for (const i of [0, 81919, 40000, 12345]) assert.deepEqual(await db.get(i), records.subarray(i * 64, (i + 1) * 64));

  const small = () => fillRandom(new Uint8Array(8 * 100));
  const raced = await Promise.all([a, b, a].map((x) => x.app.inject({
    method: 'PUT', url: '/v1/pir/databases/raced?recordSize=8',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(small()),
  })));
  assert.deepEqual(raced.map((r) => r.statusCode), [201, 201, 201], raced.map((r) => r.body.slice(0, 200)).join('\n'));
  assert.deepEqual(raced.map((r) => (r.json() as { version: number }).version).sort(), [1, 2, 3]);

  const v2 = fillRandom(new Uint8Array(64 * 1000));
  await createClient(urlA, { token: ADMIN_TOKEN }).pir.upload('shared', v2, 64);
  await new Promise((r) => setTimeout(r, 2500)); // past PIR_GRACE_SECONDS = 1 and the metadata cache
  for (const x of [a, b]) {
    const res = await x.app.inject({ method: 'POST', url: '/v1/pir/databases/shared/query?version=1', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(db.config.sizes.query) });
    assert.equal(res.statusCode, 409, res.body.slice(0, 200));
  }
  await a.app.ctx.pir.sweep();
  await b.app.ctx.pir.sweep();
  const left = await a.store.query<{ n: number }>("SELECT count(*)::int AS n FROM pir_blobs WHERE name = 'shared' AND version = 1");
  assert.equal(left[0]!.n, 0, 'the blobs of the retired version are purged');
  assert.deepEqual(b.app.ctx.pir.loadedVersions().filter((k) => k.startsWith('shared@')), [], 'B dropped version 1 from memory');
  assert.deepEqual(await db.get(999), v2.subarray(999 * 64, 1000 * 64), 'the SDK followed the 409 to version 2');
});
