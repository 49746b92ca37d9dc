/**
 * `npm run bench -- kex [--seconds S]`: in one run, on loopback,
 *  - the bare-route baseline (bare fastify GET /hello, as in the foundation bench),
 *  - openSession handshakes/s (server: X-Wing decaps + encaps, HKDF, store insert) with the server on
 *    the native and on the noble backend (client hellos precomputed with native, each used once),
 *  - full client-side handshakes/s (getPrekey-free: hello, openSession, decaps, confirmation check),
 *  - envelope round trips/s (seal, POST, server opens + runs GET /v1/health via inject + seals, client opens),
 * and prints the ratios (goal: native handshakes/s ≥ 0.5 × baseline req/s).
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { arg, hammer, table, type HttpResult } from './_util.ts';
import { testApp, type TestApp } from '../test/support/app.ts';
import { nativeBackend as nb } from '../src/crypto/native.ts';
import { base64urlDecode, base64urlEncode } from '../src/crypto/bytes.ts';
import * as P from '../src/kex/protocol.ts';

const seconds = arg('seconds', 5);
const CONNECTIONS = 16;
/** Fewer for handshakes: at 16 the service saturates and under-pressure sheds most with 503. */
const HANDSHAKE_CONNECTIONS = 4;

async function prekeyOf(url: string): Promise<P.Prekey> {
  const d = await (await fetch(`${url}/v1/kex/prekey`)).json() as { prekeyId: string; publicKey: string; notBefore: string; notAfter: string; signature: string; identity: { keyId: string; version: number; publicKey: string } };
  return {
    prekeyId: d.prekeyId, publicKey: base64urlDecode(d.publicKey), notBefore: Date.parse(d.notBefore) / 1000, notAfter: Date.parse(d.notAfter) / 1000,
    signature: base64urlDecode(d.signature), identity: { keyId: d.identity.keyId, version: d.identity.version, algorithm: 'ML-DSA-65', publicKey: base64urlDecode(d.identity.publicKey) },
  };
}

const helloJson = (h: P.ClientHello) => JSON.stringify({
  prekeyId: h.prekeyId, ciphertext: base64urlEncode(h.ciphertext), clientPublicKey: base64urlEncode(h.clientPublicKey), proof: base64urlEncode(h.proof),
});

async function run(opts: autocannon.Options): Promise<HttpResult & { statuses: string }> {
  const r = await autocannon({ connections: CONNECTIONS, pipelining: 1, duration: seconds, headers: { 'content-type': 'application/json' }, ...opts });
  const stats = (r.statusCodeStats ?? {}) as Record<string, { count: number }>;
  const statuses = Object.entries(stats).map(([code, v]) => `${code}×${v.count}`).join(' ');
  // Throughput counts successful answers only (the service sheds load with 503 when saturated).
  const ok = Object.entries(stats).filter(([code]) => code.startsWith('2')).reduce((n, [, v]) => n + v.count, 0);
  return { reqPerSec: ok / seconds, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, statuses };
}

/** Server-side handshake throughput: each connection posts precomputed, single-use hellos. */
async function handshakes(url: string, expectedRate: number): Promise<HttpResult & { statuses: string }> {
  const prekey = await prekeyOf(url);
  const n = Math.ceil(expectedRate * seconds * 1.3) + CONNECTIONS;
  const bodies: string[] = [];
  // In small chunks: one long synchronous block would trip under-pressure's event-loop-delay check (503s).
  for (let i = 0; i < n; i++) {
    bodies.push(helloJson(P.clientStart(nb, prekey).hello));
    if (i % 10 === 9) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 1500));
  let next = 0;
  return run({
    url: `${url}/v1/kex/sessions`, method: 'POST', connections: HANDSHAKE_CONNECTIONS,
    requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
  });
}

