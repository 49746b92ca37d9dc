/**
 * `npm run bench -- encrypt [--seconds S] [--connections C] [--rounds R] [--mb M]`
 *
 * In one run (issue 14):
 *  1. HTTP vs pool, as bench/sign.ts: X-Wing encrypt, X-Wing decrypt, ML-KEM-768 decrypt and X-Wing
 *     datakey through the whole service (autocannon in a child process, C connections) against the same
 *     HPKE worker task (`keys.seal` / `keys.open` / `keys.datakey`) on the same pool with no HTTP.
 *     Goal: ratio ≥ 0.85.
 *  2. HPKE decrypt per second on one thread, native vs noble (X-Wing and ML-KEM-768, prepared keys).
 *  3. File encryption MB/s on one thread: the SDK's chunked HPKE format (noble, 64 KiB chunks) vs the
 *     raw AEAD over the same chunks (noble and native ChaCha20-Poly1305).
 */
import { availableParallelism, loadavg } from 'node:os';
import { table, arg } from './_util.ts';
import { httpLoad as httpLoadWith, poolLoad, pct, withCpu, type Cell, type HttpCell } from './_cells.ts';

const seconds = arg('seconds', 5);
const connections = arg('connections', 16);
const rounds = Math.max(1, arg('rounds', 1));
const mb = arg('mb', 8);

const { testApp, ADMIN_TOKEN } = await import('../test/support/app.ts');
const { base64urlDecode, base64urlEncode, getBackend, SIZES } = await import('../src/crypto/index.ts');
const { DEFAULT_SUITES, hpkeOpen, hpkeSeal } = await import('../src/crypto/hpke.ts');
const { encryptChunked } = await import('../src/client/encryption.ts');

const cores = availableParallelism();
const svc = await testApp({ RATE_LIMIT_MAX: '100000000', WORKERS: String(cores), WORKER_QUEUE: '10000' });
const url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
const pool = svc.app.ctx.pool;
const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
const plaintext = new TextEncoder().encode('benchmark plaintext: 64 bytes of payload, sealed again and again');

