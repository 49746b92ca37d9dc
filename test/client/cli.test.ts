/**
 * The `pqzk` CLI of the installed package, driven as a real binary against a live service
 * (issue 17): every command's success path, `--json` output parsed, bad input and refused
 * operations with the documented exit code (0 ok, 1 refused, 2 usage, 3 unreachable) and a
 * one-line error, the ZK secret file (0600, never printed), `--help` on every command.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listeningTestApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { installPackage, nodeBinaries, type InstalledPackage } from '../support/client-package.ts';
import { freePort } from '../support/net.ts';

let pkg: InstalledPackage;
let t: TestApp & { baseUrl: string };
let identity = '';
let main = '';
before(async () => {
  pkg = installPackage();
  main = join(pkg.installed, 'dist/cli/main.js');
  t = await listeningTestApp({ RATE_LIMIT_MAX: '1000000' });
  identity = Buffer.from((await t.app.ctx.systemKeys.identity()).publicKey).toString('base64url');
});
after(async () => { await t?.close(); pkg?.cleanup(); });

interface Run { code: number | null; stdout: string; stderr: string; bytes: Buffer }
/** Runs `pqzk args…` with PQZK_URL/PQZK_TOKEN/PQZK_IDENTITY_KEY set (override with env; '' removes). */
function pqzk(args: string[], { input, env = {}, node = process.execPath }: { input?: string | Uint8Array; env?: Record<string, string>; node?: string } = {}): Promise<Run> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PQZK_URL: t.baseUrl, PQZK_TOKEN: ADMIN_TOKEN, PQZK_IDENTITY_KEY: identity };
  const full = Object.fromEntries(Object.entries({ ...base, ...env }).filter(([, v]) => v !== ''));
  return new Promise((resolve) => {
    const c = spawn(node, [main, ...args], { cwd: pkg.project, env: full });
    const out: Buffer[] = [];
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d) => { stderr += d; });
    c.on('close', (code) => { const bytes = Buffer.concat(out); resolve({ code, stdout: bytes.toString('utf8'), stderr, bytes }); });
    c.stdin.end(input ?? '');
  });
}
const json = (r: Run) => { assert.equal(r.code, 0, r.stderr); return JSON.parse(r.stdout); };
/** A refusal or usage error: the exit code and exactly one `error: <code>: <detail>` line on stderr, the last (progress lines may precede it). */
function fails(r: Run, code: number, pattern: RegExp) {
  assert.equal(r.code, code, `exit code (stdout ${r.stdout}, stderr ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('error:')).length, 1, `one error line: ${r.stderr}`);
  assert.match(lines.at(-1)!, pattern);
}

test('health and algorithms, human and --json', async () => {
  const h = await pqzk(['health']);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /^ok \(http:\/\/127\.0\.0\.1:\d+\)\n$/);
  assert.deepEqual(json(await pqzk(['--json', 'health'])), { status: 'ok' });
  const a = json(await pqzk(['algorithms', '--json']));
  assert.ok(a.algorithms.some((x: { name: string }) => x.name === 'ML-DSA-65'));
  assert.match((await pqzk(['algorithms'])).stdout, /^backend: (native|noble)\n.*ML-DSA-65/s);
});

test('keys: create, list, get, rotate, update, public, sign (stdin), verify, delete', async () => {
  const created = await pqzk(['keys', 'create', 'release', '--algorithm', 'ML-DSA-65']);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout, 'created release (ML-DSA-65, version 1)\n');
  assert.equal(json(await pqzk(['--json', 'keys', 'create', 'other', '-a', 'ML-DSA-44'])).algorithm, 'ML-DSA-44');
  const list = json(await pqzk(['--json', 'keys', 'list']));
  assert.deepEqual(list.keys.map((k: { name: string }) => k.name).sort(), ['other', 'release']);
  assert.match((await pqzk(['keys', 'list', '--limit', '1'])).stdout, /^other +ML-DSA-44 +v1 +owner admin\n\(more: --after \S+\)\n$/);
  assert.equal(json(await pqzk(['--json', 'keys', 'get', 'release'])).latestVersion, 1);
  assert.match((await pqzk(['keys', 'get', 'release'])).stdout, /algorithm: +ML-DSA-65 \(signature\)/);
  assert.equal((await pqzk(['keys', 'rotate', 'release'])).stdout, 'rotated release: version 2\n');
  const pem = await pqzk(['keys', 'public', 'release']);
  assert.match(pem.stdout, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
  assert.equal(json(await pqzk(['--json', 'keys', 'public', 'release', '--format', 'jwk', '--key-version', '1'])).publicKey.kty, 'AKP');

  const message = 'the release artifact\n';
  const sig = await pqzk(['keys', 'sign', 'release'], { input: message });
  assert.equal(sig.code, 0, sig.stderr);
  assert.match(sig.stdout, /^v2:[A-Za-z0-9_-]+\n$/);
  const signature = sig.stdout.trim();
  assert.equal((await pqzk(['keys', 'verify', 'release', '--signature', signature], { input: message })).stdout, 'valid (release version 2)\n');
  assert.equal(json(await pqzk(['--json', 'keys', 'verify', 'release', '-s', signature, '--message', message])).valid, true);
  fails(await pqzk(['keys', 'verify', 'release', '--signature', signature], { input: 'tampered' }), 1, /^error: invalid_signature: /);
  const ctxSig = json(await pqzk(['--json', 'keys', 'sign', 'release', '--context', 'v1', '--message', 'm']));
  assert.equal(ctxSig.version, 2);
  assert.equal((await pqzk(['keys', 'verify', 'release', '--context', 'v1', '-s', ctxSig.signature, '--message', 'm'])).code, 0);

  fails(await pqzk(['keys', 'delete', 'other']), 1, /^error: [a-z_]+: .*delet/i);
  assert.match((await pqzk(['keys', 'update', 'other', '--deletion-allowed', '--min-version', '1'])).stdout, /deletion allowed/);
  assert.equal((await pqzk(['keys', 'delete', 'other'])).stdout, 'deleted other\n');
  fails(await pqzk(['keys', 'get', 'other']), 1, /^error: not_found: /);
});

test('refusals exit 1 with the problem code; usage errors exit 2; no service exits 3', async () => {
  fails(await pqzk(['keys', 'list'], { env: { PQZK_TOKEN: '' } }), 1, /^error: unauthorized: /);
  fails(await pqzk(['keys', 'create', 'x', '-a', 'RSA-2048']), 1, /^error: [a-z_]+: /);
  fails(await pqzk(['keys', 'bogus']), 2, /^error: unknown command 'bogus'/);
  fails(await pqzk(['keys', 'create', 'x']), 2, /^error: required option '-a, --algorithm/);
  fails(await pqzk(['keys', 'list', '--limit', 'ten']), 2, /^error: usage: --limit must be a positive integer/);
  fails(await pqzk(['keys', 'verify', 'release', '--message', 'm']), 2, /^error: usage: give the signature/);
  fails(await pqzk(['keys', 'sign', 'release', '--in', '/nonexistent/file']), 2, /^error: usage: cannot read \/nonexistent\/file: ENOENT/);
  fails(await pqzk(['keys', 'update', 'release']), 2, /^error: usage: nothing to update/);
  fails(await pqzk(['session', 'call', 'GET', '/v1/keys'], { env: { PQZK_IDENTITY_KEY: '' } }), 2, /^error: usage: pin the service identity/);
  fails(await pqzk(['health'], { env: { PQZK_URL: `http://127.0.0.1:${await freePort()}` } }), 3, /^error: unreachable: .*ECONNREFUSED/);
  const keys = await pqzk(['keys']);
  assert.equal(keys.code, 2, 'a command group without a subcommand is a usage error');
});

