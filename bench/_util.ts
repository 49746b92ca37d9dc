/** Shared benchmark helpers: autocannon runs and table printing. */
import autocannon from 'autocannon';

export interface HttpResult { reqPerSec: number; p50: number; p99: number; errors: number; non2xx: number }

/** Runs autocannon against `url` for `seconds` with `connections` and returns throughput and latency. */
export async function hammer(opts: { url: string; seconds: number; connections?: number; method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> }): Promise<HttpResult> {
  const result = await autocannon({
    url: opts.url,
    duration: opts.seconds,
    connections: opts.connections ?? 32,
    pipelining: 1,
    method: opts.method ?? 'GET',
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    headers: { 'content-type': 'application/json', ...opts.headers },
  });
  return {
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export function table(rows: Array<Record<string, string | number>>): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(fmt(r[c] ?? '')).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i]!)).join('  ');
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(cols.map((c) => String(fmt(r[c] ?? '')))));
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
