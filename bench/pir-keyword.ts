/**
 * Keyword PIR through the SDK over a real socket (part of `npm run bench -- pir`, `--keyword=KEYS`,
 * default 1,000,000, 0 skips; `--keyword-value=BYTES`, default 32; `--keyword-seconds=S`, default 10):
 * the full service on loopback; KEYS entries (keys "key-<i>", values of BYTES) uploaded through
 * putPirDatabase with app.inject (server build + hint + store time), opened with client.pir.open over
 * the socket (hint download
 * and checks, A expanded once), then lookups: one at a time (latency of present and absent keys)
 * and 8 in flight for S seconds (lookups/s). Each lookup is 2·m pirQuery requests.
 */
import { loadavg } from 'node:os';
import { testApp, ADMIN_TOKEN } from '../test/support/app.ts';
import { createClient } from '../src/client/index.ts';
import { encodeKeywordEntries, keywordShape } from '../src/pir/keyword.ts';

/** One run's figures. */
export interface KeywordBenchResult {
  keys: number; valueBytes: number; tableBytes: number; shape: string; queriesPerLookup: number;
  uploadSeconds: number; openSeconds: number; hintBytes: number;
  presentP50: number; presentP99: number; absentP50: number; absentP99: number;
  lookupsPerSec: number; concurrency: number; errors: number; load: string;
}

const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]!; };

/** Runs the keyword benchmark on `keys` entries with `valueBytes`-byte values. */
export async function runKeywordBench(keys: number, valueBytes: number, seconds: number): Promise<KeywordBenchResult> {
  const shape = keywordShape(keys, valueBytes);
  const tableBytes = shape.recordCount * shape.recordSize;
  // No anonymous CPU budget or tarpit: this measures lookups, not the abuse limits.
  const svc = await testApp({ RATE_LIMIT_MAX: '1000000000', ANON_CPU_MS_PER_MINUTE: '0', TARPIT_MS: '0', PIR_MAX_DB_BYTES: String(Math.max(64 << 20, tableBytes)) });
  try {
    const base = await svc.app.listen({ port: 0, host: '127.0.0.1' });
    const enc = new TextEncoder();
    const value = (i: number): Uint8Array => { const v = new Uint8Array(valueBytes); new DataView(v.buffer).setUint32(0, i); return v; };
    const entries = Array.from({ length: keys }, (_, i) => ({ key: enc.encode(`key-${i}`), value: value(i) }));
    let t = performance.now();
    // The upload goes through app.inject (the same route and framing the SDK's uploadKeyword uses):
    // on a loaded shared machine, build + hint + store of a 64 MiB table can outlast the server's
    // 120 s socket requestTimeout, which would cut the response (the version is stored regardless).
    const put = await svc.app.inject({
      method: 'PUT', url: `/v1/pir/databases/bench-kw?format=keyword&maxValueSize=${valueBytes}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(encodeKeywordEntries(entries)),
    });
    if (put.statusCode !== 201) throw new Error(`keyword upload failed: ${put.statusCode} ${put.body.slice(0, 200)}`);
    const uploadSeconds = (performance.now() - t) / 1000;
    console.error(`keyword: uploaded ${keys} keys in ${uploadSeconds.toFixed(1)} s`);
    const identity = (await svc.app.ctx.systemKeys.identity()).publicKey;
    t = performance.now();
    const db = await createClient(base).pir.open('bench-kw', { identityPublicKey: identity });
    const openSeconds = (performance.now() - t) / 1000;
    const { params, keyword } = db.config;
    let errors = 0;
    const one = async (key: string, want: number | null): Promise<number> => {
      const s = performance.now();
      const got = await db.lookup(key);
      const ok = want === null ? got === null : got !== null && new DataView(got.buffer, got.byteOffset).getUint32(0) === want;
      if (!ok) errors++;
      return performance.now() - s;
    };
    await one('key-0', 0); // warm-up
    const present: number[] = [], absent: number[] = [];
    for (let j = 0; j < 50; j++) {
      const i = Math.floor(Math.random() * keys);
      present.push(await one(`key-${i}`, i));
      absent.push(await one(`absent-${j}`, null));
    }
    const concurrency = 8;
    let done = 0;
    const end = performance.now() + seconds * 1000;
    t = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const i = Math.floor(Math.random() * keys);
        await one(`key-${i}`, i);
        done++;
      }
    }));
    const lookupsPerSec = done / ((performance.now() - t) / 1000);
    return {
      keys, valueBytes, tableBytes, shape: `${params.rows}×${params.cols}`, queriesPerLookup: keyword!.hashes * keyword!.recordsPerBucket,
      uploadSeconds, openSeconds, hintBytes: db.config.sizes.hint,
      presentP50: pct(present, 0.5), presentP99: pct(present, 0.99), absentP50: pct(absent, 0.5), absentP99: pct(absent, 0.99),
      lookupsPerSec, concurrency, errors, load: loadavg().map((x) => x.toFixed(1)).join(' '),
    };
  } finally {
    await svc.close();
  }
}
