/**
 * The load generator child of bench/sign.ts and bench/encrypt.ts: one autocannon run of a fixed number
 * of POST requests (every request answered before it exits), printed as one JSON `HttpCell` on stdout.
 * In its own process so its CPU never counts as the service's.
 */
import autocannon from 'autocannon';
import type { HttpCell } from './_cells.ts';

const o = JSON.parse(process.argv[2]!) as { url: string; amount: number; connections: number; body: string; headers: Record<string, string> };
// Wall time measured here: autocannon's own `duration` is whole seconds, which quantised short cells' ratios (0.5, 0.75…).
const t0 = performance.now();
const r = await autocannon({
  url: o.url, amount: o.amount, connections: o.connections, pipelining: 1, method: 'POST', body: o.body,
  headers: { 'content-type': 'application/json', ...o.headers },
});
process.stdout.write(JSON.stringify({
  completed: r.requests.total, duration: (performance.now() - t0) / 1000, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx,
} satisfies HttpCell));
