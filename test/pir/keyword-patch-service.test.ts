/**
 * Keyword patches at the service layer (KeywordPirService.patch → patch.ts applyKeywordPatch):
 * the new version is patched from the previous one with the same signed layout and salt and the
 * given source digest, and serves the patched table; a plan asking for a rebuild stores nothing;
 * the HTTP record patch stays refused on keyword databases, and a keyword patch on an index
 * database is refused, with the store unchanged.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { storeDigest } from '../support/digest.ts';
import { createClient } from '../../src/client/index.ts';
import { encodeRecordChanges } from '../../src/pir/changes.ts';
import { keywordRecordChanges } from '../../src/pir/keyword-patch.ts';
import { AppError } from '../../src/errors.ts';
import { matrixReader } from '../../src/pir/patch.ts';

const enc = new TextEncoder();
const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

describe('keyword patches through the service', () => {
  let t: TestApp;
  let url: string;
  before(async () => {
    t = await testApp({ RATE_LIMIT_MAX: '1000000' });
    url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => t.close());

  test('a patch keeps the layout, names its parent, stores the digest, and lookups see it', async () => {
    const admin = createClient(url, { token: ADMIN_TOKEN });
    const entries = Array.from({ length: 200 }, (_, i) => ({ key: enc.encode(`k${i}`), value: rand(i % 16) }));
    const v1 = await admin.pir.uploadKeyword('kwp', entries, 16);
    const identityPublicKey = (await t.app.ctx.systemKeys.identity()).publicKey;
    const db = await createClient(url).pir.open('kwp', { identityPublicKey });
    const digest = rand(32);
    let fresh = '';
    const cfg = await t.app.ctx.pirKeyword.patch('kwp', (layout, recordSize, read) => {
      // A new key finds a free slot in one of its buckets with probability ≈ 0.6 at load 0.8: try a few.
      for (let i = 0; ; i++) {
        fresh = `fresh-${i}`;
        const r = keywordRecordChanges(layout, recordSize, read, {
          upserts: [{ key: enc.encode('k1'), value: enc.encode('new value') }, { key: enc.encode(fresh), value: enc.encode('x') }],
          deletes: [enc.encode('k2')],
        });
        if (r.kind === 'patch' || i === 40) return r;
      }
    }, digest);
    assert.ok(!('rebuild' in cfg), 'one of 40 fresh keys finds a free slot');
    assert.equal(cfg.version, v1.version + 1);
    assert.equal(cfg.parentVersion, v1.version);
    assert.deepEqual(cfg.keyword, v1.keyword, 'same layout and salt');
    assert.deepEqual(await t.app.ctx.pirKeyword.currentSource('kwp'), digest);
    await db.refresh();
    assert.notEqual(db.lastHintUpdate.kind, 'full', 'the handle followed with a delta (hint rows or records), not the whole hint');
    assert.deepEqual(await db.lookup('k1'), enc.encode('new value'));
    assert.deepEqual(await db.lookup(fresh), enc.encode('x'));
    assert.equal(await db.lookup('k2'), null);
    assert.deepEqual(await db.lookup('k3'), entries[3]!.value);
  });

  test('a plan that asks for a rebuild, an index database, and an HTTP record patch of a keyword database change nothing', async () => {
    const current = (await createClient(url).pir.open('kwp', { identityPublicKey: (await t.app.ctx.systemKeys.identity()).publicKey })).version;
    const before = await storeDigest(t.store);
    const r = await t.app.ctx.pirKeyword.patch('kwp', () => ({ kind: 'rebuild', reason: 'test' }), rand(32));
    assert.deepEqual(r, { rebuild: 'test' });
    const res = await t.app.inject({
      method: 'PATCH', url: `/v1/pir/databases/kwp?baseVersion=${current}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
      payload: Buffer.from(encodeRecordChanges([{ index: 0, record: null }], 1)),
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.headers['content-type'] ?? '', /problem\+json/);
    assert.equal(await storeDigest(t.store), before, 'nothing stored');
    await createClient(url, { token: ADMIN_TOKEN }).pir.upload('plain', rand(64), 8);
    const afterUpload = await storeDigest(t.store);
    await assert.rejects(t.app.ctx.pirKeyword.patch('plain', () => ({ kind: 'patch', changes: [] }), rand(32)),
      (e: unknown) => e instanceof AppError && e.code === 'invalid_input');
    assert.equal(await storeDigest(t.store), afterUpload);
  });
});

test('matrixReader reads the records blob back out of a loaded matrix, at any offset and length', async () => {
  const t = await testApp({});
  try {
    for (const [count, size] of [[64, 8], [5, 300], [1000, 3]] as const) {
      const records = rand(count * size);
      await t.app.ctx.pir.put(`m${size}`, size, records);
      const s = t.app.ctx.pir.internals();
      const lv = await s.load(await s.resolve(`m${size}`, undefined));
      const read = matrixReader(lv);
      assert.deepEqual(read(0, records.length), records, `${count} × ${size} (recordsPerColumn ${lv.params.recordsPerColumn})`);
      for (let i = 0; i < 20; i++) {
        const o = Math.floor(Math.random() * records.length), l = Math.floor(Math.random() * (records.length - o));
        assert.deepEqual(read(o, l), records.subarray(o, o + l));
      }
    }
  } finally {
    await t.close();
  }
});
