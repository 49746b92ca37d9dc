/**
 * `npm run bench -- zk [--runs N] [--batch 64] [--proofs 3]`
 *
 * Groth16 login, side by side in one run: snarkjs.groth16.verify, the hardened verifier
 * (src/zk/verifier.ts) one proof at a time and batched, a pure-JS check with @noble/curves for
 * reference, and proving with snarkjs.groth16.fullProve. Prints per-proof ms and ratios.
 * Batches are filled with re-randomised copies (kA, k⁻¹B, C) of a few real proofs: distinct,
 * valid proofs with distinct B points, so every per-proof cost is paid.
 *
 * Then the service: login requests/s over HTTP (real socket, worker pool, PGlite, token minting)
 * with batching off (ZK_BATCH_MAX=1) and on (64). Every login needs its own single-use challenge;
 * so that proving does not dominate the setup, the bench copies one challenge row N times (same
 * challenge value and sessionKeyHash, distinct ids) and sends re-randomised copies of one proof,
 * each consuming its own challenge id. Finally the SDK's proving time (client.zk.login) in Node
 * with the default options and with each explicit singleThread setting, and in headless Chromium
 * (Debian chromium, playwright-core; skipped when not installed or with --no-browser).
 * `--sdk-only` runs only the SDK proving part; `--verify-only` only the verification part.
 * The hardened verifier is measured on both pairing paths, interleaved in rounds of the same run:
 * the prepared one (the default: resident lines, fixed-base tables, one multi-Miller loop) and the
 * plain one (`plain: true`, the path before it: one Miller loop per pair through ffjavascript),
 * and the prepared one on ffjavascript's WASM as shipped (`stockWasm: true`, before the ξ plugin).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { build } from 'esbuild';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as snarkjs from 'snarkjs';
import type { Groth16Proof } from 'snarkjs';
import { buildBn128 } from 'ffjavascript';
import { WitnessCalculatorBuilder } from 'circom_runtime';
import { bn254 } from '@noble/curves/bn254.js';
import { loadLoginVerifier, loginPublicSignals } from '../src/zk/verifier.ts';
import { commitment, loginTag, randomFieldElement, sessionKeyHash } from '../src/zk/poseidon.ts';
import { R } from '../src/zk/_bn254.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { buildApp } from '../src/app.ts';
import { createClient } from '../src/client/index.ts';
import { usernameSalt } from '../src/zk/poseidon.ts';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = arg('runs', 20);
const BATCH = arg('batch', 64);
const PROOFS = arg('proofs', 3);
const SDK_ONLY = process.argv.includes('--sdk-only');
const VERIFY_ONLY = process.argv.includes('--verify-only');

const ART = join(fileURLToPath(new URL('..', import.meta.url)), 'circuits', 'artifacts');
const vkJson = JSON.parse(readFileSync(join(ART, 'verification_key.json'), 'utf8')) as Record<string, unknown>;

interface Timing {
  wall: number;
  cpu: number;
}
const cpuMs = (): number => {
  const u = process.cpuUsage(); // whole process, all threads (snarkjs uses worker threads)
  return (u.user + u.system) / 1000;
};
/** Mean wall-clock and CPU ms per call. CPU time is the steadier figure on a shared machine. */
async function timeIt(n: number, fn: (i: number) => unknown): Promise<Timing> {
  await fn(0); // warm-up
  const t = performance.now();
  const c = cpuMs();
  for (let i = 0; i < n; i++) await fn(i);
  return { wall: (performance.now() - t) / n, cpu: (cpuMs() - c) / n };
}
const per = (t: Timing, k: number): Timing => ({ wall: t.wall / k, cpu: t.cpu / k });
/** timeIt for several functions, interleaved: `rounds` rounds of n calls of each, in turn. */
async function interleaved(rounds: number, n: number, fns: Array<(i: number) => unknown>): Promise<Timing[]> {
  const sum = fns.map(() => ({ wall: 0, cpu: 0 }));
  for (let r = 0; r < rounds; r++) {
    for (const [k, fn] of fns.entries()) {
      const t = await timeIt(n, fn);
      sum[k]!.wall += t.wall / rounds;
      sum[k]!.cpu += t.cpu / rounds;
    }
  }
  return sum;
}

