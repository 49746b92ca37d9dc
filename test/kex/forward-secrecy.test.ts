/**
 * Forward secrecy, the property itself (issue 5 §7, PROTOCOL.md §8): record a whole session,
 * close it, retire the prekey, then take everything the server holds — every byte of the data
 * directory (PGlite files incl. WAL and deleted rows, flushed by CHECKPOINT), every row ever
 * written to the grants table (a superset of deleted-row remnants), the master key, and every
 * byte array and string reachable from the service's objects (ctx: kex service, vault, secrets,
 * system keys…) — and try to decrypt the recorded traffic.
 * Controls: the same attack on state copied BEFORE close succeeds, so the test can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { testApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { migrate, type Store } from '../../src/store/index.ts';
import { nobleBackend as nb } from '../../src/crypto/noble.ts';
import { nativeBackend as b } from '../../src/crypto/native.ts';
import { base64urlDecode, base64urlEncode, concatBytes, toHex } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';

interface Recorded { prekey: P.Prekey; ct1: Uint8Array; clientPublicKey: Uint8Array; sessionId: string; ct2: Uint8Array; envelopes: Array<{ seq: number; sealed: Uint8Array; response: Uint8Array }> }
interface Truth { ss1: Uint8Array; ss2: Uint8Array; keys: P.SessionKeys }

/** Records the storage history of kex_grants (every INSERT's parameters), like an attacker with all old DB bytes. */
function recordingStore(store: Store, log: unknown[][]): Store {
  const wrap = <Q extends { query: Store['query'] }>(q: Q): Q => ({
    ...q,
    query: (sql: string, params?: readonly unknown[]) => {
      if (/INSERT INTO kex_grants/.test(sql) && params) log.push([...params]);
      return q.query(sql, params);
    },
  });
  return { ...wrap(store), transaction: (fn) => store.transaction((tx) => fn(wrap(tx))) } as Store;
}

async function json(app: TestApp['app'], method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) {
  const res = await app.inject({ method, url, ...(body !== undefined ? { payload: body as object } : {}) });
  assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json() as Record<string, unknown>;
}

/** A client run by hand (protocol.ts + noble) so the test keeps the ground truth the SDK would erase. */
async function runSession(open: TestApp['app'], envelopeApps: TestApp['app'][]): Promise<{ rec: Recorded; truth: Truth; close: () => Promise<void> }> {
  const d = await json(open, 'GET', '/v1/kex/prekey') as { prekeyId: string; publicKey: string; notBefore: string; notAfter: string; signature: string; identity: { keyId: string; version: number; publicKey: string } };
  const prekey: P.Prekey = {
    prekeyId: d.prekeyId, publicKey: base64urlDecode(d.publicKey), notBefore: Date.parse(d.notBefore) / 1000, notAfter: Date.parse(d.notAfter) / 1000,
    signature: base64urlDecode(d.signature), identity: { keyId: d.identity.keyId, version: d.identity.version, algorithm: 'ML-DSA-65', publicKey: base64urlDecode(d.identity.publicKey) },
  };
  P.verifyPrekey(nb, prekey, Date.now() / 1000);
  const pending = P.clientStart(nb, prekey);
  const ss1 = pending.ss1.slice();
  const s = await json(open, 'POST', '/v1/kex/sessions', {
    prekeyId: prekey.prekeyId, ciphertext: base64urlEncode(pending.hello.ciphertext), clientPublicKey: base64urlEncode(pending.hello.clientPublicKey), proof: base64urlEncode(pending.hello.proof),
  }) as { sessionId: string; ciphertext: string; confirmation: string };
  const ct2 = base64urlDecode(s.ciphertext);
  const ss2 = pending.clientKey.decapsulate(ct2);
  const keys = P.clientFinish(nb, pending, { sessionId: s.sessionId, ciphertext: ct2, confirmation: base64urlDecode(s.confirmation) });
  const rec: Recorded = { prekey, ct1: pending.hello.ciphertext, clientPublicKey: pending.hello.clientPublicKey, sessionId: s.sessionId, ct2, envelopes: [] };
  let seq = 0;
  for (let i = 0; i < 4; i++) {
    seq++;
    const app = envelopeApps[i % envelopeApps.length]!;
    const inner = P.encodeJson({ method: 'GET', path: i % 2 ? '/v1/algorithms' : '/v1/health' });
    let sealed = P.sealEnvelope(nb, keys, 'request', s.sessionId, seq, inner);
    const post = () => app.inject({ method: 'POST', url: `/v1/kex/sessions/${s.sessionId}/envelope`, payload: { seq, sealed: base64urlEncode(sealed), confirmation: base64urlEncode(keys.clientConfirmation) } });
    let res = await post();
    // Moving instance: the other one's window was reserved first; skip to the number it names (PROTOCOL.md §6.2).
    if (res.statusCode === 409) {
      seq = (res.json() as { nextSeq: number }).nextSeq;
      sealed = P.sealEnvelope(nb, keys, 'request', s.sessionId, seq, inner);
      res = await post();
    }
    assert.equal(res.statusCode, 200, res.body);
    const response = base64urlDecode((res.json() as { sealed: string }).sealed);
    assert.equal((P.decodeJson(P.openEnvelope(nb, keys, 'response', s.sessionId, seq, response)) as { status: number }).status, 200);
    rec.envelopes.push({ seq, sealed, response });
  }
  return {
    rec, truth: { ss1, ss2, keys },
    close: async () => {
      seq++;
      await json(open, 'DELETE', `/v1/kex/sessions/${s.sessionId}`, { seq, sealed: base64urlEncode(P.sealEnvelope(nb, keys, 'close', s.sessionId, seq, new Uint8Array(0))) });
    },
  };
}

