/**
 * The key caches of the sign / verify paths: the main-thread row cache (src/keys/cache.ts) and the
 * per-worker key caches (src/keys/worker.ts), plus the native base64url codec they use.
 * Invalidation on this instance is immediate (rotate, minVersion, delete); another instance on the
 * same store sees a change within KEY_CACHE_TTL_MS.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { KeyCache, KEY_CACHE_TTL_MS } from '../../src/keys/cache.ts';
import type { MaterialRow } from '../../src/keys/repo.ts';
import { sign as signWorker, verify as verifyWorker, workerCacheSizes, WORKER_KEY_CACHE_MAX } from '../../src/keys/worker.ts';
import { base64urlDecode as nativeDecode, base64urlEncode as nativeEncode, portableBase64url } from '../../src/crypto/bytes.ts';
const { decode: pureDecode, encode: pureEncode } = portableBase64url;
import { nativeBackend, nobleBackend } from '../../src/crypto/index.ts';
import { testApp, memoryStore, ADMIN_TOKEN, problemOf, type TestApp } from '../support/app.ts';
import type { Store } from '../../src/store/index.ts';
import { randomBytes } from 'node:crypto';

const utf8 = (s: string) => new TextEncoder().encode(s);
/** The worker tasks, run in this thread on the native backend (what a pool worker does). */
const signTask = (input: Parameters<typeof signWorker>[0]) => signWorker(input, { backend: nativeBackend });
const verifyTask = (input: Parameters<typeof verifyWorker>[0]) => verifyWorker(input, { backend: nativeBackend });

function fakeRow(version: number | null, latest = 1): MaterialRow {
  const at = new Date(0);
  return {
    id: 'id-1', owner: 'o', name: 'n', algorithm: 'ML-DSA-65', exportable: false, deletion_allowed: false, min_version: 1,
    latest_version: latest, created_at: at, updated_at: at, version, public_key: new Uint8Array(4), wrapped_secret: new Uint8Array(4), row_mac: null, version_mac: null,
    rotation_period_seconds: null, next_rotation_at: null, max_versions: null,
  };
}

describe('KeyCache (unit, fake clock and loader)', () => {
  function setup() {
    let now = 0;
    const loads: Array<{ owner: string; name: string; version: number | null }> = [];
    let release: (() => void) | undefined;
    let hold = false;
    let current: MaterialRow | undefined = fakeRow(1);
    let unwraps = 0;
    const cache = new KeyCache(async (owner, name, version) => {
      loads.push({ owner, name, version });
      const read = current; // what the store held when the query ran
      if (hold) {
        hold = false; // only the next load is held
        await new Promise<void>((r) => { release = r; });
      }
      return read && { ...read };
    }, () => { unwraps++; return new Uint8Array(32).fill(7); }, { now: () => now });
    return {
      cache, loads,
      tick: (ms: number) => { now += ms; },
      set: (r: MaterialRow | undefined) => { current = r; },
      holdNext: () => { hold = true; },
      release: () => release?.(),
      unwraps: () => unwraps,
    };
  }

  test('a hit within the lifetime does not query; after it, the row is read again', async () => {
    const s = setup();
    await s.cache.row('o', 'n', null);
    s.tick(KEY_CACHE_TTL_MS - 1);
    await s.cache.row('o', 'n', null);
    assert.equal(s.loads.length, 1);
    s.tick(1);
    await s.cache.row('o', 'n', null);
    assert.equal(s.loads.length, 2);
    s.cache.clear();
  });

  test('versions are cached apart; misses are never cached', async () => {
    const s = setup();
    await s.cache.row('o', 'n', null);
    await s.cache.row('o', 'n', 1);
    assert.equal(s.loads.length, 2);
    s.set(undefined);
    assert.equal(await s.cache.row('o', 'other', null), undefined);
    assert.equal(await s.cache.row('o', 'other', null), undefined);
    assert.equal(s.loads.length, 4);
    s.cache.clear();
  });

  test('invalidate drops the key at once', async () => {
    const s = setup();
    await s.cache.row('o', 'n', null);
    s.set(fakeRow(2, 2));
    s.cache.invalidate('o', 'n');
    assert.equal((await s.cache.row('o', 'n', null))!.version, 2);
    assert.equal(s.loads.length, 2);
    s.cache.clear();
  });

  test('a lookup in flight across an invalidation is neither stored nor joined', async () => {
    const s = setup();
    s.holdNext();
    const stale = s.cache.row('o', 'n', null); // reads version 1, held
    await Promise.resolve();
    s.set(fakeRow(2, 2));
    s.cache.invalidate('o', 'n');
    const fresh = s.cache.row('o', 'n', null); // must not join the held lookup
    s.release();
    assert.equal((await stale)!.version, 1);
    assert.equal((await fresh)!.version, 2);
    assert.equal((await s.cache.row('o', 'n', null))!.version, 2, 'the stale row was not stored');
    s.cache.clear();
  });

  test('material is unwrapped once per entry, handed out as copies, and wiping a copy does not touch the cache', async () => {
    const s = setup();
    const a = (await s.cache.material('o', 'n', null))!.material!;
    a.fill(0);
    const b = (await s.cache.material('o', 'n', null))!.material!;
    assert.deepEqual(b, new Uint8Array(32).fill(7));
    assert.notEqual(a.buffer, b.buffer);
    assert.equal(s.unwraps(), 1);
    assert.equal((await s.cache.row('o', 'n', null))!.version, 1);
    assert.equal(s.unwraps(), 1, 'row() never unwraps');
    s.cache.invalidate('o', 'n');
    await s.cache.material('o', 'n', null);
    assert.equal(s.unwraps(), 2);
    s.cache.clear();
  });
});

