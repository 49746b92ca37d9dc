/**
 * GET /metrics in the Prometheus text format: request counts and latency by operation and
 * status, worker-pool queue, process memory and event-loop delay. Hand-rolled, no labels from
 * user input (the route's operationId, never the raw URL).
 */
import type { FastifyInstance } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AppError } from '../errors.ts';
import { isAdminBearer } from './auth.ts';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Registers GET /metrics and the hooks that count requests; `gauges` is read on every scrape.
 * `access: 'admin'` (the default configuration) serves it only with the admin bearer token: the
 * figures (per-operation counts, queue depths, principals' backlogs) tell an attacker how well an
 * attack works. `public` is for a scraper that cannot send a token, behind a private network.
 */
export function registerMetrics(app: FastifyInstance, opts: { access: 'admin' | 'public'; adminToken: string }, gauges: () => Record<string, number>): void {
  const counts = new Map<string, number>();
  const hist = new Map<string, { buckets: number[]; sum: number; count: number }>();
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  app.addHook('onClose', async () => loop.disable());

  app.addHook('onResponse', async (req, reply) => {
    const op = (req.routeOptions.config as { operationId?: string } | undefined)?.operationId ?? (reply.statusCode === 404 ? 'not_found' : 'other');
    const key = `operation="${op}",status="${reply.statusCode}"`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const seconds = reply.elapsedTime / 1000;
    const h = hist.get(op) ?? { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
    BUCKETS.forEach((b, i) => { if (seconds <= b) h.buckets[i]! += 1; });
    h.sum += seconds;
    h.count += 1;
    hist.set(op, h);
  });

  app.get('/metrics', { config: { operationId: 'metrics' }, logLevel: 'warn' }, async (req, reply) => {
    if (opts.access === 'admin' && !isAdminBearer(req.headers.authorization, opts.adminToken)) {
      throw new AppError('unauthorized', '/metrics requires the admin token (METRICS_ACCESS=admin)');
    }
    const lines: string[] = [
      '# HELP http_requests_total HTTP requests by operation and status.',
      '# TYPE http_requests_total counter',
      ...[...counts].map(([k, v]) => `http_requests_total{${k}} ${v}`),
      '# HELP http_request_duration_seconds HTTP request latency by operation.',
      '# TYPE http_request_duration_seconds histogram',
    ];
    for (const [op, h] of hist) {
      BUCKETS.forEach((b, i) => lines.push(`http_request_duration_seconds_bucket{operation="${op}",le="${b}"} ${h.buckets[i]}`));
      lines.push(`http_request_duration_seconds_bucket{operation="${op}",le="+Inf"} ${h.count}`);
      lines.push(`http_request_duration_seconds_sum{operation="${op}"} ${h.sum}`);
      lines.push(`http_request_duration_seconds_count{operation="${op}"} ${h.count}`);
    }
    const mem = process.memoryUsage();
    const gaugeValues: Record<string, number> = {
      process_resident_memory_bytes: mem.rss,
      nodejs_heap_used_bytes: mem.heapUsed,
      nodejs_eventloop_delay_p99_seconds: loop.percentile(99) / 1e9,
      ...gauges(),
    };
    for (const [name, value] of Object.entries(gaugeValues)) lines.push(`# TYPE ${name} gauge`, `${name} ${value}`);
    return reply.type('text/plain; version=0.0.4').send(`${lines.join('\n')}\n`);
  });
}
