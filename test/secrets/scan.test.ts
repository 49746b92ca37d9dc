/**
 * Issue 8, item 5: no secret leaves the service in a log line or a response.
 *
 * The service runs with its production logger configuration (pino, redaction paths of app.ts) at
 * level `debug`, writing into memory; everything the process writes to stdout/stderr is captured
 * too, and every response the SDK receives is recorded (raw bytes, plus the decrypted inner
 * responses of a secure session). A representative flow drives every capability: keys (create,
 * sign incl. batch and SLH-DSA, verify, rotate, public key formats, export of an exportable key),
 * ZK register/login and a failed login, kex handshake + envelopes + close, PIR upload/open/query,
 * and some hostile requests. Then the secrets are collected from the inside: the master key and
 * the key-wrapping key derived from it, the admin token, every key seed of every key version
 * (unwrapped from the store, system keys included), every secret the kex vault holds (prekey
 * secrets, session keys, the instance grant keys), the ZK login secret, and the access tokens
 * (allowed in the login response, never in logs). Each is searched in hex (lower and upper case),
 * base64url, base64 (padded and not), as JSON byte arrays, and as raw bytes in binary responses.
 *
 * The audit log (issue 15) is scanned too, for every secret, tokens included: the decoded records,
 * their raw leaf bytes in the store and the JSON-lines stream (AUDIT_STREAM); the flow must have
 * produced records of the secret-using operations (sign, export, login, envelopes, PIR upload).
 *
 * The one response allowed to carry a seed is the export of the exportable key: it is left out of
 * the scan, and two controls prove that the scan can fail: that response is flagged when included,
 * and a seed logged on purpose is found.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { hkdfSync } from 'node:crypto';
import { testApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { REDACT_PATHS } from '../../src/app.ts';
import { createClient } from '../../src/client/index.ts';
import { unwrapSecret, keyAad } from '../../src/keys/wrap.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';
import { sessionBindingValue } from '../../src/http/auth.ts';
import { decodeRecord } from '../../src/audit/format.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const utf8 = (s: string) => new TextEncoder().encode(s);

// ---- capture -------------------------------------------------------------------------------
const logChunks: string[] = [];
const logStream = new Writable({ write(chunk, _enc, cb) { logChunks.push(String(chunk)); cb(); } });
const stdio: string[] = [];
for (const s of [process.stdout, process.stderr]) {
  const original = s.write.bind(s) as (...args: unknown[]) => boolean;
  (s as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]) => {
    stdio.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('latin1'));
    return original(chunk, ...rest);
  };
}

interface Recorded { method: string; url: string; status: number; bytes: Buffer }
const responses: Recorded[] = [];
const recording: typeof fetch = async (input, init) => {
  const req = new Request(input, init);
  const res = await fetch(req);
  const bytes = Buffer.from(await res.clone().arrayBuffer());
  responses.push({ method: req.method, url: req.url, status: res.status, bytes });
  return res;
};
/** Decrypted inner responses of secure sessions, as the SDK hands them to the caller. */
const innerBodies: string[] = [];

// ---- secrets -------------------------------------------------------------------------------
interface Secret { label: string; bytes?: Uint8Array; text?: string; logsOnly?: boolean }
const secrets: Secret[] = [];
const addBytes = (label: string, b: Uint8Array | undefined) => { if (b && b.length >= 12) secrets.push({ label, bytes: Uint8Array.from(b) }); };

/** Every textual form a leaked byte string could take. */
function forms(b: Uint8Array): string[] {
  const buf = Buffer.from(b);
  const hex = buf.toString('hex');
  const b64 = buf.toString('base64');
  return [hex, hex.toUpperCase(), buf.toString('base64url'), b64, b64.replace(/=+$/, ''),
    Array.from(b).join(','), Array.from(b).map((v, i) => `"${i}":${v}`).join(',')];
}

interface Finding { secret: string; where: string }
function scan(texts: Array<{ where: string; text: string; raw?: Buffer }>, which: Secret[]): Finding[] {
  const found: Finding[] = [];
  for (const s of which) {
    const needles = s.bytes ? forms(s.bytes) : [s.text!];
    for (const t of texts) {
      if (needles.some((n) => t.text.includes(n)) || (s.bytes && t.raw && t.raw.indexOf(Buffer.from(s.bytes)) !== -1)) {
        found.push({ secret: s.label, where: t.where });
      }
    }
  }
  return found;
}

