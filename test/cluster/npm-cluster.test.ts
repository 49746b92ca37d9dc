/**
 * `npm run cluster` (src/cluster.ts) as a user runs it: embedded PostgreSQL + 2 instances + the
 * round-robin proxy. Through the proxy and through an SDK client given both instance URLs: one key,
 * signed by both instances; a secure session through the proxy stays on one instance. Then one instance is killed (-9): the proxy and the SDK keep serving
 * from the other. SIGTERM stops the instances and PostgreSQL, exit code 0.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '../../src/client/index.ts';

const CLUSTER = fileURLToPath(new URL('../../src/cluster.ts', import.meta.url));
const ADMIN = 'cluster-test-admin-token-0123456789abcdefghij';
const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-cluster-'));
let child: ChildProcess | undefined;
let out = '';
after(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});
process.once('exit', () => { if (child && child.exitCode === null) child.kill('SIGKILL'); });

const portFree = (port: number) => new Promise<boolean>((resolve) => {
  const s = createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});
async function basePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await Promise.all([p, p + 1, p + 2, p + 100].map(portFree))).every(Boolean)) return p;
  }
  throw new Error('no free port range');
}
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${out.slice(-3000)}`);
    if (child?.exitCode !== null) throw new Error(`cluster exited (${child?.exitCode}):\n${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('npm run cluster: proxy + 2 instances on embedded PostgreSQL, failover, clean stop', { timeout: 170_000 }, async () => {
  const port = await basePort();
  child = spawn(process.execPath, [CLUSTER, '--instances', '2'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn', WORKERS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => { out += c; });
  child.stderr!.on('data', (c: Buffer) => { out += c; });
  await waitFor('cluster: ready', () => out.includes('cluster: ready'), 150_000);
  const pids = [...out.matchAll(/cluster: instance (\d) pid (\d+) on (http:\S+)/g)].map((m) => ({ n: Number(m[1]), pid: Number(m[2]), url: m[3]! }));
  assert.equal(pids.length, 2, out);
  const proxyUrl = `http://127.0.0.1:${port}`;

  const viaProxy = createClient(proxyUrl, { token: ADMIN });
  const direct = createClient(pids.map((p) => p.url), { token: ADMIN });
  await viaProxy.keys.create({ name: 'c1', algorithm: 'ML-DSA-44' });
  const message = new TextEncoder().encode('cluster');
  const signed: string[] = [];
  for (let i = 0; i < 4; i++) signed.push((await (i % 2 ? direct : viaProxy).keys.sign('c1', { message })).signature);
  for (const signature of signed) assert.equal((await direct.keys.verify('c1', { message, signature })).valid, true);
  const ready = await Promise.all(pids.map(async (p) => (await fetch(`${p.url}/v1/ready`)).json() as Promise<{ store: string }>));
  assert.deepEqual(ready.map((r) => r.store), ['postgres', 'postgres']);

  // A secure session through the proxy stays on one instance (affinity by session id): every POST
  // inside it is answered (without affinity, every other call would move and fail with 409).
  const identityKey = ((await (await fetch(`${proxyUrl}/v1/kex/prekey`)).json()) as { identity: { publicKey: string } }).identity.publicKey;
  const session = await viaProxy.openSecureSession({ identityKey });
  for (let i = 0; i < 6; i++) assert.equal((await session.call('POST', '/v1/keys', { name: `s${i}`, algorithm: 'ML-DSA-44' })).status, 201);
  await session.close();

  // One instance dies: the proxy skips it, the multi-URL SDK client fails over.
  process.kill(pids[0]!.pid, 'SIGKILL');
  await waitFor('the supervisor to notice', () => out.includes('instance 1') && out.includes('exited'), 10_000);
  for (let i = 0; i < 4; i++) {
    assert.equal((await viaProxy.health()).status, 'ok');
    assert.equal((await viaProxy.keys.sign('c1', { message })).version, 1);
    assert.equal((await direct.keys.sign('c1', { message })).version, 1);
  }

  const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out.slice(-2000));
  assert.equal(alive(pids[1]!.pid), false, 'instance 2 stopped');
  assert.equal(await portFree(port + 100), true, 'embedded PostgreSQL stopped');
  assert.equal(await portFree(port), true, 'proxy closed');
});
