/**
 * Issue 8, item 2: two instances (A and B) on one real PostgreSQL, sharing the master key and the
 * admin token, each on its own port, driven through the SDK over real sockets:
 * - a tenant creates a key on A that signs on B, and B's signature verifies on A;
 * - a secure session opened on A carries envelopes on B (and alternates), a close on B ends it on A;
 *   the tenant logs in on B (ZK proof) with a token bound to that session's client key, usable only in it;
 * - one ZK challenge issued by A, one proof, 20 concurrent logins split across A and B: exactly one 200;
 * - 20 concurrent rotations of one key split across A and B: versions 2..21, each exactly once, the
 *   same key state read from both instances, every version signs on one and verifies on the other;
 * - an SDK client given both base URLs spreads requests over both and fails over when one is down.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { testApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { createClient, ServiceError } from '../../src/client/index.ts';
import { parseSignature } from '../../src/client/keys.ts';
import { sessionKeyHash } from '../../src/zk/poseidon.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
const env = { WORKERS: '1', RATE_LIMIT_MAX: '1000000', ZK_REGISTER_PER_MINUTE: '1000' };

let pg: TestPostgres;
let stores: Store[] = [];
let a: TestApp;
let b: TestApp;
let urlA: string;
let urlB: string;
let identity: Uint8Array;
/** Which instance answered, per request path, as seen by a recording fetch. */
const hits: Array<{ origin: string; path: string }> = [];
const recording: typeof fetch = async (input, init) => {
  const req = new Request(input, init);
  const u = new URL(req.url);
  hits.push({ origin: u.origin, path: u.pathname });
  return fetch(req);
};

before(async () => {
  pg = await startPostgres();
  stores = await Promise.all([0, 1].map(() => openStore({ dataDir: '/nonexistent', databaseUrl: pg.url })));
  const secrets = { masterKey: new Uint8Array(randomBytes(32)), adminToken: ADMIN_TOKEN };
  [a, b] = await Promise.all(stores.map((store) => testApp(env, { store, secrets }))) as [TestApp, TestApp];
  urlA = await a.app.listen({ port: 0, host: '127.0.0.1' });
  urlB = await b.app.listen({ port: 0, host: '127.0.0.1' });
  identity = (await a.app.ctx.systemKeys.identity()).publicKey;
});
after(async () => {
  await a?.close();
  await b?.close();
  for (const s of stores) await s.close();
  await pg?.stop();
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
});

// The apps share this process: prove on snarkjs's worker threads so their event loops stay responsive.
const mt = { singleThread: false };

/**
 * An unbound tenant token (admin-minted, no cnf) for the tests about keys across instances. A ZK-login
 * token is bound to a secure session's client key: see the secure-session test below.
 */
async function tenantToken(username: string): Promise<string> {
  return (await a.app.ctx.tokens.mint(username)).token;
}

test('both instances serve one PostgreSQL with one identity', async () => {
  assert.equal(a.store.kind, 'postgres');
  assert.notEqual(urlA, urlB);
  assert.deepEqual((await b.app.ctx.systemKeys.identity()).publicKey, identity);
});

test('a key created on A signs on B; the signature verifies on A and with the public key alone', async () => {
  const token = await tenantToken('erin');
  const onA = createClient(urlA, { token });
  const onB = createClient(urlB, { token });
  const key = await onA.keys.create({ name: 'release', algorithm: 'ML-DSA-65' });
  assert.equal(key.latestVersion, 1);
  const message = utf8('signed on B');
  const { signature, version } = await onB.keys.sign('release', { message, context: utf8('ctx') });
  assert.equal(version, 1);
  assert.deepEqual(await onA.keys.verify('release', { message, context: utf8('ctx'), signature }), { valid: true, version: 1 });
  assert.equal((await onA.keys.verify('release', { message: utf8('tampered'), context: utf8('ctx'), signature })).valid, false);
  const { publicKey } = await onB.keys.publicKey('release');
  assert.equal((await onA.keys.verifyWithPublicKey({ algorithm: 'ML-DSA-65', publicKey, message, context: utf8('ctx'), signature: parseSignature(signature).bytes })).valid, true);
  // Tenant isolation holds across instances too.
  const other = createClient(urlB, { token: await tenantToken('frank') });
  await assert.rejects(other.keys.sign('release', { message }), (e: unknown) => e instanceof ServiceError && e.status === 404);
});