// Re-randomisation (batches, HTTP logins) on a single-thread curve of its own.
const curve = await buildBn128(true);
const inv = (k: bigint): bigint => {
  let r = 1n, b = k, e = R - 2n;
  for (; e > 0n; e >>= 1n, b = (b * b) % R) if (e & 1n) r = (r * b) % R;
  return r;
};
function rerandomise(p: Groth16Proof, k: bigint): Groth16Proof {
  const a = curve.G1.toObject(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.fromObject([BigInt(p.pi_a[0]!), BigInt(p.pi_a[1]!)]), k))) as bigint[];
  const b = curve.G2.toObject(curve.G2.toAffine(curve.G2.timesScalar(curve.G2.fromObject([p.pi_b[0]!.map(BigInt), p.pi_b[1]!.map(BigInt)]), inv(k)))) as bigint[][];
  return {
    ...p,
    pi_a: [String(a[0]), String(a[1]), '1'],
    pi_b: [b[0]!.map(String), b[1]!.map(String), ['1', '0']],
  };
}
if (!SDK_ONLY) await verifyPart();

// --- the service over HTTP, and the SDK -------------------------------------------------------
if (!SDK_ONLY && !VERIFY_ONLY) await httpPart();
if (!VERIFY_ONLY) await sdkPart();
await curve.terminate();

await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();

