/**
 * Overload (issue 8, item 8) on a real service process with a deliberately small worker pool
 * (WORKERS=1, WORKER_QUEUE=2): a flood of SLH-DSA-SHA2-128s signatures (hundreds of ms of CPU
 * each) far beyond capacity. Asserts behaviour, not speed (generous bounds on a loaded machine):
 * - every request is answered (200 or 503), none hangs;
 * - the excess is refused at once: 503 problem+json `overloaded` with Retry-After, quickly;
 * - the pool queue never grows beyond WORKER_QUEUE (the service does not queue without bound);
 * - /v1/health stays fast meanwhile (the event loop is not blocked by the work).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService, type ServiceProcess } from '../support/spawn.ts';
import { http, ADMIN } from './_http.ts';
import { base64urlEncode } from '../../src/crypto/index.ts';

const WORKER_QUEUE = 2;
const CONCURRENCY = 24;
const FLOOD_MS = 6000;
/** Generous bounds: a refusal costs no crypto, a health check none at all. */
const REFUSE_WITHIN_MS = 1000;
const HEALTH_P99_MS = 500;

const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-overload-'));
let svc: ServiceProcess | undefined;
before(async () => {
  svc = await spawnService({
    DATA_DIR: dataDir, ADMIN_TOKEN: ADMIN, WORKERS: '1', WORKER_QUEUE: String(WORKER_QUEUE), RATE_LIMIT_MAX: '1000000', LOG_LEVEL: 'error',
  });
});
after(async () => {
  await svc?.kill9();
  rmSync(dataDir, { recursive: true, force: true });
});

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

interface Outcome { status: number; ms: number; code?: string; retryAfter: string | null; contentType: string | null; error?: string }

async function sign(base: string, body: unknown): Promise<Outcome> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${base}/v1/keys/slow/sign`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const json = await res.json() as { code?: string };
    return { status: res.status, ms: performance.now() - t0, ...(json.code ? { code: json.code } : {}), retryAfter: res.headers.get('retry-after'), contentType: res.headers.get('content-type') };
  } catch (err) {
    return { status: 0, ms: performance.now() - t0, retryAfter: null, contentType: null, error: String((err as Error).name) };
  }
}

test(`beyond pool capacity (1 worker, queue ${WORKER_QUEUE}): fast 503 + Retry-After, bounded queue, health stays fast`, { timeout: 150_000 }, async (t) => {
  const base = svc!.url;
  const created = await http(base, 'POST', '/v1/keys', { name: 'slow', algorithm: 'SLH-DSA-SHA2-128s' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const message = base64urlEncode(new TextEncoder().encode('overload probe'));
  const single = await sign(base, { message });
  assert.equal(single.status, 200, `one signature on an idle service: ${JSON.stringify(single)}`);

  let flooding = true;
  // Health checks, one after another, for the whole flood.
  const health: number[] = [];
  let healthFailures = 0;
  const healthLoop = (async () => {
    while (flooding) {
      const t0 = performance.now();
      const r = await http(base, 'GET', '/v1/health', undefined, { timeoutMs: 10_000 });
      health.push(performance.now() - t0);
      if (r.status !== 200) healthFailures++;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  // The pool's queue as the service reports it.
  let maxQueue = 0;
  let metricsSamples = 0;
  const metricsLoop = (async () => {
    while (flooding) {
      const r = await http(base, 'GET', '/metrics', undefined, { timeoutMs: 10_000 });
      const m = typeof r.body === 'string' ? /^worker_pool_queue_size (\d+)$/m.exec(r.body) : null;
      if (m) { maxQueue = Math.max(maxQueue, Number(m[1])); metricsSamples++; }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  const outcomes: Outcome[] = [];
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() - t0 < FLOOD_MS) {
      const o = await sign(base, { message });
      outcomes.push(o);
      // A well-behaved client would wait Retry-After; the flood does not, to keep the pressure on.
      if (o.status === 503) await new Promise((r) => setTimeout(r, 20));
    }
  }));
  flooding = false;
  await Promise.all([healthLoop, metricsLoop]);

  const ok = outcomes.filter((o) => o.status === 200);
  const refused = outcomes.filter((o) => o.status === 503);
  const other = outcomes.filter((o) => o.status !== 200 && o.status !== 503);
  assert.deepEqual(other.slice(0, 5), [], 'every request is answered with 200 or 503 (status 0 = no answer)');
  assert.ok(ok.length > 0, 'some signatures are made under load');
  assert.ok(refused.length > 0, `the excess is refused (${outcomes.length} requests, ${ok.length} signed)`);
  for (const o of refused) {
    assert.equal(o.code, 'overloaded');
    assert.match(o.contentType ?? '', /^application\/problem\+json/);
    assert.match(o.retryAfter ?? '', /^[1-9][0-9]*$/, 'Retry-After in seconds');
  }
  const refuseP99 = percentile(refused.map((o) => o.ms), 99);
  const refuseMax = Math.max(...refused.map((o) => o.ms));
  assert.ok(refuseP99 < REFUSE_WITHIN_MS, `refusals must be fast: p99 ${refuseP99.toFixed(0)} ms`);
  // An accepted request waits behind at most WORKER_QUEUE others (the queue bound below); this
  // only catches a pile-up, the machine may be slow.
  const okMax = Math.max(...ok.map((o) => o.ms));
  assert.ok(okMax < 30_000, `an accepted request waited ${okMax.toFixed(0)} ms`);

  assert.ok(metricsSamples > 0, 'no /metrics sample during the flood');
  assert.ok(maxQueue <= WORKER_QUEUE, `worker queue reached ${maxQueue} > WORKER_QUEUE ${WORKER_QUEUE}`);

  assert.equal(healthFailures, 0, 'health failed during the flood');
  assert.ok(health.length >= 10, `only ${health.length} health samples`);
  const hP99 = percentile(health, 99);
  assert.ok(hP99 < HEALTH_P99_MS, `/v1/health p99 ${hP99.toFixed(0)} ms during the flood`);

  t.diagnostic(`one signature idle: ${single.ms.toFixed(0)} ms; flood of ${CONCURRENCY} clients for ${FLOOD_MS} ms: ${outcomes.length} requests, ${ok.length} signed (max ${okMax.toFixed(0)} ms), ${refused.length} refused 503 (p50 ${percentile(refused.map((o) => o.ms), 50).toFixed(0)} ms, p99 ${refuseP99.toFixed(0)} ms, max ${refuseMax.toFixed(0)} ms)`);
  t.diagnostic(`worker queue max ${maxQueue} over ${metricsSamples} samples; /v1/health ${health.length} samples p50 ${percentile(health, 50).toFixed(1)} ms, p99 ${hP99.toFixed(1)} ms, max ${Math.max(...health).toFixed(1)} ms`);

  // After the flood the service is fully usable again.
  const after = await sign(base, { message });
  assert.equal(after.status, 200, 'signing works again once the flood stops');
});
