/**
 * One attacker of the abuse bench (a child process; see common.ts for the protocol), on its own
 * source address. `attack` selects the row of issue 12's table:
 *
 *   wasm          anonymous: SDK sessions, each looping inner GET /v1/zk/circuit/login.wasm
 *   tenant-slh    a self-registered ZK tenant, an SLH-DSA-SHAKE-256s key, 64-item sign batches, 4 concurrent
 *   verify-flood  anonymous POST /v1/verify, SLH-DSA-SHAKE-256f (valid signature), 300 concurrent
 *   deep-json     inner envelope body nested 200,000 levels deep
 *   content-type  JSON operations sent as text/plain and application/octet-stream
 *   sessions      valid anonymous openSession, as fast as answered (run from several addresses)
 *   replay        one valid openSession body sent again and again
 *   flood         GET /v1/algorithms as fast as answered (to hit the 429 limit; measures logging)
 *
 * Every loop is bounded by the deadline from 'go' and by a count; whatever is in flight at the
 * deadline is aborted (the service may still be working on it: the orchestrator discards the
 * service after each phase).
 */
import { childStart, ensureKey, helloJson, prekeyOf, rawEnvelope, rawOpen, rawSession, sdk, selfRegisteredTenant, username, utf8, type AttackerResult } from './common.ts';
import { record, transport } from './http.ts';
import { nativeBackend as nb } from '../../src/crypto/native.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';

interface Opts { url: string; address: string; attack: string; concurrency?: number; maxPerLoop?: number; /** total requests/s over all loops (default: as fast as answered) */ ratePerSec?: number }
const { opts: o, go, send } = childStart<Opts>();
const MAX_PER_LOOP = o.maxPerLoop ?? 100_000;
const json = { 'content-type': 'application/json' };

/**
 * `n` sequential loops of `fn` until the deadline (or MAX_PER_LOOP calls each), paced to
 * `ratePerSec` in total when given; failures are tallied by the transport.
 */
async function loops(n: number, until: number, fn: (loop: number) => Promise<void>): Promise<void> {
  const interval = o.ratePerSec ? (1000 * n) / o.ratePerSec : 0;
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const start = Date.now() + (interval * i) / n;
    for (let k = 0; k < MAX_PER_LOOP && Date.now() < until; k++) {
      const wait = start + k * interval - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, until - Date.now())));
      if (Date.now() >= until) return;
      try { await fn(i); } catch { if (Date.now() >= until) return; }
    }
  }));
}

const t = transport({ localAddress: o.address, maxSockets: Math.max(16, o.concurrency ?? 16), timeoutMs: 60_000 });
let run: (until: number) => Promise<void>;
let note: string | undefined;

