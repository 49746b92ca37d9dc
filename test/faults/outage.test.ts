/**
 * Store outage (issue 8, item 7) on a real service process over a real PostgreSQL:
 * 1. PostgreSQL shuts down (connections refused), 2. PostgreSQL freezes (SIGSTOP: connections
 * accepted, nothing answered, like a network partition). Meanwhile requests that need the store
 * get 503 problem+json `store_unavailable` with Retry-After within a bound (no hang), /v1/ready is
 * 503 {ready: false}, /v1/health stays 200, and the process stays up. When PostgreSQL is back the
 * service recovers by itself: same process, writes succeed, data from before the outage intact.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService, type ServiceProcess } from '../support/spawn.ts';
import { startFaultPostgres, type FaultPostgres } from './_pg.ts';
import { http, ADMIN } from './_http.ts';
import { base64urlEncode } from '../../src/crypto/index.ts';

/** Longest a store-touching request may take to fail while the database is down or frozen. */
const FAIL_WITHIN_MS = 15_000;
/** Longest the service may take to notice the database is back. */
const RECOVER_WITHIN_MS = 30_000;

const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-outage-'));
let pg: FaultPostgres | undefined;
let svc: ServiceProcess | undefined;
before(async () => {
  pg = await startFaultPostgres();
  svc = await spawnService({ DATA_DIR: dataDir, DATABASE_URL: pg.url, ADMIN_TOKEN: ADMIN, WORKERS: '1', RATE_LIMIT_MAX: '1000000', LOG_LEVEL: 'error' });
});
after(async () => {
  await svc?.kill9();
  await pg?.destroy();
  rmSync(dataDir, { recursive: true, force: true });
});

const MESSAGE = base64urlEncode(new TextEncoder().encode('outage probe'));
let keyCount = 0;

/**
 * Requests sent together while the store is away: [operation, request, statuses allowed]. Writes
 * and key reads need the store (503 only); public reads an instance may serve from memory
 * (the current prekey, a PIR config) may also answer 200, but never hang or fail otherwise.
 */
function storeRequests(base: string) {
  const n = ++keyCount;
  const only503 = [503];
  const cachedOr503 = [200, 503];
  return [
    ['createKey', http(base, 'POST', '/v1/keys', { name: `during-outage-${n}`, algorithm: 'ML-DSA-44' }), only503],
    ['getKey', http(base, 'GET', '/v1/keys/before'), only503],
    ['listKeys', http(base, 'GET', '/v1/keys'), only503],
    ['rotateKey', http(base, 'POST', '/v1/keys/before/rotate'), only503],
    ['sign', http(base, 'POST', '/v1/keys/before/sign', { message: MESSAGE }), only503],
    ['getKey (unknown)', http(base, 'GET', `/v1/keys/nope-${n}`), only503],
    ['registerUser', http(base, 'POST', '/v1/zk/users', { username: `outage-${n}`, commitment: String(1000 + n) }), only503],
    ['putPirDatabase', http(base, 'PUT', '/v1/pir/databases/outage-db?recordSize=8', undefined, { octet: new Uint8Array(64).fill(n) }), only503],
    ['getPirConfig', http(base, 'GET', '/v1/pir/databases/outage-db'), cachedOr503],
    ['getPrekey', http(base, 'GET', '/v1/kex/prekey'), cachedOr503],
  ] as const;
}

const timed = async <T>(p: Promise<T>): Promise<{ ms: number; value: T }> => {
  const t0 = performance.now();
  const value = await p;
  return { ms: performance.now() - t0, value };
};