let t: TestApp;
let url: string;
let exportResponse: Recorded | undefined;
let exportedSeed: Uint8Array | undefined;
const auditStreamFile = join(mkdtempSync(join(tmpdir(), 'pqzk-audit-scan-')), 'audit.jsonl');

before(async () => {
  t = await testApp({ RATE_LIMIT_MAX: '1000000', LOG_LEVEL: 'debug', AUDIT_STREAM: auditStreamFile }, {
    // The production logger options (app.ts), at debug level, into memory.
    logger: { level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' }, stream: logStream },
  });
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await t?.close();
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
});

test('a flow through every capability at debug level leaks no secret into logs or responses', async () => {
  const vault = t.app.ctx.kex.vault;
  const grabVault = async (when: string) => {
    for (const id of vault.ids('')) {
      const v = await vault.get(id);
      if (!v) continue;
      if (id.startsWith('s:')) {
        // Session keys; the two confirmation values are public by design (sent in the handshake).
        const k = P.unpackKeys(v);
        for (const [name, b] of Object.entries({ c2sKey: k.c2sKey, s2cKey: k.s2cKey, c2sIv: k.c2sIv, s2cIv: k.s2cIv })) addBytes(`session ${id} ${name} (${when})`, b);
      } else addBytes(`vault ${id} (${when})`, v);
    }
    const grant = vault as unknown as { current?: { seed: Uint8Array }; previous?: { seed: Uint8Array } };
    addBytes(`grant key (${when})`, grant.current?.seed);
    addBytes(`previous grant key (${when})`, grant.previous?.seed);
  };

  const admin = createClient(url, { token: ADMIN_TOKEN, fetch: recording });
  const anon = createClient(url, { fetch: recording });
  await admin.health();
  await admin.algorithms();
  await admin.keys.jwks();

  // ZK: register, open a pinned secure session, log in bound to its client key (circuit + artifacts
  // download), a failed login with a wrong secret. The token is used inside that session below.
  const identity = (await t.app.ctx.systemKeys.identity()).publicKey;
  const reg = await anon.zk.register('sam');
  secrets.push({ label: 'zk login secret', text: reg.secret });
  const session = await anon.openSecureSession({ identityKey: identity });
  const { accessToken } = await anon.zk.login('sam', reg.secret, session.clientPublicKey, { singleThread: false });
  secrets.push({ label: 'access token', text: accessToken, logsOnly: true });
  session.setToken(accessToken);
  await assert.rejects(anon.zk.login('sam', '12345678901234567890123456789', session.clientPublicKey, { singleThread: false }));

  // Keys as a tenant, through the plain API: a session-bound ZK token is refused outside its session,
  // so this part uses an unbound token minted for the same tenant.
  const { token: tenantToken } = await t.app.ctx.tokens.mint('sam');
  secrets.push({ label: 'tenant token', text: tenantToken, logsOnly: true });
  // The per-process secret of the internal session-binding header (src/http/auth.ts) never leaves.
  secrets.push({ label: 'session-binding secret', text: sessionBindingValue('A'.repeat(43)).split('.')[0]! });
  const tenant = createClient(url, { token: tenantToken, fetch: recording });
  await tenant.keys.create({ name: 'sig', algorithm: 'ML-DSA-65' });
  await tenant.keys.create({ name: 'slh', algorithm: 'SLH-DSA-SHA2-128f' });
  const message = utf8('scan me');
  const s1 = await tenant.keys.sign('sig', { message, context: utf8('ctx') });
  await tenant.keys.verify('sig', { message, context: utf8('ctx'), signature: s1.signature });
  await tenant.keys.signBatch('sig', [{ message }, { message: utf8('two'), reference: 'r2' }]);
  const s2 = await tenant.keys.sign('slh', { message });
  await tenant.keys.verify('slh', { message, signature: s2.signature });
  await tenant.keys.rotate('sig');
  await tenant.keys.sign('sig', { message, prehash: 'SHA-512' });
  for (const f of ['raw', 'spki', 'pem', 'jwk'] as const) await tenant.keys.publicKeyAs('sig', f);
  await tenant.keys.list();
  await tenant.keys.create({ name: 'exportable', algorithm: 'ML-DSA-44', exportable: true });
  const exported = await tenant.keys.export('exportable', { format: 'raw' });
  exportResponse = responses.at(-1);
  assert.ok(exportResponse?.url.endsWith('/v1/keys/exportable/export'));
  exportedSeed = Buffer.from(exported.privateKey as string, 'base64url');
  await assert.rejects(tenant.keys.export('sig'));                       // not exportable: 403
  await assert.rejects(tenant.keys.sign('nope', { message }));            // 404
  await tenant.keys.verify('sig', { message, signature: `v1:${base64urlEncode(new Uint8Array(3309))}` });

  // Kex: envelopes in the session opened above (a sign inside, with the bound ZK token), keys
  // captured while the session lives, close.
  const statuses: number[] = [];
  for (const call of [
    () => session.call('POST', '/v1/keys/sig/sign', { message: base64urlEncode(message) }),
    () => session.call('GET', '/v1/keys/sig'),
    () => session.call('GET', '/v1/keys/exportable'),
    () => session.call('GET', '/v1/keys/missing'),
  ]) {
    const r = await call();
    statuses.push(r.status);
    innerBodies.push(JSON.stringify(r.body));
  }
  assert.deepEqual(statuses, [200, 200, 200, 404], 'the bound ZK token works inside its session');
  await grabVault('session open');
  await session.close();
  // A tampered envelope (wrong keys) on a fresh session: logged as an error, not as its bytes.
  const s3 = await tenant.openSecureSession({ identityKey: identity });
  await grabVault('second session');
  const bad = await fetch(`${url}/v1/kex/sessions/${s3.sessionId}/envelope`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seq: 1, sealed: base64urlEncode(new Uint8Array(80)) }),
  });
  responses.push({ method: 'POST', url: bad.url, status: bad.status, bytes: Buffer.from(await bad.arrayBuffer()) });
  await s3.close();

  // PIR: upload (admin), open pinned, private reads.
  const records = crypto.getRandomValues(new Uint8Array(32 * 300));
  await admin.pir.upload('scan', records, 32);
  const db = await anon.pir.open('scan', { identityPublicKey: identity });
  for (const i of [0, 7, 299]) assert.deepEqual(await db.get(i), records.subarray(i * 32, (i + 1) * 32));

  // ---- collect the secrets from the inside --------------------------------------------------
  const masterKey = t.app.ctx.secrets.masterKey;
  addBytes('master key', masterKey);
  addBytes('key-wrapping key', new Uint8Array(hkdfSync('sha256', masterKey, new Uint8Array(0), utf8('pqzk/wrap/v1'), 32)));
  secrets.push({ label: 'admin token', text: ADMIN_TOKEN });
  const rows = await t.store.query<{ id: string; owner: string; name: string; version: number; wrapped_secret: Uint8Array }>(
    'SELECT k.id, k.owner, k.name, v.version, v.wrapped_secret FROM keys k JOIN key_versions v ON v.key_id = k.id');
  let exportableSeen = false;
  for (const r of rows) {
    const seed = unwrapSecret(masterKey, r.wrapped_secret, keyAad(r.id, r.owner, r.name, r.version));
    addBytes(`seed ${r.owner}/${r.name}#v${r.version}`, seed);
    if (r.name === 'exportable') { exportableSeen = true; assert.deepEqual(new Uint8Array(exportedSeed), seed, 'export returned the seed'); }
  }
  assert.ok(exportableSeen);
  await grabVault('end');

  // Not vacuous: seeds of the system keys and of the tenant's 4 versions, session keys, prekey secrets.
  const labels = secrets.map((s) => s.label);
  assert.ok(rows.length >= 6, `key versions: ${rows.length}`);
  assert.ok(labels.some((l) => l.startsWith('seed system/identity')) && labels.some((l) => l.startsWith('seed system/token-signing')));
  assert.ok(labels.filter((l) => / c2sKey /.test(l)).length >= 2, 'session keys of both sessions');
  assert.ok(labels.some((l) => l.startsWith('vault p:')), 'a prekey secret');
  const logs = logChunks.join('');
  assert.equal(t.app.log.level, 'debug');
  // (The start-up warnings this used to see are gone: the glue no longer warns about response media types.)
  assert.ok(logChunks.length > 100 && logs.includes('incoming request') && logs.includes('request completed') && logs.includes('inner request completed'), 'logs (requests, inner requests) were captured');
  assert.ok(responses.length > 40, `responses recorded: ${responses.length}`);
  assert.ok(responses.some((r) => r.url.includes('/v1/zk/circuit/login.zkey')) && responses.some((r) => r.url.includes('/query')));

  // ---- scan -------------------------------------------------------------------------------
  const texts = [
    { where: 'logs', text: logs },
    { where: 'stdout/stderr', text: stdio.join('') },
    ...innerBodies.map((text, i) => ({ where: `inner response ${i}`, text })),
  ];
  const responseTexts = responses.filter((r) => r !== exportResponse).map((r) => ({
    where: `${r.method} ${new URL(r.url).pathname} → ${r.status}`, text: r.bytes.toString('latin1'), raw: r.bytes,
  }));
  // The audit log: decoded records, raw leaves, the stream file. Every secret, tokens included.
  const leaves = (await t.store.query<{ leaf: Uint8Array }>('SELECT leaf FROM audit_records ORDER BY seq')).map((r) => Buffer.from(r.leaf));
  const auditOps = new Set(leaves.map((l) => decodeRecord(l).operation));
  for (const op of ['createKey', 'sign', 'rotateKey', 'exportKey', 'registerUser', 'login', 'putPirDatabase']) {
    assert.ok(auditOps.has(op), `the audit log has a record of ${op}`);
  }
  // The secure session is transport (docs/AUDIT.md): what runs inside it is recorded, the session itself is not.
  for (const op of ['openSession', 'sendEnvelope', 'closeSession']) assert.ok(!auditOps.has(op), `no audit record of ${op}`);
  await new Promise((r) => setTimeout(r, 200)); // the stream is written after each commit
  const streamed = readFileSync(auditStreamFile, 'utf8');
  assert.equal(streamed.trim().split('\n').length, leaves.length, 'every record was streamed');
  const auditTexts = [
    { where: 'audit records', text: leaves.map((l) => JSON.stringify(decodeRecord(l))).join('\n') },
    { where: 'audit leaves', text: Buffer.concat(leaves).toString('latin1'), raw: Buffer.concat(leaves) },
    { where: 'audit stream', text: streamed },
  ];
  const leaks = [...scan(texts, secrets), ...scan(responseTexts, secrets.filter((s) => !s.logsOnly)), ...scan(auditTexts, secrets)];
  assert.deepEqual(leaks, [], `secrets found: ${JSON.stringify(leaks.slice(0, 10))}`);
  console.log(`# scanned ${secrets.length} secrets × ${forms(new Uint8Array(32)).length} forms in ${logChunks.length} log lines, ${responses.length} responses, ${innerBodies.length} inner responses, ${leaves.length} audit records: none found`);
});

