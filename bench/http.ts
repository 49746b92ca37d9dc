/**
 * `npm run bench -- http [--seconds S]`: req/s of GET /v1/health on the full service (all plugins,
 * auth hook, metrics, validation) vs a bare fastify hello route, in the same run on loopback.
 * The ratio is the framework overhead later capability benchmarks compare against.
 */
import Fastify from 'fastify';
import { hammer, table, arg } from './_util.ts';
import { testApp } from '../test/support/app.ts';

const seconds = arg('seconds', 10);

const bare = Fastify({ logger: false });
bare.get('/hello', async () => ({ status: 'ok' }));
const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });

const svc = await testApp({ RATE_LIMIT_MAX: '100000000' });
const svcUrl = await svc.app.listen({ port: 0, host: '127.0.0.1' });

console.error(`bench http: ${seconds}s per target, 32 connections, loopback`);
const baseline = await hammer({ url: `${bareUrl}/hello`, seconds });
const health = await hammer({ url: `${svcUrl}/v1/health`, seconds });

table([
  { target: 'bare fastify GET /hello', 'req/s': Math.round(baseline.reqPerSec), 'p50 ms': baseline.p50, 'p99 ms': baseline.p99, errors: baseline.errors + baseline.non2xx },
  { target: 'service GET /v1/health', 'req/s': Math.round(health.reqPerSec), 'p50 ms': health.p50, 'p99 ms': health.p99, errors: health.errors + health.non2xx },
]);
console.log(`\nratio service/bare: ${(health.reqPerSec / baseline.reqPerSec).toFixed(3)}`);

await bare.close();
await svc.close();
