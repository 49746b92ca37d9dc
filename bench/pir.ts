/**
 * `npm run bench -- pir [--sizes=4,64,256] [--hint-columns=K]`: SimplePIR on 4, 64 and
 * 256 MiB databases (32-byte records) in one run. Prints, per size: server scan throughput of
 * the WASM SIMD kernel and of the TS reference (and their ratio), a 2-worker piscina scan,
 * hint time, client query build (A expanded from the seed, and with a cached A) and decode
 * time, and wire sizes. Throughput is shown per wall-clock second and per CPU second of this
 * thread (the latter is what "per core" means when other processes share the machine).
 * `--hint-columns=K` times K of the n hint scans and extrapolates (marked "~").
 * Anchors for the scan, measured beside it on the same matrix: a plain read of the database
 * (v128 loads and adds, sequential, and in the kernel's pattern of 4 interleaved rows) and the
 * kernel on an L2-resident 1 MiB slice (its compute ceiling). The kernel does 10 SIMD operations
 * per 16 bytes per row; when the scan is below the 4-row read rate but close to the in-cache
 * ceiling, it is compute bound, not memory bound.
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
 * Keyword part (`--keyword=KEYS`, default 1000000, 0 skips; `--keyword-value=BYTES`, default 32):
 * keyword lookups through the SDK over a real socket, see bench/pir-keyword.ts.
 */