switch (o.attack) {
  case 'wasm': {
    const client = sdk(o.url, t);
    const n = o.concurrency ?? 12;
    const first = await client.openSecureSession({ trustOnFirstUse: true });
    const sessions = [first];
    for (let i = 1; i < n; i++) sessions.push(await client.openSecureSession({ identityKey: first.identity.publicKey }));
    run = (until) => loops(n, until, async (i) => {
      const r = await sessions[i]!.call('GET', '/v1/zk/circuit/login.wasm');
      record(t.tally, r.status, r.headers, 'inner ');
    });
    break;
  }
  case 'tenant-slh': {
    const n = o.concurrency ?? 4;
    const tenant = await selfRegisteredTenant(o.url, t, username('attacker'), n);
    await ensureKey(tenant.sessions[0]!, 'slh', 'SLH-DSA-SHAKE-256s');
    const batch = Array.from({ length: 64 }, (_, i) => ({ message: base64urlEncode(utf8(`attacker batch item ${i}`)) }));
    note = `tenant ${tenant.tenant}, 64-item batches`;
    run = (until) => loops(n, until, async (i) => {
      const r = await tenant.sessions[i]!.call('POST', '/v1/keys/slh/sign', { batch });
      record(t.tally, r.status, r.headers, 'inner ');
    });
    break;
  }
  case 'verify-flood': {
    const n = o.concurrency ?? 300;
    const kp = nb.signatureKeygen('SLH-DSA-SHAKE-256f');
    const m = utf8('attacker verify message');
    const body = JSON.stringify({ algorithm: 'SLH-DSA-SHAKE-256f', publicKey: base64urlEncode(kp.publicKey), message: base64urlEncode(m), signature: base64urlEncode(nb.sign('SLH-DSA-SHAKE-256f', kp.secretKey, m)) });
    run = (until) => loops(n, until, async () => { await t.request('POST', `${o.url}/v1/verify`, { headers: json, body }); });
    break;
  }
  case 'deep-json': {
    const n = o.concurrency ?? 2;
    const prekey = await prekeyOf(o.url, t);
    const sessions = await Promise.all(Array.from({ length: n }, () => rawSession(o.url, t, prekey)));
    const depth = 200_000;
    // Written out by hand: JSON.stringify of this value would overflow the attacker's stack too.
    const inner = utf8(`{"method":"POST","path":"/v1/verify","headers":{"content-type":"application/json"},"body":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    note = `inner body ${inner.length} bytes, depth ${depth}`;
    run = (until) => loops(n, until, async (i) => {
      const s = sessions[i]!;
      const e = rawEnvelope(s, inner);
      const a = await t.request('POST', `${o.url}/v1/kex/sessions/${s.id}/envelope`, { headers: json, body: e.body });
      if (a.status === 200) { const r = rawOpen(s, e.seq, a.body); record(t.tally, r.status, r.headers ?? {}, 'inner '); }
    });
    break;
  }
  case 'content-type': {
    const n = o.concurrency ?? 8;
    const prekey = await prekeyOf(o.url, t);
    const hello = helloJson(P.clientStart(nb, prekey).hello);
    const cases: Array<[string, string, string, string]> = [
      ['POST', '/v1/verify', 'text/plain', 'zzz'],
      ['POST', '/v1/verify', 'application/octet-stream', JSON.stringify({ algorithm: 'ML-DSA-44', publicKey: 'AAAA', message: 'AAAA', signature: 'AAAA' })],
      ['POST', '/v1/kex/sessions', 'text/plain', hello],
      ['POST', '/v1/zk/challenges', 'application/octet-stream', 'zzz'],
      ['POST', '/v1/zk/login', 'text/plain', 'zzz'],
    ];
    note = cases.map(([m, p, c]) => `${m} ${p} as ${c}`).join('; ');
    let k = 0;
    run = (until) => loops(n, until, async () => {
      const [m, p, c, b] = cases[k++ % cases.length]!;
      await t.request(m, `${o.url}${p}`, { headers: { 'content-type': c }, body: b });
    });
    break;
  }
  case 'sessions': {
    const n = o.concurrency ?? 4;
    const prekey = await prekeyOf(o.url, t);
    run = (until) => loops(n, until, async () => {
      await t.request('POST', `${o.url}/v1/kex/sessions`, { headers: json, body: helloJson(P.clientStart(nb, prekey).hello) });
    });
    break;
  }
  case 'replay': {
    const n = o.concurrency ?? 8;
    const prekey = await prekeyOf(o.url, t);
    const body = helloJson(P.clientStart(nb, prekey).hello);
    run = (until) => loops(n, until, async () => { await t.request('POST', `${o.url}/v1/kex/sessions`, { headers: json, body }); });
    break;
  }
  case 'flood': {
    const n = o.concurrency ?? 32;
    run = (until) => loops(n, until, async () => { await t.request('GET', `${o.url}/v1/algorithms`); });
    break;
  }
  default:
    throw new Error(`unknown attack ${o.attack}`);
}

await send({ type: 'ready', ...(note ? { info: note } : {}) });
const g = await go;
t.reset();
const stopper = setTimeout(() => t.shutdown(), Math.max(0, g.until - Date.now()));
await run(g.until);
clearTimeout(stopper);
t.shutdown();
const result: AttackerResult = { tally: t.tally, requests: t.tally.requests, ...(note ? { note } : {}) };
await send({ type: 'result', result });
process.exit(0);
