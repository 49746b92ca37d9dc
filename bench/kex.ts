/**
 * `npm run bench -- kex [--seconds S] [--rounds R] [--conc C] [--only anchor|inprocess] [--server-prof DIR]`: in one run, on loopback,
 *  - the TLS anchor (issue 13), client and server in separate processes for both sides, interleaved
 *    R rounds (default 2) of S seconds each, C concurrent handshakes per client (default 8):
 *      · Node 24 `https` server, TLS 1.3, ecdhCurve 'X25519MLKEM768' (P-256 ECDSA certificate), and a
 *        client process doing `tls.connect` full handshakes on fresh TCP connections, once with a new
 *        client context per connection and once with one reused context (no session resumption);
 *      · the service (its own process, native backend, 2 workers) and a client process doing full
 *        handshakes (clientStart, POST /v1/kex/sessions over keep-alive HTTP, clientFinish);
 *    and the ratio of ours to the faster TLS rate (goal ≥ 1.0),
 *  - the bare-route baseline (bare fastify GET /hello, as in the foundation bench),
 *  - openSession handshakes/s (server: X-Wing decaps + encaps, HKDF, store insert) with the server on
 *    the native and on the noble backend (client hellos precomputed with native, each used once),
 *  - full client-side handshakes/s (getPrekey-free: hello, openSession, decaps, confirmation check),
 *  - envelope round trips/s (seal, POST, server opens + runs GET /v1/health via inject + seals, client opens),
 * and prints the ratios (goal: native handshakes/s ≥ 0.5 × baseline req/s).
 */
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import https from 'node:https';
import tls from 'node:tls';
import Fastify from 'fastify';
import { arg, hammer, table, type HttpResult } from './_util.ts';
import { testApp, type TestApp } from '../test/support/app.ts';
import { nativeBackend as nb } from '../src/crypto/native.ts';
import { base64urlDecode, base64urlEncode } from '../src/crypto/bytes.ts';
import * as P from '../src/kex/protocol.ts';

const seconds = arg('seconds', 5);
const ROUNDS = arg('rounds', 2);
const ANCHOR_CONC = arg('conc', 8);
const onlyIdx = process.argv.indexOf('--only');
const only = onlyIdx > 0 ? process.argv[onlyIdx + 1] : undefined;
/** `--server-prof DIR`: the service process of the anchor writes V8 CPU profiles (main thread and workers) into DIR. */
const profIdx = process.argv.indexOf('--server-prof');
const profDir = profIdx > 0 ? process.argv[profIdx + 1] : undefined;
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

// ---------------------------------------------------------------- TLS anchor (separate processes)

type Role = 'tls-server' | 'svc-server' | 'client';
type ClientMode = 'tls-fresh' | 'tls-reused' | 'pqzk';
interface ClientReport { mode: ClientMode; handshakes: number; seconds: number; errors: number; group: string; cpuSeconds: number }

const self = fileURLToPath(import.meta.url);

/** Starts this file in a child process with `role`; resolves with the child and the first JSON line it prints. */
function child(role: Role, env: Record<string, string>): Promise<{ proc: ReturnType<typeof spawn>; first: Record<string, unknown>; lines: AsyncIterator<string> }> {
  const prof = role === 'svc-server' && profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const proc = spawn(process.execPath, [...prof, self], { env: { ...process.env, PQZK_KEX_ROLE: role, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  const queue: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line); else queue.push(line);
    }
  });
  const lines: AsyncIterator<string> = {
    next: () => new Promise((resolve, reject) => {
      const q = queue.shift();
      if (q !== undefined) return resolve({ value: q, done: false });
      waiters.push((l) => resolve({ value: l, done: false }));
      proc.once('exit', (code) => reject(new Error(`${role} exited (${code}) before answering`)));
    }),
  };
  return lines.next().then((r) => ({ proc, first: JSON.parse(r.value) as Record<string, unknown>, lines }));
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux; NaN elsewhere). */
function procCpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch { return NaN; }
}

async function clientRun(mode: ClientMode, target: string, caPath: string, serverPid: number | undefined): Promise<ClientReport & { serverCpuSeconds: number }> {
  const cpu0 = procCpuSeconds(serverPid);
  const c = await child('client', { MODE: mode, TARGET: target, CA: caPath, SECONDS: String(seconds), CONC: String(ANCHOR_CONC) });
  await new Promise((r) => c.proc.once('exit', r));
  return { ...(c.first as unknown as ClientReport), serverCpuSeconds: procCpuSeconds(serverPid) - cpu0 };
}

