/**
 * The service under test: `node <serverDir>/src/server.ts` in a child process (its own event loop
 * and worker pool), on loopback, with a given DATA_DIR (PGlite) and env. Counts the bytes it writes
 * to stdout/stderr (its log), reads its RSS and CPU time from /proc. If this process dies, the
 * child notices it was re-parented and ends itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const PARENT_WATCH = `data:text/javascript,${encodeURIComponent(
  'const p = process.ppid; setInterval(() => { if (process.ppid !== p) process.kill(process.pid, "SIGKILL"); }, 500).unref();')}`;

export interface Service {
  readonly url: string;
  readonly pid: number;
  /** Bytes written to stdout and stderr so far. */
  logBytes(): { stdout: number; stderr: number };
  /** Resident set (VmRSS) and its peak (VmHWM), MB. */
  rss(): { rssMb: number; hwmMb: number };
  /** User + system CPU seconds of the whole process (main thread and workers). */
  cpuSeconds(): number;
  /** The last ~16 KiB of output. */
  tail(): string;
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function probe(url: string): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.status;
  } catch { return 0; }
}

const CLK_TCK = 100; // Linux USER_HZ

export async function startService(serverDir: string, env: Record<string, string>, readyTimeoutMs = 120_000): Promise<Service> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // ABUSE_SERVER_NODE_FLAGS (e.g. "--trace-gc" or "--cpu-prof --cpu-prof-dir=/tmp/p") profiles the service process.
  const flags = (process.env.ABUSE_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...flags, '--import', PARENT_WATCH, join(serverDir, 'src', 'server.ts')], {
    cwd: serverDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let out = 0, err = 0, tail = '';
  const keep = (c: Buffer) => { tail = (tail + c.toString('utf8')).slice(-16_384); };
  // ABUSE_SERVER_LOG=<file> keeps the service's output (with ABUSE_SERVER_NODE_FLAGS=--trace-gc: its GC pauses).
  const logTo = process.env.ABUSE_SERVER_LOG;
  child.stdout!.on('data', (c: Buffer) => { out += c.length; keep(c); if (logTo) appendFileSync(logTo, c); });
  child.stderr!.on('data', (c: Buffer) => { err += c.length; keep(c); });
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`service exited during start-up:\n${tail.slice(-4000)}`);
    if (await probe(`${url}/v1/ready`) === 200) break;
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`service not ready after ${readyTimeoutMs} ms:\n${tail.slice(-4000)}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    url, pid,
    logBytes: () => ({ stdout: out, stderr: err }),
    rss() {
      const s = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN);
      return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
    },
    cpuSeconds() {
      // /proc/<pid>/stat: fields after the parenthesised name; utime and stime are the 14th and 15th.
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / CLK_TCK;
    },
    tail: () => tail,
    async kill() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
