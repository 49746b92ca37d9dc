/**
 * Parts of `npm run bench -- pir` for issue 16: the shape table (hint, query and answer bytes per
 * shape, pure arithmetic) and live updates (`--update=MiB`, default 16, 0 skips): one database
 * uploaded through the service, then patches of 1 %, 0.1 % and one record, each timed on the server
 * (applyRecordChanges: copy, incremental hint in the pool, records read back, store transaction),
 * next to the incremental hint alone in this thread, the full upload, and the hint delta's bytes
 * against the full hint's.
 */
import { choosePirParams } from '../src/pir/params.ts';
import { LWE_N } from '../src/pir/params.ts';
import { shapeTraffic } from '../src/pir/shape.ts';
import { applyChangesToMatrix, decodeRecordDelta, hintRowDeltas, recordDeltaCells } from '../src/pir/delta.ts';
import { allocateMatrix, layoutRecords } from '../src/pir/server.ts';
import { checkRecordChanges, type RecordChange } from '../src/pir/changes.ts';
import type { PirConfigJson } from '../src/pir/config.ts';
import { base64urlDecode } from '../src/crypto/bytes.ts';
import { testApp, ADMIN_TOKEN } from '../test/support/app.ts';
import { startPostgres, type TestPostgres } from '../test/support/postgres.ts';
import { openStore, type Store } from '../src/store/index.ts';