/** Every Uint8Array and string reachable from `roots` (own properties, Maps, Sets, arrays, class instances). */
function reachable(roots: unknown[]): { arrays: Uint8Array[]; strings: string[] } {
  const seen = new Set<unknown>();
  const arrays: Uint8Array[] = [];
  const strings: string[] = [];
  const stack = [...roots];
  while (stack.length > 0 && seen.size < 500_000) {
    const v = stack.pop();
    if (typeof v === 'string') { if (v.length >= 16) strings.push(v); continue; }
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) { arrays.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)); continue; }
    if (v instanceof ArrayBuffer) { arrays.push(new Uint8Array(v)); continue; }
    if (v instanceof Map) { for (const [k, x] of v) stack.push(k, x); continue; }
    if (v instanceof Set || Array.isArray(v)) { for (const x of v) stack.push(x); continue; }
    for (const k of Reflect.ownKeys(v)) {
      const desc = Object.getOwnPropertyDescriptor(v, k);
      if (desc && 'value' in desc) stack.push(desc.value);
    }
  }
  return { arrays, strings };
}

function files(dir: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(new Uint8Array(readFileSync(p)));
  }
  return out;
}

interface Snapshot { blobs: Uint8Array[]; arrays: Uint8Array[]; masterKeys: Uint8Array[]; grantHistory: unknown[][] }

async function snapshot(apps: TestApp[], dataDir: string, grantHistory: unknown[][]): Promise<Snapshot> {
  await apps[0]!.store.query('CHECKPOINT');
  const mem = reachable(apps.map((a) => a.app.ctx));
  const strings = Buffer.from(mem.strings.join('\n'), 'utf8');
  return {
    blobs: [...files(dataDir), ...apps.flatMap((a) => files(a.dataDir)), ...mem.arrays, strings],
    arrays: mem.arrays.map((a) => a.slice()),
    masterKeys: apps.map((a) => a.app.ctx.secrets.masterKey.slice()),
    grantHistory: grantHistory.map((g) => [...g]),
  };
}

/** Byte sequences of the session secrets (raw, hex, base64url) found anywhere in the copy. */
function secretsFound(s: Snapshot, t: Truth): string[] {
  const named: Record<string, Uint8Array> = { ss1: t.ss1, ss2: t.ss2, ...t.keys };
  const found: string[] = [];
  for (const [name, v] of Object.entries(named)) {
    const forms = [Buffer.from(v), Buffer.from(toHex(v)), Buffer.from(base64urlEncode(v))];
    if (s.blobs.some((blob) => forms.some((f) => Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).indexOf(f) >= 0))) found.push(name);
  }
  return found;
}

/**
 * The attacker: every 32-byte array copied (plus the master keys) is tried as an X-Wing seed on ct1 and ct2
 * and on every grant ever stored; every 152-byte array as packed session keys; every combination of
 * recovered shared secrets through the documented key schedule. Success = opening a recorded envelope.
 */