test('session: one call, a script of calls on stdin, a wrong pin is refused', async () => {
  const one = json(await pqzk(['--json', 'session', 'call', 'POST', '/v1/keys/release/sign', '{"message":"aGk"}']));
  assert.equal(one.status, 200);
  assert.match(one.body.signature, /^v2:/);
  const human = await pqzk(['session', 'call', 'GET', '/v1/keys/release']);
  assert.match(human.stdout, /^200\n\{\n {2}"name": "release"/);
  const run = await pqzk(['session', 'run'], { input: '# two calls, one session\nGET /v1/keys\nPOST /v1/keys/release/verify {"message":"aGk","signature":"v2:AAAA"}\nGET /v1/keys/missing\n' });
  assert.equal(run.code, 1, 'an inner error status makes the exit code 1');
  const answers = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(answers.map((a) => a.status), [200, 400, 404]);
  assert.equal(answers[2].body.code, 'not_found');
  fails(await pqzk(['session', 'call', 'GET', '/v1/keys'], { env: { PQZK_IDENTITY_KEY: Buffer.alloc(1952, 7).toString('base64url') } }), 1, /^error: session_refused: /);
  const tofu = await pqzk(['session', 'call', 'GET', '/v1/health', '--trust-on-first-use'], { env: { PQZK_IDENTITY_KEY: '' } });
  assert.equal(tofu.code, 0, tofu.stderr);
  assert.ok(tofu.stderr.includes(`PQZK_IDENTITY_KEY=${identity}`), 'trust on first use prints the identity to pin');
  fails(await pqzk(['session', 'call', 'FETCH', '/v1/keys']), 2, /^error: usage: method must be one of/);
});

test('zk: register writes the secret 0600 and never prints it; login proves; the token works inside a session', { timeout: 120_000 }, async () => {
  const reg = await pqzk(['zk', 'register', 'alice'], { env: { PQZK_TOKEN: '' } });
  assert.equal(reg.code, 0, reg.stderr);
  const file = join(pkg.project, 'alice.zk-secret');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const secret = readFileSync(file, 'utf8').trim();
  assert.match(secret, /^[0-9]{60,80}$/);
  assert.ok(!reg.stdout.includes(secret) && !reg.stderr.includes(secret), 'the secret is not printed');
  assert.equal(reg.stdout, `registered alice; secret in alice.zk-secret (keep it: it is the login)\n`);
  fails(await pqzk(['zk', 'register', 'alice']), 2, /^error: usage: alice\.zk-secret exists: refusing to overwrite/);
  fails(await pqzk(['zk', 'register', 'alice', '--secret-file', 'again']), 1, /^error: [a-z_]+: /);
  assert.ok(!existsSync(join(pkg.project, 'again')), 'a refused registration leaves no secret file');
  const printed = json(await pqzk(['--json', 'zk', 'register', 'bob', '--secret-file', 'bob.secret', '--print-secret']));
  assert.equal(printed.secret, readFileSync(join(pkg.project, 'bob.secret'), 'utf8').trim());

  const login = await pqzk(['zk', 'login', 'alice'], { env: { PQZK_TOKEN: '' } });
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /^logged in as alice: token valid \d+ s, bound to session \S+ \(proof [\d.]+ s\)\n$/);
  assert.match(login.stderr, /downloading the login circuit \([\d.]+ MB\) and proving/, 'progress on stderr');
  assert.ok(!login.stdout.includes(secret));
  const j = json(await pqzk(['--json', 'zk', 'login', 'bob', '--secret-file', 'bob.secret'], { env: { PQZK_TOKEN: '' } }));
  assert.equal(j.accepted, true);
  assert.equal(j.accessToken, undefined, 'no token unless --print-token');
  const inside = json(await pqzk(['--json', 'session', 'call', 'POST', '/v1/keys', '{"name":"alices","algorithm":"ML-DSA-44"}', '--zk-user', 'alice'], { env: { PQZK_TOKEN: '' } }));
  assert.equal(inside.status, 201);
  assert.equal(inside.body.owner, 'tenant:alice');
  fails(await pqzk(['zk', 'login', 'alice', '--secret-file', 'bob.secret'], { env: { PQZK_TOKEN: '' } }), 1, /^error: unauthorized: login failed/);
  fails(await pqzk(['zk', 'login', 'carol']), 2, /^error: usage: cannot read secret file carol\.zk-secret: ENOENT/);
});

