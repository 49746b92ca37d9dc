/**
 * Hostile inputs to keyword uploads and the key directory operations: every refusal is a 4xx
 * problem+json and leaves the store unchanged (digest of every table but kex_*). Also the service
 * layer directly: a keyword version's config signs its layout (a tampered salt fails the SDK check),
 * the cost model prices the build, and the per-owner bound holds.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions } from 'fastify';
import { testApp, ADMIN_TOKEN, problemOf, type TestApp } from '../support/app.ts';
import { storeDigest } from '../support/digest.ts';
import { verifyPirConfig, PirIntegrityError } from '../../src/client/pir.ts';
import { encodeKeywordEntries, candidateRecords, matchKeyword } from '../../src/pir/keyword.ts';
import { makeQuery, decode } from '../../src/pir/client.ts';
import { base64urlDecode, base64urlEncode } from '../../src/crypto/bytes.ts';
import { bytesToU32 } from '../../src/pir/wire.ts';
import { DEFAULT_COSTS, createCostModel } from '../../src/workers/cost.ts';
import { MAX_PER_OWNER } from '../../src/pir/directory.ts';
import type { PirConfigJson } from '../../src/pir/config.ts';

const MAX_DB = 64 * 1024;
const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const enc = new TextEncoder();


let t: TestApp;
let tenant: string;
let other: string;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const octet = { 'content-type': 'application/octet-stream' };
const good = (): Buffer => Buffer.from(encodeKeywordEntries([{ key: enc.encode('a'), value: enc.encode('1') }, { key: enc.encode('b'), value: new Uint8Array(0) }]));
const kwUrl = (q = 'format=keyword&maxValueSize=8'): string => `/v1/pir/databases/kw?${q}`;
const dupKey = (): Buffer => Buffer.from(encodeKeywordEntries([{ key: enc.encode('k'), value: rand(2) }, { key: enc.encode('k'), value: rand(3) }]));

before(async () => {
  t = await testApp({ RATE_LIMIT_MAX: '1000000', PIR_MAX_DB_BYTES: String(MAX_DB) });
  tenant = (await t.app.ctx.tokens.mint('carol', {})).token;
  other = (await t.app.ctx.tokens.mint('dave', {})).token;
  for (const [token, name] of [[tenant, 'carol-sig'], [other, 'dave-sig']] as const) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${token}` }, payload: { name, algorithm: 'ML-DSA-44' } });
    assert.equal(res.statusCode, 201, res.body);
  }
  const res = await t.app.inject({ method: 'PUT', url: '/v1/pir/directory/taken', headers: { authorization: `Bearer ${other}` }, payload: { keyName: 'dave-sig' } });
  assert.equal(res.statusCode, 200, res.body);
  await t.app.ctx.pirDirectory.rebuildDirectory();
});
after(() => t.close());

const dir = (method: string, name: string, token: string | undefined, payload?: unknown): InjectOptions => ({
  method: method as 'PUT', url: `/v1/pir/directory/${name}`, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload === undefined ? {} : { payload: payload as object }),
});

const cases: Array<[string, () => InjectOptions, number]> = [
  ['keyword upload without maxValueSize', () => ({ method: 'PUT', url: kwUrl('format=keyword'), headers: { ...admin, ...octet }, payload: good() }), 400],
  ['keyword upload with maxValueSize over 8192', () => ({ method: 'PUT', url: kwUrl('format=keyword&maxValueSize=9000'), headers: { ...admin, ...octet }, payload: good() }), 400],
  ['unknown format', () => ({ method: 'PUT', url: kwUrl('format=json&maxValueSize=8'), headers: { ...admin, ...octet }, payload: good() }), 400],
  ['keyword upload by a tenant', () => ({ method: 'PUT', url: kwUrl(), headers: { authorization: `Bearer ${tenant}`, ...octet }, payload: good() }), 403],
  ['keyword upload without a token', () => ({ method: 'PUT', url: kwUrl(), headers: octet, payload: good() }), 401],
  ['no "PQKW" magic', () => ({ method: 'PUT', url: kwUrl(), headers: { ...admin, ...octet }, payload: Buffer.from('JUNKJUNK') }), 400],
  ['truncated entry', () => ({ method: 'PUT', url: kwUrl(), headers: { ...admin, ...octet }, payload: good().subarray(0, good().length - 1) }), 400],
  ['empty key', () => ({ method: 'PUT', url: kwUrl(), headers: { ...admin, ...octet }, payload: Buffer.from([0x50, 0x51, 0x4b, 0x57, 0, 0, 0, 0]) }), 400],
  ['oversize key', () => ({ method: 'PUT', url: kwUrl(), headers: { ...admin, ...octet }, payload: Buffer.concat([Buffer.from([0x50, 0x51, 0x4b, 0x57, 4, 1]), Buffer.alloc(1025 + 2)]) }), 400],
  ['value over maxValueSize', () => ({ method: 'PUT', url: kwUrl('format=keyword&maxValueSize=0'), headers: { ...admin, ...octet }, payload: good() }), 400],
  ['duplicate keys', () => ({ method: 'PUT', url: kwUrl(), headers: { ...admin, ...octet }, payload: dupKey() }), 400],
  ['table over PIR_MAX_DB_BYTES', () => ({ method: 'PUT', url: kwUrl('format=keyword&maxValueSize=512'),
    headers: { ...admin, ...octet }, payload: Buffer.from(encodeKeywordEntries(Array.from({ length: 200 }, (_, i) => ({ key: enc.encode(`k${i}`), value: rand(10) })))) }), 413],
  ['keyword upload to the directory name', () => ({ method: 'PUT', url: '/v1/pir/databases/pqzk-directory?format=keyword&maxValueSize=8', headers: { ...admin, ...octet }, payload: good() }), 403],
  ['records upload with format=records but no recordSize', () => ({ method: 'PUT', url: kwUrl('format=records'), headers: { ...admin, ...octet }, payload: Buffer.alloc(16) }), 400],
  ['publish without a token', () => dir('PUT', 'carol', undefined, { keyName: 'carol-sig' }), 401],
  ['publish a bad entry name', () => dir('PUT', 'Carol%20X', tenant, { keyName: 'carol-sig' }), 400],
  ['publish an unknown key', () => dir('PUT', 'carol', tenant, { keyName: 'nope' }), 404],
  ["publish another tenant's key", () => dir('PUT', 'carol', tenant, { keyName: 'dave-sig' }), 404],
  ["publish over another owner's name", () => dir('PUT', 'taken', tenant, { keyName: 'carol-sig' }), 409],
  ['publish with extra members', () => dir('PUT', 'carol', tenant, { keyName: 'carol-sig', owner: 'tenant:dave' }), 400],
  ['publish without keyName', () => dir('PUT', 'carol', tenant, {}), 400],
  ["unpublish another owner's entry", () => dir('DELETE', 'taken', tenant), 404],
  ['unpublish an unknown entry', () => dir('DELETE', 'never', tenant), 404],
  ['list without a token', () => ({ method: 'GET', url: '/v1/pir/directory' }), 401],
];

describe('hostile keyword and directory requests: 4xx problem+json, store unchanged', () => {
  for (const [name, req, status] of cases) {
    test(name, async () => {
      const before = await storeDigest(t.store);
      const res = await t.app.inject(req());
      assert.equal(res.statusCode, status, res.body.slice(0, 300));
      assert.equal(problemOf(res).status, status);
      assert.equal(await storeDigest(t.store), before, 'the store changed');
    });
  }
});

test('service layer: the config signs the layout; a lookup by hand matches; the build is priced', async () => {
  const entries = Array.from({ length: 300 }, (_, i) => ({ key: enc.encode(`key${i}`), value: enc.encode(`value ${i}`) }));
  const config = await t.app.ctx.pirKeyword.put('svc', 16, encodeKeywordEntries(entries));
  const identity = (await t.app.ctx.systemKeys.identity()).publicKey;
  verifyPirConfig(config, identity);
  const layout = config.keyword!;
  // A tampered layout (another salt or bucket count) does not verify.
  const tampered: PirConfigJson = { ...config, keyword: { ...layout, salt: base64urlEncode(rand(32)) } };
  assert.throws(() => verifyPirConfig(tampered, identity), PirIntegrityError);
  assert.throws(() => verifyPirConfig({ ...config, keyword: { ...layout, buckets: layout.buckets + 1 } }, identity), PirIntegrityError);
  const { keyword: _dropped, ...withoutKeyword } = config;
  assert.throws(() => verifyPirConfig(withoutKeyword, identity), PirIntegrityError, 'dropping the layout breaks the signature');

  const hint = bytesToU32((await t.app.ctx.pir.hint('svc', config.version)).bytes, config.sizes.hint / 4);
  const seed = base64urlDecode(config.seed);
  const fetchOne = async (i: number): Promise<Uint8Array> => {
    const { query, state } = makeQuery(config.params, seed, i);
    const { answer } = await t.app.ctx.pir.query('svc', config.version, new Uint8Array(query.buffer));
    return decode(config.params, hint, bytesToU32(answer, config.params.rows), state);
  };
  for (const key of [entries[0]!.key, entries[299]!.key, enc.encode('missing')]) {
    const records = await Promise.all(candidateRecords(layout, key).map(fetchOne));
    const want = entries.find((e) => Buffer.from(e.key).equals(key))?.value ?? null;
    assert.deepEqual(matchKeyword(layout, key, records), want);
  }
  const model = createCostModel({ table: DEFAULT_COSTS });
  const body = encodeKeywordEntries(entries);
  assert.ok(model.task('pir.keywordBuild', { body }) > model.task('pir.keywordBuild', { body: body.subarray(0, 10) }));
});

test('directory: at most MAX_PER_OWNER entries per owner (403, nothing changed)', async () => {
  await t.store.query(`INSERT INTO pir_directory (entry_name, owner, key_name) SELECT 'bulk-' || g, 'tenant:carol', 'carol-sig' FROM generate_series(1, ${MAX_PER_OWNER}) g`);
  const before = await storeDigest(t.store);
  const res = await t.app.inject(dir('PUT', 'one-more', tenant, { keyName: 'carol-sig' }));
  assert.equal(res.statusCode, 403, res.body);
  assert.equal(await storeDigest(t.store), before);
  // Re-pointing one of the owner's own names is not a new entry.
  const again = await t.app.inject(dir('PUT', 'bulk-1', tenant, { keyName: 'carol-sig' }));
  assert.equal(again.statusCode, 200, again.body);
  await t.store.query("DELETE FROM pir_directory WHERE entry_name LIKE 'bulk-%'");
});

test('HTTP: a keyword upload answers 201 with the layout; getPirConfig serves the same signed layout', async () => {
  const body = Buffer.from(encodeKeywordEntries(Array.from({ length: 40 }, (_, i) => ({ key: enc.encode(`h${i}`), value: enc.encode(String(i)) }))));
  const put = await t.app.inject({ method: 'PUT', url: '/v1/pir/databases/http-kw?format=keyword&maxValueSize=4', headers: { ...admin, ...octet }, payload: body });
  assert.equal(put.statusCode, 201, put.body);
  const created = put.json() as PirConfigJson;
  assert.equal(created.keyword?.entries, 40);
  assert.equal(created.keyword?.maxValueSize, 4);
  assert.equal(created.params.recordCount, created.keyword!.buckets * created.keyword!.recordsPerBucket);
  const got = await t.app.inject({ method: 'GET', url: '/v1/pir/databases/http-kw' });
  assert.equal(got.statusCode, 200);
  assert.deepEqual((got.json() as PirConfigJson).keyword, created.keyword);
  verifyPirConfig(got.json(), (await t.app.ctx.systemKeys.identity()).publicKey);
  // An index database's config has no layout.
  const plain = await t.app.inject({ method: 'PUT', url: '/v1/pir/databases/http-plain?recordSize=4', headers: { ...admin, ...octet }, payload: Buffer.alloc(64) });
  assert.equal(plain.statusCode, 201, plain.body);
  assert.equal((plain.json() as PirConfigJson).keyword, undefined);
});
