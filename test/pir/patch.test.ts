/**
 * Live updates (issue 16, item 3) through the service, HTTP and the SDK over a real socket: a patch
 * makes version base + 1 whose hint equals a fresh computation, the SDK follows it with a hint delta
 * (checked against the signed hash; a tampered delta falls back to the whole hint), the previous
 * version stays answerable in its grace period, and hostile patches and delta requests are 4xx
 * problems that change nothing.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { testApp, ADMIN_TOKEN, problemOf, type TestApp } from '../support/app.ts';
import { storeDigest } from '../support/digest.ts';
import { createClient } from '../../src/client/index.ts';
import type { PirConfigJson } from '../../src/pir/config.ts';
import { encodeRecordChanges, type RecordChange } from '../../src/pir/changes.ts';
import { decodeHintDelta, decodeRecordDelta } from '../../src/pir/delta.ts';
import { allocateMatrix, computeHint, layoutRecords } from '../../src/pir/server.ts';
import { choosePirParams } from '../../src/pir/params.ts';
import { loadWasmKernel } from '../../src/pir/wasm-kernel.ts';
import { base64urlDecode, toHex } from '../../src/crypto/bytes.ts';
import { u32ToBytes } from '../../src/pir/wire.ts';
import { pirRepo } from '../../src/pir/repo.ts';
import { fillRandom } from './_helpers.ts';

const SIZE = 32, COUNT = 4000;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const octet = { 'content-type': 'application/octet-stream' };
let t: TestApp;
let url: string;
let identity: Uint8Array;
let tenant: string;

/** Digest of every table but kex_* (which background jobs write), hashed inside the database. */

before(async () => {
  t = await testApp({ RATE_LIMIT_MAX: '1000000' });
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  identity = (await t.app.ctx.systemKeys.identity()).publicKey;
  tenant = (await t.app.ctx.tokens.mint('mallory', {})).token;
});
after(() => t.close());

const rec = (r: Uint8Array, i: number): Uint8Array => r.subarray(i * SIZE, (i + 1) * SIZE);
function applyLocally(records: Uint8Array, changes: readonly RecordChange[]): Uint8Array {
  const next = records.slice();
  for (const c of changes) next.set(c.record ?? new Uint8Array(SIZE), c.index * SIZE);
  return next;
}