test('a secure session opened on A carries envelopes on B; a close on B ends it on A', async () => {
  const reg = await createClient(urlA).zk.register('gwen');
  // Handshake on A; every envelope after it is steered to B, then alternates.
  let steer: (path: string, n: number) => string = () => urlA;
  let envelopes = 0;
  const steering: typeof fetch = async (input, init) => {
    const req = new Request(input, init);
    const u = new URL(req.url);
    const n = u.pathname.includes('/envelope') ? envelopes++ : -1;
    const target = n >= 0 || req.method === 'DELETE' ? steer(u.pathname, n) : urlA;
    hits.push({ origin: new URL(target).origin, path: u.pathname });
    return fetch(new Request(target + u.pathname + u.search, { method: req.method, headers: req.headers, body: req.body ? await req.arrayBuffer() : undefined }));
  };
  hits.length = 0;
  const client = createClient(urlA, { fetch: steering });
  const session = await client.openSecureSession({ identityKey: identity });
  assert.deepEqual(hits.map((h) => [h.origin, h.path]), [[new URL(urlA).origin, '/v1/kex/prekey'], [new URL(urlA).origin, '/v1/kex/sessions']]);
  // ZK login on B, bound to the session's client key (challenge, proof and token cross instances).
  const { accessToken: token } = await createClient(urlB).zk.login('gwen', reg.secret, session.clientPublicKey, mt);
  session.setToken(token);
  // Bound: refused outside the session on either instance.
  for (const url of [urlA, urlB]) {
    await assert.rejects(createClient(url, { token }).keys.list(), (e: unknown) => e instanceof ServiceError && e.status === 401 && /bound to a session key/.test(e.problem.detail ?? ''));
  }

  steer = () => urlB;
  const created = await session.call('POST', '/v1/keys', { name: 'k', algorithm: 'ML-DSA-44' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const first = await session.call('POST', '/v1/keys/k/sign', { message: base64urlEncode(utf8('through B')) });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const sig = (first.body as { signature: string }).signature;
  const verified = await session.call('POST', '/v1/keys/k/verify', { message: base64urlEncode(utf8('through B')), signature: sig });
  assert.equal((verified.body as { valid: boolean }).valid, true);
  // Alternating instances on every envelope (no stickiness): GETs skip ahead to nextSeq (PROTOCOL.md §6.2).
  steer = (_p, n) => (n % 2 ? urlA : urlB);
  for (let i = 0; i < 4; i++) {
    const r = await session.call('GET', '/v1/keys/k');
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const envelopeOrigins = new Set(hits.filter((h) => h.path.endsWith('/envelope')).map((h) => h.origin));
  assert.deepEqual([...envelopeOrigins].sort(), [new URL(urlA).origin, new URL(urlB).origin].sort());

  steer = () => urlB;
  await session.close();
  // The session is gone for both: no row, and A's sweep drops the keys it held (after which an
  // envelope for it is a 404 on A).
  assert.equal((await a.store.query('SELECT 1 FROM kex_sessions WHERE session_id = $1', [session.sessionId])).length, 0);
  await a.app.ctx.kex.maintain();
  assert.equal(a.app.ctx.kex.vault.has(`s:${session.sessionId}`), false);
  const res = await fetch(`${urlA}/v1/kex/sessions/${session.sessionId}/envelope`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seq: 99, sealed: base64urlEncode(new Uint8Array(64)) }),
  });
  assert.equal(res.status, 404);
});

