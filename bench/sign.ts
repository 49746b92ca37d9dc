/**
 * `npm run bench -- sign [--seconds S] [--connections C] [--rounds R]`
 *
 * In one run, for ML-DSA-65 sign, ML-DSA-65 verify and SLH-DSA-SHA2-128f sign:
 *  - pool: the raw native rate on all cores: `keys.sign` / `keys.verify` tasks on the service's own
 *    worker pool (one thread per core), C in flight, no HTTP, no store, no unwrap;
 *  - HTTP: requests through the whole service on the same pool (auth, validation, key cache or
 *    store, unwrap, pool, JSON) from autocannon, C connections, as many requests as the pool cell
 *    just before completed (so about the same duration), every one answered before the cell ends.
 * Prints ops/s, req/s, HTTP/pool ratio (goal ≥ 0.85) and p50/p99 latency.
 *
 * Cores: both sides run on the same machine with the same pool size (= cores). The load generator
 * runs in a CHILD process so it does not share the service's event loop, but it still competes for
 * the same cores (as a client on the same host would); the pool side has no such load generator,
 * so the ratio is a conservative (lower) bound on the service's own overhead. With --rounds R the
 * pool and HTTP cells alternate R times (S/R seconds each) so a change in background load hits
 * both sides alike.
 */
import { availableParallelism, loadavg } from 'node:os';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { table, arg } from './_util.ts';

const seconds = arg('seconds', 5);
const connections = arg('connections', 16);
const rounds = Math.max(1, arg('rounds', 1));

if (process.argv.includes('--loadgen')) {
  // Child: one autocannon run; prints completed requests, duration and latency percentiles as JSON.
  const o = JSON.parse(process.argv[process.argv.indexOf('--loadgen') + 1]!) as { url: string; amount: number; connections: number; body: string; headers: Record<string, string> };
  const r = await autocannon({
    url: o.url, amount: o.amount, connections: o.connections, pipelining: 1, method: 'POST', body: o.body,
    headers: { 'content-type': 'application/json', ...o.headers },
  });
  const out: HttpCell = {
    completed: r.requests.total, duration: r.duration, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx,
  };
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const { testApp, ADMIN_TOKEN } = await import('../test/support/app.ts');
const { base64urlEncode } = await import('../src/crypto/bytes.ts');

const cores = availableParallelism();
const svc = await testApp({ RATE_LIMIT_MAX: '100000000', WORKERS: String(cores), WORKER_QUEUE: '10000' });
const url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
const pool = svc.app.ctx.pool;
const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
const message = new TextEncoder().encode('benchmark message: 64 bytes of payload, signed again and again!!');

interface Cell { ops: number; secs: number; lat: number[]; cpu: number }
interface HttpCell { completed: number; duration: number; p50: number; p99: number; errors: number }

/** CPU seconds (user + system, all threads) this process used while `fn` ran. */
async function withCpu<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const before = process.cpuUsage();
  const out = await fn();
  const d = process.cpuUsage(before);
  return [out, (d.user + d.system) / 1e6];
}

/**
 * Keeps `concurrency` tasks in flight for `secs`, then lets the ones in flight finish (counted, and
 * their time too), so no work spills into the next cell.
 */
async function poolLoad(task: () => Promise<unknown>, secs: number, concurrency: number): Promise<Cell> {
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

/**
 * autocannon in a child process (see the header), for a fixed number of requests: every request is
 * answered before it exits (a timed run would abandon the ones in flight, whose work would then run
 * into the next cell: 16 queued SLH-DSA signatures are ~0.5 s of pool time).
 */
function httpLoad(target: string, body: string, amount: number): Promise<HttpCell> {
  const opts = { url: target, amount: Math.max(connections, Math.round(amount)), connections, body, headers };
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--loadgen', JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as HttpCell) : reject(new Error(`load generator exited with ${code}`))));
  });
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const rows: Array<Record<string, string | number>> = [];

