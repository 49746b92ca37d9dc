/**
 * The real service as a child process (`node src/server.ts`) for fault tests: start with an env,
 * wait for GET /v1/ready, kill -9, restart on the same port and data. Every child is also killed
 * when the test process exits, so a failing test never leaves a server behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));
const live = new Set<ChildProcess>();
process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });
// If the test process dies without running its exit handlers (killed by a runner's timeout), the
// orphaned service notices it was re-parented and ends itself.
const PARENT_WATCH = `data:text/javascript,${encodeURIComponent(
  'const p = process.ppid; setInterval(() => { if (process.ppid !== p) process.kill(process.pid, "SIGKILL"); }, 500).unref();')}`;

export { freePort } from './net.ts';
import { freePort } from './net.ts';

export interface SpawnOptions {
  /** How long start/restart may take before failing (ms). */
  readyTimeoutMs?: number;
  port?: number;
  /** false: return as soon as the process is spawned (to kill it during start-up). Default true. */
  waitReady?: boolean;
}

export interface ServiceProcess {
  readonly url: string;
  readonly port: number;
  /** Pid of the current child (changes on restart). */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** How many times the child was started. */
  readonly starts: number;
  /** SIGKILL and wait until the child is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Starts again with the same env, port and data; waits for /v1/ready unless `waitReady: false`. */
  restart(opts?: { waitReady?: boolean }): Promise<void>;
  /** Waits for /v1/ready (after `waitReady: false`). */
  ready(): Promise<void>;
  /** The last ~64 KiB the current child wrote to stdout/stderr (reset on each start). */
  output(): string;
}

/** GET with a deadline; resolves to the status, or 0 when nothing answered. */
async function probe(url: string, timeoutMs: number): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Starts `node src/server.ts` with `env` (added to a minimal base: PATH, HOME; HOST=127.0.0.1,
 * LOG_LEVEL=warn unless given) and resolves once /v1/ready answers 200.
 */
export async function spawnService(env: Record<string, string>, opts: SpawnOptions = {}): Promise<ServiceProcess> {
  const port = opts.port ?? await freePort();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const url = `http://127.0.0.1:${port}`;
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp',
    // Fault tests check durability and failover, not the anonymous budgets (test/http/budget.test.ts,
    // bench abuse): a randomized crash loop's many anonymous verifies must not run into them.
    HOST: '127.0.0.1', LOG_LEVEL: 'warn', ANON_CPU_MS_PER_MINUTE: '0', TARPIT_MS: '0', ...env, PORT: String(port),
  };
  let child: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
  let out = '';
  let starts = 0;
  const append = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > 65_536) out = out.slice(-65_536);
  };

  async function start(waitReady = true): Promise<void> {
    if (child && child.exitCode === null && child.signalCode === null) throw new Error('service already running');
    starts++;
    out = '';
    const c = spawn(process.execPath, ['--import', PARENT_WATCH, SERVER], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    live.add(c);
    c.stdout!.on('data', append);
    c.stderr!.on('data', append);
    exited = new Promise((resolve) => c.once('exit', (code, signal) => { live.delete(c); resolve({ code, signal }); }));
    if (waitReady) await ready();
  }

  async function ready(): Promise<void> {
    const c = child!;
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`service exited during start-up (start #${starts}):\n${out.slice(-4000)}`);
      if (await probe(`${url}/v1/ready`, 2000) === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    c.kill('SIGKILL');
    await exited;
    throw new Error(`service not ready after ${readyTimeoutMs} ms (start #${starts}):\n${out.slice(-4000)}`);
  }

  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  await start(opts.waitReady ?? true);
  return {
    url, port,
    get pid() { return child?.pid; },
    get running() { return isRunning(); },
    get starts() { return starts; },
    async kill9() {
      if (!isRunning()) return;
      child!.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (!isRunning()) return exited;
      child!.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
      try { return await exited; } finally { clearTimeout(timer); }
    },
    restart: (o) => start(o?.waitReady ?? true),
    ready,
    output: () => out,
  };
}