/** Client-side full handshakes (hello → openSession → decaps → confirmation), sequential per loop. */
async function fullHandshakes(url: string): Promise<number> {
  const prekey = await prekeyOf(url);
  return (await loops(async () => {
    const pending = P.clientStart(nb, prekey);
    const res = await fetch(`${url}/v1/kex/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: helloJson(pending.hello) });
    const s = await res.json() as { sessionId: string; ciphertext: string; confirmation: string };
    P.clientFinish(nb, pending, { sessionId: s.sessionId, ciphertext: base64urlDecode(s.ciphertext), confirmation: base64urlDecode(s.confirmation) });
    return true;
  })).perSec;
}

/** Runs `CONNECTIONS` sequential loops of `once` for `seconds`; returns completed calls per second. */
async function loops(once: (i: number) => Promise<boolean>): Promise<{ perSec: number; bad: number }> {
  let done = 0;
  let bad = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: CONNECTIONS }, async (_, i) => {
    while (Date.now() < end) { if (await once(i)) done++; else bad++; }
  }));
  return { perSec: done / seconds, bad };
}

/**
 * Envelope round trips: one session per loop, strictly increasing seq, response opened and checked.
 * Measured with the same fetch loop as a direct GET /v1/health, so the ratio isolates the envelope.
 */
async function envelopes(url: string): Promise<{ envelope: number; direct: number; bad: number }> {
  const prekey = await prekeyOf(url);
  const sessions: Array<{ id: string; keys: P.SessionKeys; seq: number }> = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const pending = P.clientStart(nb, prekey);
    const s = await (await fetch(`${url}/v1/kex/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: helloJson(pending.hello) })).json() as { sessionId: string; ciphertext: string; confirmation: string };
    sessions.push({ id: s.sessionId, seq: 0, keys: P.clientFinish(nb, pending, { sessionId: s.sessionId, ciphertext: base64urlDecode(s.ciphertext), confirmation: base64urlDecode(s.confirmation) }) });
  }
  const inner = P.encodeJson({ method: 'GET', path: '/v1/health' });
  const env = await loops(async (i) => {
    const s = sessions[i]!;
    const seq = ++s.seq;
    const res = await fetch(`${url}/v1/kex/sessions/${s.id}/envelope`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ seq, sealed: base64urlEncode(P.sealEnvelope(nb, s.keys, 'request', s.id, seq, inner)), ...(seq === 1 ? { confirmation: base64urlEncode(s.keys.clientConfirmation) } : {}) }),
    });
    if (res.status !== 200) { await res.arrayBuffer(); return false; }
    const r = P.decodeJson(P.openEnvelope(nb, s.keys, 'response', s.id, seq, base64urlDecode((await res.json() as { sealed: string }).sealed))) as P.InnerResponse;
    return r.status === 200;
  });
  const direct = await loops(async () => {
    const res = await fetch(`${url}/v1/health`);
    await res.json();
    return res.status === 200;
  });
  return { envelope: env.perSec, direct: direct.perSec, bad: env.bad + direct.bad };
}

const bare = Fastify({ logger: false });
bare.get('/hello', async () => ({ status: 'ok' }));
const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });

// A throughput benchmark from one address: request-count and session caps out of the way (bench abuse measures those).
const env = { RATE_LIMIT_MAX: '100000000', SESSION_TTL_SECONDS: '3600', KEX_MAX_SESSIONS_PER_ADDRESS: '10000000', KEX_MAX_SESSIONS: '10000000' };
async function service(backend: 'native' | 'noble'): Promise<{ t: TestApp; url: string }> {
  const t = await testApp({ ...env, CRYPTO_BACKEND: backend });
  return { t, url: await t.app.listen({ port: 0, host: '127.0.0.1' }) };
}

console.error(`bench kex: ${seconds}s per target, ${CONNECTIONS} connections, loopback, 2 shared cores`);
const baseline = await hammer({ url: `${bareUrl}/hello`, seconds, connections: CONNECTIONS });
const native = await service('native');
const health = await hammer({ url: `${native.url}/v1/health`, seconds, connections: CONNECTIONS });
const hsNative = await handshakes(native.url, 600);
const fullNative = await fullHandshakes(native.url);
const envNative = await envelopes(native.url);
await native.t.close();
const noble = await service('noble');
const hsNoble = await handshakes(noble.url, 100);
const envNoble = await envelopes(noble.url);
await noble.t.close();
await bare.close();

const row = (target: string, r: HttpResult) => ({ target, 'req/s': Math.round(r.reqPerSec), 'p50 ms': r.p50, 'p99 ms': r.p99, 'errors+non2xx': r.errors + r.non2xx });
table([
  row('bare fastify GET /hello (baseline)', baseline),
  row('service GET /v1/health', health),
  row('openSession (2xx/s), server native', hsNative),
  row('openSession (2xx/s), server noble', hsNoble),
]);
table([
  { target: 'envelope GET /v1/health, server native', 'round trips/s': Math.round(envNative.envelope), 'direct GET /v1/health (same loop)': Math.round(envNative.direct) },
  { target: 'envelope GET /v1/health, server noble', 'round trips/s': Math.round(envNoble.envelope), 'direct GET /v1/health (same loop)': Math.round(envNoble.direct) },
]);
console.log(`openSession status codes: native ${hsNative.statuses}; noble ${hsNoble.statuses}`);
console.log(`full client handshakes/s (client + server native, same process): ${fullNative.toFixed(0)}`);
console.log(`failed round trips: native ${envNative.bad}, noble ${envNoble.bad}`);
console.log('\nratios');
console.log(`handshakes/s native / baseline req/s:     ${(hsNative.reqPerSec / baseline.reqPerSec).toFixed(3)}   (goal ≥ 0.5)`);
console.log(`handshakes/s noble / baseline req/s:      ${(hsNoble.reqPerSec / baseline.reqPerSec).toFixed(3)}`);
console.log(`handshakes/s native / noble:              ${(hsNative.reqPerSec / hsNoble.reqPerSec).toFixed(2)}`);
console.log(`envelope rt/s native / baseline req/s:    ${(envNative.envelope / baseline.reqPerSec).toFixed(3)}   (different load generators: fetch loop vs autocannon)`);
console.log(`envelope rt/s native / direct /v1/health: ${(envNative.envelope / envNative.direct).toFixed(3)}   (same fetch loop)`);
console.log(`envelope rt/s native / noble:             ${(envNative.envelope / envNoble.envelope).toFixed(2)}`);