async function tlsServerRole(): Promise<void> {
  const server = https.createServer({
    key: readFileSync(process.env.KEY!), cert: readFileSync(process.env.CERT!), ecdhCurve: 'X25519MLKEM768', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3',
  }, (_req, res) => res.end('ok'));
  let n = 0;
  server.on('secureConnection', () => { n++; });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address() as { port: number };
    console.log(JSON.stringify({ target: `127.0.0.1:${a.port}` }));
  });
  process.stdin.resume();
  process.on('SIGTERM', () => { process.stdout.write(`${JSON.stringify({ served: n })}\n`, () => process.exit(0)); });
}

async function svcServerRole(): Promise<void> {
  const t = await testApp({ ...svcEnv, CRYPTO_BACKEND: 'native' });
  const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  console.log(JSON.stringify({ target: url }));
  process.on('SIGTERM', () => { void t.close().finally(() => process.exit(0)); });
}

async function clientRole(): Promise<void> {
  const mode = process.env.MODE as ClientMode;
  const target = process.env.TARGET!;
  const secs = Number(process.env.SECONDS);
  const conc = Number(process.env.CONC);
  const ca = readFileSync(process.env.CA!);
  let done = 0;
  let errors = 0;
  let group = '';
  let once: () => Promise<void>;
  if (mode === 'pqzk') {
    const prekey = await prekeyOf(target);
    P.verifyPrekey(nb, prekey, Math.floor(Date.now() / 1000)); // what a real client does once per prekey
    group = 'X-Wing (pqzk kex)';
    once = async () => {
      const pending = P.clientStart(nb, prekey);
      const res = await fetch(`${target}/v1/kex/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: helloJson(pending.hello) });
      if (res.status !== 201 && res.status !== 200) { await res.arrayBuffer(); throw new Error(`status ${res.status}`); }
      const s = await res.json() as { sessionId: string; ciphertext: string; confirmation: string };
      P.clientFinish(nb, pending, { sessionId: s.sessionId, ciphertext: base64urlDecode(s.ciphertext), confirmation: base64urlDecode(s.confirmation) });
    };
  } else {
    const [host, port] = target.split(':') as [string, string];
    const base = { host, port: Number(port), servername: 'localhost', ecdhCurve: 'X25519MLKEM768', minVersion: 'TLSv1.3' as const, maxVersion: 'TLSv1.3' as const };
    const shared = tls.createSecureContext({ ca, ecdhCurve: 'X25519MLKEM768', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    once = () => new Promise<void>((resolve, reject) => {
      // No `session` option: every connection is a full handshake (no resumption).
      const sock = tls.connect(mode === 'tls-reused' ? { ...base, secureContext: shared } : { ...base, ca }, () => {
        if (sock.isSessionReused()) reject(new Error('session was resumed'));
        group ||= String((sock.getEphemeralKeyInfo() as { name?: string }).name);
        sock.end(); // flushes the client Finished: the server completes its handshake too
        resolve();
      });
      sock.once('error', reject);
    });
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + secs * 1000;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (performance.now() < end) {
      try { await once(); done++; } catch { errors++; }
    }
  }));
  const el = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ mode, handshakes: done, seconds: el, errors, group, cpuSeconds: (cpu.user + cpu.system) / 1e6 } satisfies ClientReport));
}

/** The anchor: both servers in their own processes, client processes interleaved round by round. */
async function anchor(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pqzk-bench-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const tlsSrv = await child('tls-server', { KEY: key, CERT: cert });
  const svc = await child('svc-server', {});
  const load0 = loadavg()[0]!;
  let tlsServed = NaN;
  const modes: Array<[ClientMode, string, number | undefined]> = [
    ['tls-fresh', String(tlsSrv.first.target), tlsSrv.proc.pid], ['tls-reused', String(tlsSrv.first.target), tlsSrv.proc.pid], ['pqzk', String(svc.first.target), svc.proc.pid],
  ];
  const results = new Map<ClientMode, Array<ClientReport & { serverCpuSeconds: number }>>();
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const [mode, target, pid] of modes) {
        const rep = await clientRun(mode, target, cert, pid);
        (results.get(mode) ?? results.set(mode, []).get(mode)!).push(rep);
        console.error(`round ${r + 1} ${mode}: ${(rep.handshakes / rep.seconds).toFixed(0)}/s (${rep.errors} errors)`);
      }
    }
  } finally {
    const served = tlsSrv.lines.next().then((l) => (JSON.parse(l.value) as { served: number }).served, () => NaN);
    tlsSrv.proc.kill('SIGTERM');
    tlsServed = await served;
    svc.proc.kill('SIGTERM');
    await Promise.all([tlsSrv.proc, svc.proc].map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (m: ClientMode) => { const rs = results.get(m)!; return rs.reduce((n, x) => n + x.handshakes, 0) / rs.reduce((n, x) => n + x.seconds, 0); };
  const perRound = (m: ClientMode) => results.get(m)!.map((x) => (x.handshakes / x.seconds).toFixed(0)).join(', ');
  const cpuPer = (m: ClientMode, k: 'cpuSeconds' | 'serverCpuSeconds' = 'cpuSeconds') => { const rs = results.get(m)!; return (1e3 * rs.reduce((n, x) => n + x[k], 0)) / rs.reduce((n, x) => n + x.handshakes, 0); };
  console.log(`\nTLS anchor: full handshakes/s, client and server in separate processes, ${ROUNDS} interleaved rounds × ${seconds}s, ${ANCHOR_CONC} concurrent per client`);
  table((['tls-fresh', 'tls-reused', 'pqzk'] as const).map((m) => ({
    target: m === 'tls-fresh' ? 'Node TLS 1.3 X25519MLKEM768, new client context per connection'
      : m === 'tls-reused' ? 'Node TLS 1.3 X25519MLKEM768, one reused client context' : 'pqzk openSession + client finish (keep-alive HTTP)',
    'handshakes/s': Math.round(rate(m)), 'per round': perRound(m), 'client CPU ms/hs': cpuPer(m), 'server CPU ms/hs': cpuPer(m, 'serverCpuSeconds'), errors: results.get(m)!.reduce((n, x) => n + x.errors, 0),
    group: results.get(m)![0]!.group,
  })));
  const tlsClient = ['tls-fresh', 'tls-reused'].flatMap((m) => results.get(m as ClientMode)!).reduce((n, x) => n + x.handshakes, 0);
  console.log(`TLS handshakes completed by the server (secureConnection): ${tlsServed} of ${tlsClient} client-side`);
  const best = Math.max(rate('tls-fresh'), rate('tls-reused'));
  console.log(`ours / TLS (new context):    ${(rate('pqzk') / rate('tls-fresh')).toFixed(3)}`);
  console.log(`ours / TLS (reused context): ${(rate('pqzk') / rate('tls-reused')).toFixed(3)}`);
  console.log(`ours / faster TLS rate:      ${(rate('pqzk') / best).toFixed(3)}   (goal ≥ 1.0)`);
  console.log(`load average (1 min) before / after: ${load0.toFixed(2)} / ${loadavg()[0]!.toFixed(2)} (2 cores)`);
}

// A throughput benchmark from one address: request-count and session caps out of the way (bench abuse measures those).
const svcEnv = { RATE_LIMIT_MAX: '100000000', SESSION_TTL_SECONDS: '3600', KEX_MAX_SESSIONS_PER_ADDRESS: '10000000', KEX_MAX_SESSIONS: '10000000' };

const role = process.env.PQZK_KEX_ROLE as Role | undefined;
if (role === 'tls-server') await tlsServerRole();
else if (role === 'svc-server') await svcServerRole();
else if (role === 'client') await clientRole();
else {
  console.error(`bench kex: ${seconds}s per target, loopback, 2 shared cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (only !== 'inprocess') await anchor();
  if (only !== 'anchor') await inProcess();
}

// ---------------------------------------------------------------- in-process figures

async function inProcess(): Promise<void> {
  const bare = Fastify({ logger: false });
  bare.get('/hello', async () => ({ status: 'ok' }));
  const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });

  async function service(backend: 'native' | 'noble'): Promise<{ t: TestApp; url: string }> {
    const t = await testApp({ ...svcEnv, CRYPTO_BACKEND: backend });
    return { t, url: await t.app.listen({ port: 0, host: '127.0.0.1' }) };
  }

  console.log(`\nin-process figures (load generator in this process), ${CONNECTIONS} connections`);
  const baseline = await hammer({ url: `${bareUrl}/hello`, seconds, connections: CONNECTIONS });
  const native = await service('native');
  const health = await hammer({ url: `${native.url}/v1/health`, seconds, connections: CONNECTIONS });
  const hsNative = await handshakes(native.url, 1500);
  const fullNative = await fullHandshakes(native.url);
  const envNative = await envelopes(native.url);
  await native.t.close();
  const noble = await service('noble');
  const hsNoble = await handshakes(noble.url, 600);
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
  console.log(`load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)}`);
}
