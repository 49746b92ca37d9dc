/**
 * The `pqzk` CLI of the installed package, driven as a real binary against a live service
 * (issue 17): every command's success path, `--json` output parsed, bad input and refused
 * operations with the documented exit code (0 ok, 1 refused, 2 usage, 3 unreachable) and a
 * one-line error, the ZK secret file (0600, never printed), `--help` on every command.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listeningTestApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { installPackage, nodeBinaries, type InstalledPackage } from '../support/client-package.ts';
import { freePort } from '../support/net.ts';
import { encodeKeywordEntries } from '../../src/pir/keyword.ts';

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

// Independent runs go in parallel (Promise.all): each is a process start, and most of the wall time.
test('health and algorithms, human and --json', async () => {
  const [h, hj, aj, a] = await Promise.all([pqzk(['health']), pqzk(['--json', 'health']), pqzk(['algorithms', '--json']), pqzk(['algorithms'])]);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /^ok \(http:\/\/127\.0\.0\.1:\d+\)\n$/);
  assert.deepEqual(json(hj), { status: 'ok' });
  assert.ok(json(aj).algorithms.some((x: { name: string }) => x.name === 'ML-DSA-65'));
  assert.match(a.stdout, /^backend: (native|noble)\n.*ML-DSA-65/s);
  assert.match(a.stdout, /\nMLDSA87-ECDSA-P384-SHA512 +signature +pk 2689 B, sig 4731 B\n/);
});

test('keys: create, list, get, rotate, update, public, sign (stdin), verify, delete', async () => {
  const [created, other] = await Promise.all([pqzk(['keys', 'create', 'release', '--algorithm', 'ML-DSA-65']), pqzk(['--json', 'keys', 'create', 'other', '-a', 'ML-DSA-44'])]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout, 'created release (ML-DSA-65, version 1)\n');
  assert.equal(json(other).algorithm, 'ML-DSA-44');
  const [list, page, getJson, get] = await Promise.all([
    pqzk(['--json', 'keys', 'list']), pqzk(['keys', 'list', '--limit', '1']), pqzk(['--json', 'keys', 'get', 'release']), pqzk(['keys', 'get', 'release']),
  ]);
  assert.deepEqual(json(list).keys.map((k: { name: string }) => k.name).sort(), ['other', 'release']);
  assert.match(page.stdout, /^other +ML-DSA-44 +v1 +owner admin\n\(more: --after \S+\)\n$/);
  assert.equal(json(getJson).latestVersion, 1);
  assert.match(get.stdout, /algorithm: +ML-DSA-65 \(signature\)/);
  assert.equal((await pqzk(['keys', 'rotate', 'release'])).stdout, 'rotated release: version 2\n');
  const [pem, jwk] = await Promise.all([pqzk(['keys', 'public', 'release']), pqzk(['--json', 'keys', 'public', 'release', '--format', 'jwk', '--key-version', '1'])]);
  assert.match(pem.stdout, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
  assert.equal(json(jwk).publicKey.kty, 'AKP');

  const message = 'the release artifact\n';
  const sig = await pqzk(['keys', 'sign', 'release'], { input: message });
  assert.equal(sig.code, 0, sig.stderr);
  assert.match(sig.stdout, /^v2:[A-Za-z0-9_-]+\n$/);
  const signature = sig.stdout.trim();
  const [valid, validJson, tampered, ctxSigRun, refusedDelete] = await Promise.all([
    pqzk(['keys', 'verify', 'release', '--signature', signature], { input: message }),
    pqzk(['--json', 'keys', 'verify', 'release', '-s', signature, '--message', message]),
    pqzk(['keys', 'verify', 'release', '--signature', signature], { input: 'tampered' }),
    pqzk(['--json', 'keys', 'sign', 'release', '--context', 'v1', '--message', 'm']),
    pqzk(['keys', 'delete', 'other']),
  ]);
  assert.equal(valid.stdout, 'valid (release version 2)\n');
  assert.equal(json(validJson).valid, true);
  fails(tampered, 1, /^error: invalid_signature: /);
  const ctxSig = json(ctxSigRun);
  assert.equal(ctxSig.version, 2);
  assert.equal((await pqzk(['keys', 'verify', 'release', '--context', 'v1', '-s', ctxSig.signature, '--message', 'm'])).code, 0);

  fails(refusedDelete, 1, /^error: [a-z_]+: .*delet/i);
  assert.match((await pqzk(['keys', 'update', 'other', '--deletion-allowed', '--min-version', '1'])).stdout, /deletion allowed/);
  assert.equal((await pqzk(['keys', 'delete', 'other'])).stdout, 'deleted other\n');
  fails(await pqzk(['keys', 'get', 'other']), 1, /^error: not_found: /);
});

test('encrypt, decrypt, datakey: binary stdin/stdout round trip, --aad/--info, --local (pinned), --json; tampered → 1; bad usage → 2', async () => {
  assert.equal(json(await pqzk(['--json', 'keys', 'create', 'inbox', '-a', 'X-Wing'])).algorithm, 'X-Wing');
  const plaintext = Buffer.concat([Buffer.from([0, 10, 13, 255, 0, 0x1a, 0x0a]), randomBytes(3000), Buffer.from('\n\r\n')]);
  const ctx = ['--aad', 'record 7', '--info', 'app v1'];
  const [enc, encJson, local, dk, dkQuiet, notKem, notCipher, badBytes, twoInputs, pinAlone] = await Promise.all([
    pqzk(['encrypt', 'inbox', ...ctx], { input: plaintext }),
    pqzk(['--json', 'encrypt', 'inbox', '--message', 'hi']),
    pqzk(['encrypt', 'inbox', '--local', '--in', '-'], { input: plaintext }),
    pqzk(['--json', 'datakey', 'inbox', '--plaintext', '--bytes', '16']),
    pqzk(['datakey', 'inbox']),
    pqzk(['encrypt', 'release', '--message', 'x']),
    pqzk(['decrypt', 'inbox'], { input: 'not a ciphertext\n' }),
    pqzk(['datakey', 'inbox', '--bytes', '24']),
    pqzk(['encrypt', 'inbox', '--message', 'x', '--in', 'f']),
    pqzk(['encrypt', 'inbox', '--pin', 'AAAA', '--message', 'x']),
  ]);
  assert.equal(enc.code, 0, enc.stderr);
  assert.match(enc.stdout, /^v1:[A-Za-z0-9_-]+\n$/, 'the ciphertext is one v<N>:<base64url> line');
  const ciphertext = enc.stdout.trim();
  assert.equal(Buffer.from(ciphertext.slice(3), 'base64url').length, 1120 + plaintext.length + 16, 'X-Wing enc ‖ ct ‖ tag');
  const ej = json(encJson);
  assert.equal(ej.version, 1);
  assert.match(ej.ciphertext, /^v1:/);
  assert.equal(local.code, 0, local.stderr);
  const pin = /--pin (\S+)/.exec(local.stderr)?.[1];
  assert.ok(pin, `an unpinned --local seal prints the pin: ${local.stderr}`);
  const d = json(dk);
  assert.equal(Buffer.from(d.plaintext, 'base64url').length, 16);
  assert.equal(dkQuiet.code, 0, dkQuiet.stderr);
  assert.match(dkQuiet.stdout, /^v1:[A-Za-z0-9_-]+\n$/, 'no plaintext data key unless --plaintext');
  fails(notKem, 1, /^error: [a-z_]+: /);
  fails(notCipher, 2, /^error: usage: not a ciphertext/);
  fails(badBytes, 2, /^error: option '--bytes <n>' argument '24' is invalid/);
  fails(twoInputs, 2, /^error: usage: give the plaintext once/);
  fails(pinAlone, 2, /^error: usage: --pin checks the public key of --local/);

  const last = ciphertext.at(-2) === 'A' ? 'B' : 'A';
  const tampered = ciphertext.slice(0, -2) + last + ciphertext.at(-1);
  const [back, noCtx, tamperedRun, localBack, dkBack, pinned, wrongPin] = await Promise.all([
    pqzk(['decrypt', 'inbox', ...ctx], { input: ciphertext + '\n' }),
    pqzk(['decrypt', 'inbox', '--ciphertext', ciphertext]),
    pqzk(['decrypt', 'inbox', ...ctx], { input: tampered }),
    pqzk(['--json', 'decrypt', 'inbox', '-c', local.stdout.trim()]),
    pqzk(['--json', 'decrypt', 'inbox', '-c', d.ciphertext]),
    pqzk(['--json', 'encrypt', 'inbox', '--local', '--pin', pin, '--message', 'pinned'], {}),
    pqzk(['encrypt', 'inbox', '--local', '--pin', Buffer.alloc(32).toString('base64url'), '--message', 'x']),
  ]);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(back.bytes, plaintext, 'binary-safe: the exact bytes come back on stdout');
  fails(noCtx, 1, /^error: decryption_failed: decryption failed$/);
  fails(tamperedRun, 1, /^error: decryption_failed: decryption failed$/);
  assert.deepEqual(Buffer.from(json(localBack).plaintext, 'base64url'), plaintext, 'sealed locally, opened by the service');
  assert.equal(json(dkBack).plaintext, d.plaintext, 'the data key ciphertext decrypts to the data key');
  const p = json(pinned);
  assert.equal(p.pin, pin);
  assert.equal(p.local, true);
  assert.equal(pinned.stderr, '', 'no warning when pinned');
  fails(wrongPin, 1, /^error: pin_mismatch: /);
});

test('refusals exit 1 with the problem code; usage errors exit 2; no service exits 3', async () => {
  const cases: Array<[string[], number, RegExp, Record<string, string>?]> = [
    [['keys', 'list'], 1, /^error: unauthorized: /, { PQZK_TOKEN: '' }],
    [['keys', 'create', 'x', '-a', 'RSA-2048'], 1, /^error: [a-z_]+: /],
    [['keys', 'bogus'], 2, /^error: unknown command 'bogus'/],
    [['keys', 'create', 'x'], 2, /^error: required option '-a, --algorithm/],
    [['keys', 'list', '--limit', 'ten'], 2, /^error: usage: --limit must be a positive integer/],
    [['keys', 'verify', 'release', '--message', 'm'], 2, /^error: usage: give the signature/],
    [['keys', 'sign', 'release', '--in', '/nonexistent/file'], 2, /^error: usage: cannot read \/nonexistent\/file: ENOENT/],
    [['keys', 'update', 'release'], 2, /^error: usage: nothing to update/],
    [['session', 'call', 'GET', '/v1/keys'], 2, /^error: usage: pin the service identity/, { PQZK_IDENTITY_KEY: '' }],
    [['health'], 3, /^error: unreachable: .*ECONNREFUSED/, { PQZK_URL: `http://127.0.0.1:${await freePort()}` }],
  ];
  const [runs, keys] = await Promise.all([Promise.all(cases.map(([args, , , env]) => pqzk(args, env ? { env } : {}))), pqzk(['keys'])]);
  cases.forEach(([, code, pattern], i) => fails(runs[i]!, code, pattern));
  assert.equal(keys.code, 2, 'a command group without a subcommand is a usage error');
});

test('session: one call, a script of calls on stdin, a wrong pin is refused', async () => {
  const [oneRun, human, run, wrongPin, tofu, badMethod] = await Promise.all([
    pqzk(['--json', 'session', 'call', 'POST', '/v1/keys/release/sign', '{"message":"aGk"}']),
    pqzk(['session', 'call', 'GET', '/v1/keys/release']),
    pqzk(['session', 'run'], { input: '# two calls, one session\nGET /v1/keys\nPOST /v1/keys/release/verify {"message":"aGk","signature":"v2:AAAA"}\nGET /v1/keys/missing\n' }),
    pqzk(['session', 'call', 'GET', '/v1/keys'], { env: { PQZK_IDENTITY_KEY: Buffer.alloc(1952, 7).toString('base64url') } }),
    pqzk(['session', 'call', 'GET', '/v1/health', '--trust-on-first-use'], { env: { PQZK_IDENTITY_KEY: '' } }),
    pqzk(['session', 'call', 'FETCH', '/v1/keys']),
  ]);
  const one = json(oneRun);
  assert.equal(one.status, 200);
  assert.match(one.body.signature, /^v2:/);
  assert.match(human.stdout, /^200\n\{\n {2}"name": "release"/);
  assert.equal(run.code, 1, 'an inner error status makes the exit code 1');
  const answers = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(answers.map((a) => a.status), [200, 400, 404]);
  assert.equal(answers[2].body.code, 'not_found');
  fails(wrongPin, 1, /^error: session_refused: /);
  assert.equal(tofu.code, 0, tofu.stderr);
  assert.ok(tofu.stderr.includes(`PQZK_IDENTITY_KEY=${identity}`), 'trust on first use prints the identity to pin');
  fails(badMethod, 2, /^error: usage: method must be one of/);
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
  const [exists, again, bob] = await Promise.all([
    pqzk(['zk', 'register', 'alice']), pqzk(['zk', 'register', 'alice', '--secret-file', 'again']),
    pqzk(['--json', 'zk', 'register', 'bob', '--secret-file', 'bob.secret', '--print-secret']),
  ]);
  fails(exists, 2, /^error: usage: alice\.zk-secret exists: refusing to overwrite/);
  fails(again, 1, /^error: [a-z_]+: /);
  assert.ok(!existsSync(join(pkg.project, 'again')), 'a refused registration leaves no secret file');
  assert.equal(json(bob).secret, readFileSync(join(pkg.project, 'bob.secret'), 'utf8').trim());

  const anon = { env: { PQZK_TOKEN: '' } };
  const [login, bobLogin, insideRun, wrongSecret, noSecret] = await Promise.all([
    pqzk(['zk', 'login', 'alice'], anon),
    pqzk(['--json', 'zk', 'login', 'bob', '--secret-file', 'bob.secret'], anon),
    pqzk(['--json', 'session', 'call', 'POST', '/v1/keys', '{"name":"alices","algorithm":"ML-DSA-44"}', '--zk-user', 'alice'], anon),
    pqzk(['zk', 'login', 'alice', '--secret-file', 'bob.secret'], anon),
    pqzk(['zk', 'login', 'carol']),
  ]);
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /^logged in as alice: token valid \d+ s, bound to session \S+ \(proof [\d.]+ s\)\n$/);
  assert.match(login.stderr, /downloading the login circuit \([\d.]+ MB\) and proving/, 'progress on stderr');
  assert.ok(!login.stdout.includes(secret));
  const j = json(bobLogin);
  assert.equal(j.accepted, true);
  assert.equal(j.accessToken, undefined, 'no token unless --print-token');
  const inside = json(insideRun);
  assert.equal(inside.status, 201);
  assert.equal(inside.body.owner, 'tenant:alice');
  fails(wrongSecret, 1, /^error: unauthorized: login failed/);
  fails(noSecret, 2, /^error: usage: cannot read secret file carol\.zk-secret: ENOENT/);
});

test('pir: upload from stdin, get (hex, --json, --raw), lookup several', async () => {
  const records = Buffer.alloc(24 * 200);
  for (let i = 0; i < records.length; i++) records[i] = (i * 31 + 7) & 255;
  const up = await pqzk(['pir', 'upload', 'dir', '--record-size', '24'], { input: records });
  assert.equal(up.code, 0, up.stderr);
  assert.equal(up.stdout, 'uploaded dir: version 1, 200 records of 24 bytes\n');
  const rec = (i: number) => records.subarray(i * 24, (i + 1) * 24);
  const anon = { PQZK_TOKEN: '' };
  const [hex, one, raw, manyRun, negative, outOfRange, missing] = await Promise.all([
    ['pir', 'get', 'dir', '17'], ['--json', 'pir', 'get', 'dir', '199'], ['pir', 'get', 'dir', '3', '--raw', '-q'], ['--json', 'pir', 'lookup', 'dir', '0', '5', '150'],
    ['pir', 'get', 'dir', '-1'], ['pir', 'get', 'dir', '200'], ['pir', 'get', 'nope', '0'],
  ].map((args) => pqzk(args, { env: anon })));
  assert.equal(hex!.code, 0, hex!.stderr);
  assert.equal(hex!.stdout, rec(17).toString('hex') + '\n');
  assert.match(hex!.stderr, /fetching and verifying the config and hint of dir/, 'progress on stderr');
  assert.equal(json(one!).record, rec(199).toString('base64url'));
  assert.deepEqual(raw!.bytes, rec(3));
  assert.deepEqual(json(manyRun!).records.map((r: { record: string }) => Buffer.from(r.record, 'base64url')), [rec(0), rec(5), rec(150)]);
  fails(negative!, 2, /^error: (usage: index must be|unknown option)/);
  fails(outOfRange!, 2, /out of range/);
  fails(missing!, 1, /^error: not_found: /);
});

test('keys lifecycle: --rotation-period and --max-versions on create and update, destroy-version, refusals', async () => {
  const created = json(await pqzk(['--json', 'keys', 'create', 'cycled', '-a', 'ML-DSA-44', '--rotation-period', '12h', '--max-versions', '2']));
  assert.equal(created.rotationPeriod, 43_200);
  assert.equal(created.maxVersions, 2);
  assert.match(created.nextRotationAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match((await pqzk(['keys', 'get', 'cycled'])).stdout, /rotation: +every 43200 s, next \S+Z\nmax versions: +2\n/);
  for (let i = 0; i < 2; i++) assert.equal((await pqzk(['keys', 'rotate', 'cycled'])).code, 0);
  const got = json(await pqzk(['--json', 'keys', 'get', 'cycled']));
  assert.deepEqual(got.versions.map((v: { state: string }) => v.state), ['destroyed', 'enabled', 'enabled']);
  assert.match((await pqzk(['keys', 'get', 'cycled'])).stdout, /version 1: .*destroyed \d{4}-/);
  const destroyed = await pqzk(['keys', 'destroy-version', 'cycled', '2']);
  assert.equal(destroyed.stdout, 'destroyed version 2 of cycled (current version 3)\n', destroyed.stderr);
  const [again, current, unknown, badVersion, badPeriod, shortPeriod, off] = await Promise.all([
    pqzk(['keys', 'destroy-version', 'cycled', '2']),
    pqzk(['keys', 'destroy-version', 'cycled', '3']),
    pqzk(['keys', 'destroy-version', 'cycled', '9']),
    pqzk(['keys', 'destroy-version', 'cycled', '0']),
    pqzk(['keys', 'update', 'cycled', '--rotation-period', '5x']),
    pqzk(['keys', 'create', 'short', '-a', 'ML-DSA-44', '--rotation-period', '59m']),
    pqzk(['--json', 'keys', 'update', 'cycled', '--rotation-period', 'off', '--max-versions', 'all']),
  ]);
  fails(again, 1, /^error: conflict: .*already destroyed/);
  fails(current, 1, /^error: conflict: .*current version/);
  fails(unknown, 1, /^error: not_found: .*no version 9/);
  fails(badVersion, 2, /<version> must be a positive integer/);
  fails(badPeriod, 2, /--rotation-period must be/);
  fails(shortPeriod, 1, /^error: validation_failed: .*rotationPeriod/);
  const k = json(off);
  assert.equal(k.rotationPeriod, undefined);
  assert.equal(k.maxVersions, undefined);
});

test('pir find (keyword database) and pir whois (key directory), present and absent', async () => {
  const enc = new TextEncoder();
  await t.app.ctx.pirKeyword.put('kw-cli', 8, encodeKeywordEntries([{ key: enc.encode('alice'), value: enc.encode('A1') }, { key: Uint8Array.of(0xff, 1), value: enc.encode('bin') }]));
  const owner = await t.app.ctx.keys.create('admin', { name: 'cli-dir-key', algorithm: 'ML-DSA-44' });
  assert.equal(owner.name, 'cli-dir-key');
  await t.app.ctx.pirDirectory.publish('admin', 'cli-user', 'cli-dir-key');
  await t.app.ctx.pirDirectory.rebuildDirectory();
  const anon = { PQZK_TOKEN: '' };
  const [found, absent, hexKey, whois, nobody] = await Promise.all([
    ['pir', 'find', 'kw-cli', 'alice'], ['--json', 'pir', 'find', 'kw-cli', 'bob'], ['pir', 'find', 'kw-cli', 'ff01', '--hex-key'],
    ['--json', 'pir', 'whois', 'cli-user'], ['pir', 'whois', 'nobody'],
  ].map((args) => pqzk(args, { env: anon })));
  assert.equal(found!.code, 0, found!.stderr);
  assert.equal(found!.stdout, Buffer.from('A1').toString('hex') + '\n');
  assert.deepEqual(json(absent!), { database: 'kw-cli', version: 1, found: false, value: null });
  assert.equal(hexKey!.stdout, Buffer.from('bin').toString('hex') + '\n');
  const w = json(whois!);
  assert.equal(w.algorithm, 'ML-DSA-44');
  assert.equal(w.publicKey, (await t.app.ctx.keys.publicKey('admin', 'cli-dir-key', { format: 'raw' })).publicKey);
  assert.equal(nobody!.code, 0, nobody!.stderr);
  assert.equal(nobody!.stdout, '(not published)\n');
  assert.equal(w.owner, 'admin');
});

test('pir publish / published / unpublish, and whois --owner refusing an entry someone else published', async () => {
  const published = await pqzk(['pir', 'publish', 'cli-pub', 'cli-dir-key']);
  assert.equal(published.code, 0, published.stderr);
  assert.match(published.stdout, /^published cli-dir-key as cli-pub/);
  assert.ok(json(await pqzk(['--json', 'pir', 'published'])).entries.some((e: { entryName: string }) => e.entryName === 'cli-pub'));
  await t.app.ctx.pirDirectory.rebuildDirectory();
  const anon = { PQZK_TOKEN: '' };
  const [mine, theirs] = await Promise.all([
    pqzk(['pir', 'whois', 'cli-pub', '--owner', 'admin'], { env: anon }),
    pqzk(['pir', 'whois', 'cli-pub', '--owner', 'tenant:bob'], { env: anon }),
  ]);
  assert.equal(mine.code, 0, mine.stderr);
  assert.match(mine.stdout, /\(published by admin\)\n$/);
  fails(theirs, 1, /published by admin, not tenant:bob/);
  const gone = await pqzk(['pir', 'unpublish', 'cli-pub']);
  assert.equal(gone.stdout, 'unpublished cli-pub\n', gone.stderr);
  assert.ok(!json(await pqzk(['--json', 'pir', 'published'])).entries.some((e: { entryName: string }) => e.entryName === 'cli-pub'));
});

test('--help on every command (the whole command tree of the installed package), --version', async () => {
  const { program } = await import(join(pkg.installed, 'dist/cli/program.js')) as typeof import('../../src/cli/program.ts');
  const walk = (c: import('commander').Command, path: string[]): string[][] => [path, ...c.commands.filter((s) => s.name() !== 'help').flatMap((s) => walk(s, [...path, s.name()]))];
  const paths = walk(program('0'), []);
  assert.ok(paths.length >= 20, `${paths.length} commands`);
  for (const path of ['encrypt', 'decrypt', 'datakey', 'keys create', 'keys list', 'keys get', 'keys rotate', 'keys update', 'keys destroy-version', 'keys delete', 'keys public', 'keys sign', 'keys verify', 'session call', 'session run', 'zk register', 'zk login', 'pir get', 'pir lookup', 'pir find', 'pir whois', 'pir publish', 'pir unpublish', 'pir published', 'health', 'algorithms']) {
    assert.ok(paths.some((p) => p.join(' ') === path), `pqzk ${path} exists`);
  }
  // A few real --help runs for the exit code and stdout; the tree's help texts in-process (fast).
  const helpRuns = [[], ['keys', 'sign'], ['pir', 'lookup'], ['encrypt'], ['decrypt'], ['datakey']];
  const [runs, version] = await Promise.all([Promise.all(helpRuns.map((p) => pqzk([...p, '--help']))), pqzk(['--version'])]);
  helpRuns.forEach((p, i) => {
    assert.equal(runs[i]!.code, 0, runs[i]!.stderr);
    assert.match(runs[i]!.stdout, new RegExp(`^Usage: pqzk${p.length ? ' ' + p.join(' ') : ''} `));
  });
  assert.match(runs[0]!.stdout, /Exit codes: 0 ok, 1 the service refused \(or a check failed\), 2 usage, 3 service unreachable/);
  assert.match(runs[3]!.stdout, /--local[\s\S]*--pin[\s\S]*--aad[\s\S]*--info/);
  assert.match(runs[5]!.stdout, /--plaintext/);
  for (const p of paths) {
    let cmd = program('0');
    for (const name of p) cmd = cmd.commands.find((c) => c.name() === name)!;
    const help = cmd.helpInformation();
    assert.match(help, new RegExp(`^Usage: pqzk${p.length ? ' ' + p.join(' ') : ''} `), p.join(' '));
    assert.ok(cmd.description().length > 10, `pqzk ${p.join(' ')} has a description`);
  }
  assert.equal(version.stdout, JSON.parse(readFileSync(join(pkg.installed, 'package.json'), 'utf8')).version + '\n');
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
