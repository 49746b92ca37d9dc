/**
 * Measurement cells shared by the HTTP-vs-pool benchmarks (bench/sign.ts, bench/encrypt.ts): the same
 * worker task driven directly on the pool, and the same operation over HTTP from a load generator in
 * another process (bench/_loadgen.ts), each with the service process's CPU seconds.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A pool cell: operations, seconds, latencies (ms) and the CPU seconds of this process meanwhile. */
export interface Cell { ops: number; secs: number; lat: number[]; cpu: number }
/** An HTTP cell as the load generator reports it. */
export interface HttpCell { completed: number; duration: number; p50: number; p99: number; errors: number }

/** CPU seconds (user + system, all threads) this process used while `fn` ran. */
export async function withCpu<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const before = process.cpuUsage();
  const out = await fn();
  const d = process.cpuUsage(before);
  return [out, (d.user + d.system) / 1e6];
}

/**
 * Keeps `concurrency` tasks in flight for `secs`, then lets the ones in flight finish (counted, and
 * their time too), so no work spills into the next cell.
 */
export async function poolLoad(task: () => Promise<unknown>, secs: number, concurrency: number): Promise<Cell> {
  const lat: number[] = [];
  const t0 = performance.now();
  const end = t0 + secs * 1000;
  const [, cpu] = await withCpu(() => Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await task();
      lat.push(performance.now() - s);
    }
  })));
  return { ops: lat.length, secs: (performance.now() - t0) / 1000, lat, cpu };
}

const LOADGEN = fileURLToPath(new URL('./_loadgen.ts', import.meta.url));

/**
 * autocannon in a child process for a fixed number of requests: every request is answered before it
 * exits (a timed run would abandon the ones in flight, whose work would then run into the next cell).
 */
export function httpLoad(target: string, body: string, amount: number, opts: { connections: number; headers: Record<string, string> }): Promise<HttpCell> {
  const o = { url: target, amount: Math.max(opts.connections, Math.round(amount)), connections: opts.connections, body, headers: opts.headers };
  const child = spawn(process.execPath, [LOADGEN, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as HttpCell) : reject(new Error(`load generator exited with ${code}`))));
  });
}

/** The p-quantile of sorted numbers. */
export const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