describe('one instance: its own changes apply to the next request', () => {
  let t: TestApp;
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const message = Buffer.from('cached message').toString('base64url');
  before(async () => { t = await testApp(); });
  after(() => t.close());
  const sign = (name: string, extra: Record<string, unknown> = {}) =>
    t.app.inject({ method: 'POST', url: `/v1/keys/${name}/sign`, headers, payload: { message, ...extra } });
  const verify = (name: string, signature: string) =>
    t.app.inject({ method: 'POST', url: `/v1/keys/${name}/verify`, headers, payload: { message, signature } });

  test('rotate: the next sign uses the new version', async () => {
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/keys', headers, payload: { name: 'rot', algorithm: 'ML-DSA-44' } })).statusCode, 201);
    assert.equal(JSON.parse((await sign('rot')).body).version, 1);
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/keys/rot/rotate', headers })).statusCode, 200);
    assert.equal(JSON.parse((await sign('rot')).body).version, 2);
  });

  test('minVersion: the next sign and verify with an older version are refused', async () => {
    const old = JSON.parse((await sign('rot', { version: 1 })).body);
    assert.equal(old.version, 1);
    assert.equal(JSON.parse((await verify('rot', old.signature)).body).valid, true);
    const patched = await t.app.inject({ method: 'PATCH', url: '/v1/keys/rot', headers, payload: { minVersion: 2 } });
    assert.equal(patched.statusCode, 200);
    const refused = await sign('rot', { version: 1 });
    assert.equal(refused.statusCode, 400);
    assert.equal(problemOf(refused).code, 'invalid_input');
    assert.equal((await verify('rot', old.signature)).statusCode, 400);
  });

  test('delete: a deleted key signs and verifies nothing, cached or not', async () => {
    const s = JSON.parse((await sign('rot')).body);
    assert.equal(JSON.parse((await verify('rot', s.signature)).body).valid, true); // both cached now
    await t.app.inject({ method: 'PATCH', url: '/v1/keys/rot', headers, payload: { deletionAllowed: true } });
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/keys/rot', headers })).statusCode, 204);
    const gone = await sign('rot');
    assert.equal(gone.statusCode, 404);
    assert.equal(problemOf(gone).code, 'not_found');
    assert.equal((await verify('rot', s.signature)).statusCode, 404);
    // A new key under the same name is a different key: the old signature does not verify under it.
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/keys', headers, payload: { name: 'rot', algorithm: 'ML-DSA-44' } })).statusCode, 201);
    assert.equal(JSON.parse((await verify('rot', s.signature.replace(/^v\d+:/, 'v1:'))).body).valid, false);
  });
});

describe('two instances on one store: a change elsewhere shows within the cache lifetime', () => {
  let store: Store;
  let a: TestApp;
  let b: TestApp;
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
  before(async () => {
    store = await memoryStore();
    const secrets = { masterKey: new Uint8Array(randomBytes(32)), adminToken: ADMIN_TOKEN };
    a = await testApp({ WORKERS: '1' }, { store, secrets });
    b = await testApp({ WORKERS: '1' }, { store, secrets });
  });
  after(async () => { await a.close(); await b.close(); await store.close(); });

  test('rotation and deletion on B reach A after at most KEY_CACHE_TTL_MS', async () => {
    const payload = { message: 'AA' };
    await b.app.inject({ method: 'POST', url: '/v1/keys', headers, payload: { name: 'shared', algorithm: 'ML-DSA-44' } });
    assert.equal(JSON.parse((await a.app.inject({ method: 'POST', url: '/v1/keys/shared/sign', headers, payload })).body).version, 1);
    await b.app.inject({ method: 'POST', url: '/v1/keys/shared/rotate', headers });
    await new Promise((r) => setTimeout(r, KEY_CACHE_TTL_MS + 50));
    assert.equal(JSON.parse((await a.app.inject({ method: 'POST', url: '/v1/keys/shared/sign', headers, payload })).body).version, 2);
    await b.app.inject({ method: 'PATCH', url: '/v1/keys/shared', headers, payload: { deletionAllowed: true } });
    await b.app.inject({ method: 'DELETE', url: '/v1/keys/shared', headers });
    await new Promise((r) => setTimeout(r, KEY_CACHE_TTL_MS + 50));
    assert.equal((await a.app.inject({ method: 'POST', url: '/v1/keys/shared/sign', headers, payload })).statusCode, 404);
  });
});

