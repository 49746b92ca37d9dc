/**
 * `npm run bench -- pir [--sizes=4,64,256] [--hint-columns=K]`: SimplePIR on 4, 64 and
 * 256 MiB databases (32-byte records) in one run. Prints, per size: server scan throughput of
 * the WASM SIMD kernel and of the TS reference (and their ratio), a 2-worker piscina scan,
 * hint time, client query build (A expanded from the seed, and with a cached A) and decode
 * time, and wire sizes. Throughput is shown per wall-clock second and per CPU second of this
 * thread (the latter is what "per core" means when other processes share the machine).
 * `--hint-columns=K` times K of the n hint scans and extrapolates (marked "~").
 *
 * HTTP part (`--http=MiB`, default 16, 0 skips; `--http-seconds=S`, default 10): the full service
 * on loopback with a database of that size uploaded through putPirDatabase; autocannon POSTs one
 * valid query to pirQuery (32 connections) with scans on the event loop (PIR_INLINE_SCAN_BYTES above
 * the matrix) and in the worker pool (rows split across its threads), next to one in-process scan.
 *
 * Issue 16 (bench/_pir-update.ts): the shape table (hint/query/answer bytes per shape for the sizes
 * and 1–256 queries per hint) and live updates (`--update=MiB`, default 16, 0 skips;
 * `--update-store=postgres` on an embedded PostgreSQL instead of PGlite): patches of 1 %, 0.1 % and
 * one record, server time and hint-delta bytes against the full hint.
 */
import { loadavg, availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { buildDatabase, computeHint, answerQuery, partitionRows, type PirDatabase } from '../src/pir/server.ts';
import { makeQuery, decode } from '../src/pir/client.ts';
import { expandA, expandAColumn } from '../src/pir/matrixA.ts';
import { pirSizes } from '../src/pir/params.ts';
import { referenceKernel, type PirKernel } from '../src/pir/reference-kernel.ts';
import { loadWasmKernel } from '../src/pir/wasm-kernel.ts';
import autocannon from 'autocannon';
import { table } from './_util.ts';
import { testApp, ADMIN_TOKEN } from '../test/support/app.ts';
import type { PirConfigJson } from '../src/pir/config.ts';
import { runPirUpdateBench, shapeTableRows } from './_pir-update.ts';

const MiB = 1 << 20;
const RECORD = 32;

interface Timing { wall: number; cpu: number }
function time(fn: () => void): Timing {
  const c = process.cpuUsage(), t = performance.now();
  fn();
  const u = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 };
}
function best(reps: number, fn: () => void): Timing {
  let b: Timing = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < reps; i++) {
    const t = time(fn);
    b = { wall: Math.min(b.wall, t.wall), cpu: Math.min(b.cpu, t.cpu) };
  }
  return b;
}
function fill(bytes: Uint8Array): Uint8Array {
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

export interface PirBenchRow {
  mib: number; rows: number; cols: number;
  wasmGBs: number; wasmGBsCpu: number; tsGBs: number; tsGBsCpu: number; poolGBs: number;
  hintSeconds: number; hintCpuSeconds: number; hintExtrapolated: boolean; buildSeconds: number;
  queryMs: number; queryCachedAMs: number; decodeMs: number;
  queryBytes: number; answerBytes: number; hintBytes: number;
}

async function scanPool(pool: Piscina, db: PirDatabase, query: Uint32Array): Promise<void> {
  const { rows, cols } = db.params;
  await Promise.all(partitionRows(rows, 2).map(([rowStart, rowEnd]) =>
    pool.run({ dbMemory: db.matrix.memory, rows, cols, rowStart, rowEnd, query })));
}

/** In-process figures for one database size; the HTTP benchmark can reuse it. */
export async function runPirBench(mib: number, wasm: PirKernel, pool: Piscina, hintColumns?: number): Promise<PirBenchRow> {
  const records = fill(new Uint8Array(mib * MiB));
  let db!: PirDatabase;
  const build = time(() => { db = buildDatabase(records, RECORD); });
  const { params } = db;
  const bytes = params.rows * params.cols;
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const query = new Uint32Array(params.cols);
  crypto.getRandomValues(query.subarray(0, Math.min(query.length, 16384)));

  answerQuery(db, query, wasm);
  const w = best(mib >= 256 ? 5 : 10, () => answerQuery(db, query, wasm));
  // Warm the reference kernel's JIT on a slice before timing a full scan.
  referenceKernel.matVec(db.matrix, query, new Uint32Array(64), 0, 64);
  const t = best(mib <= 4 ? 5 : 2, () => answerQuery(db, query, referenceKernel));
  await scanPool(pool, db, query);
  let poolWall = Infinity;
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    await scanPool(pool, db, query);
    poolWall = Math.min(poolWall, (performance.now() - s) / 1000);
  }

  let hint: Uint32Array;
  let hintSeconds: number;
  let hintCpuSeconds: number;
  const extrapolate = hintColumns !== undefined && hintColumns < params.n;
  if (extrapolate) {
    const aCol = new Uint32Array(params.cols), out = new Uint32Array(params.rows);
    const h = time(() => {
      for (let k = 0; k < hintColumns; k++) { expandAColumn(seed, k, params.cols, aCol); wasm.matVec(db.matrix, aCol, out); }
    });
    hintSeconds = (h.wall * params.n) / hintColumns;
    hintCpuSeconds = (h.cpu * params.n) / hintColumns;
    hint = new Uint32Array(params.rows * params.n); // decode timing only; content irrelevant
  } else {
    const h = time(() => { hint = computeHint(db, seed, wasm); });
    hintSeconds = h.wall;
    hintCpuSeconds = h.cpu;
  }

  const index = Math.floor(params.recordCount / 2);
  let q!: ReturnType<typeof makeQuery>;
  const qt = time(() => { q = makeQuery(params, seed, index); });
  const A = expandA(seed, params.cols, params.n);
  const qc = best(3, () => { q = makeQuery(params, seed, index, { A }); });
  const answer = answerQuery(db, q.query, wasm);
  const dt = time(() => decode(params, hint!, answer, q.state));
  const sizes = pirSizes(params);
  return {
    mib, rows: params.rows, cols: params.cols,
    wasmGBs: bytes / 1e9 / w.wall, wasmGBsCpu: bytes / 1e9 / w.cpu,
    tsGBs: bytes / 1e9 / t.wall, tsGBsCpu: bytes / 1e9 / t.cpu,
    poolGBs: bytes / 1e9 / poolWall,
    hintSeconds, hintCpuSeconds, hintExtrapolated: extrapolate, buildSeconds: build.wall,
    queryMs: qt.wall * 1000, queryCachedAMs: qc.wall * 1000, decodeMs: dt.wall * 1000,
    queryBytes: sizes.query, answerBytes: sizes.answer, hintBytes: sizes.hint,
  };
}