test('control: the scan catches a seed in the excluded export response and a seed logged on purpose', () => {
  assert.ok(exportResponse && exportedSeed, 'the flow ran');
  const exportable = secrets.filter((s) => s.label.startsWith('seed tenant:sam/exportable'));
  assert.equal(exportable.length, 1);
  const inExport = scan([{ where: 'export', text: exportResponse.bytes.toString('latin1'), raw: exportResponse.bytes }], exportable);
  assert.equal(inExport.length, 1, 'the export response carries the seed (base64url)');

  const before = logChunks.length;
  const seed = secrets.find((s) => s.label.startsWith('seed system/identity'))!;
  t.app.log.debug({ detail: Buffer.from(seed.bytes!).toString('hex') }, 'control: a careless debug line');
  t.app.log.warn(`control: ${Buffer.from(seed.bytes!).toString('base64url')}`);
  t.app.log.info({ material: seed.bytes }, 'control: bytes as an object');
  const fresh = logChunks.slice(before);
  assert.equal(fresh.length, 3);
  for (const [i, line] of fresh.entries()) {
    assert.deepEqual(scan([{ where: `control ${i}`, text: line }], [seed]).map((f) => f.where), [`control ${i}`]);
  }
  // And a session key in upper-case hex inside a response-like text.
  const sk = secrets.find((s) => / c2sKey /.test(s.label))!;
  assert.equal(scan([{ where: 'x', text: `{"v":"${Buffer.from(sk.bytes!).toString('hex').toUpperCase()}"}` }], [sk]).length, 1);
});