test('one challenge from A, one proof, 20 concurrent logins split across A and B: exactly one succeeds', async () => {
  const anon = createClient(urlA);
  const reg = await anon.zk.register('hana');
  const sessionPublicKey = crypto.getRandomValues(new Uint8Array(32));
  const { data: ch } = await anon.api.POST('/v1/zk/challenges', { body: { username: 'hana', sessionPublicKey: base64urlEncode(sessionPublicKey) } });
  assert.ok(ch);
  assert.equal(ch.sessionKeyHash, sessionKeyHash(sessionPublicKey).toString());
  const { proof, loginTag } = await anon.zk.prove('hana', reg.secret, ch.challenge, ch.sessionKeyHash, mt);
  const body = JSON.stringify({ challengeId: ch.challengeId, proof, loginTag });
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const res = await fetch(`${i % 2 ? urlB : urlA}/v1/zk/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, via: i % 2 ? 'B' : 'A', body: await res.json() as { accessToken?: string; code?: string } };
  }));
  const ok = results.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.status).join(',')}`);
  assert.deepEqual(results.filter((r) => r.status !== 200).map((r) => r.status), Array(19).fill(401));
  for (const r of results) if (r.status === 401) assert.equal(r.body.code, 'unauthorized');
  // The one token verifies on both instances (bound to the session key: refused outside a session);
  // the consumed challenge stays consumed.
  const token = ok[0]!.body.accessToken!;
  assert.equal((await a.app.ctx.tokens.verify(token)).sub, 'hana');
  assert.equal((await b.app.ctx.tokens.verify(token)).sub, 'hana');
  assert.equal((await fetch(`${urlB}/v1/keys`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
  for (const url of [urlA, urlB]) {
    const again = await fetch(`${url}/v1/zk/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(again.status, 401);
  }
});

test('20 concurrent rotations of one key split across A and B: versions 2..21 once each, consistent, all sign', async () => {
  const token = await tenantToken('ines');
  const [onA, onB] = [createClient(urlA, { token }), createClient(urlB, { token })];
  await onA.keys.create({ name: 'rotating', algorithm: 'ML-DSA-44' });
  const rotated = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? onB : onA).keys.rotate('rotating')));
  const failures = rotated.filter((r) => r.status === 'rejected');
  assert.equal(failures.length, 0, String((failures[0] as PromiseRejectedResult | undefined)?.reason));
  // Each rotation answers with the state after its own version was added: at least 2, at most 21.
  for (const r of rotated) {
    const v = (r as PromiseFulfilledResult<{ latestVersion: number }>).value.latestVersion;
    assert.ok(v >= 2 && v <= 21, `latestVersion ${v}`);
  }
  const [ka, kb] = [await onA.keys.get('rotating'), await onB.keys.get('rotating')];
  assert.equal(ka.latestVersion, 21);
  assert.deepEqual(ka, kb, 'both instances read the same key state');
  assert.deepEqual(ka.versions?.map((v) => v.version), Array.from({ length: 21 }, (_, i) => i + 1));
  assert.equal(new Set(ka.versions?.map((v) => v.publicKey)).size, 21, 'every version has its own key pair');
  // Every version signs on one instance and verifies on the other; unversioned signing uses v21.
  const message = utf8('every version');
  for (let v = 1; v <= 21; v++) {
    const [signer, verifier] = v % 2 ? [onA, onB] : [onB, onA];
    const { signature, version } = await signer.keys.sign('rotating', { message, version: v });
    assert.equal(version, v);
    assert.equal(parseSignature(signature).version, v);
    assert.deepEqual(await verifier.keys.verify('rotating', { message, signature }), { valid: true, version: v });
  }
  // Cross-instance staleness of the key cache is bounded by 1 s (docs/KEYS.md).
  await new Promise((r) => setTimeout(r, 1100));
  for (const c of [onA, onB]) assert.equal((await c.keys.sign('rotating', { message })).version, 21);
});

test('an SDK client given both base URLs spreads requests and fails over when one instance is down', async () => {
  hits.length = 0;
  const both = createClient([urlA, urlB], { token: ADMIN_TOKEN, fetch: recording });
  assert.equal(both.baseUrl, urlA);
  await both.keys.create({ name: 'spread', algorithm: 'ML-DSA-44' });
  for (let i = 0; i < 5; i++) await both.keys.sign('spread', { message: utf8(`m${i}`) });
  const origins = hits.map((h) => h.origin);
  assert.ok(origins.includes(new URL(urlA).origin) && origins.includes(new URL(urlB).origin), origins.join(' '));
  // A session and a login through the rotating client (each request may land on either instance).
  const s = await both.openSecureSession({ identityKey: identity });
  for (let i = 0; i < 3; i++) assert.equal((await s.call('GET', '/v1/health')).status, 200);
  await s.close();

  // A client whose first URL refuses connections: GETs and POSTs (refused = never delivered) reach B.
  const deadPort = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => { const p = (srv.address() as { port: number }).port; srv.close(() => resolve(p)); });
  });
  const withDead = createClient([`http://127.0.0.1:${deadPort}`, urlB], { token: ADMIN_TOKEN });
  for (let i = 0; i < 4; i++) {
    assert.equal((await withDead.health()).status, 'ok');
    assert.equal((await withDead.keys.sign('spread', { message: utf8('failover') })).version, 1);
  }
  // HTTP errors are answers, not failover triggers.
  await assert.rejects(withDead.keys.get('no-such-key'), (e: unknown) => e instanceof ServiceError && e.status === 404);
  assert.throws(() => createClient([]), TypeError);
});
