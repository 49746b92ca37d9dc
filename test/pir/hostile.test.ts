/**
 * Hostile inputs to the PIR API and to the SDK. Every refusal is a 4xx problem+json and leaves the
 * store unchanged (digest of every table); the SDK refuses a flipped hint byte, a forged signature,
 * a tampered shape and a wrong pin. Also: constant shape of query and answer, hint caching headers.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, ADMIN_TOKEN, problemOf, type TestApp } from '../support/app.ts';
import { storeDigest } from '../support/digest.ts';
import type { InjectOptions } from 'fastify';
import { createClient } from '../../src/client/index.ts';
import { PirIntegrityError, verifyPirConfig } from '../../src/client/pir.ts';
import type { PirConfigJson } from '../../src/pir/config.ts';
import { makeQuery } from '../../src/pir/client.ts';
import { fillRandom } from './_helpers.ts';

const MAX_DB = 64 * 1024;

/**
 * Digest of every table except kex_* and audit_* (the audit log records refused requests too; the kex capability's background heartbeat and prekey
 * rotation write there on their own schedule, unrelated to these requests). Hashed inside the
 * database: PGlite runs on this thread, and shipping the blobs out as hex would stall it.
 */

/** Waits out start-up work (under load it can trip the event-loop-delay guard, which answers 503). */
async function settled(app: TestApp['app']): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await app.inject({ method: 'GET', url: '/v1/pir/databases/h' })).statusCode !== 503) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
let t: TestApp;
let url: string;
let config: PirConfigJson;
let tenant: string;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const octet = { 'content-type': 'application/octet-stream' };

before(async () => {
  t = await testApp({ RATE_LIMIT_MAX: '1000000', PIR_MAX_DB_BYTES: String(MAX_DB) });
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const res = await t.app.inject({ method: 'PUT', url: '/v1/pir/databases/h?recordSize=16', headers: { ...admin, ...octet }, payload: Buffer.from(fillRandom(new Uint8Array(16 * 1000))) });
  assert.equal(res.statusCode, 201, res.body);
  config = res.json() as PirConfigJson;
  tenant = (await t.app.ctx.tokens.mint('mallory', {})).token;
  await settled(t.app);
});
after(() => t.close());