const httpLoad = (target: string, body: string, amount: number): Promise<HttpCell> => httpLoadWith(target, body, amount, { connections, headers });
const rows: Array<Record<string, string | number>> = [];
async function compare(label: string, alg: 'X-Wing' | 'ML-KEM-768', op: 'encrypt' | 'decrypt' | 'datakey'): Promise<void> {
  const name = `bench-${alg.toLowerCase()}-${op}`;
  const created = await svc.app.inject({ method: 'POST', url: '/v1/keys', headers, payload: { name, algorithm: alg, exportable: true } });
  if (created.statusCode !== 201) throw new Error(`create failed: ${created.body}`);
  const publicKey = base64urlDecode(JSON.parse((await svc.app.inject({ method: 'GET', url: `/v1/keys/${name}/public`, headers })).body).publicKey);
  const material = base64urlDecode(JSON.parse((await svc.app.inject({ method: 'POST', url: `/v1/keys/${name}/export`, headers, payload: {} })).body).privateKey);
  const c = JSON.parse((await svc.app.inject({ method: 'POST', url: `/v1/keys/${name}/encrypt`, headers, payload: { plaintext: base64urlEncode(plaintext) } })).body).ciphertext as string;
  const ciphertext = base64urlDecode(c.slice(3));
  const raw = op === 'encrypt' ? () => pool.run('keys.seal', { algorithm: alg, publicKey, plaintext })
    : op === 'decrypt' ? () => pool.run('keys.open', { algorithm: alg, material, cacheId: 'bench', ciphertext })
      : () => pool.run('keys.datakey', { algorithm: alg, publicKey, bytes: 32, withPlaintext: true });
  const body = JSON.stringify(op === 'encrypt' ? { plaintext: base64urlEncode(plaintext) } : op === 'decrypt' ? { ciphertext: c } : {});
  const target = `${url}/v1/keys/${name}/${op}`;
  const slice = seconds / rounds;
  const warm = await poolLoad(raw, 1, connections);
  await httpLoad(target, body, warm.ops / warm.secs);
  const p: Cell = { ops: 0, secs: 0, lat: [], cpu: 0 };
  let h = { req: 0, secs: 0, p50: 0, p99: 0, errors: 0, cpu: 0 };
  for (let r = 0; r < rounds; r++) {
    const cell = await poolLoad(raw, slice, connections);
    p.ops += cell.ops; p.secs += cell.secs; p.lat.push(...cell.lat); p.cpu += cell.cpu;
    const [x, cpu] = await withCpu(() => httpLoad(target, body, (cell.ops / cell.secs) * slice));
    h = { req: h.req + x.completed, secs: h.secs + x.duration, p50: h.p50 + x.p50 / rounds, p99: h.p99 + x.p99 / rounds, errors: h.errors + x.errors, cpu: h.cpu + cpu };
  }
  p.lat.sort((a, b) => a - b);
  const poolRate = p.ops / p.secs, httpRate = h.req / h.secs;
  rows.push({
    operation: label, 'pool ops/s': Math.round(poolRate), 'HTTP req/s': Math.round(httpRate), ratio: (httpRate / poolRate).toFixed(3),
    'ratio/CPU-s': ((h.req / h.cpu) / (p.ops / p.cpu)).toFixed(3),
    'pool p50/p99 ms': `${pct(p.lat, 0.5).toFixed(1)} / ${pct(p.lat, 0.99).toFixed(1)}`, 'HTTP p50/p99 ms': `${h.p50.toFixed(1)} / ${h.p99.toFixed(1)}`, 'HTTP errors': h.errors,
  });
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
console.error(`bench encrypt: ${cores} cores; pool of ${pool.threads} threads for both sides; ${connections} in flight; ${seconds}s per cell in ${rounds} round(s); backend ${svc.config.cryptoBackend}; load average ${load()}`);
await compare('X-Wing encrypt', 'X-Wing', 'encrypt');
await compare('X-Wing decrypt', 'X-Wing', 'decrypt');
await compare('ML-KEM-768 decrypt', 'ML-KEM-768', 'decrypt');
await compare('X-Wing datakey', 'X-Wing', 'datakey');
table(rows);
await svc.close();

// 2. decrypt/s on one thread, native vs noble.
const timed = (fn: () => void, secs = Math.min(2, seconds)): number => {
  let n = 0;
  const t0 = performance.now(), end = t0 + secs * 1000;
  while (performance.now() < end) { fn(); n++; }
  return n / ((performance.now() - t0) / 1000);
};
const dec: Array<Record<string, string | number>> = [];
for (const alg of ['X-Wing', 'ML-KEM-768'] as const) {
  const row: Record<string, string | number> = { 'HPKE decrypt (one thread)': alg };
  const rates: number[] = [];
  for (const bn of ['native', 'noble'] as const) {
    const b = getBackend(bn);
    const seed = b.randomBytes(SIZES[alg].seed);
    const key = b.prepareDecapsulationKey(alg, seed);
    const { enc, ct } = hpkeSeal(b, DEFAULT_SUITES[alg], key.publicKey, plaintext);
    const r = timed(() => hpkeOpen(b, DEFAULT_SUITES[alg], (e) => key.decapsulate(e), enc, ct));
    rates.push(r);
    row[`${bn} ops/s`] = Math.round(r);
  }
  row['native/noble'] = (rates[0]! / rates[1]!).toFixed(1);
  dec.push(row);
}
console.log('');
table(dec);

// 3. file encryption MB/s on one thread.
const noble = getBackend('noble'), native = getBackend('native');
const file = new Uint8Array(Math.min(mb, 1024) * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
const xk = noble.keygen('X-Wing');
const chunk = 65536;
const aeadOver = (b: typeof noble) => () => {
  const key = b.randomBytes(32), nonce = new Uint8Array(12);
  for (let o = 0; o < file.length; o += chunk) b.aeadSeal('ChaCha20-Poly1305', key, nonce, file.subarray(o, o + chunk), Uint8Array.of(0));
};
const mbps = (fn: () => void): number => {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 2000 || n < 2) { fn(); n++; }
  return (file.length * n) / 1e6 / ((performance.now() - t0) / 1000);
};
const sdk = mbps(() => encryptChunked('X-Wing', xk.publicKey, 1, file));
const rawNoble = mbps(aeadOver(noble));
const rawNative = mbps(aeadOver(native));
console.log('');
table([
  { 'file encryption (one thread, 64 KiB chunks)': 'SDK encryptChunked (HPKE X-Wing, noble)', 'MB/s': sdk.toFixed(1), 'vs raw noble AEAD': (sdk / rawNoble).toFixed(3) },
  { 'file encryption (one thread, 64 KiB chunks)': 'raw ChaCha20-Poly1305 (noble)', 'MB/s': rawNoble.toFixed(1), 'vs raw noble AEAD': '1.000' },
  { 'file encryption (one thread, 64 KiB chunks)': 'raw ChaCha20-Poly1305 (native)', 'MB/s': rawNative.toFixed(1), 'vs raw noble AEAD': (rawNative / rawNoble).toFixed(3) },
]);
console.log(`\nratio = HTTP req/s ÷ pool ops/s (goal ≥ 0.85); ratio/CPU-s per CPU-second of the service process (load generator excluded).
file size ${(file.length / 1e6).toFixed(1)} MB; load average after: ${load()}`);
