/**
 * `npm run bench -- sign [--seconds S] [--connections C] [--rounds R] [--composite 0|1] [--only SUBSTR]`
 *
 * In one run, for ML-DSA-65 sign, ML-DSA-65 verify and SLH-DSA-SHA2-128f sign, and (unless
 * `--composite 0`) sign and verify of ML-DSA-44 / ML-DSA-87 and of every composite ML-DSA
 * (draft-ietf-lamps-pq-composite-sigs-19):
 *  - pool: the raw native rate on all cores: `keys.sign` / `keys.verify` tasks on the service's own
 *    worker pool (one thread per core), C in flight, no HTTP, no store, no unwrap;
 *  - HTTP: requests through the whole service on the same pool (auth, validation, key cache or
 *    store, unwrap, pool, JSON) from autocannon, C connections, as many requests as the pool cell
 *    just before completed (so about the same duration), every one answered before the cell ends.
 * Prints ops/s, req/s, HTTP/pool ratio (goal ≥ 0.85) and p50/p99 latency; for a composite also
 * `vs ML-DSA` = its pool ops/s ÷ the pool ops/s of plain ML-DSA of the same level and operation,
 * measured in the same run (the price of the traditional component, M' and the extra checks), and
 * `vs ML-DSA/CPU-s` the same per CPU-second of the service process (robust to other load).
 *
 * Cores: both sides run on the same machine with the same pool size (= cores). The load generator
 * runs in a CHILD process so it does not share the service's event loop, but it still competes for
 * the same cores (as a client on the same host would); the pool side has no such load generator,
 * so the ratio is a conservative (lower) bound on the service's own overhead. With --rounds R the
 * pool and HTTP cells alternate R times (S/R seconds each) so a change in background load hits
 * both sides alike.
 */
import { availableParallelism, loadavg } from 'node:os';
import { table, arg } from './_util.ts';
import { httpLoad as httpLoadWith, poolLoad, pct, withCpu, type Cell, type HttpCell } from './_cells.ts';

const seconds = arg('seconds', 5);
const connections = arg('connections', 16);
const rounds = Math.max(1, arg('rounds', 1));
const withComposite = arg('composite', 1) !== 0;
/** `--only SUBSTR`: run only the cells whose label contains it (e.g. `--only MLDSA65`; the plain ML-DSA of that level always runs). */
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? process.argv[onlyAt + 1] ?? '' : '';

const { testApp, ADMIN_TOKEN } = await import('../test/support/app.ts');
const { base64urlEncode } = await import('../src/crypto/bytes.ts');
const { COMPOSITE, COMPOSITE_ML_DSA } = await import('../src/crypto/algorithms.ts');
type SignatureAlgorithm = import('../src/crypto/algorithms.ts').SignatureAlgorithm;

const cores = availableParallelism();
const svc = await testApp({ RATE_LIMIT_MAX: '100000000', WORKERS: String(cores), WORKER_QUEUE: '10000' });
const url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
const pool = svc.app.ctx.pool;
const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
const message = new TextEncoder().encode('benchmark message: 64 bytes of payload, signed again and again!!');


const httpLoad = (target: string, body: string, amount: number): Promise<HttpCell> => httpLoadWith(target, body, amount, { connections, headers });
const rows: Array<Record<string, string | number>> = [];
/** Pool ops/s and ops per service CPU-second of each `algorithm op` measured so far, for the composite-vs-ML-DSA columns. */
const poolRates = new Map<string, { wall: number; cpu: number }>();

async function compare(label: string, alg: SignatureAlgorithm, op: 'sign' | 'verify'): Promise<void> {
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
  const perCpu = p.ops / p.cpu;
  poolRates.set(`${alg} ${op}`, { wall: poolRate, cpu: perCpu });
  const plain = alg in COMPOSITE ? poolRates.get(`${COMPOSITE[alg as keyof typeof COMPOSITE].mldsa} ${op}`) : undefined;
  rows.push({
    operation: label, 'pool ops/s': Math.round(poolRate), 'HTTP req/s': Math.round(httpRate), ratio: (httpRate / poolRate).toFixed(3),
    'ratio/CPU-s': ((h.req / h.cpu) / (p.ops / p.cpu)).toFixed(3),
    'pool p50/p99 ms': `${pct(p.lat, 0.5).toFixed(1)} / ${pct(p.lat, 0.99).toFixed(1)}`,
    'HTTP p50/p99 ms': `${h.p50.toFixed(1)} / ${h.p99.toFixed(1)}`,
    'HTTP errors': h.errors,
    'pool CPU ms/op': (1000 / perCpu).toFixed(2),
    'vs ML-DSA': plain ? (poolRate / plain.wall).toFixed(3) : '',
    'vs ML-DSA/CPU-s': plain ? (perCpu / plain.cpu).toFixed(3) : '',
  });
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
console.error(`bench sign: ${cores} cores; pool of ${pool.threads} worker threads for both sides; ${connections} in flight; ${seconds}s per cell in ${rounds} round(s); backend ${svc.config.cryptoBackend}`);
console.error(`load generator: autocannon in a child process on the same ${cores} cores; load average before: ${load()}`);
if (!only) {
  await compare('ML-DSA-65 sign', 'ML-DSA-65', 'sign');
  await compare('ML-DSA-65 verify', 'ML-DSA-65', 'verify');
  await compare('SLH-DSA-SHA2-128f sign', 'SLH-DSA-SHA2-128f', 'sign');
}
if (withComposite) {
  // Each composite right after plain ML-DSA of its level, so both see about the same background load.
  for (const op of ['sign', 'verify'] as const) {
    for (const level of ['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'] as const) {
      const group = COMPOSITE_ML_DSA.filter((a) => COMPOSITE[a].mldsa === level && a.includes(only));
      if (group.length === 0) continue;
      await compare(`${level} ${op}`, level, op);
      for (const alg of group) await compare(`${alg} ${op}`, alg, op);
    }
  }
}
table(rows);
console.log(`\nvs ML-DSA = composite pool ops/s ÷ plain ML-DSA pool ops/s of the same level and operation (this run);
vs ML-DSA/CPU-s = the same per CPU-second of the service process (pool CPU ms/op), steadier on a shared machine.
ratio = HTTP req/s ÷ pool ops/s (goal ≥ 0.85). ratio/CPU-s = the same per CPU-second of the service process
(main thread + workers, load generator excluded): the service's own overhead, insensitive to other load on the machine.
load average after: ${load()}`);
await svc.close();