type Req = InjectOptions;
const cases: Array<[string, () => Req, number]> = [
  ['upload without a token', () => ({ method: 'PUT', url: '/v1/pir/databases/h?recordSize=16', headers: octet, payload: Buffer.alloc(16) }), 401],
  ['upload with a wrong token', () => ({ method: 'PUT', url: '/v1/pir/databases/h?recordSize=16', headers: { ...octet, authorization: 'Bearer not-the-admin-token' }, payload: Buffer.alloc(16) }), 401],
  ['upload by a tenant (non-admin)', () => ({ method: 'PUT', url: '/v1/pir/databases/h?recordSize=16', headers: { ...octet, authorization: `Bearer ${tenant}` }, payload: Buffer.alloc(16) }), 403],
  ['upload not a multiple of recordSize', () => ({ method: 'PUT', url: '/v1/pir/databases/h?recordSize=16', headers: { ...admin, ...octet }, payload: Buffer.alloc(17) }), 400],
  ['upload of an empty body', () => ({ method: 'PUT', url: '/v1/pir/databases/h?recordSize=16', headers: { ...admin, ...octet }, payload: Buffer.alloc(0) }), 400],
  ['upload larger than PIR_MAX_DB_BYTES', () => ({ method: 'PUT', url: '/v1/pir/databases/h?recordSize=16', headers: { ...admin, ...octet }, payload: Buffer.alloc(MAX_DB + 16) }), 413],
  ['upload with recordSize 0', () => ({ method: 'PUT', url: '/v1/pir/databases/h?recordSize=0', headers: { ...admin, ...octet }, payload: Buffer.alloc(16) }), 400],
  ['upload with recordSize too large', () => ({ method: 'PUT', url: '/v1/pir/databases/h?recordSize=40000', headers: { ...admin, ...octet }, payload: Buffer.alloc(40000) }), 400],
  ['upload without recordSize', () => ({ method: 'PUT', url: '/v1/pir/databases/h', headers: { ...admin, ...octet }, payload: Buffer.alloc(16) }), 400],
  ['upload as JSON', () => ({ method: 'PUT', url: '/v1/pir/databases/h?recordSize=2', headers: { ...admin, 'content-type': 'application/json' }, payload: '"aaaa"' }), 415],
  ['upload to a bad name', () => ({ method: 'PUT', url: '/v1/pir/databases/..%2Fetc?recordSize=16', headers: { ...admin, ...octet }, payload: Buffer.alloc(16) }), 400],
  ['query of the wrong length', () => ({ method: 'POST', url: `/v1/pir/databases/h/query?version=${config.version}`, headers: octet, payload: Buffer.alloc(config.sizes.query - 4) }), 400],
  ['query not a multiple of 4', () => ({ method: 'POST', url: `/v1/pir/databases/h/query?version=${config.version}`, headers: octet, payload: Buffer.alloc(config.sizes.query + 1) }), 400],
  ['empty query', () => ({ method: 'POST', url: `/v1/pir/databases/h/query?version=${config.version}`, headers: octet, payload: Buffer.alloc(0) }), 400],
  ['oversize query (beyond the body limit)', () => ({ method: 'POST', url: `/v1/pir/databases/h/query?version=${config.version}`, headers: octet, payload: Buffer.alloc(2 * 1024 * 1024) }), 413],
  ['query to an unknown database', () => ({ method: 'POST', url: '/v1/pir/databases/nope/query?version=1', headers: octet, payload: Buffer.alloc(config.sizes.query) }), 404],
  ['query for a version that does not exist', () => ({ method: 'POST', url: '/v1/pir/databases/h/query?version=99', headers: octet, payload: Buffer.alloc(config.sizes.query) }), 409],
  ['query without a version', () => ({ method: 'POST', url: '/v1/pir/databases/h/query', headers: octet, payload: Buffer.alloc(config.sizes.query) }), 400],
  ['query as JSON', () => ({ method: 'POST', url: `/v1/pir/databases/h/query?version=${config.version}`, headers: { 'content-type': 'application/json' }, payload: '[1,2,3]' }), 415],
  ['config of an unknown database', () => ({ method: 'GET', url: '/v1/pir/databases/nope' }), 404],
  ['hint of an unknown database', () => ({ method: 'GET', url: '/v1/pir/databases/nope/hint' }), 404],
  ['hint of an unknown version', () => ({ method: 'GET', url: '/v1/pir/databases/h/hint?version=7' }), 409],
];

describe('hostile requests: 4xx problem+json, store unchanged', () => {
  for (const [name, req, status] of cases) {
    test(name, async () => {
      const before = await storeDigest(t.store);
      const res = await t.app.inject(req());
      assert.equal(res.statusCode, status, res.body.slice(0, 300));
      const p = problemOf(res);
      if (status === 409) assert.equal((JSON.parse(res.body) as { currentConfig: PirConfigJson }).currentConfig.version, config.version);
      assert.equal(p.status, status);
      assert.equal(await storeDigest(t.store), before, 'the store changed');
    });
  }
});

test('the digest sees a real change (so "unchanged" above means something)', async () => {
  const before = await storeDigest(t.store);
  await t.store.query("UPDATE pir_blobs SET bytes = bytes || '\\x00'::bytea WHERE name = 'h' AND kind = 'records' AND seq = 0");
  const after = await storeDigest(t.store);
  await t.store.query("UPDATE pir_blobs SET bytes = substring(bytes FROM 1 FOR length(bytes) - 1) WHERE name = 'h' AND kind = 'records' AND seq = 0");
  assert.notEqual(after, before);
  assert.equal(await storeDigest(t.store), before);
});

