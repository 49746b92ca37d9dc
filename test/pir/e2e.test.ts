/**
 * Issue 7, end to end: through the SDK over a real socket, upload a database, open it (config
 * signature against the pinned identity key, hint hash), fetch random records privately and compare
 * them with the uploaded bytes; new versions, the grace period and the 409 → refresh path.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { createClient } from '../../src/client/index.ts';
import { PirIntegrityError } from '../../src/client/pir.ts';
import { recordPosition } from '../../src/pir/params.ts';
import { fillRandom } from './_helpers.ts';

const recordOf = (records: Uint8Array, size: number, i: number): Uint8Array => records.subarray(i * size, (i + 1) * size);

async function listen(env: Record<string, string> = {}): Promise<{ t: TestApp; url: string; identity: Uint8Array }> {
  const t = await testApp({ RATE_LIMIT_MAX: '1000000', ...env });
  const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const identity = (await t.app.ctx.systemKeys.identity()).publicKey;
  return { t, url, identity };
}

describe('PIR through the SDK over a real socket', () => {
  let s: Awaited<ReturnType<typeof listen>>;
  before(async () => { s = await listen(); });
  after(() => s.t.close());

  test('upload, open pinned, 200 random records + first/last row and column, all correct', async () => {
    const admin = createClient(s.url, { token: ADMIN_TOKEN });
    const recordSize = 32, count = 5000;
    const records = fillRandom(new Uint8Array(recordSize * count));
    const uploaded = await admin.pir.upload('e2e', records, recordSize);
    assert.equal(uploaded.version, 1);
    assert.equal(uploaded.params.recordCount, count);

    const client = createClient(s.url); // anonymous reader
    const db = await client.pir.open('e2e', { identityPublicKey: s.identity });
    assert.equal(db.pinned, true);
    assert.equal(db.version, 1);
    const p = db.params;
    // First and last record, the first and last record of the first and last column, padding edge.
    const edges = [0, count - 1, p.recordsPerColumn - 1, Math.min(count - 1, p.recordsPerColumn), (Math.ceil(count / p.recordsPerColumn) - 1) * p.recordsPerColumn];
    assert.ok(p.cols * p.recordsPerColumn > count, 'the shape has padding slots');
    assert.equal(recordPosition(p, count - 1).column, Math.ceil(count / p.recordsPerColumn) - 1);
    const indices = [...edges, ...Array.from({ length: 200 }, () => Math.floor(Math.random() * count))];
    let correct = 0;
    for (const i of indices) {
      const got = await db.get(i);
      assert.deepEqual(got, recordOf(records, recordSize, i), `record ${i}`);
      correct++;
    }
    assert.equal(correct, indices.length);
    await assert.rejects(db.get(count), /out of range/);
  });

  test('an odd record size with padding, trust on first use, then pinned by the client', async () => {
    const admin = createClient(s.url, { token: ADMIN_TOKEN });
    const recordSize = 7, count = 3001;
    const records = fillRandom(new Uint8Array(recordSize * count));
    await admin.pir.upload('odd', records, recordSize);
    const client = createClient(s.url);
    const db = await client.pir.open('odd', { cacheA: false });
    assert.equal(db.pinned, false, 'no pin given: trust on first use');
    assert.deepEqual(db.identity.publicKey, s.identity);
    for (const i of [0, 1, count - 2, count - 1, 1500]) assert.deepEqual(await db.get(i), recordOf(records, recordSize, i));
    const again = await client.pir.open('odd');
    assert.equal(again.pinned, true, 'the second open on the same client is pinned to the first identity');
  });

  test('a new version: the old one stays answerable during the grace period; refresh moves to it', async () => {
    const admin = createClient(s.url, { token: ADMIN_TOKEN });
    const v1 = fillRandom(new Uint8Array(16 * 900));
    await admin.pir.upload('graced', v1, 16);
    const db = await createClient(s.url).pir.open('graced', { identityPublicKey: s.identity });
    const v2 = fillRandom(new Uint8Array(16 * 1200));
    const up = await admin.pir.upload('graced', v2, 16);
    assert.equal(up.version, 2);
    assert.deepEqual(await db.get(5), recordOf(v1, 16, 5), 'version 1 still answers within the grace period');
    assert.equal(db.version, 1);
    await db.refresh();
    assert.equal(db.version, 2);
    assert.equal(db.params.recordCount, 1200);
    assert.deepEqual(await db.get(1100), recordOf(v2, 16, 1100));
  });
});

describe('PIR with no grace period and pool scans', () => {
  let s: Awaited<ReturnType<typeof listen>>;
  before(async () => { s = await listen({ PIR_GRACE_SECONDS: '0', PIR_INLINE_SCAN_BYTES: '0' }); });
  after(() => s.t.close());

  test('a stale version gets 409 with the current config; the SDK verifies it and retries', async () => {
    const admin = createClient(s.url, { token: ADMIN_TOKEN });
    const v1 = fillRandom(new Uint8Array(32 * 2000));
    await admin.pir.upload('moving', v1, 32);
    const db = await createClient(s.url).pir.open('moving', { identityPublicKey: s.identity });
    for (const i of [0, 777, 1999]) assert.deepEqual(await db.get(i), recordOf(v1, 32, i), 'scanned in the worker pool');
    const v2 = fillRandom(new Uint8Array(32 * 2500));
    await admin.pir.upload('moving', v2, 32);
    const raw = await fetch(`${s.url}/v1/pir/databases/moving/query?version=1`, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(db.config.sizes.query),
    });
    assert.equal(raw.status, 409);
    const problem = await raw.json() as { code: string; currentConfig: { version: number } };
    assert.equal(problem.code, 'conflict');
    assert.equal(problem.currentConfig.version, 2);
    assert.deepEqual(await db.get(1500), recordOf(v2, 32, 1500), 'the SDK moved to version 2 by itself');
    assert.deepEqual(await db.get(2400), recordOf(v2, 32, 2400));
    assert.equal(db.version, 2);
  });

  test('a config signed by another identity is refused when pinned', async () => {
    const admin = createClient(s.url, { token: ADMIN_TOKEN });
    await admin.pir.upload('pinned', fillRandom(new Uint8Array(64)), 8);
    const other = new Uint8Array(s.identity);
    other[100]! ^= 1;
    await assert.rejects(createClient(s.url).pir.open('pinned', { identityPublicKey: other }), PirIntegrityError);
  });
});