describe('worker key caches (tasks run in this thread)', () => {
  const msg = utf8('worker cache');
  const context = utf8('ctx');

  test('the same cacheId with other material signs with the presented material, never the cached key', () => {
    const seed1 = new Uint8Array(randomBytes(32));
    const seed2 = new Uint8Array(randomBytes(32));
    const pk1 = ml_dsa65.keygen(seed1).publicKey;
    const pk2 = ml_dsa65.keygen(seed2).publicKey;
    const s1 = signTask({ algorithm: 'ML-DSA-65', material: seed1, cacheId: 'same', message: msg, context }).signature;
    const s2 = signTask({ algorithm: 'ML-DSA-65', material: seed2, cacheId: 'same', message: msg, context }).signature;
    assert.equal(ml_dsa65.verify(s1, msg, pk1, { context }), true);
    assert.equal(ml_dsa65.verify(s2, msg, pk2, { context }), true);
    assert.equal(ml_dsa65.verify(s2, msg, pk1, { context }), false);
    // And back: the id now caches seed2's key; seed1 must still sign as seed1.
    assert.equal(ml_dsa65.verify(signTask({ algorithm: 'ML-DSA-65', material: seed1, cacheId: 'same', message: msg }).signature, msg, pk1), true);
  });

  test('cached public keys: a different key under the same cacheId is not reused; noble signatures verify', () => {
    const k1 = ml_dsa65.keygen(new Uint8Array(randomBytes(32)));
    const k2 = ml_dsa65.keygen(new Uint8Array(randomBytes(32)));
    const sig1 = nobleBackend.sign('ML-DSA-65', k1.secretKey, msg, { context });
    const sig2 = nobleBackend.sign('ML-DSA-65', k2.secretKey, msg, { context });
    assert.equal(verifyTask({ algorithm: 'ML-DSA-65', publicKey: k1.publicKey, cacheId: 'pub', signature: sig1, message: msg, context }).valid, true);
    assert.equal(verifyTask({ algorithm: 'ML-DSA-65', publicKey: k2.publicKey, cacheId: 'pub', signature: sig1, message: msg, context }).valid, false);
    assert.equal(verifyTask({ algorithm: 'ML-DSA-65', publicKey: k2.publicKey, cacheId: 'pub', signature: sig2, message: msg, context }).valid, true);
    assert.equal(verifyTask({ algorithm: 'ML-DSA-65', publicKey: k2.publicKey, cacheId: 'pub', signature: sig2, message: msg }).valid, false, 'context is bound');
    const tampered = sig2.slice(); tampered[10]! ^= 1;
    assert.equal(verifyTask({ algorithm: 'ML-DSA-65', publicKey: k2.publicKey, cacheId: 'pub', signature: tampered, message: msg, context }).valid, false);
  });

  test('SLH-DSA through the native key cache verifies with noble', () => {
    const { secretKey, publicKey } = nobleBackend.signatureKeygen('SLH-DSA-SHA2-128f');
    const sig = signTask({ algorithm: 'SLH-DSA-SHA2-128f', material: secretKey, cacheId: 'slh', message: msg, context }).signature;
    assert.equal(nobleBackend.verify('SLH-DSA-SHA2-128f', publicKey, msg, sig, { context }), true);
  });

  test('the caches stay bounded', () => {
    const seed = new Uint8Array(32);
    for (let i = 0; i < WORKER_KEY_CACHE_MAX + 10; i++) signTask({ algorithm: 'ML-DSA-44', material: seed, cacheId: `n${i}`, message: msg });
    assert.equal(workerCacheSizes().privateKeys, WORKER_KEY_CACHE_MAX);
  });
});

test('native base64url: same bytes and same rejections as the pure codec', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    const s = nativeEncode(bytes);
    assert.equal(s, pureEncode(bytes));
    assert.deepEqual(nativeDecode(s), bytes);
  }));
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .\n'.split('');
  fc.assert(fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 12 }).map((a) => a.join('')), (s) => {
    let pure: Uint8Array | Error; let native: Uint8Array | Error;
    try { pure = pureDecode(s); } catch (e) { pure = e as Error; }
    try { native = nativeDecode(s); } catch (e) { native = e as Error; }
    if (pure instanceof Error) assert.ok(native instanceof Error, `native accepted ${JSON.stringify(s)}`);
    else assert.deepEqual(native, pure);
  }), { numRuns: 2000 });
  assert.throws(() => nativeDecode('AB'), /invalid base64url/); // non-canonical trailing bits
  assert.equal(nativeDecode('AA').length, 1);
});