function attack(s: Snapshot, rec: Recorded): boolean {
  const first = rec.envelopes[0]!;
  const opens = (k: P.SessionKeys) => { try { P.openEnvelope(b, k, 'request', rec.sessionId, first.seq, first.sealed); return true; } catch { return false; } };
  const cands = [...s.arrays.filter((a) => a.length === 32), ...s.masterKeys];
  const packed = s.arrays.filter((a) => a.length === 152);
  // Grants: opened with any candidate seed (X-Wing decaps + the documented grant KDF).
  for (const g of s.grantHistory) {
    const [secretId, , keyId, ct, sealed] = g as [string, string, string, Uint8Array, Uint8Array];
    const aad = concatBytes(P.lp('pqzk-kex/v1 grant'), P.lp(secretId), P.lp(keyId));
    for (const c of cands) {
      try {
        const kek = b.hkdf('SHA-256', b.decapsulate('X-Wing', ct, c), new Uint8Array(0), aad, 32);
        const secret = b.aeadOpen('AES-256-GCM', kek, new Uint8Array(12), sealed, aad);
        if (secret.length === 152) packed.push(secret); else cands.push(secret);
      } catch { /* not this one */ }
    }
  }
  if (packed.some((p) => opens(P.unpackKeys(p)))) return true;
  const t1 = P.transcriptPrefix(rec.prekey, rec.clientPublicKey, rec.ct1);
  const th = b.hash('SHA-512', P.transcriptFull(t1, rec.sessionId, rec.ct2));
  const ss1s: Uint8Array[] = [];
  const ss2s: Uint8Array[] = [];
  for (const c of cands) {
    try { ss1s.push(b.decapsulate('X-Wing', rec.ct1, c)); } catch { /* wrong length etc. */ }
    try { ss2s.push(b.decapsulate('X-Wing', rec.ct2, c)); } catch { /* */ }
  }
  const ssAny = [...ss1s, ...ss2s, ...cands];
  for (const a of [...ss1s, ...cands]) for (const c of ssAny) if (opens(P.deriveSessionKeys(b, a, c, th))) return true;
  return false;
}

async function fileStore(): Promise<{ store: Store; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pqzk-fs-'));
  const store = await openPglite(join(dir, 'pglite'));
  await migrate(store);
  return { store, dir };
}

async function retirePrekeys(apps: TestApp[]): Promise<void> {
  await apps[0]!.store.query(`UPDATE kex_prekeys SET not_after = now() - interval '1 day', not_before = now() - interval '2 days'`);
  for (const a of apps) await a.app.ctx.kex.maintain();
}

test('one instance: after close + prekey retirement nothing the server holds decrypts the recorded session; before close it does', async () => {
  const { store, dir } = await fileStore();
  const history: unknown[][] = [];
  const rs = recordingStore(store, history);
  const a = await testApp({}, { store: rs });
  try {
    const { rec, truth, close } = await runSession(a.app, [a.app]);
    const before = await snapshot([a], dir, history);
    assert.ok(secretsFound(before, truth).length > 0, 'control: the live session keys are in server memory');
    assert.equal(attack(before, rec), true, 'control: state copied before close decrypts the traffic');

    await close();
    await retirePrekeys([a]);
    const after = await snapshot([a], dir, history);
    assert.ok(after.blobs.reduce((n, x) => n + x.length, 0) > 1_000_000, 'the copy includes the database files');
    assert.deepEqual(secretsFound(after, truth), [], 'no copied byte sequence equals a session secret');
    assert.equal(attack(after, rec), false, 'no recovered key reproduces the session keys');
  } finally {
    await a.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two instances on one store: envelopes on the other instance; erasure complete after its sweep and two grant-key rotations', async () => {
  const { store, dir } = await fileStore();
  const history: unknown[][] = [];
  const rs = recordingStore(store, history);
  // Two instances of one deployment: one store, one master key, one admin token.
  const secrets = { masterKey: new Uint8Array(randomBytes(32)), adminToken: ADMIN_TOKEN };
  const a = await testApp({ KEX_SEQ_LEASE_MS: '200', KEX_SESSION_STATE: 'store' }, { store: rs, secrets });
  const bApp = await testApp({ KEX_SEQ_LEASE_MS: '200', KEX_SESSION_STATE: 'store' }, { store: rs, secrets });
  try {
    const { rec, truth, close } = await runSession(a.app, [bApp.app, a.app]);
    assert.ok(history.length > 0, 'the session and prekey reached instance B as grants');
    await close();
    await retirePrekeys([a, bApp]);
    // Control: B swept the closed session, but still holds the grant key the (deleted) grant was made to.
    const mid = await snapshot([a, bApp], dir, history);
    assert.deepEqual(secretsFound(mid, truth), [], 'no session secret in plaintext anywhere after close');
    assert.equal(attack(mid, rec), true, 'control: before B rotates its grant key, the grant history + B\'s key still open the session');

    for (const x of [a, bApp]) { await x.app.ctx.kex.vault.rotate(); await x.app.ctx.kex.vault.rotate(); }
    const after = await snapshot([a, bApp], dir, history);
    assert.deepEqual(secretsFound(after, truth), []);
    assert.equal(attack(after, rec), false, 'after two rotations nothing opens the recorded traffic');
  } finally {
    await bApp.close();
    await a.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