export interface PirHttpRow { mode: string; reqPerSec: number; p50: number; p99: number; errors: number; scanGBs: number }

/** pirQuery over HTTP on a `mib` MiB database (32-byte records), inline and pool scans, plus one in-process scan. */
export async function runPirHttpBench(mib: number, seconds: number): Promise<{ rows: PirHttpRow[]; shape: string; inProcessGBs: number }> {
  const records = fill(new Uint8Array(mib * MiB));
  const rows: PirHttpRow[] = [];
  let shape = '';
  let inProcessGBs = 0;
  for (const [mode, inline] of [['inline (event loop)', String(2 ** 30)], ['worker pool', '0']] as const) {
    const svc = await testApp({ RATE_LIMIT_MAX: '1000000000', PIR_INLINE_SCAN_BYTES: inline, PIR_MAX_DB_BYTES: String(Math.max(mib * MiB, 1024)) });
    try {
      const put = await svc.app.inject({
        method: 'PUT', url: `/v1/pir/databases/bench?recordSize=${RECORD}`, payload: Buffer.from(records.buffer, records.byteOffset, records.byteLength),
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
      });
      if (put.statusCode !== 201) throw new Error(`upload failed: ${put.statusCode} ${put.body.slice(0, 200)}`);
      const cfg = put.json() as PirConfigJson;
      const { params } = cfg;
      shape = `${params.rows}×${params.cols}`;
      const { query } = makeQuery(params, Buffer.from(cfg.seed, 'base64url'), Math.floor(params.recordCount / 3));
      const body = Buffer.from(query.buffer, query.byteOffset, query.byteLength);
      if (!inProcessGBs) {
        const wasm = await loadWasmKernel();
        const db = buildDatabase(records, RECORD);
        answerQuery(db, query, wasm);
        inProcessGBs = (params.rows * params.cols) / 1e9 / best(10, () => answerQuery(db, query, wasm)).wall;
      }
      const base = await svc.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `${base}/v1/pir/databases/bench/query?version=${cfg.version}`;
      const headers = { 'content-type': 'application/octet-stream' };
      await autocannon({ url, method: 'POST', body, headers, connections: 4, duration: 1 }); // warm-up: load, JIT
      const r = await autocannon({ url, method: 'POST', body, headers, connections: 32, pipelining: 1, duration: seconds });
      rows.push({
        mode, reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx,
        scanGBs: (r.requests.average * params.rows * params.cols) / 1e9,
      });
      console.error(`done http ${mode}`);
    } finally {
      await svc.close();
    }
  }
  return { rows, shape, inProcessGBs };
}