test('pir: upload from stdin, get (hex, --json, --raw), lookup several', async () => {
  const records = Buffer.alloc(24 * 200);
  for (let i = 0; i < records.length; i++) records[i] = (i * 31 + 7) & 255;
  const up = await pqzk(['pir', 'upload', 'dir', '--record-size', '24'], { input: records });
  assert.equal(up.code, 0, up.stderr);
  assert.equal(up.stdout, 'uploaded dir: version 1, 200 records of 24 bytes\n');
  const rec = (i: number) => records.subarray(i * 24, (i + 1) * 24);
  const anon = { PQZK_TOKEN: '' };
  const hex = await pqzk(['pir', 'get', 'dir', '17'], { env: anon });
  assert.equal(hex.code, 0, hex.stderr);
  assert.equal(hex.stdout, rec(17).toString('hex') + '\n');
  assert.match(hex.stderr, /fetching and verifying the config and hint of dir/, 'progress on stderr');
  assert.equal(json(await pqzk(['--json', 'pir', 'get', 'dir', '199'], { env: anon })).record, rec(199).toString('base64url'));
  assert.deepEqual((await pqzk(['pir', 'get', 'dir', '3', '--raw', '-q'], { env: anon })).bytes, rec(3));
  const many = json(await pqzk(['--json', 'pir', 'lookup', 'dir', '0', '5', '150'], { env: anon }));
  assert.deepEqual(many.records.map((r: { record: string }) => Buffer.from(r.record, 'base64url')), [rec(0), rec(5), rec(150)]);
  fails(await pqzk(['pir', 'get', 'dir', '-1'], { env: anon }), 2, /^error: (usage: index must be|unknown option)/);
  fails(await pqzk(['pir', 'get', 'dir', '200'], { env: anon }), 2, /out of range/);
  fails(await pqzk(['pir', 'get', 'nope', '0'], { env: anon }), 1, /^error: not_found: /);
});

