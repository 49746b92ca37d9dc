/**
 * The victim of the abuse bench (a child process; see common.ts for the protocol), on its own
 * source address: a steady open-loop mix at a fixed rate (arrivals on a schedule, not waiting for
 * answers), rotating over four kinds:
 *   sign       ML-DSA-44 sign as a self-registered ZK tenant (inside its encrypted sessions),
 *   verify     anonymous POST /v1/verify, ML-DSA-65 (valid signature: must answer valid:true),
 *   handshake  SDK openSecureSession (prekey, X-Wing handshake) + one envelope (inner GET /v1/health),
 *   health     GET /v1/health.
 * An error is a transport failure, a timeout, or any answer other than the expected one. Only
 * operations started inside [measureFrom, until) count; earlier ones are warm-up.
 */
import { childStart, ensureKey, sdk, selfRegisteredTenant, username, utf8, type VictimResult } from './common.ts';
import { transport } from './http.ts';
import { nativeBackend as nb } from '../../src/crypto/native.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import type { SecureSession } from '../../src/client/kex.ts';

interface Opts { url: string; address: string; rate: number; timeoutMs: number; tenantSessions: number; maxInflight: number }
const { opts: o, go, send } = childStart<Opts>();
const t = transport({ localAddress: o.address, maxSockets: 64, timeoutMs: o.timeoutMs });
const client = sdk(o.url, t);

// ---- preparation (untimed) ----
const tenant = await selfRegisteredTenant(o.url, t, username('victim'), o.tenantSessions);
await ensureKey(tenant.sessions[0]!, 'victim-44', 'ML-DSA-44');
const identityKey = tenant.sessions[0]!.identity.publicKey;
const kp = nb.signatureKeygen('ML-DSA-65');
const vmsg = utf8('victim verify message');
const verifyBody = JSON.stringify({
  algorithm: 'ML-DSA-65', publicKey: base64urlEncode(kp.publicKey), message: base64urlEncode(vmsg),
  signature: base64urlEncode(nb.sign('ML-DSA-65', kp.secretKey, vmsg)),
});

class Bad extends Error {}
const kinds = ['sign', 'verify', 'handshake', 'health'] as const;
type Kind = typeof kinds[number];
let signNext = 0;
const ops: Record<Kind, () => Promise<void>> = {
  async sign() {
    const s: SecureSession = tenant.sessions[signNext++ % tenant.sessions.length]!;
    const r = await s.call('POST', '/v1/keys/victim-44/sign', { message: base64urlEncode(utf8(`victim ${Math.random()}`)) });
    if (r.status !== 200) throw new Bad(`sign: inner ${r.status} ${(r.body as { code?: string })?.code ?? ''}`);
  },
  async verify() {
    const a = await t.request('POST', `${o.url}/v1/verify`, { headers: { 'content-type': 'application/json' }, body: verifyBody });
    if (a.status !== 200) throw new Bad(`verify: ${a.status} ${a.body.toString('utf8').slice(0, 80)}`);
    if ((JSON.parse(a.body.toString('utf8')) as { valid: boolean }).valid !== true) throw new Bad('verify: valid=false');
  },
  async handshake() {
    const s = await client.openSecureSession({ identityKey });
    const r = await s.call('GET', '/v1/health');
    if (r.status !== 200) throw new Bad(`envelope: inner ${r.status}`);
    void s.close().catch(() => {}); // not timed; the service is discarded after the phase anyway
  },
  async health() {
    const a = await t.request('GET', `${o.url}/v1/health`);
    if (a.status !== 200) throw new Bad(`health: ${a.status}`);
  },
};

await send({ type: 'ready', info: `tenant ${tenant.tenant}` });
const g = await go;
const measureFrom = g.measureFrom ?? Date.now();
const res: VictimResult = { latencies: {}, errors: {}, messages: {}, started: 0 };
const start = Date.now();
const maxOps = Math.ceil(((g.until - start) / 1000) * o.rate) + 4;
let inflight = 0;
const pending = new Set<Promise<void>>();
for (let i = 0; i < maxOps; i++) {
  const at = start + (i * 1000) / o.rate;
  if (at >= g.until) break;
  const wait = at - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const kind = kinds[i % kinds.length]!;
  const t0 = Date.now();
  const counted = t0 >= measureFrom;
  if (counted) res.started++;
  const fail = (msg: string) => {
    if (!counted) return;
    res.errors[kind] = (res.errors[kind] ?? 0) + 1;
    const m = msg.slice(0, 160);
    res.messages[m] = (res.messages[m] ?? 0) + 1;
  };
  if (inflight >= o.maxInflight) { fail(`${kind}: not started (${o.maxInflight} operations already waiting)`); continue; }
  inflight++;
  const p0 = performance.now();
  const p = ops[kind]().then(
    () => { if (counted) (res.latencies[kind] ??= []).push(performance.now() - p0); },
    (err: unknown) => fail(err instanceof Bad ? err.message : `${kind}: ${(err as Error).message}`),
  ).finally(() => { inflight--; pending.delete(p); });
  pending.add(p);
}
// Bounded: what has not finished one timeout after the end is abandoned (and counted as an error).
const all = () => Promise.all([...pending]);
await Promise.race([all(), new Promise((r) => setTimeout(r, o.timeoutMs + 1000))]);
t.shutdown();
await Promise.race([all(), new Promise((r) => setTimeout(r, 2000))]);
await send({ type: 'result', result: { ...res, tally: t.tally } });
process.exit(0);