async function verifyPart(): Promise<void> {
  // --- proving ---------------------------------------------------------------------------------
  const real: Array<{ proof: Groth16Proof; signals: bigint[] }> = [];
  const proveMs: number[] = [];
  for (let i = 0; i < PROOFS; i++) {
    const secret = randomFieldElement();
    const salt = randomFieldElement();
    const challenge = randomFieldElement();
    const skh = sessionKeyHash(new Uint8Array([i]));
    const t = performance.now();
    const { proof } = await snarkjs.groth16.fullProve(
      { secret: String(secret), salt: String(salt), challenge: String(challenge), sessionKeyHash: String(skh) },
      join(ART, 'login.wasm'),
      join(ART, 'login.zkey'),
    );
    proveMs.push(performance.now() - t);
    real.push({ proof, signals: loginPublicSignals({ commitment: commitment(secret, salt), loginTag: loginTag(secret, challenge, skh), challenge, sessionKeyHash: skh }) });
  }

  const batchItems = Array.from({ length: BATCH }, (_, i) => {
    const r = real[i % real.length]!;
    return { proof: i < real.length ? r.proof : rerandomise(r.proof, BigInt(i + 2)), publicSignals: r.signals };
  });

  // --- verifying -------------------------------------------------------------------------------
  const verifier = await loadLoginVerifier();
  const plainVerifier = await loadLoginVerifier({ plain: true });
  const stockVerifier = await loadLoginVerifier({ stockWasm: true }); // prepared, ffjavascript's WASM as shipped
  const pick = (i: number): { proof: Groth16Proof; publicSignals: bigint[] } => batchItems[i % batchItems.length]!;

  const snarkjsMs = await timeIt(RUNS, async (i) => {
    const it = pick(i);
    if (!(await snarkjs.groth16.verify(vkJson, it.publicSignals.map(String), it.proof))) throw new Error('snarkjs rejected a valid proof');
  });
  const single = (v: typeof verifier) => (i: number) => {
    const it = pick(i);
    if (!v.verify(it.proof, it.publicSignals)) throw new Error('verifier rejected a valid proof');
  };
  const ROUNDS = 4;
  const [singleMs, plainSingleMs, stockSingleMs] = await interleaved(ROUNDS, Math.max(1, Math.round(RUNS / ROUNDS)), [single(verifier), single(plainVerifier), single(stockVerifier)]);
  const batchRuns = Math.max(1, Math.round(RUNS / 10));
  const small = Math.min(16, BATCH);
  const batch = (v: typeof verifier, k: number) => () => {
    if (!v.verifyBatch(batchItems.slice(0, k)).every(Boolean)) throw new Error('batch rejected valid proofs');
  };
  const [batchMs, plainBatchMs, stockBatchMs, batchSmallMs, plainBatchSmallMs] = (
    await interleaved(ROUNDS, Math.max(1, Math.round(batchRuns / 2)), [batch(verifier, BATCH), batch(plainVerifier, BATCH), batch(stockVerifier, BATCH), batch(verifier, small), batch(plainVerifier, small)])
  ).map((t, k) => per(t, k < 3 ? BATCH : small)) as [Timing, Timing, Timing, Timing, Timing];

  // Pure JS reference: the same pairing equation with @noble/curves (no cached e(α, β)).
  const { G1, G2 } = bn254;
  const Fp2 = bn254.fields.Fp2;
  const nG1 = (p: string[]) => G1.Point.fromAffine({ x: BigInt(p[0]!), y: BigInt(p[1]!) });
  const nG2 = (p: string[][]) => G2.Point.fromAffine({ x: Fp2.fromBigTuple([BigInt(p[0]![0]!), BigInt(p[0]![1]!)]), y: Fp2.fromBigTuple([BigInt(p[1]![0]!), BigInt(p[1]![1]!)]) });
  const ic = (vkJson.IC as string[][]).map(nG1);
  const nobleMs = await timeIt(Math.max(2, Math.round(RUNS / 10)), (i) => {
    const it = pick(i);
    const A = nG1(it.proof.pi_a);
    const B = nG2(it.proof.pi_b);
    B.assertValidity(); // includes the subgroup check
    const vkx = it.publicSignals.reduce((acc, s, j) => (s === 0n ? acc : acc.add(ic[j + 1]!.multiply(s))), ic[0]!);
    const f = bn254.pairingBatch([
      { g1: A.negate(), g2: B },
      { g1: nG1(vkJson.vk_alpha_1 as string[]), g2: nG2(vkJson.vk_beta_2 as string[][]) },
      { g1: vkx, g2: nG2(vkJson.vk_gamma_2 as string[][]) },
      { g1: nG1(it.proof.pi_c), g2: nG2(vkJson.vk_delta_2 as string[][]) },
    ]);
    if (!bn254.fields.Fp12.eql(f, bn254.fields.Fp12.ONE)) throw new Error('noble rejected a valid proof');
  });

  const rows: Array<[string, Timing]> = [
    ['snarkjs.groth16.verify', snarkjsMs],
    ['@noble/curves pairing check (pure JS)', nobleMs],
    ['hardened verify, plain path (reference; ξ plugin too)', plainSingleMs],
    ['hardened verify, prepared, stock WASM (before the ξ plugin)', stockSingleMs],
    ['hardened verify, prepared + ξ plugin (default)', singleMs],
    [`hardened verifyBatch ${small}, plain path`, plainBatchSmallMs],
    [`hardened verifyBatch ${small}, prepared`, batchSmallMs],
    [`hardened verifyBatch ${BATCH}, plain path`, plainBatchMs],
    [`hardened verifyBatch ${BATCH}, prepared, stock WASM`, stockBatchMs],
    [`hardened verifyBatch ${BATCH}, prepared + ξ plugin`, batchMs],
  ];
  console.log(`\nGroth16 login verification (bn128, 4 public signals), ${RUNS} runs single, ${batchRuns} runs batched`);
  console.log('| method | wall ms/proof | CPU ms/proof | proofs/s per core (CPU) | vs snarkjs (wall) | vs snarkjs (CPU) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, t] of rows) {
    console.log(
      `| ${name} | ${t.wall.toFixed(2)} | ${t.cpu.toFixed(2)} | ${(1000 / t.cpu).toFixed(0)} | ${(snarkjsMs.wall / t.wall).toFixed(2)}x | ${(snarkjsMs.cpu / t.cpu).toFixed(2)}x |`,
    );
  }
  const avgProve = proveMs.reduce((a, b) => a + b, 0) / proveMs.length;
  console.log(
    `\nproving (snarkjs.groth16.fullProve, witness + prove, wall): ${proveMs.map((m) => m.toFixed(0)).join(', ')} ms; mean ${avgProve.toFixed(0)} ms = ${(avgProve / singleMs.wall).toFixed(0)}x one hardened verify`,
  );
  const ratio = (a: Timing, b: Timing): string => `${(a.wall / b.wall).toFixed(2)}x wall, ${(a.cpu / b.cpu).toFixed(2)}x CPU`;
  console.log(`prepared ÷ plain speed-up (interleaved, ${ROUNDS} rounds): single ${ratio(plainSingleMs, singleMs)}; batch ${small} ${ratio(plainBatchSmallMs, batchSmallMs)}; batch ${BATCH} ${ratio(plainBatchMs, batchMs)}`);
  console.log(`ξ plugin ÷ stock WASM (prepared path, interleaved): single ${ratio(stockSingleMs, singleMs)}; batch ${BATCH} ${ratio(stockBatchMs, batchMs)}`);
  console.log(`goals: single ≤ 5 ms (prepared ${singleMs.wall.toFixed(2)} wall / ${singleMs.cpu.toFixed(2)} CPU), batch of 64 ≤ 2.0 ms/proof (prepared ${batchMs.wall.toFixed(2)} / ${batchMs.cpu.toFixed(2)})`);
  console.log(`load average during the run: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores)`);
  await verifier.close();
  await plainVerifier.close();
  await stockVerifier.close();
}

