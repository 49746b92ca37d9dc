/**
 * The load generator child of bench/sign.ts and bench/encrypt.ts: one autocannon run of a fixed number
 * of POST requests (every request answered before it exits), printed as one JSON `HttpCell` on stdout.
 * In its own process so its CPU never counts as the service's.
 */
import autocannon from 'autocannon';
import type { HttpCell } from './_cells.ts';

const o = JSON.parse(process.argv[2]!) as { url: string; amount: number; connections: number; body: string; headers: Record<string, string> };
// Wall time from the start to the LAST response, measured here: autocannon notices that `amount` is
// reached only on its one-second tick, so its `duration` is whole seconds and short cells' ratios came
// out quantised (0.5, 0.75…) and biased low.
const t0 = performance.now();
let last = t0;
const run = autocannon({
  url: o.url, amount: o.amount, connections: o.connections, pipelining: 1, method: 'POST', body: o.body,
  headers: { 'content-type': 'application/json', ...o.headers },
}) as unknown as Promise<autocannon.Result> & { on(event: 'response', f: () => void): void }; // the tracker: an EventEmitter and a thenable
run.on('response', () => { last = performance.now(); });
const r = await run;
process.stdout.write(JSON.stringify({
  completed: r.requests.total, duration: (last - t0) / 1000, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx,
} satisfies HttpCell));