describe('constant shape and caching', () => {
  test('query and answer sizes do not depend on the index', async () => {
    const sizes = new Set<string>();
    for (const i of [0, 1, 500, 999]) {
      const { query } = makeQuery(config.params, Buffer.from(config.seed, 'base64url'), i);
      const res = await t.app.inject({ method: 'POST', url: `/v1/pir/databases/h/query?version=${config.version}`, headers: octet, payload: Buffer.from(query.buffer) });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      sizes.add(`${query.byteLength}/${res.rawPayload.length}`);
    }
    assert.deepEqual([...sizes], [`${config.sizes.query}/${config.sizes.answer}`]);
  });

  test('the hint is immutable per version: ETag, 304, long-lived cache with a version', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/pir/databases/h/hint?version=${config.version}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.rawPayload.length, config.sizes.hint);
    assert.equal(res.headers.etag, `"${config.hintSha256}"`);
    assert.match(String(res.headers['cache-control']), /immutable/);
    const again = await t.app.inject({ method: 'GET', url: '/v1/pir/databases/h/hint', headers: { 'if-none-match': `"${config.hintSha256}"` } });
    assert.equal(again.statusCode, 304);
  });
});

describe('SDK integrity checks', () => {
  /** A fetch that lets `tamper` rewrite responses whose URL matches. */
  const tampering = (match: RegExp, tamper: (body: Uint8Array) => Uint8Array) => async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    const res = await fetch(req);
    if (!match.test(new URL(req.url).pathname + new URL(req.url).search)) return res;
    const body = tamper(new Uint8Array(await res.arrayBuffer()));
    return new Response(body as Uint8Array<ArrayBuffer>, { status: res.status, headers: res.headers });
  };
  const identity = async () => (await t.app.ctx.systemKeys.identity()).publicKey;
  const editJson = (edit: (c: PirConfigJson) => void) => (b: Uint8Array) => {
    const c = JSON.parse(new TextDecoder().decode(b)) as PirConfigJson;
    edit(c);
    return new TextEncoder().encode(JSON.stringify(c));
  };

  test('an untampered open succeeds (the tampering fetch itself is transparent)', async () => {
    const db = await createClient(url, { fetch: tampering(/^$/, (b) => b) }).pir.open('h', { identityPublicKey: await identity() });
    assert.equal(db.version, config.version);
  });

  test('a flipped hint byte is refused', async () => {
    for (const at of [0, config.sizes.hint - 1, 12345]) {
      const client = createClient(url, { fetch: tampering(/\/hint/, (b) => { const c = new Uint8Array(b); c[at]! ^= 0x01; return c; }) });
      await assert.rejects(client.pir.open('h', { identityPublicKey: await identity() }), (e: unknown) => e instanceof PirIntegrityError && /hint/.test(e.message));
    }
  });

  test('a truncated hint is refused', async () => {
    const client = createClient(url, { fetch: tampering(/\/hint/, (b) => b.subarray(4)) });
    await assert.rejects(client.pir.open('h', { identityPublicKey: await identity() }), PirIntegrityError);
  });

  test('a wrong signature, a tampered seed, shape or hash are refused', async () => {
    const edits: Array<(c: PirConfigJson) => void> = [
      (c) => { const s = Buffer.from(c.signature, 'base64url'); s[10]! ^= 1; c.signature = s.toString('base64url'); },
      (c) => { const s = Buffer.from(c.seed, 'base64url'); s[0]! ^= 1; c.seed = s.toString('base64url'); },
      (c) => { c.hintSha256 = c.hintSha256.replace(/^./, (d) => (d === '0' ? '1' : '0')); },
      (c) => { c.params = { ...c.params, n: 1024 }; },
      (c) => { c.version += 1; },
      (c) => { c.name = 'other'; },
    ];
    for (const edit of edits) {
      const client = createClient(url, { fetch: tampering(/^\/v1\/pir\/databases\/h$/, editJson(edit)) });
      await assert.rejects(client.pir.open('h', { identityPublicKey: await identity() }), PirIntegrityError);
    }
  });

  test('verifyPirConfig: accepts the served config, refuses another pin', async () => {
    const pk = await identity();
    assert.equal(verifyPirConfig(config, pk).keyId, config.identity.keyId);
    const other = new Uint8Array(pk);
    other[0]! ^= 1;
    assert.throws(() => verifyPirConfig(config, other), PirIntegrityError);
  });
});