describe('patch through the SDK over a real socket', () => {
  test('patch → new version; the SDK follows with a hint delta; the old version answers in its grace period', async () => {
    const adminClient = createClient(url, { token: ADMIN_TOKEN });
    const v1 = fillRandom(new Uint8Array(SIZE * COUNT));
    // Many queries per hint: a taller matrix (rows ≫ the 32 rows one record touches), so a delta is small.
    const up = await adminClient.pir.upload('live', v1, SIZE, { queriesPerHint: 4096 });
    assert.equal(up.params.queriesPerHint, 4096);
    assert.ok(up.params.rows >= 8 * SIZE, `rows ${up.params.rows}`);
    const reader = createClient(url);
    const db = await reader.pir.open('live', { identityPublicKey: identity });
    const old = await createClient(url).pir.open('live', { identityPublicKey: identity });
    assert.deepEqual(db.lastHintUpdate, { kind: 'full', bytes: up.sizes.hint });
    assert.deepEqual(await db.get(17), rec(v1, 17));

    const changes: RecordChange[] = [
      { index: 17, record: fillRandom(new Uint8Array(SIZE)) }, { index: 0, record: null },
      { index: COUNT - 1, record: fillRandom(new Uint8Array(SIZE)) }, { index: 2000, record: fillRandom(new Uint8Array(SIZE)) },
    ];
    const v2cfg = await adminClient.pir.patch('live', 1, changes, SIZE);
    assert.equal(v2cfg.version, 2);
    assert.equal(v2cfg.parentVersion, 1);
    assert.equal(v2cfg.seed, up.seed, 'a patch keeps the seed (so A and the client cache stay valid)');
    const v2 = applyLocally(v1, changes);
    // The incrementally updated hint is the hint of the new records, computed afresh.
    const params = choosePirParams(COUNT, SIZE, 4096);
    assert.deepEqual(params, v2cfg.params);
    const fresh = { params, matrix: allocateMatrix(params.rows, params.cols) };
    layoutRecords(params, v2, fresh.matrix.data);
    assert.equal(v2cfg.hintSha256, toHex(createHash('sha256').update(u32ToBytes(computeHint(fresh, base64urlDecode(up.seed), await loadWasmKernel()))).digest()));

    // Version 1 is still answerable (grace period): a reader sees version 2 once it refreshes.
    assert.deepEqual(await db.get(17), rec(v1, 17), 'version 1 answers with its own bytes');
    await db.refresh();
    for (const i of [17, 0, COUNT - 1, 2000, 5, 1999]) assert.deepEqual(await db.get(i), rec(v2, i), `record ${i} after the patch`);
    assert.equal(db.version, 2);
    // The record delta (4 records' differences) is far smaller than the touched hint rows.
    assert.deepEqual(db.lastHintUpdate, { kind: 'records', bytes: 20 + 4 * (4 + 2 * SIZE) });
    assert.deepEqual(await db.get(0), new Uint8Array(SIZE), 'a deleted record reads as zeros');
    // The handle still on version 1 is answered from version 1 (grace period), with the old bytes.
    assert.deepEqual(await old.get(17), rec(v1, 17));
    assert.equal(old.version, 1);

    // Through the service function the keyword layer calls, then refresh(): delta again.
    const more: RecordChange[] = [{ index: 3, record: fillRandom(new Uint8Array(SIZE)) }];
    const v3cfg = await t.app.ctx.pir.applyRecordChanges('live', 2, more);
    assert.equal(v3cfg.version, 3);
    await db.refresh();
    assert.equal(db.version, 3);
    assert.equal(db.lastHintUpdate.kind, 'records');
    assert.deepEqual(await db.get(3), more[0]!.record);
    // Version 1 → 3 in one delta: the union of both patches' rows.
    const d13 = await t.app.inject({ method: 'GET', url: '/v1/pir/databases/live/hint-delta?from=1&version=3' });
    assert.equal(d13.statusCode, 200, d13.body.slice(0, 200));
    const parsed = decodeHintDelta(new Uint8Array(d13.rawPayload), v3cfg.params.n, v3cfg.params.rows);
    assert.deepEqual([parsed.fromVersion, parsed.toVersion], [1, 3]);
    const d23 = decodeHintDelta(new Uint8Array((await t.app.inject({ method: 'GET', url: '/v1/pir/databases/live/hint-delta?from=2' })).rawPayload), v3cfg.params.n, v3cfg.params.rows);
    assert.ok(parsed.rows.length > d23.rows.length && d23.rows.every((r) => parsed.rows.includes(r)));
    assert.ok(d13.rawPayload.length < up.sizes.hint / 2, `rows delta ${d13.rawPayload.length} B vs hint ${up.sizes.hint} B`);
    // format=auto: the record delta of both patches, in version order.
    const r13 = await t.app.inject({ method: 'GET', url: '/v1/pir/databases/live/hint-delta?from=1&version=3&format=auto' });
    const rd = decodeRecordDelta(new Uint8Array(r13.rawPayload), v3cfg.params);
    assert.deepEqual([rd.fromVersion, rd.toVersion, [...rd.indices]], [1, 3, [0, 17, 2000, COUNT - 1, 3]]);
    // The old handle moves on with a delta from 1 to 3.
    await old.refresh();
    assert.equal(old.lastHintUpdate.kind, 'records');
    assert.deepEqual(await old.get(3), more[0]!.record);
    // At rest: each version's blobs (parent chunks copied in SQL, touched chunks rewritten) reassemble to its records and hint.
    const v3 = applyLocally(v2, more);
    for (const [version, expected] of [[1, v1], [2, v2], [3, v3]] as const) {
      const [row] = await t.store.query<{ hint_sha256: Uint8Array; records_bytes: number }>("SELECT hint_sha256, records_bytes FROM pir_databases WHERE name = 'live' AND version = $1", [version]);
      assert.deepEqual(await pirRepo.blob(t.store, 'live', version, 'records', Number(row!.records_bytes)), expected, `records of version ${version}`);
      const hint = await pirRepo.blob(t.store, 'live', version, 'hint', up.sizes.hint);
      assert.equal(toHex(createHash('sha256').update(hint).digest()), toHex(row!.hint_sha256), `hint of version ${version}`);
    }
    const chunks = await t.store.query<{ n: number }>("SELECT count(*)::int AS n FROM pir_blobs WHERE name = 'live' AND version = 3");
    assert.ok(chunks[0]!.n >= 2);
    // A fourth version: only the newest three stay in memory and are answered; version 1, though in its
    // grace period, is refused with the current config (anyone asking for old versions could otherwise
    // make the service hold every version of a grace period in memory: found by review).
    await t.app.ctx.pir.applyRecordChanges('live', 3, [{ index: 4, record: null }]);
    assert.deepEqual(t.app.ctx.pir.loadedVersions().filter((k) => k.startsWith('live@')).sort(), ['live@2', 'live@3', 'live@4']);
    const q1 = await t.app.inject({ method: 'POST', url: '/v1/pir/databases/live/query?version=1', headers: octet, payload: Buffer.alloc(up.sizes.query) });
    assert.equal(q1.statusCode, 409, q1.body.slice(0, 200));
    assert.equal(JSON.parse(q1.body).currentConfig.version, 4);
    const q2 = await t.app.inject({ method: 'POST', url: '/v1/pir/databases/live/query?version=2', headers: octet, payload: Buffer.alloc(up.sizes.query) });
    assert.equal(q2.statusCode, 200, q2.body.slice(0, 200));
    assert.ok(!t.app.ctx.pir.loadedVersions().includes('live@1'));
  });

  test('a tampered delta is detected by the signed hint hash: the SDK downloads the whole hint instead', async () => {
    const adminClient = createClient(url, { token: ADMIN_TOKEN });
    const v1 = fillRandom(new Uint8Array(SIZE * 500));
    await adminClient.pir.upload('tamper', v1, SIZE);
    const evil = async (input: string | URL | Request, init?: RequestInit) => {
      const req = new Request(input, init);
      const res = await fetch(req);
      if (!new URL(req.url).pathname.endsWith('/hint-delta')) return res;
      const b = new Uint8Array(await res.arrayBuffer());
      b[b.length - 1]! ^= 1;
      return new Response(b, { status: res.status, headers: res.headers });
    };
    const db = await createClient(url, { fetch: evil }).pir.open('tamper', { identityPublicKey: identity });
    const next = fillRandom(new Uint8Array(SIZE));
    const cfg = await adminClient.pir.patch('tamper', 1, [{ index: 9, record: next }], SIZE);
    await db.refresh();
    assert.equal(db.version, 2);
    assert.deepEqual(db.lastHintUpdate, { kind: 'full', bytes: cfg.sizes.hint });
    assert.deepEqual(await db.get(9), next);
  });

  test('a server that serves only hint rows (format=rows): the SDK applies the rows delta', async () => {
    const adminClient = createClient(url, { token: ADMIN_TOKEN });
    const v1 = fillRandom(new Uint8Array(SIZE * 2000));
    await adminClient.pir.upload('rows', v1, SIZE, { queriesPerHint: 4096 });
    const rowsOnly = async (input: string | URL | Request, init?: RequestInit) => {
      const req = new Request(input, init);
      return fetch(new Request(req.url.replace('format=auto', 'format=rows'), req));
    };
    const db = await createClient(url, { fetch: rowsOnly }).pir.open('rows', { identityPublicKey: identity });
    const next = rec(v1, 11).map((b) => b ^ 0x5a); // every byte differs: all 32 rows change
    const cfg = await adminClient.pir.patch('rows', 1, [{ index: 11, record: next }], SIZE);
    await db.refresh();
    assert.equal(db.lastHintUpdate.kind, 'delta');
    assert.equal(db.lastHintUpdate.bytes, 20 + SIZE * 4 * (1 + cfg.params.n), 'one record: its 32 hint rows');
    assert.deepEqual(await db.get(11), next);
  });

  test('a full upload in between, or a purged base: 410, and the SDK takes the whole hint', async () => {
    const adminClient = createClient(url, { token: ADMIN_TOKEN });
    await adminClient.pir.upload('chain', fillRandom(new Uint8Array(SIZE * 300)), SIZE);
    await adminClient.pir.patch('chain', 1, [{ index: 1, record: null }], SIZE);
    const db = await createClient(url).pir.open('chain', { identityPublicKey: identity });
    const v3 = fillRandom(new Uint8Array(SIZE * 300));
    await adminClient.pir.upload('chain', v3, SIZE);
    const res = await t.app.inject({ method: 'GET', url: '/v1/pir/databases/chain/hint-delta?from=2' });
    assert.equal(res.statusCode, 410, res.body);
    assert.equal(problemOf(res).code, 'gone');
    await db.refresh();
    assert.equal(db.lastHintUpdate.kind, 'full');
    assert.deepEqual(await db.get(7), rec(v3, 7));
    // Patch 3 → 4, then purge version 3 (past its grace): no delta from it any more.
    await adminClient.pir.patch('chain', 3, [{ index: 2, record: null }], SIZE);
    await t.store.query("UPDATE pir_databases SET retired_at = now() - interval '1 day' WHERE name = 'chain' AND version = 3");
    await t.app.ctx.pir.sweep();
    const purged = await t.app.inject({ method: 'GET', url: '/v1/pir/databases/chain/hint-delta?from=3' });
    assert.equal(purged.statusCode, 410, purged.body);
  });
});

