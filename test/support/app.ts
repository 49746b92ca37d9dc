/** Builds the service for tests: in-memory PGlite (unless a store is given), temp DATA_DIR, silent logs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/config.ts';
import { buildApp, type BuildOptions } from '../../src/app.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { migrate, type Store } from '../../src/store/index.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnop';

export interface TestApp { app: FastifyInstance; config: Config; store: Store; dataDir: string; close(): Promise<void> }

export async function memoryStore(): Promise<Store> {
  const store = await openPglite(undefined);
  await migrate(store);
  return store;
}

export async function testApp(env: Record<string, string> = {}, opts: BuildOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-test-'));
  // The event-loop guard is off in tests (a loaded 2-core CI machine lags for seconds at times);
  // test/faults exercises it on purpose.
  const config = loadConfig({ DATA_DIR: dataDir, ADMIN_TOKEN, LOG_LEVEL: 'silent', WORKERS: '2', MAX_EVENT_LOOP_DELAY_MS: '0',
    // No start-up calibration (the default table), and a CPU budget far above what a test spends
    // (the budget's own tests set theirs): the code paths run, refusals come only where a test asks.
    COST_CALIBRATE_MS: '0', TARPIT_MS: '0', ANON_CPU_MS_PER_MINUTE: '3600000', ANON_CPU_BURST_MS: '3600000', ...env });
  const store = opts.store ?? await memoryStore();
  const app = await buildApp(config, { logger: false, ...opts, store, secrets: opts.secrets ?? { masterKey: new Uint8Array(randomBytes(32)), adminToken: ADMIN_TOKEN } });
  return {
    app, config, store, dataDir,
    async close() {
      await app.close();
      if (!opts.store) await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Asserts the RFC 9457 shape and returns the parsed problem. */
export function problemOf(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('application/problem+json')) throw new Error(`expected problem+json, got ${type}: ${res.body.slice(0, 200)}`);
  const p = JSON.parse(res.body) as { type: string; title: string; status: number; code: string; detail: string; field?: string };
  for (const k of ['type', 'title', 'code', 'detail'] as const) if (typeof p[k] !== 'string') throw new Error(`problem lacks ${k}`);
  if (p.status !== res.statusCode) throw new Error(`problem.status ${p.status} != HTTP ${res.statusCode}`);
  return p;
}

/** A test app listening on a free loopback port, for e2e tests over a real socket. */
export async function listeningTestApp(env: Record<string, string> = {}, opts: BuildOptions = {}): Promise<TestApp & { baseUrl: string }> {
  const t = await testApp(env, opts);
  return { ...t, baseUrl: await t.app.listen({ port: 0, host: '127.0.0.1' }) };
}

/** One JSON call through inject with an optional bearer token; the parsed body beside the response. */
export async function callAs(t: TestApp, method: string, url: string, payload: unknown, token: string | undefined) {
  const res = await t.app.inject({ method: method as 'POST', url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { res, body: res.body ? JSON.parse(res.body) : undefined };
}