async function loginThroughput(batchMax: number, n: number, concurrency: number): Promise<{ rps: number; ok: number; batches: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-bench-zk-'));
  const adminToken = 'bench-admin-token-0123456789abcdefghijklmnop';
  const config = loadConfig({ DATA_DIR: dataDir, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'silent', WORKERS: '2', ZK_BATCH_MAX: String(batchMax), RATE_LIMIT_MAX: '1000000',
    // A throughput bench from one address: the anonymous CPU budget and tarpit (bench abuse measures those) out of the way.
    ANON_CPU_MS_PER_MINUTE: '3600000', ANON_CPU_BURST_MS: '3600000', TARPIT_MS: '0' });
  const app = await buildApp(config, { logger: false, secrets: { masterKey: new Uint8Array(randomBytes(32)), adminToken } });
  try {
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const client = createClient(url);
    const { secret } = await client.zk.register('bench');
    const spk = new Uint8Array(32).fill(9);
    const ch = await app.ctx.zk.createChallenge({ username: 'bench', sessionPublicKey: Buffer.from(spk).toString('base64url') });
    await app.ctx.store.query(
      `INSERT INTO zk_challenges (challenge_id, username, purpose, challenge, session_key_hash, session_key_thumbprint, new_commitment, expires_at)
       SELECT 'bench-' || g, username, purpose, challenge, session_key_hash, session_key_thumbprint, new_commitment, now() + interval '10 minutes'
         FROM zk_challenges, generate_series(1, $2::int) g WHERE challenge_id = $1`, [ch.challengeId, n]);
    const salt = usernameSalt('bench');
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(
      { secret, salt: String(salt), challenge: ch.challenge, sessionKeyHash: ch.sessionKeyHash },
      join(ART, 'login.wasm'), join(ART, 'login.zkey'), undefined, undefined, { singleThread: true });
    const bodies = Array.from({ length: n }, (_, i) => JSON.stringify({ challengeId: `bench-${i + 1}`, proof: rerandomise(proof, BigInt(i + 2)), loginTag: publicSignals[1] }));
    const before = app.ctx.zkBatcher.stats.batches;
    let next = 0;
    let ok = 0;
    const statuses = new Map<number, number>();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        const r = await fetch(`${url}/v1/zk/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[i] });
        await r.arrayBuffer();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) ok++;
      }
    }));
    const secs = (performance.now() - t0) / 1000;
    if (ok < n) console.log(`batch max ${batchMax}: statuses ${[...statuses].map(([k, v]) => `${k}×${v}`).join(' ')}`);
    return { rps: n / secs, ok, batches: app.ctx.zkBatcher.stats.batches - before };
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function httpPart(): Promise<void> {
  const n = arg('logins', 200);
  const conc = arg('concurrency', 32);
  console.log(`\nlogin over HTTP (${n} logins, ${conc} concurrent connections, 2 worker threads, PGlite, ML-DSA-65 token each)`);
  console.log('| batching | logins/s | successful | batches | vs no batching |');
  console.log('|---|---:|---:|---:|---:|');
  const off = await loginThroughput(1, n, conc);
  const on = await loginThroughput(64, n, conc);
  for (const [name, r] of [['off (ZK_BATCH_MAX=1)', off], ['on (ZK_BATCH_MAX=64)', on]] as const) {
    console.log(`| ${name} | ${r.rps.toFixed(1)} | ${r.ok}/${n} | ${r.batches} | ${(r.rps / off.rps).toFixed(2)}x |`);
  }
}

async function sdkPart(): Promise<void> {
  // SDK proving (witness + Groth16 prove with snarkjs, artifacts already downloaded and checked).
  const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-bench-zk-'));
  const adminToken = 'bench-admin-token-0123456789abcdefghijklmnop';
  const app = await buildApp(loadConfig({ DATA_DIR: dataDir, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'silent', WORKERS: '2' }), { logger: false, secrets: { masterKey: new Uint8Array(randomBytes(32)), adminToken } });
  try {
    const client = createClient(await app.listen({ port: 0, host: '127.0.0.1' }));
    const { secret } = await client.zk.register('sdk');
    const spk = new Uint8Array(32).fill(3);
    // The first login of a fresh client (downloads, then proves with the defaults: what a user waits for once).
    const first = (await client.zk.login('sdk', secret, spk)).provingMs;
    const rows: string[] = [`| client.zk.login proving, default options, first login | ${first.toFixed(0)} | ${first.toFixed(0)} |`];
    // Let the fixed-base tables of the first login finish building (they are built in the background).
    await new Promise((r) => setTimeout(r, 1500));
    // Interleaved in rounds: with and without the fixed-base MSMs (fixedBase: false = snarkjs's own), each thread mode.
    const configs: Array<[string, { singleThread?: boolean; fixedBase?: boolean } | undefined]> = [
      ['default options', undefined],
      ['singleThread: true', { singleThread: true }],
      ['singleThread: false', { singleThread: false }],
      ['singleThread: true, fixedBase: false (before)', { singleThread: true, fixedBase: false }],
      ['singleThread: false, fixedBase: false (before)', { singleThread: false, fixedBase: false }],
    ];
    const sdkMs = configs.map(() => [] as number[]);
    const SDK_ROUNDS = arg('sdk-logins', 3);
    for (const [, opts] of configs) await client.zk.login('sdk', secret, spk, opts); // each mode's own warm-up (curve, tables)
    await new Promise((r) => setTimeout(r, 3000)); // the background tables of each mode's curve
    for (let i = 0; i < SDK_ROUNDS; i++) {
      for (const [k, [, opts]] of configs.entries()) sdkMs[k]!.push((await client.zk.login('sdk', secret, spk, opts)).provingMs);
    }
    for (const [k, [name]] of configs.entries()) {
      const ms = sdkMs[k]!;
      rows.push(`| client.zk.login proving, ${name} | ${ms.map((m) => m.toFixed(0)).join(', ')} | ${(ms.reduce((a, b) => a + b) / ms.length).toFixed(0)} (median ${[...ms].sort((x, y) => x - y)[ms.length >> 1]!.toFixed(0)}) |`);
    }
    // Before/after of the SDK's proving path, interleaved on the same (multi-threaded) curve:
    // snarkjs.groth16.fullProve (compiles the circuit WASM every proof; the SDK's earlier path) and
    // one cached circom_runtime witness calculator + groth16.prove (the SDK's path now).
    const wasm = new Uint8Array(readFileSync(join(ART, 'login.wasm')));
    const zkey = new Uint8Array(readFileSync(join(ART, 'login.zkey')));
    const wc = await WitnessCalculatorBuilder(wasm);
    const input = () => ({ secret, salt: String(usernameSalt('sdk')), challenge: String(randomFieldElement()), sessionKeyHash: String(randomFieldElement()) });
    const full: Timing[] = [];
    const cached: Timing[] = [];
    const RUNS_SDK = arg('sdk-runs', 8);
    const once = async (fn: () => Promise<unknown>): Promise<Timing> => {
      const t = performance.now();
      const c = cpuMs();
      await fn();
      return { wall: performance.now() - t, cpu: cpuMs() - c };
    };
    for (let i = 0; i < RUNS_SDK; i++) {
      full.push(await once(() => snarkjs.groth16.fullProve(input(), { type: 'mem', data: wasm }, { type: 'mem', data: zkey }, undefined, undefined, { singleThread: false })));
      cached.push(await once(async () => snarkjs.groth16.prove({ type: 'mem', data: zkey }, { type: 'mem', data: await wc.calculateWTNSBin(input(), false) }, undefined, { singleThread: false })));
    }
    const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
    const fw = median(full.map((t) => t.wall)), cw = median(cached.map((t) => t.wall));
    const fc = median(full.map((t) => t.cpu)), cc = median(cached.map((t) => t.cpu));
    rows.push(`| fullProve (before: circuit WASM compiled per proof), multi-threaded | ${full.map((t) => t.wall.toFixed(0)).join(', ')} | ${fw.toFixed(0)} wall / ${fc.toFixed(0)} CPU (medians) |`);
    rows.push(`| cached witness calculator + prove (the SDK before the fixed-base tables), multi-threaded | ${cached.map((t) => t.wall.toFixed(0)).join(', ')} | ${cw.toFixed(0)} wall / ${cc.toFixed(0)} CPU (medians); ${(fw / cw).toFixed(2)}x wall, ${(fc / cc).toFixed(2)}x CPU |`);
    console.log(`\nSDK proving time in Node (ms; the client.zk.login rows interleaved in ${SDK_ROUNDS} rounds (--sdk-logins) after a warm-up login each; the last two rows interleaved, --sdk-runs each, CPU of all threads)`);
    console.log('| what | runs | mean |');
    console.log('|---|---|---:|');
    for (const r of rows) console.log(r);
    console.log(`load average: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores)`);
    if (!process.argv.includes('--no-browser')) await chromiumProving(app.server.address() as { port: number });
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** SDK proving in headless Chromium: the bundled SDK (as test/zk/browser.test.ts builds it) on a same-origin proxy. */
async function chromiumProving(api: { port: number }): Promise<void> {
  const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(CHROMIUM)) { console.log(`\nChromium proving skipped: no ${CHROMIUM}`); return; }
  const root = fileURLToPath(new URL('..', import.meta.url));
  const bundle = await build({
    stdin: { contents: "import { createClient } from './src/client/index.ts'; globalThis.pqzk = { createClient };", resolveDir: root, loader: 'ts' },
    bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent', define: { global: 'globalThis' },
  });
  const js = bundle.outputFiles[0]!.contents;
  const apiUrl = `http://127.0.0.1:${api.port}`;
  const server = createServer(async (req, res) => {
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><script type="module" src="/sdk.js"></script>');
    if (req.url === '/sdk.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => ['content-type', 'authorization', 'accept'].includes(k))) as Record<string, string>;
    const r = await fetch(apiUrl + req.url, { method: req.method!, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
    return void res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' }).end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--headless'] });
  try {
    const page = await browser.newPage();
    await page.goto(origin + '/');
    await page.waitForFunction(() => (globalThis as { pqzk?: unknown }).pqzk !== undefined, undefined, { timeout: 60_000 });
    const out = await page.evaluate(async (base) => {
      const { createClient } = (globalThis as unknown as { pqzk: { createClient: typeof import('../src/client/index.ts').createClient } }).pqzk;
      const client = createClient(base);
      const { secret } = await client.zk.register('chromium');
      const spk = new Uint8Array(32).fill(5);
      const first = (await client.zk.login('chromium', secret, spk)).provingMs;
      // The fixed-base tables are built in the background after the first login: let them finish.
      await new Promise((r) => setTimeout(r, 4000));
      const runs: Record<string, number[]> = {};
      const modes = [['default options', undefined], ['fixedBase: false (before)', { fixedBase: false }], ['singleThread: true', { singleThread: true }], ['singleThread: false', { singleThread: false }]] as const;
      for (const [name] of modes) runs[name] = [];
      for (let i = 0; i < 5; i++) for (const [name, opts] of modes) runs[name]!.push((await client.zk.login('chromium', secret, spk, opts)).provingMs);
      return { first, runs, cores: navigator.hardwareConcurrency };
    }, origin);
    console.log(`\nSDK proving time in headless Chromium (ms; ${out.cores} hardware threads)`);
    console.log('| what | runs | mean |');
    console.log('|---|---|---:|');
    console.log(`| client.zk.login proving, default options, first login | ${out.first.toFixed(0)} | ${out.first.toFixed(0)} |`);
    for (const [name, ms] of Object.entries(out.runs)) console.log(`| client.zk.login proving, ${name} | ${ms.map((m) => m.toFixed(0)).join(', ')} | ${(ms.reduce((a, b) => a + b) / ms.length).toFixed(0)} (median ${[...ms].sort((x, y) => x - y)[ms.length >> 1]!.toFixed(0)}) |`);
    console.log(`load average: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores)`);
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