describe('hostile patches and delta requests: 4xx problem+json, store unchanged', () => {
  let cfg: PirConfigJson;
  before(async () => {
    const res = await t.app.inject({ method: 'PUT', url: '/v1/pir/databases/hp?recordSize=8&queriesPerHint=4', headers: { ...admin, ...octet }, payload: Buffer.from(fillRandom(new Uint8Array(8 * 1000))) });
    assert.equal(res.statusCode, 201, res.body);
    cfg = res.json() as PirConfigJson;
    assert.equal(cfg.params.queriesPerHint, 4);
    const p = await t.app.inject({ method: 'PATCH', url: '/v1/pir/databases/hp?baseVersion=1', headers: { ...admin, ...octet }, payload: Buffer.from(encodeRecordChanges([{ index: 1, record: null }], 8)) });
    assert.equal(p.statusCode, 201, p.body);
    cfg = p.json() as PirConfigJson;
  });
  const body = (changes: RecordChange[]) => Buffer.from(encodeRecordChanges(changes, 8));
  const one = () => body([{ index: 5, record: new Uint8Array(8) }]);
  const patch = (q: string, payload: Buffer, headers: Record<string, string> = { ...admin, ...octet }): InjectOptions => ({ method: 'PATCH', url: `/v1/pir/databases/hp${q}`, headers, payload });
  const cases: Array<[string, () => InjectOptions, number]> = [
    ['patch without a token', () => patch('?baseVersion=2', one(), octet), 401],
    ['patch by a tenant', () => patch('?baseVersion=2', one(), { ...octet, authorization: `Bearer ${tenant}` }), 403],
    ['patch against a stale version', () => patch('?baseVersion=1', one()), 409],
    ['patch against a future version', () => patch('?baseVersion=9', one()), 409],
    ['patch without baseVersion', () => patch('', one()), 400],
    ['patch with baseVersion 0', () => patch('?baseVersion=0', one()), 400],
    ['patch of an unknown database', () => ({ ...patch('?baseVersion=1', one()), url: '/v1/pir/databases/nope?baseVersion=1' }), 404],
    ['patch as JSON', () => patch('?baseVersion=2', Buffer.from('[]'), { ...admin, 'content-type': 'application/json' }), 415],
    ['empty patch', () => patch('?baseVersion=2', Buffer.alloc(0)), 400],
    ['patch index out of range', () => patch('?baseVersion=2', body([{ index: 1000, record: null }])), 400],
    ['patch with a repeated index', () => patch('?baseVersion=2', Buffer.concat([one(), one()])), 400],
    ['patch with a truncated record', () => patch('?baseVersion=2', one().subarray(0, 10)), 400],
    ['patch with an unknown op', () => patch('?baseVersion=2', Buffer.from([5, 0, 0, 0, 9])), 400],
    ['patch of more than 1/16 of the records', () => patch('?baseVersion=2', body(Array.from({ length: 100 }, (_, i) => ({ index: i, record: null })))), 400],
    ['upload with queriesPerHint 0', () => ({ method: 'PUT', url: '/v1/pir/databases/hp?recordSize=8&queriesPerHint=0', headers: { ...admin, ...octet }, payload: Buffer.alloc(8) }), 400],
    ['delta from the current version', () => ({ method: 'GET', url: '/v1/pir/databases/hp/hint-delta?from=2' }), 400],
    ['delta from a future version', () => ({ method: 'GET', url: '/v1/pir/databases/hp/hint-delta?from=5' }), 400],
    ['delta without from', () => ({ method: 'GET', url: '/v1/pir/databases/hp/hint-delta' }), 400],
    ['delta to a version that does not exist', () => ({ method: 'GET', url: '/v1/pir/databases/hp/hint-delta?from=1&version=9' }), 409],
    ['delta of an unknown database', () => ({ method: 'GET', url: '/v1/pir/databases/nope/hint-delta?from=1' }), 404],
    ['query of the wrong length for the patched version', () => ({ method: 'POST', url: '/v1/pir/databases/hp/query?version=2', headers: octet, payload: Buffer.alloc(cfg.sizes.query + 4) }), 400],
  ];
  for (const [name, req, status] of cases) {
    test(name, async () => {
      const before = await storeDigest(t.store);
      const res = await t.app.inject(req());
      assert.equal(res.statusCode, status, res.body.slice(0, 300));
      assert.equal(problemOf(res).status, status);
      if (status === 409) assert.equal((JSON.parse(res.body) as { currentConfig: PirConfigJson }).currentConfig.version, 2);
      assert.equal(await storeDigest(t.store), before, 'the store changed');
    });
  }
});
