/**
 * Key lifecycle (issue 15 §2; src/keys/rotation.ts, src/keys/destroy.ts) at the service layer, with an
 * injected clock: automatic rotation exactly once per period (and once for a backlog of missed
 * periods), manual rotation starting a new period, PATCH semantics, maxVersions retention, destroying
 * one version (erased material, public key kept, 410 for every secret-using path, cache invalidated),
 * the capability flags of getKey, and the MAC over the lifecycle columns.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { memoryStore } from '../support/app.ts';
import { createWorkerPool, type WorkerPool } from '../../src/workers/pool.ts';
import { KeyService, type KeyInfo, type SignResult } from '../../src/keys/service.ts';
import type { Store } from '../../src/store/index.ts';
import { AppError, CryptoInputError } from '../../src/errors.ts';
import { parseDuration } from '../../src/client/keys.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import { nativeBackend } from '../../src/crypto/index.ts';
import {
  ROTATION_PERIOD_MAX_S, ROTATION_PERIOD_MIN_S, firstRotation, nextRotation, parseMaxVersions, parseRotationPeriod, rfc3339Seconds,
} from '../../src/keys/rotation.ts';

const HOUR = 3600;
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0, 250); // a time with milliseconds: stored times are whole seconds
const msg = base64urlEncode(new TextEncoder().encode('lifecycle'));
const warnings: unknown[] = [];
const log = { error() {}, warn: (o: unknown) => { warnings.push(o); }, info() {}, debug() {}, trace() {}, fatal() {}, child() { return log; }, level: 'silent' } as unknown as FastifyBaseLogger;

let store: Store;
let pool: WorkerPool;
let keys: KeyService;
let clock = T0;
const at = (ms: number) => new Date(ms);

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const versionsOf = async (owner: string, name: string) => (await keys.get(owner, name)).versions!.map((v) => `${v.version}:${v.state}`);
const wrappedLengths = async (name: string) =>
  (await store.query<{ version: number; n: number }>('SELECT v.version, octet_length(v.wrapped_secret) AS n FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.name = $1 ORDER BY v.version', [name]))
    .map((r) => `${r.version}:${Number(r.n) === 0 ? 'erased' : 'wrapped'}`);

before(async () => {
  store = await memoryStore();
  pool = createWorkerPool({ threads: 1, maxQueue: 256 });
  keys = new KeyService({ store, pool, log, secrets: { masterKey: new Uint8Array(randomBytes(32)), adminToken: 'x'.repeat(40) } }, { now: () => clock });
});
after(async () => {
  keys.close();
  await pool.close();
  await store.close();
});

describe('rotation arithmetic (pure)', () => {
  test('ranges: 1 hour to 10 years of seconds, whole numbers; null only where allowed', () => {
    assert.equal(parseRotationPeriod(ROTATION_PERIOD_MIN_S, false), 3600);
    assert.equal(parseRotationPeriod(ROTATION_PERIOD_MAX_S, false), 315_360_000);
    assert.equal(parseRotationPeriod(undefined, false), undefined);
    assert.equal(parseRotationPeriod(null, true), null);
    for (const bad of [0, 3599, 315_360_001, -3600, 3600.5, '3600', '1h', null, true, Number.NaN, Infinity]) {
      assert.throws(() => parseRotationPeriod(bad, false), code('invalid_input'), String(bad));
    }
    assert.equal(parseMaxVersions(1, false), 1);
    assert.equal(parseMaxVersions(null, true), null);
    for (const bad of [0, 1001, -1, 2.5, '2', null]) assert.throws(() => parseMaxVersions(bad, false), code('invalid_input'), String(bad));
  });

  test('SDK parseDuration: seconds or one unit (s m h d w y); anything else throws', () => {
    assert.deepEqual(['3600', '90m', '12h', '30d', '1w', '1y', ' 2h '].map(parseDuration), [3600, 5400, 43_200, 2_592_000, 604_800, 31_536_000, 7200]);
    for (const bad of ['', '1h30m', '-1h', '1.5h', 'PT1H', '1H', 'h', '1 h', '1e3']) assert.throws(() => parseDuration(bad), CryptoInputError, bad);
  });

  test('next rotation: one period after the due one; after a longer outage one period from now', () => {
    const due = at(Date.UTC(2026, 0, 1, 0, 0, 0));
    assert.equal(rfc3339Seconds(nextRotation(due, HOUR, at(due.getTime() + 5_000))), '2026-01-01T01:00:00Z');
    // 10 periods missed: not replayed.
    assert.equal(rfc3339Seconds(nextRotation(due, HOUR, at(due.getTime() + 10 * HOUR * 1000 + 1500))), '2026-01-01T11:00:01Z');
    assert.equal(firstRotation(at(T0), HOUR).getTime() % 1000, 0, 'whole seconds');
  });
});

describe('automatic rotation (fake clock)', () => {
  test('create shows rotationPeriod and nextRotationAt; a sweep before it is due does nothing', async () => {
    clock = T0;
    const k = await keys.create('tenant:a', { name: 'auto', algorithm: 'ML-DSA-44', rotationPeriod: HOUR });
    assert.equal(k.rotationPeriod, HOUR);
    assert.equal(k.nextRotationAt, '2026-12-01T11:00:00Z');
    assert.match(k.nextRotationAt!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    clock = T0 + HOUR * 1000 - 2000;
    assert.deepEqual(await keys.sweepRotations(), { rotated: 0, skipped: 0, lost: 0, failed: 0, events: [] });
    assert.equal((await keys.get('tenant:a', 'auto')).latestVersion, 1);
  });

  test('due: exactly one new version per period, however often the sweeper runs', async () => {
    for (let period = 1; period <= 3; period++) {
      clock = Date.UTC(2026, 11, 1, 10 + period, 0, 0) + 10;
      const sweeps = await Promise.all([keys.sweepRotations(), keys.sweepRotations(), keys.sweepRotations()]);
      assert.equal(sweeps.reduce((n, s) => n + s.rotated, 0), 1, JSON.stringify(sweeps));
      assert.equal((await keys.sweepRotations()).rotated, 0);
      const k = await keys.get('tenant:a', 'auto');
      assert.equal(k.latestVersion, period + 1);
      assert.equal(k.nextRotationAt, rfc3339Seconds(at(Date.UTC(2026, 11, 1, 11 + period, 0, 0))));
    }
    // The new versions are real, distinct key pairs that sign.
    const k = await keys.get('tenant:a', 'auto');
    assert.equal(new Set(k.versions!.map((v) => v.publicKey)).size, 4);
    assert.equal(((await keys.sign('tenant:a', 'auto', { message: msg })) as SignResult).version, 4);
  });

  test('a backlog of missed periods is one rotation; the next is one period from now', async () => {
    clock = Date.UTC(2026, 11, 2, 3, 30, 7, 900); // ~13 periods late
    assert.equal((await keys.sweepRotations()).rotated, 1);
    assert.equal((await keys.sweepRotations()).rotated, 0);
    const k = await keys.get('tenant:a', 'auto');
    assert.equal(k.latestVersion, 5);
    assert.equal(k.nextRotationAt, '2026-12-02T04:30:07Z');
  });

  test('a manual rotation starts a new period (and so postpones the automatic one)', async () => {
    clock = Date.UTC(2026, 11, 2, 4, 0, 0);
    const k = await keys.rotate('tenant:a', 'auto');
    assert.equal(k.latestVersion, 6);
    assert.equal(k.nextRotationAt, '2026-12-02T05:00:00Z');
    clock = Date.UTC(2026, 11, 2, 4, 30, 8);
    assert.equal((await keys.sweepRotations()).rotated, 0);
  });

  test('PATCH: a new period starts from now, the same period changes nothing, null turns it off', async () => {
    clock = Date.UTC(2026, 11, 2, 4, 40, 0);
    let k = await keys.update('tenant:a', 'auto', { rotationPeriod: 2 * HOUR });
    assert.equal(k.rotationPeriod, 2 * HOUR);
    assert.equal(k.nextRotationAt, '2026-12-02T06:40:00Z');
    clock += 60_000;
    k = await keys.update('tenant:a', 'auto', { rotationPeriod: 2 * HOUR, minVersion: 2 });
    assert.equal(k.nextRotationAt, '2026-12-02T06:40:00Z', 'unchanged');
    assert.equal(k.minVersion, 2);
    k = await keys.update('tenant:a', 'auto', { rotationPeriod: null });
    assert.equal(k.rotationPeriod, undefined);
    assert.equal(k.nextRotationAt, undefined);
    clock = Date.UTC(2027, 0, 1);
    assert.equal((await keys.sweepRotations()).rotated, 0);
    assert.equal((await keys.get('tenant:a', 'auto')).latestVersion, 6);
  });

  test('a sweep rotates at most its batch of due keys; the rest on the next tick', async () => {
    clock = T0;
    for (let i = 0; i < 5; i++) await keys.create('tenant:b', { name: `many-${i}`, algorithm: 'ML-DSA-44', rotationPeriod: HOUR });
    clock = T0 + HOUR * 1000 + 1000;
    // A batch of 2 (the plugin's sweeps use ROTATION_BATCH = 16): 2, 2, 1, then nothing.
    const ticks: number[] = [];
    for (let tick = 0; tick < 4; tick++) ticks.push((await keys.sweepRotations(undefined, 2)).rotated);
    assert.deepEqual(ticks, [2, 2, 1, 0]);
    for (let i = 0; i < 5; i++) assert.equal((await keys.get('tenant:b', `many-${i}`)).latestVersion, 2);
  });

  test('a key whose lifecycle columns were forged is skipped (logged), never rotated', async () => {
    clock = T0;
    await keys.create('tenant:c', { name: 'forged', algorithm: 'ML-DSA-44' });
    // A database writer gives the key a period and a due time: the row MAC does not cover the period.
    await store.query("UPDATE keys SET rotation_period_seconds = 3600, next_rotation_at = '2026-01-01T00:00:00Z' WHERE owner = 'tenant:c' AND name = 'forged'");
    warnings.length = 0;
    const r = await keys.sweepRotations();
    assert.equal(r.failed, 1);
    assert.equal(warnings.length, 1);
    assert.doesNotMatch(JSON.stringify(warnings), /wrapped|secret|[A-Za-z0-9_-]{40,}/);
    const [row] = await store.query<{ latest_version: number }>("SELECT latest_version FROM keys WHERE owner = 'tenant:c' AND name = 'forged'");
    assert.equal(row!.latest_version, 1);
    await assert.rejects(keys.get('tenant:c', 'forged'), code('internal'));
    await store.query("UPDATE keys SET rotation_period_seconds = NULL, next_rotation_at = NULL WHERE owner = 'tenant:c' AND name = 'forged'");
    assert.equal((await keys.get('tenant:c', 'forged')).latestVersion, 1, 'restored columns verify again');
  });

  test('lifecycle columns are MAC-covered: a raised maxVersions or a changed period is a 500', async () => {
    clock = T0;
    await keys.create('tenant:c', { name: 'macd', algorithm: 'ML-DSA-44', rotationPeriod: HOUR, maxVersions: 3 });
    for (const sql of [
      "UPDATE keys SET max_versions = 1 WHERE name = 'macd'",
      "UPDATE keys SET max_versions = NULL WHERE name = 'macd'",
      "UPDATE keys SET rotation_period_seconds = 7200 WHERE name = 'macd'",
    ]) {
      const [before] = await store.query<{ row_mac: Uint8Array; max_versions: number; rotation_period_seconds: number }>("SELECT row_mac, max_versions, rotation_period_seconds FROM keys WHERE name = 'macd'");
      await store.query(sql);
      await assert.rejects(keys.get('tenant:c', 'macd'), code('internal'), sql);
      await assert.rejects(keys.rotate('tenant:c', 'macd'), code('internal'), sql);
      await store.query("UPDATE keys SET max_versions = $1, rotation_period_seconds = $2 WHERE name = 'macd'", [before!.max_versions, before!.rotation_period_seconds]);
    }
    assert.equal((await keys.get('tenant:c', 'macd')).maxVersions, 3);
  });
});

describe('retention and destroy', () => {
  test('maxVersions: the oldest versions beyond it are destroyed on rotation; their signatures still verify', async () => {
    clock = T0;
    await keys.create('tenant:d', { name: 'kept', algorithm: 'ML-DSA-44', maxVersions: 2, exportable: true });
    const sig1 = ((await keys.sign('tenant:d', 'kept', { message: msg })) as SignResult).signature;
    await keys.rotate('tenant:d', 'kept');
    assert.deepEqual(await versionsOf('tenant:d', 'kept'), ['1:enabled', '2:enabled']);
    clock = T0 + 5000;
    await keys.rotate('tenant:d', 'kept');
    await keys.rotate('tenant:d', 'kept');
    const k = await keys.get('tenant:d', 'kept');
    assert.deepEqual(k.versions!.map((v) => `${v.version}:${v.state}`), ['1:destroyed', '2:destroyed', '3:enabled', '4:enabled']);
    assert.equal(k.versions![0]!.destroyedAt, new Date(T0 + 5000).toISOString());
    assert.deepEqual(await wrappedLengths('kept'), ['1:erased', '2:erased', '3:wrapped', '4:wrapped']);
    assert.deepEqual(await keys.verify('tenant:d', 'kept', { message: msg, signature: sig1 }), { valid: true, version: 1 });
    await assert.rejects(keys.sign('tenant:d', 'kept', { message: msg, version: 1 }), code('key_version_destroyed'));
    await assert.rejects(keys.export('tenant:d', 'kept', { version: 2 }), code('key_version_destroyed'));
    assert.equal((await keys.export('tenant:d', 'kept', { version: 3 })).version, 3);
    // The public key of a destroyed version is still served.
    assert.equal((await keys.publicKey('tenant:d', 'kept', { version: 1 })).version, 1);
  });

  test('destroyKeyVersion erases one version; the cache never serves it again on this instance', async () => {
    clock = T0;
    await keys.create('tenant:e', { name: 'd', algorithm: 'ML-DSA-44' });
    await keys.rotate('tenant:e', 'd');
    // Warm the ≤ 1 s cache with version 1's material.
    const sig1 = ((await keys.sign('tenant:e', 'd', { message: msg, version: 1 })) as SignResult).signature;
    clock = T0 + 42_000;
    const k: KeyInfo = await keys.destroyVersion('tenant:e', 'd', 1);
    assert.deepEqual(k.versions!.map((v) => [v.version, v.state, v.destroyedAt]), [[1, 'destroyed', new Date(T0 + 42_000).toISOString()], [2, 'enabled', undefined]]);
    await assert.rejects(keys.sign('tenant:e', 'd', { message: msg, version: 1 }), (e: unknown) => e instanceof AppError && e.code === 'key_version_destroyed' && e.status === 410 && /version 1/.test(e.message));
    assert.deepEqual(await keys.verify('tenant:e', 'd', { message: msg, signature: sig1 }), { valid: true, version: 1 });
    assert.deepEqual(await wrappedLengths('d'), ['1:erased', '2:wrapped']);
    // The integrity MACs still verify (the public key is unchanged): getKey, rotation and signing work.
    assert.equal((await keys.rotate('tenant:e', 'd')).latestVersion, 3);
    assert.equal(((await keys.sign('tenant:e', 'd', { message: msg })) as SignResult).version, 3);
  });

  test('after destroy, neither the wrapped blob nor the seed is in any row of any table', async () => {
    clock = T0;
    await keys.create('tenant:e', { name: 'gone', algorithm: 'ML-DSA-65', exportable: true });
    const seed = Buffer.from((await keys.export('tenant:e', 'gone', { version: 1 })).privateKey as string, 'base64url');
    await keys.rotate('tenant:e', 'gone');
    const [row] = await store.query<{ wrapped_secret: Uint8Array }>(
      "SELECT v.wrapped_secret FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.name = 'gone' AND v.version = 1");
    const needles = [Buffer.from(row!.wrapped_secret).toString('hex'), seed.toString('hex'), seed.toString('base64url')];
    const dump = async () => {
      const tables = await store.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
      let all = '';
      for (const { table_name: t } of tables) all += (await store.query<{ x: string }>(`SELECT x::text AS x FROM "${t}" x`)).map((r) => r.x).join('\n');
      return all;
    };
    assert.ok((await dump()).includes(needles[0]!), 'control: the blob is found before the destroy');
    await keys.destroyVersion('tenant:e', 'gone', 1);
    const after = await dump();
    for (const n of needles) assert.ok(!after.includes(n), 'erased');
  });

  test('KEM keys: decrypt, rewrap and decapsulate by a destroyed version are 410; getKey shows decapsulateAllowed', async () => {
    clock = T0;
    const created = await keys.create('tenant:f', { name: 'kem', algorithm: 'ML-KEM-768', decapsulateAllowed: true });
    assert.equal(created.decapsulateAllowed, true);
    assert.equal(created.publicKeyOnly, false);
    assert.equal((await keys.create('tenant:f', { name: 'kem2', algorithm: 'X-Wing' })).decapsulateAllowed, false);
    const ct = (await keys.encrypt('tenant:f', 'kem', { plaintext: msg })) as { ciphertext: string };
    const v1 = (await keys.get('tenant:f', 'kem')).versions![0]!.publicKey;
    const { cipherText } = nativeBackend.encapsulate('ML-KEM-768', Buffer.from(v1, 'base64url'));
    await keys.rotate('tenant:f', 'kem');
    await keys.destroyVersion('tenant:f', 'kem', 1);
    await assert.rejects(keys.decrypt('tenant:f', 'kem', { ciphertext: ct.ciphertext }), code('key_version_destroyed'));
    await assert.rejects(keys.rewrap('tenant:f', 'kem', { ciphertext: ct.ciphertext }), code('key_version_destroyed'));
    await assert.rejects(keys.decapsulate('tenant:f', 'kem', { ciphertext: `v1:${base64urlEncode(cipherText)}` }), code('key_version_destroyed'));
    // In a batch, the destroyed version's items are refused in their slots.
    const batch = await keys.decrypt('tenant:f', 'kem', { batch: [{ ciphertext: ct.ciphertext }] }) as { results: Array<{ error?: { code: string; status: number } }> };
    assert.equal(batch.results[0]!.error?.code, 'key_version_destroyed');
    assert.equal(batch.results[0]!.error?.status, 410);
    // Encryption uses the newest version, which cannot be destroyed.
    assert.equal(((await keys.encrypt('tenant:f', 'kem', { plaintext: msg })) as { version: number }).version, 2);
  });

  test('refusals change nothing: the current version (409), an unknown one (404), destroyed twice (409)', async () => {
    clock = T0;
    await keys.create('tenant:g', { name: 'r', algorithm: 'ML-DSA-44' });
    await keys.rotate('tenant:g', 'r');
    const before = await keys.get('tenant:g', 'r');
    await assert.rejects(keys.destroyVersion('tenant:g', 'r', 2), (e: unknown) => e instanceof AppError && e.code === 'conflict' && e.extra?.reason === 'current_version');
    await assert.rejects(keys.destroyVersion('tenant:g', 'r', 3), code('not_found'));
    await assert.rejects(keys.destroyVersion('tenant:g', 'r', 0), code('invalid_input'));
    await assert.rejects(keys.destroyVersion('tenant:h', 'r', 1), (e: unknown) => e instanceof AppError && e.code === 'not_found' && e.message === 'no such key');
    assert.deepEqual(await keys.get('tenant:g', 'r'), before);
    await keys.destroyVersion('tenant:g', 'r', 1);
    const after1 = await keys.get('tenant:g', 'r');
    await assert.rejects(keys.destroyVersion('tenant:g', 'r', 1), (e: unknown) => e instanceof AppError && e.code === 'conflict' && e.extra?.reason === 'already_destroyed');
    assert.deepEqual(await keys.get('tenant:g', 'r'), after1);
  });

  test('public-key-only keys: getKey says so; no automatic rotation; maxVersions allowed', async () => {
    const { publicKey } = nativeBackend.signatureKeygen('ML-DSA-44');
    const k = await keys.create('tenant:i', { name: 'pub', algorithm: 'ML-DSA-44', publicKey: base64urlEncode(publicKey), maxVersions: 2 });
    assert.equal(k.publicKeyOnly, true);
    assert.equal(k.maxVersions, 2);
    await assert.rejects(keys.create('tenant:i', { name: 'pub2', algorithm: 'ML-DSA-44', publicKey: base64urlEncode(publicKey), rotationPeriod: HOUR }), code('unsupported_operation'));
    await assert.rejects(keys.update('tenant:i', 'pub', { rotationPeriod: HOUR }), code('unsupported_operation'));
    assert.equal((await keys.get('tenant:i', 'pub')).rotationPeriod, undefined);
  });
});