async function main(): Promise<void> {
  const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
  const sizes = (args['sizes'] ?? '4,64,256').split(',').map(Number);
  const hintColumns = args['hint-columns'] ? Number(args['hint-columns']) : undefined;
  console.log(`Shapes (${RECORD}-byte records): download-minimising rule per queries per hint, and the square rule of v1.`);
  table(shapeTableRows([...new Set([4, 64, 256, ...sizes])].sort((x, y) => x - y), RECORD));
  const wasm = await loadWasmKernel();
  const pool = new Piscina({ filename: new URL('../src/pir/worker.ts', import.meta.url).href, minThreads: 2, maxThreads: 2 });
  const size = (b: number): string => (b >= MiB ? `${(b / MiB).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
  const rows: Array<Record<string, string>> = [];
  try {
    for (const mib of sizes) {
      const r = await runPirBench(mib, wasm, pool, hintColumns);
      rows.push({
        DB: `${mib} MiB`,
        'rows×cols': `${r.rows}×${r.cols}`,
        'WASM GB/s (cpu)': `${r.wasmGBs.toFixed(2)} (${r.wasmGBsCpu.toFixed(2)})`,
        'TS GB/s (cpu)': `${r.tsGBs.toFixed(3)} (${r.tsGBsCpu.toFixed(3)})`,
        'WASM/TS (cpu)': `${(r.wasmGBsCpu / r.tsGBsCpu).toFixed(1)}x`,
        'pool×2 GB/s': r.poolGBs.toFixed(2),
        'hint (cpu)': `${r.hintExtrapolated ? '~' : ''}${r.hintSeconds.toFixed(1)} s (${r.hintCpuSeconds.toFixed(1)})`,
        build: `${r.buildSeconds.toFixed(2)} s`,
        'query: seed A / cached A': `${r.queryMs.toFixed(0)} / ${r.queryCachedAMs.toFixed(0)} ms`,
        decode: `${r.decodeMs.toFixed(2)} ms`,
        query: size(r.queryBytes),
        answer: size(r.answerBytes),
        'hint size': size(r.hintBytes),
      });
      console.error(`done ${mib} MiB`);
    }
  } finally {
    await pool.destroy();
  }
  console.log(`SimplePIR n=1408, q=2^32, p=256, ${RECORD}-byte records. GB/s = 10^9 database bytes per second,`);
  console.log(`per wall-clock second (per CPU second of the scanning thread). Load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  table(rows);

  const updateMib = Number(args['update'] ?? 16);
  if (updateMib > 0) {
    const onPg = args['update-store'] === 'postgres';
    const u = await runPirUpdateBench(updateMib, RECORD, onPg);
    console.log(`\nLive updates, ${updateMib} MiB database (${u.shape}), store ${onPg ? 'PostgreSQL (embedded, loopback)' : 'PGlite'}; full upload through the service ${u.uploadSeconds.toFixed(1)} s (${u.uploadCpu.toFixed(1)} CPU s, all threads);`);
    console.log(`CPU s = process CPU time, worker threads included${onPg ? ' (the PostgreSQL server\'s own CPU is not counted)' : '; PGlite runs in this process and its bytea writes run at ~1.5 MB/s here'}.`);
    table(u.rows);
    console.log(`Load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  }

  const httpMib = Number(args['http'] ?? 16);
  if (httpMib > 0) {
    const seconds = Number(args['http-seconds'] ?? 10);
    const h = await runPirHttpBench(httpMib, seconds);
    console.log(`\npirQuery over HTTP (loopback, 32 connections, ${seconds} s), ${httpMib} MiB database (${h.shape}), ${availableParallelism()} CPUs;`);
    console.log(`in-process WASM scan of the same matrix: ${h.inProcessGBs.toFixed(2)} GB/s = ${(h.inProcessGBs * 1e9 / (httpMib * MiB)).toFixed(0)} scans/s.`);
    table(h.rows.map((r) => ({
      'scan in': r.mode, 'req/s': Math.round(r.reqPerSec), 'p50 ms': r.p50, 'p99 ms': r.p99, errors: r.errors,
      'scan GB/s': r.scanGBs.toFixed(2), 'vs in-process': `${(r.scanGBs / h.inProcessGBs).toFixed(2)}x`,
    })));
    console.log(`Load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
