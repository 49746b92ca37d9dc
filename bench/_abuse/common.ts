/**
 * Shared by the abuse bench's orchestrator (bench/abuse.ts) and its child processes
 * (bench/_abuse/victim.ts, bench/_abuse/attacker.ts): the IPC messages, child start-up, and the
 * client-side set-ups (a self-registered ZK tenant inside an encrypted session, the raw kex protocol).
 *
 * Child protocol (node IPC): the parent forks the child with one JSON argument; the child prepares
 * (untimed), sends {type:'ready'}, waits for {type:'go', ...}, runs until its deadline (bounded by
 * time and by count), sends {type:'result', ...} and exits. A child exits on its own when the parent
 * goes away (IPC disconnect).
 */
import { createClient, type PqzkClient } from '../../src/client/index.ts';
import type { SecureSession } from '../../src/client/kex.ts';
import { nativeBackend as nb } from '../../src/crypto/native.ts';
import { base64urlDecode, base64urlEncode } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';
import type { Tally, Transport } from './http.ts';

export type GoMessage = { type: 'go'; /** epoch ms: stop issuing work at this time */ until: number; /** victim only: measure from this epoch ms */ measureFrom?: number };
export type ChildMessage =
  | { type: 'ready'; info?: string }
  | { type: 'result'; result: unknown }
  | { type: 'fatal'; message: string };

export interface AttackerResult { tally: Tally; requests: number; note?: string }

export interface VictimResult {
  /** Latencies (ms) of successful operations started inside the measurement window, by kind. */
  latencies: Record<string, number[]>;
  errors: Record<string, number>;
  /** Error messages (first 160 characters), counted. */
  messages: Record<string, number>;
  started: number;
}

/** Child side: parses the argument, wires IPC, returns the options and a promise of the 'go' message. */
export function childStart<T>(): { opts: T; go: Promise<GoMessage>; send(m: ChildMessage): Promise<void> } {
  const opts = JSON.parse(process.argv[2] ?? '{}') as T;
  process.on('disconnect', () => process.exit(0));
  const go = new Promise<GoMessage>((resolve) => process.on('message', (m: GoMessage) => { if (m?.type === 'go') resolve(m); }));
  const send = (m: ChildMessage) => new Promise<void>((resolve) => process.send!(m, undefined, {}, () => resolve()));
  process.on('uncaughtException', (err) => { void send({ type: 'fatal', message: String(err?.stack ?? err) }).then(() => process.exit(1)); });
  process.on('unhandledRejection', (err) => { void send({ type: 'fatal', message: String((err as Error)?.stack ?? err) }).then(() => process.exit(1)); });
  return { opts, go, send };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const utf8 = (s: string) => new TextEncoder().encode(s);

/** A random lower-case username (ZK usernames are lower case). */
export const username = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/** The SDK over the given transport (source-address bound), optionally with a bearer token. */
export const sdk = (url: string, t: Transport, token?: string): PqzkClient => createClient(url, { fetch: t.fetch, ...(token ? { token } : {}) });

/**
 * A self-registered tenant: ZK register (public), then for each of `sessions` encrypted sessions a
 * ZK login bound to that session's client key (Groth16 proof, ≈ 1 s of client CPU each); the token
 * is usable only inside its session, so every tenant call goes through the envelope.
 */
/** Retries `fn` while the service answers 429 (as a well-behaved client would: the set-up is not the attack). */
async function politely<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 20 || !/rate_limited|429/.test(String((err as Error)?.message ?? err))) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export async function selfRegisteredTenant(url: string, t: Transport, name: string, sessions: number): Promise<{ tenant: string; sessions: SecureSession[] }> {
  const client = sdk(url, t);
  const { secret } = await politely(() => client.zk.register(name));
  const out: SecureSession[] = [];
  let identityKey: Uint8Array | undefined;
  for (let i = 0; i < sessions; i++) {
    const s = await politely(() => client.openSecureSession(identityKey ? { identityKey } : { trustOnFirstUse: true }));
    identityKey ??= s.identity.publicKey;
    const { accessToken } = await politely(() => client.zk.login(name, secret, s.clientPublicKey));
    s.setToken(accessToken);
    out.push(s);
  }
  return { tenant: name, sessions: out };
}

/** Creates a key through a tenant session (201, or 409 when it exists). */
export async function ensureKey(s: SecureSession, name: string, algorithm: string): Promise<void> {
  const r = await s.call('POST', '/v1/keys', { name, algorithm });
  if (r.status !== 201 && r.status !== 409) throw new Error(`createKey ${algorithm}: inner ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
}

// ---- the raw kex protocol (native backend), for attackers that must send what the SDK would not ----

export async function prekeyOf(url: string, t: Transport): Promise<P.Prekey> {
  const a = await t.request('GET', `${url}/v1/kex/prekey`);
  if (a.status !== 200) throw new Error(`getPrekey: ${a.status}`);
  const d = JSON.parse(a.body.toString('utf8')) as { prekeyId: string; publicKey: string; notBefore: string; notAfter: string; signature: string; identity: { keyId: string; version: number; publicKey: string } };
  return {
    prekeyId: d.prekeyId, publicKey: base64urlDecode(d.publicKey), notBefore: Math.floor(Date.parse(d.notBefore) / 1000), notAfter: Math.floor(Date.parse(d.notAfter) / 1000),
    signature: base64urlDecode(d.signature), identity: { keyId: d.identity.keyId, version: d.identity.version, algorithm: 'ML-DSA-65', publicKey: base64urlDecode(d.identity.publicKey) },
  };
}

export const helloJson = (h: P.ClientHello): string => JSON.stringify({
  prekeyId: h.prekeyId, ciphertext: base64urlEncode(h.ciphertext), clientPublicKey: base64urlEncode(h.clientPublicKey), proof: base64urlEncode(h.proof),
});

export interface RawSession { id: string; keys: P.SessionKeys; seq: number }

/** A handshake with the raw protocol (native backend). */
export async function rawSession(url: string, t: Transport, prekey: P.Prekey): Promise<RawSession> {
  const pending = P.clientStart(nb, prekey);
  const a = await t.request('POST', `${url}/v1/kex/sessions`, { headers: { 'content-type': 'application/json' }, body: helloJson(pending.hello) });
  if (a.status !== 200) throw new Error(`openSession: ${a.status} ${a.body.toString('utf8').slice(0, 200)}`);
  const s = JSON.parse(a.body.toString('utf8')) as { sessionId: string; ciphertext: string; confirmation: string };
  return { id: s.sessionId, seq: 0, keys: P.clientFinish(nb, pending, { sessionId: s.sessionId, ciphertext: base64urlDecode(s.ciphertext), confirmation: base64urlDecode(s.confirmation) }) };
}

/** The outer envelope body for `inner` (already encoded bytes) on the session's next seq. */
export function rawEnvelope(s: RawSession, inner: Uint8Array): { seq: number; body: string } {
  const seq = ++s.seq;
  const sealed = P.sealEnvelope(nb, s.keys, 'request', s.id, seq, inner);
  return { seq, body: JSON.stringify({ seq, sealed: base64urlEncode(sealed), ...(seq === 1 ? { confirmation: base64urlEncode(s.keys.clientConfirmation) } : {}) }) };
}

/** Opens the sealed answer of an envelope call (throws when it does not verify). */
export function rawOpen(s: RawSession, seq: number, body: Buffer): P.InnerResponse {
  const { sealed } = JSON.parse(body.toString('utf8')) as { sealed: string };
  return P.decodeJson(P.openEnvelope(nb, s.keys, 'response', s.id, seq, base64urlDecode(sealed))) as P.InnerResponse;
}
