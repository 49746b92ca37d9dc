/**
 * The installed client package in plain Node (issue 17): an ESM script in a fresh project imports
 * `@pqzk/client` (compiled JavaScript from node_modules, no type stripping) and runs one flow per
 * capability against a live service: keys (create, sign, verify, rotate), a secure session
 * (pinned identity, call through the envelope, close), ZK login (register, Groth16 proof, token
 * bound to the session and used inside it) and PIR (upload, pinned open, private get). It runs on
 * this Node (24) and on the system's Node (20 here) when that is another major.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listeningTestApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { installPackage, nodeBinaries, type InstalledPackage } from '../support/client-package.ts';

const FLOWS = `
import { createClient, ServiceError, SecureSessionError, parseSignature, base64urlEncode } from '@pqzk/client';
const { URL_, TOKEN, IDENTITY } = process.env;
const out = {};
const admin = createClient(URL_, { token: TOKEN });
out.health = (await admin.health()).status;
// keys
const name = 'release-' + process.version.replace(/\\W/g, '');
await admin.keys.create({ name, algorithm: 'ML-DSA-44' });
const message = new TextEncoder().encode('hello from ' + process.version);
const { signature } = await admin.keys.sign(name, { message });
out.signatureVersion = parseSignature(signature).version;
out.valid = (await admin.keys.verify(name, { message, signature })).valid;
out.tampered = (await admin.keys.verify(name, { message: new TextEncoder().encode('other'), signature })).valid;
out.rotated = (await admin.keys.rotate(name)).latestVersion;
try { await createClient(URL_).keys.get(name); } catch (e) { out.anonymous = e instanceof ServiceError ? e.status : String(e); }
// kex
const session = await admin.openSecureSession({ identityKey: IDENTITY });
const inner = await session.call('POST', '/v1/keys/' + name + '/sign', { message: base64urlEncode(message) });
out.sessionSign = inner.status;
await session.close();
try { await admin.openSecureSession({ identityKey: base64urlEncode(new Uint8Array(1952)) }); } catch (e) { out.wrongPin = e instanceof SecureSessionError; }
// zk
const anon = createClient(URL_);
const user = 'node-' + process.versions.node.split('.')[0];
const { secret } = await anon.zk.register(user);
const s2 = await anon.openSecureSession({ identityKey: IDENTITY });
const login = await anon.zk.login(user, secret, s2.clientPublicKey);
s2.setToken(login.accessToken);
out.zkInside = (await s2.call('GET', '/v1/keys')).status;
out.zkOutside = (await fetch(URL_ + '/v1/keys', { headers: { authorization: 'Bearer ' + login.accessToken } })).status;
await s2.close();
// pir
const records = new Uint8Array(16 * 100).map((_, i) => (i * 7) & 255);
await admin.pir.upload(user, records, 16);
const db = await anon.pir.open(user, { identityPublicKey: IDENTITY });
out.pirPinned = db.pinned;
out.pirRecord = Array.from(await db.get(42));
out.pirExpected = Array.from(records.subarray(42 * 16, 43 * 16));
console.log(JSON.stringify(out));
`;

let pkg: InstalledPackage;
let t: TestApp & { baseUrl: string };
let identity = '';
before(async () => {
  pkg = installPackage();
  writeFileSync(join(pkg.project, 'flows.mjs'), FLOWS);
  t = await listeningTestApp({ RATE_LIMIT_MAX: '1000000' });
  identity = Buffer.from((await t.app.ctx.systemKeys.identity()).publicKey).toString('base64url');
});
after(async () => { await t?.close(); pkg?.cleanup(); });

function run(node: string, script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(node, [script], { cwd: pkg.project, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => { stdout += d; });
    c.stderr.on('data', (d) => { stderr += d; });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

for (const node of nodeBinaries()) {
  test(`plain Node ${node.version}: one flow per capability through the installed package`, { timeout: 120_000 }, async () => {
    const r = await run(node.path, join(pkg.project, 'flows.mjs'), { URL_: t.baseUrl, TOKEN: ADMIN_TOKEN, IDENTITY: identity });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(out.health, 'ok');
    assert.equal(out.signatureVersion, 1);
    assert.equal(out.valid, true);
    assert.equal(out.tampered, false);
    assert.equal(out.rotated, 2);
    assert.equal(out.anonymous, 401);
    assert.equal(out.sessionSign, 200);
    assert.equal(out.wrongPin, true);
    assert.equal(out.zkInside, 200);
    assert.equal(out.zkOutside, 401, 'the session-bound token is refused outside its session');
    assert.equal(out.pirPinned, true);
    assert.deepEqual(out.pirRecord, out.pirExpected);
  });
}

test('the system Node is another major than this one (Node 20 is covered)', (ctx) => {
  const others = nodeBinaries().slice(1);
  if (others.length === 0) ctx.skip(`no other Node major at /usr/bin/node or /usr/local/bin/node: only ${process.version} ran the flows`);
  else ctx.diagnostic(`also ran on ${others.map((o) => o.version).join(', ')}; Node 22 is not installed here and was not run`);
});