const MiB = 1 << 20;
const fmt = (b: number): string => (b >= MiB ? `${(b / MiB).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

/** Rows of the shape table: per database size and queriesPerHint (null = the first release's square rule). */
export function shapeTableRows(sizesMiB: number[], recordSize: number): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const mib of sizesMiB) {
    for (const q of [null, 1, 4, 16, 64, 256]) {
      const p = choosePirParams((mib * MiB) / recordSize, recordSize, q);
      const t = shapeTraffic(p, LWE_N, q ?? 16);
      out.push({
        DB: `${mib} MiB`, 'queries/hint': q === null ? 'square (v1)' : String(q), 'rows×cols': `${p.rows}×${p.cols}`,
        hint: fmt(t.hint), 'hint/DB': (t.hint / (mib * MiB)).toFixed(3), query: fmt(t.query), answer: fmt(t.answer),
        [`total, Q=${q ?? 16}`]: fmt(t.total), 'client A cache': fmt(p.cols * p.n * 4),
      });
    }
  }
  return out;
}

/** CPU-seconds of this process (all its threads: the worker pool included) since `from`. */
const cpuSince = (from: NodeJS.CpuUsage): number => { const u = process.cpuUsage(from); return (u.user + u.system) / 1e6; };
const fill = (b: Uint8Array): Uint8Array => { for (let i = 0; i < b.length; i += 65536) crypto.getRandomValues(b.subarray(i, i + 65536)); return b; };

/**
 * Uploads `mib` MiB of `recordSize`-byte records, then patches 1 %, 0.1 % and one record; on PGlite
 * (the default store) or, with `postgres`, on an embedded PostgreSQL server.
 */
export async function runPirUpdateBench(mib: number, recordSize: number, postgres = false): Promise<{ shape: string; uploadSeconds: number; uploadCpu: number; rows: Array<Record<string, string>> }> {
  const records = fill(new Uint8Array(mib * MiB));
  let pg: TestPostgres | undefined;
  let store: Store | undefined;
  if (postgres) {
    pg = await startPostgres();
    store = await openStore({ dataDir: '/nonexistent', databaseUrl: pg.url });
  }
  const svc = await testApp({ RATE_LIMIT_MAX: '1000000000', PIR_MAX_DB_BYTES: String(mib * MiB) }, store ? { store } : {});
  try {
    let started = performance.now();
    let cpu0 = process.cpuUsage();
    const put = await svc.app.inject({
      method: 'PUT', url: `/v1/pir/databases/upd?recordSize=${recordSize}`, payload: Buffer.from(records.buffer, records.byteOffset, records.byteLength),
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
    });
    if (put.statusCode !== 201) throw new Error(`upload failed: ${put.statusCode} ${put.body.slice(0, 200)}`);
    const uploadSeconds = (performance.now() - started) / 1000;
    const uploadCpu = cpuSince(cpu0);
    let cfg = put.json() as PirConfigJson;
    const { params } = cfg;
    const seed = base64urlDecode(cfg.seed);
    const matrix = allocateMatrix(params.rows, params.cols);
    layoutRecords(params, records, matrix.data);
    const rows: Array<Record<string, string>> = [];
    for (const [label, k] of [['1 %', Math.round(params.recordCount / 100)], ['0.1 %', Math.round(params.recordCount / 1000)], ['1 record', 1]] as const) {
      const picked = new Set<number>();
      while (picked.size < k) picked.add(Math.floor(Math.random() * params.recordCount));
      const changes: RecordChange[] = [...picked].map((index) => ({ index, record: fill(new Uint8Array(recordSize)) }));
      // The O(k·n) part alone, in this thread: matrix entries and Σ δ·A[c,·] per touched row.
      const sorted = checkRecordChanges(changes, params.recordCount, params.recordSize);
      const copy = Int8Array.from(matrix.data);
      const t0 = performance.now();
      cpu0 = process.cpuUsage();
      const cells = applyChangesToMatrix(params, copy, sorted);
      const d = hintRowDeltas(seed, params.n, params.cols, cells);
      const hintOnly = (performance.now() - t0) / 1000;
      const hintOnlyCpu = cpuSince(cpu0);
      matrix.data.set(copy);
      started = performance.now();
      cpu0 = process.cpuUsage();
      const next = await svc.app.ctx.pir.applyRecordChanges('upd', cfg.version, changes);
      const server = (performance.now() - started) / 1000;
      const serverCpu = cpuSince(cpu0);
      const delta = await svc.app.inject({ method: 'GET', url: `/v1/pir/databases/upd/hint-delta?from=${cfg.version}&version=${next.version}` });
      if (delta.statusCode !== 200) throw new Error(`delta failed: ${delta.statusCode}`);
      const auto = await svc.app.inject({ method: 'GET', url: `/v1/pir/databases/upd/hint-delta?from=${cfg.version}&version=${next.version}&format=auto` });
      if (auto.statusCode !== 200) throw new Error(`record delta failed: ${auto.statusCode}`);
      // What the SDK does with a record delta: Σ δ·A[c,·] from the seed, one thread.
      const c1 = process.cpuUsage();
      hintRowDeltas(seed, params.n, params.cols, recordDeltaCells(params, decodeRecordDelta(new Uint8Array(auto.rawPayload), params)));
      const clientCpu = cpuSince(c1);
      rows.push({
        update: `${label} (${k} records)`, 'hint rows touched': `${d.rows.length} of ${params.rows}`,
        'server patch s (CPU s)': `${server.toFixed(2)} (${serverCpu.toFixed(2)})`,
        'incremental hint alone s (CPU s)': `${hintOnly.toFixed(3)} (${hintOnlyCpu.toFixed(3)})`,
        'vs full upload, CPU': `${(serverCpu / uploadCpu).toFixed(3)}x`,
        'rows delta': fmt(delta.rawPayload.length), 'record delta (auto)': fmt(auto.rawPayload.length), 'full hint': fmt(next.sizes.hint),
        'record delta/hint': (auto.rawPayload.length / next.sizes.hint).toFixed(4), 'client CPU s to apply it': clientCpu.toFixed(2),
      });
      cfg = next;
      console.error(`done update ${label}`);
    }
    return { shape: `${params.rows}×${params.cols}`, uploadSeconds, uploadCpu, rows };
  } finally {
    await svc.close();
    await store?.close();
    await pg?.stop();
  }
}