async function waitFor(what: string, withinMs: number, probe: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < withinMs) {
    if (await probe()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not happen within ${withinMs} ms`);
}

async function assertDegraded(t: { diagnostic(m: string): void }, label: string): Promise<void> {
  const s = svc!;
  // The key cache may answer sign for up to a second after the store went away: wait for ready=false first.
  const readyMs = await waitFor(`${label}: /v1/ready → 503`, FAIL_WITHIN_MS, async () => (await http(s.url, 'GET', '/v1/ready', undefined, { timeoutMs: FAIL_WITHIN_MS })).status === 503);
  const ready = await timed(http(s.url, 'GET', '/v1/ready', undefined, { timeoutMs: FAIL_WITHIN_MS }));
  assert.equal(ready.value.status, 503, `${label}: ready`);
  assert.deepEqual(ready.value.body, { ready: false, store: 'postgres' });
  await new Promise((r) => setTimeout(r, 1100));

  const health = await timed(http(s.url, 'GET', '/v1/health', undefined, { timeoutMs: 2000 }));
  assert.equal(health.value.status, 200, `${label}: health must not depend on the store`);

  const results = await Promise.all(storeRequests(s.url).map(async ([op, p, allowed]) => [op, await timed(p), allowed] as const));
  let slowest = 0;
  const served: string[] = [];
  for (const [op, { ms, value }, allowed] of results) {
    assert.notEqual(value.status, 0, `${label}: ${op} got no answer (${value.error}) within ${FAIL_WITHIN_MS} ms`);
    assert.ok((allowed as readonly number[]).includes(value.status), `${label}: ${op} → ${value.status} ${JSON.stringify(value.body).slice(0, 200)}`);
    if (value.status === 503) {
      const p = value.body as { code: string; status: number; type: string };
      assert.equal(p.code, 'store_unavailable', `${label}: ${op} problem code`);
      assert.equal(p.status, 503);
    } else served.push(op);
    assert.ok(ms < FAIL_WITHIN_MS, `${label}: ${op} took ${ms} ms`);
    slowest = Math.max(slowest, ms);
  }
  // Retry-After and the problem+json media type, checked on one raw response.
  const raw = await fetch(`${s.url}/v1/keys/before`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: AbortSignal.timeout(FAIL_WITHIN_MS) });
  assert.equal(raw.status, 503);
  assert.match(raw.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.match(raw.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
  await raw.arrayBuffer();
  assert.ok(s.running, `${label}: the service process died during the outage:\n${s.output().slice(-3000)}`);
  t.diagnostic(`${label}: ready=false after ${readyMs} ms; health ${health.ms.toFixed(0)} ms; ${results.length - served.length} requests → 503 store_unavailable${served.length ? `, served from memory: ${served.join(', ')}` : ''}; slowest ${slowest.toFixed(0)} ms`);
}

async function assertRecovered(t: { diagnostic(m: string): void }, label: string, pidBefore: number | undefined): Promise<void> {
  const s = svc!;
  const ms = await waitFor(`${label}: /v1/ready → 200`, RECOVER_WITHIN_MS, async () => (await http(s.url, 'GET', '/v1/ready', undefined, { timeoutMs: 5000 })).status === 200);
  assert.equal(s.pid, pidBefore, 'recovered without a restart');
  const name = `after-${label.replace(/\W+/g, '-')}`;
  const created = await http(s.url, 'POST', '/v1/keys', { name, algorithm: 'ML-DSA-44' });
  assert.equal(created.status, 201, `${label}: createKey after recovery: ${JSON.stringify(created.body).slice(0, 300)}`);
  const before = await http(s.url, 'GET', '/v1/keys/before');
  assert.equal(before.status, 200);
  const key = before.body as { versions: Array<{ version: number; publicKey: string }> };
  assert.equal(key.versions[0]!.publicKey, beforeKey, 'the key from before the outage is intact');
  for (const n of ['before', name]) {
    const sig = await http(s.url, 'POST', `/v1/keys/${n}/sign`, { message: MESSAGE });
    assert.equal(sig.status, 200, `${label}: sign ${n} after recovery: ${JSON.stringify(sig.body).slice(0, 300)}`);
    const ok = await http(s.url, 'POST', `/v1/keys/${n}/verify`, { message: MESSAGE, signature: (sig.body as { signature: string }).signature });
    assert.equal((ok.body as { valid: boolean }).valid, true);
  }
  // No write attempted during the outage half-happened.
  const list = await http(s.url, 'GET', '/v1/keys?limit=1000');
  const names = (list.body as { keys: Array<{ name: string }> }).keys.map((k) => k.name);
  for (const n of names) {
    const k = await http(s.url, 'GET', `/v1/keys/${n}`);
    const body = k.body as { latestVersion: number; versions: Array<{ version: number }> };
    assert.deepEqual(body.versions.map((v) => v.version), Array.from({ length: body.latestVersion }, (_, i) => i + 1), `${n}: versions`);
  }
  t.diagnostic(`${label}: ready again ${ms} ms after the database returned, same process; ${names.length} keys consistent`);
}

let beforeKey = '';

test('setup: a key exists before the outage', async () => {
  const res = await http(svc!.url, 'POST', '/v1/keys', { name: 'before', algorithm: 'ML-DSA-44' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  beforeKey = (res.body as { versions: Array<{ publicKey: string }> }).versions[0]!.publicKey;
  const db = await http(svc!.url, 'PUT', '/v1/pir/databases/outage-db?recordSize=8', undefined, { octet: new Uint8Array(64) });
  assert.equal(db.status, 201, JSON.stringify(db.body));
});

test('PostgreSQL shut down: 503 store_unavailable fast, ready=false, health up; recovers when it returns', { timeout: 120_000 }, async (t) => {
  const pid = svc!.pid;
  await pg!.stop();
  await assertDegraded(t, 'shutdown');
  // A while down, with traffic: the process must not die of an unhandled rejection from a background job.
  await new Promise((r) => setTimeout(r, 2000));
  await assertDegraded(t, 'still down');
  await pg!.start();
  await assertRecovered(t, 'restart', pid);
});

test('PostgreSQL frozen (SIGSTOP): bounded 503s instead of hangs; recovers on SIGCONT', { timeout: 120_000 }, async (t) => {
  const pid = svc!.pid;
  pg!.freeze();
  try {
    await assertDegraded(t, 'frozen');
  } finally {
    pg!.thaw();
  }
  await assertRecovered(t, 'thaw', pid);
});