test('--help on every command (the whole command tree of the installed package), --version', async () => {
  const { program } = await import(join(pkg.installed, 'dist/cli/program.js')) as typeof import('../../src/cli/program.ts');
  const walk = (c: import('commander').Command, path: string[]): string[][] => [path, ...c.commands.filter((s) => s.name() !== 'help').flatMap((s) => walk(s, [...path, s.name()]))];
  const paths = walk(program('0'), []);
  assert.ok(paths.length >= 20, `${paths.length} commands`);
  for (const path of ['keys create', 'keys list', 'keys get', 'keys rotate', 'keys update', 'keys delete', 'keys public', 'keys sign', 'keys verify', 'session call', 'session run', 'zk register', 'zk login', 'pir get', 'pir lookup', 'health', 'algorithms']) {
    assert.ok(paths.some((p) => p.join(' ') === path), `pqzk ${path} exists`);
  }
  // A few real --help runs for the exit code and stdout; the tree's help texts in-process (fast).
  for (const p of [[], ['keys', 'sign'], ['pir', 'lookup']]) {
    const r = await pqzk([...p, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: pqzk${p.length ? ' ' + p.join(' ') : ''} `));
  }
  for (const p of paths) {
    let cmd = program('0');
    for (const name of p) cmd = cmd.commands.find((c) => c.name() === name)!;
    const help = cmd.helpInformation();
    assert.match(help, new RegExp(`^Usage: pqzk${p.length ? ' ' + p.join(' ') : ''} `), p.join(' '));
    assert.ok(cmd.description().length > 10, `pqzk ${p.join(' ')} has a description`);
  }
  assert.match((await pqzk(['--help'])).stdout, /Exit codes: 0 ok, 1 the service refused \(or a check failed\), 2 usage, 3 service unreachable/);
  assert.equal((await pqzk(['--version'])).stdout, JSON.parse(readFileSync(join(pkg.installed, 'package.json'), 'utf8')).version + '\n');
});

test('the npm bin link runs on the system Node too (npx pqzk …)', async (ctx) => {
  const other = nodeBinaries()[1];
  if (!other) return void ctx.skip(`no other Node major than ${process.version} installed: the bin was run on it only`);
  // The bin's `#!/usr/bin/env node` picks the first node on PATH: put the system one first.
  const r = await new Promise<Run>((resolve) => {
    const c = spawn(pkg.bin, ['--json', 'keys', 'sign', 'release', '--message', 'x'], {
      cwd: pkg.project, env: { PATH: `${join(other.path, '..')}:/usr/bin:/bin`, PQZK_URL: t.baseUrl, PQZK_TOKEN: ADMIN_TOKEN },
    });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => { stdout += d; });
    c.stderr.on('data', (d) => { stderr += d; });
    c.on('close', (code) => resolve({ code, stdout, stderr, bytes: Buffer.from(stdout) }));
  });
  assert.match(JSON.parse(json(r).signature ? r.stdout : '{}').signature, /^v2:/);
  ctx.diagnostic(`pqzk bin ran on ${other.version}`);
});