async function compare(label: string, alg: 'ML-DSA-65' | 'SLH-DSA-SHA2-128f', op: 'sign' | 'verify'): Promise<void> {
  const name = `bench-${alg.toLowerCase()}-${op}`;
  const created = await svc.app.inject({ method: 'POST', url: '/v1/keys', headers, payload: { name, algorithm: alg } });
  if (created.statusCode !== 201) throw new Error(`create failed: ${created.body}`);
  const signed = JSON.parse((await svc.app.inject({ method: 'POST', url: `/v1/keys/${name}/sign`, headers, payload: { message: base64urlEncode(message) } })).body);
  const pk = JSON.parse((await svc.app.inject({ method: 'GET', url: `/v1/keys/${name}/public`, headers })).body).publicKey as string;
  const { material } = await pool.run('keys.generate', { algorithm: alg });
  const signature = new Uint8Array(Buffer.from((signed.signature as string).slice(3), 'base64url'));
  const publicKey = new Uint8Array(Buffer.from(pk, 'base64url'));
  // The raw side gets the same worker-side key caches as the service (cacheId), so the ratio measures the service path only.
  const raw = op === 'sign'
    ? () => pool.run('keys.sign', { algorithm: alg, material, cacheId: 'bench', message })
    : () => pool.run('keys.verify', { algorithm: alg, publicKey, cacheId: 'bench', signature, message });
  const body = JSON.stringify(op === 'sign' ? { message: base64urlEncode(message) } : { message: base64urlEncode(message), signature: signed.signature });
  const target = `${url}/v1/keys/${name}/${op}`;

  const slice = seconds / rounds;
  const warm = await poolLoad(raw, 1, connections); // warm-up; sizes the HTTP runs (≈ the same duration as the pool cells)
  await httpLoad(target, body, warm.ops / warm.secs); // warm-up (JIT, connections, caches)
  const p: Cell = { ops: 0, secs: 0, lat: [], cpu: 0 };
  let h = { req: 0, secs: 0, p50: 0, p99: 0, errors: 0, cpu: 0 };
  for (let r = 0; r < rounds; r++) {
    const c = await poolLoad(raw, slice, connections);
    p.ops += c.ops; p.secs += c.secs; p.lat.push(...c.lat); p.cpu += c.cpu;
    const [x, cpu] = await withCpu(() => httpLoad(target, body, (c.ops / c.secs) * slice));
    // Latency percentiles of several rounds: averaged (autocannon reports percentiles, not samples).
    h = { req: h.req + x.completed, secs: h.secs + x.duration, p50: h.p50 + x.p50 / rounds, p99: h.p99 + x.p99 / rounds, errors: h.errors + x.errors, cpu: h.cpu + cpu };
  }
  p.lat.sort((a, b) => a - b);
  const poolRate = p.ops / p.secs;
  const httpRate = h.req / h.secs;
  rows.push({
    operation: label, 'pool ops/s': Math.round(poolRate), 'HTTP req/s': Math.round(httpRate), ratio: (httpRate / poolRate).toFixed(3),
    'ratio/CPU-s': ((h.req / h.cpu) / (p.ops / p.cpu)).toFixed(3),
    'pool p50/p99 ms': `${pct(p.lat, 0.5).toFixed(1)} / ${pct(p.lat, 0.99).toFixed(1)}`,
    'HTTP p50/p99 ms': `${h.p50.toFixed(1)} / ${h.p99.toFixed(1)}`,
    'HTTP errors': h.errors,
  });
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
console.error(`bench sign: ${cores} cores; pool of ${pool.threads} worker threads for both sides; ${connections} in flight; ${seconds}s per cell in ${rounds} round(s); backend ${svc.config.cryptoBackend}`);
console.error(`load generator: autocannon in a child process on the same ${cores} cores; load average before: ${load()}`);
await compare('ML-DSA-65 sign', 'ML-DSA-65', 'sign');
await compare('ML-DSA-65 verify', 'ML-DSA-65', 'verify');
await compare('SLH-DSA-SHA2-128f sign', 'SLH-DSA-SHA2-128f', 'sign');
table(rows);
console.log(`\nratio = HTTP req/s ÷ pool ops/s (goal ≥ 0.85). ratio/CPU-s = the same per CPU-second of the service process
(main thread + workers, load generator excluded): the service's own overhead, insensitive to other load on the machine.
load average after: ${load()}`);
await svc.close();