import { loadavg, availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { buildDatabase, computeHint, answerQuery, partitionRows, type PirDatabase } from '../src/pir/server.ts';
import { makeQuery, decode } from '../src/pir/client.ts';
import { expandA, expandAColumn } from '../src/pir/matrixA.ts';
import { pirSizes } from '../src/pir/params.ts';
import { referenceKernel, type PirKernel } from '../src/pir/reference-kernel.ts';
import { compileKernelModule, loadWasmKernel, writeSplitVector } from '../src/pir/wasm-kernel.ts';
import { assembleKernel } from '../src/pir/build-kernel.ts';
import autocannon from 'autocannon';
import { table } from './_util.ts';
import { testApp, ADMIN_TOKEN } from '../test/support/app.ts';
import type { PirConfigJson } from '../src/pir/config.ts';
import { runPirUpdateBench, shapeTableRows } from './_pir-update.ts';
import { runKeywordBench } from './pir-keyword.ts';

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

// Read-bandwidth anchors: the database read with v128 loads and i32x4 adds only.
const READ_WAT = `(module (import "env" "db" (memory $db 1 65536 shared))
 (func (export "seq") (param $p i32) (param $end i32) (result i32) (local $a v128) (local $b v128)
  (loop $l
   (local.set $a (i32x4.add (local.get $a) (v128.load (local.get $p))))
   (local.set $b (i32x4.add (local.get $b) (v128.load offset=16 (local.get $p))))
   (local.set $a (i32x4.add (local.get $a) (v128.load offset=32 (local.get $p))))
   (local.set $b (i32x4.add (local.get $b) (v128.load offset=48 (local.get $p))))
   (local.set $p (i32.add (local.get $p) (i32.const 64)))
   (br_if $l (i32.lt_u (local.get $p) (local.get $end))))
  (i32x4.extract_lane 0 (i32x4.add (local.get $a) (local.get $b))))
 (func (export "rows4") (param $cols i32) (param $rows i32) (result i32)
  (local $a v128) (local $b v128) (local $r i32) (local $p i32) (local $end i32) (local $c2 i32) (local $c3 i32)
  (local.set $c2 (i32.shl (local.get $cols) (i32.const 1)))
  (local.set $c3 (i32.add (local.get $c2) (local.get $cols)))
  (loop $g
   (local.set $p (i32.mul (local.get $r) (local.get $cols)))
   (local.set $end (i32.add (local.get $p) (local.get $cols)))
   (loop $l
    (local.set $a (i32x4.add (local.get $a) (v128.load (local.get $p))))
    (local.set $b (i32x4.add (local.get $b) (v128.load (i32.add (local.get $p) (local.get $cols)))))
    (local.set $a (i32x4.add (local.get $a) (v128.load (i32.add (local.get $p) (local.get $c2)))))
    (local.set $b (i32x4.add (local.get $b) (v128.load (i32.add (local.get $p) (local.get $c3)))))
    (local.set $p (i32.add (local.get $p) (i32.const 16)))
    (br_if $l (i32.lt_u (local.get $p) (local.get $end))))
   (local.set $r (i32.add (local.get $r) (i32.const 4)))
   (br_if $g (i32.lt_u (i32.add (local.get $r) (i32.const 3)) (local.get $rows))))
  (i32x4.extract_lane 0 (i32x4.add (local.get $a) (local.get $b)))))`;
let readModule: Promise<WebAssembly.Module> | undefined;

/** GB/s (per CPU second, best of reps) of the read anchors and of the kernel on a 1 MiB slice. */
async function scanAnchors(db: PirDatabase, query: Uint32Array, reps: number): Promise<{ seq: number; rows4: number; inCache: number }> {
  const { rows, cols } = db.params;
  readModule ??= assembleKernel(READ_WAT).then((b) => WebAssembly.compile(b as Uint8Array<ArrayBuffer>));
  const inst = new WebAssembly.Instance(await readModule, { env: { db: db.matrix.memory! } });
  const seq = inst.exports['seq'] as (p: number, end: number) => number;
  const rows4 = inst.exports['rows4'] as (cols: number, rows: number) => number;
  const bytes = rows * cols;
  // The kernel itself on a slice that stays in L2, the split vector written once (matVec would
  // re-split it per call, which at 1 MiB costs as much as the scan).
  const sliceRows = Math.max(4, Math.min(rows, Math.floor(MiB / cols)));
  const scratch = new WebAssembly.Memory({ initial: Math.ceil((cols * 4 + sliceRows * 4) / 65536) });
  const kernel = new WebAssembly.Instance(await compileKernelModule(), { env: { db: db.matrix.memory!, scratch } });
  const scan = kernel.exports['scan'] as (db: number, cols: number, r0: number, r1: number, vec: number, nvec: number, out: number) => void;
  writeSplitVector(new Int16Array(scratch.buffer, 0, cols * 2), query);
  const slice = (): void => { for (let i = 0; i < 32; i++) scan(0, cols, 0, sliceRows, 0, 1, cols * 4); };
  slice();
  return {
    seq: bytes / 1e9 / best(reps, () => void seq(0, bytes - (bytes % 64))).cpu,
    rows4: (Math.floor(rows / 4) * 4 * cols) / 1e9 / best(reps, () => void rows4(cols, rows)).cpu,
    inCache: (32 * sliceRows * cols) / 1e9 / best(reps * 2, slice).cpu,
  };
}

export interface PirBenchRow {
  mib: number; rows: number; cols: number;
  readSeqGBs: number; readRows4GBs: number; inCacheGBs: number;
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
  const anchors = db.matrix.memory ? await scanAnchors(db, query, mib >= 256 ? 3 : 5) : { seq: NaN, rows4: NaN, inCache: NaN };
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
    readSeqGBs: anchors.seq, readRows4GBs: anchors.rows4, inCacheGBs: anchors.inCache,
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
        'read seq / 4-row (cpu)': `${r.readSeqGBs.toFixed(1)} / ${r.readRows4GBs.toFixed(1)}`,
        'WASM 1 MiB in cache (cpu)': r.inCacheGBs.toFixed(2),
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

  const keywordKeys = Number(args['keyword'] ?? 1_000_000);
  if (keywordKeys > 0) {
    const k = await runKeywordBench(keywordKeys, Number(args['keyword-value'] ?? 32), Number(args['keyword-seconds'] ?? 10));
    console.log(`\nKeyword PIR through the SDK over loopback: ${k.keys} keys, ${k.valueBytes}-byte values, table ${(k.tableBytes / MiB).toFixed(1)} MiB (${k.shape}),`);
    console.log(`${k.queriesPerLookup} pirQuery per lookup; upload (build + hint) ${k.uploadSeconds.toFixed(1)} s; open (hint ${(k.hintBytes / MiB).toFixed(1)} MiB + A) ${k.openSeconds.toFixed(1)} s.`);
    table([{
      'present p50 / p99 ms': `${k.presentP50.toFixed(0)} / ${k.presentP99.toFixed(0)}`, 'absent p50 / p99 ms': `${k.absentP50.toFixed(0)} / ${k.absentP99.toFixed(0)}`,
      [`lookups/s (${k.concurrency} in flight)`]: k.lookupsPerSec.toFixed(1), errors: k.errors,
    }]);
    console.log(`Load average at end: ${k.load}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
