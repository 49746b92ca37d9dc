/**
 * The installed client package from a consumer's side (issue 17): `tsc` type-checks a small
 * TypeScript file against the package's own `.d.ts` (NodeNext and bundler resolution; a file
 * with deliberate type errors, compiled in the same run, must fail with exactly those), and
 * esbuild bundles the package for the browser, where headless Chromium runs a secure-session handshake and a ZK login against a live service.
 * The browser part skips, saying why, without /usr/bin/chromium.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { build } from 'esbuild';
import { listeningTestApp, type TestApp } from '../support/app.ts';
import { installPackage, ROOT, type InstalledPackage } from '../support/client-package.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let pkg: InstalledPackage;
before(() => { pkg = installPackage(); });
after(() => pkg?.cleanup());

const CONSUMER = `
import { createClient, ServiceError, SecureSessionError, PirIntegrityError, computeMu, parseSignature, generateSecret,
  type Key, type PqzkClient, type SecureSession, type LoginResult, type PirDatabaseHandle, type Problem, type paths } from '@pqzk/client';

export async function flow(url: string, token: string, identityKey: string): Promise<string> {
  const client: PqzkClient = createClient(url, { token });
  const key: Key = await client.keys.create({ name: 'release', algorithm: 'ML-DSA-65' });
  const { signature, version } = await client.keys.sign(key.name, { message: new Uint8Array([1, 2, 3]) });
  const parsed: { version: number; bytes: Uint8Array } = parseSignature(signature);
  const mu: Uint8Array = computeMu((await client.keys.publicKey('release')).publicKey, new Uint8Array(0));
  const session: SecureSession = await client.openSecureSession({ identityKey });
  const login: LoginResult = await client.zk.login('alice', generateSecret(), session.clientPublicKey);
  session.setToken(login.accessToken);
  const db: PirDatabaseHandle = await client.pir.open('directory', { identityPublicKey: identityKey });
  const record: Uint8Array = await db.get(0);
  const raw = await client.api.GET('/v1/keys/{name}', { params: { path: { name: 'release' } } });
  const route: paths['/v1/health']['get'] | undefined = undefined;
  try { await client.keys.get('missing'); } catch (e) {
    if (e instanceof ServiceError) { const p: Problem = e.problem; return p.code; }
    if (e instanceof SecureSessionError || e instanceof PirIntegrityError) return e.message;
  }
  return [version, parsed.version, mu.length, record.length, raw.data?.latestVersion, route].join();
}
`;
const BROKEN = `
import { createClient } from '@pqzk/client';
const client = createClient('http://x');
const n: number = (await client.health()).status;          // status is 'ok', not a number
await client.keys.create({ name: 'k', algorithm: 'RSA-2048' }); // not a KeyAlgorithm
export { n };
`;

/**
 * One tsc run per resolution over both files: the consumer must compile cleanly and the broken file
 * must fail, exactly where expected. The package's own `.d.ts` are checked (skipLibCheck false);
 * TypeScript's default lib files are not (skipDefaultLibCheck), which halves the time.
 */
function tsc(resolution: 'NodeNext' | 'Bundler', files: string[]) {
  const config = join(pkg.project, `tsconfig.${resolution}.json`);
  writeFileSync(config, JSON.stringify({
    compilerOptions: {
      target: 'ES2022', lib: ['ES2022', 'DOM'], module: resolution === 'NodeNext' ? 'NodeNext' : 'ESNext', moduleResolution: resolution,
      strict: true, noEmit: true, skipLibCheck: false, skipDefaultLibCheck: true, types: [], exactOptionalPropertyTypes: false,
    },
    files,
  }));
  return spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', config], { cwd: pkg.project, encoding: 'utf8' });
}

for (const resolution of ['NodeNext', 'Bundler'] as const) {
  test(`tsc (${resolution} resolution, strict, the package's declarations checked) accepts a consumer of the package's types and rejects a wrong one`, () => {
    writeFileSync(join(pkg.project, 'consumer.ts'), CONSUMER);
    writeFileSync(join(pkg.project, 'broken.ts'), BROKEN);
    const r = tsc(resolution, ['consumer.ts', 'broken.ts']);
    assert.notEqual(r.status, 0);
    const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    assert.equal(errors.length, 2, r.stdout + r.stderr);
    assert.match(errors[0]!, /^broken\.ts\(4,7\): error TS2322/);
    assert.match(errors[1]!, /^broken\.ts\(5,\d+\): error TS2322: Type '"RSA-2048"'/);
    assert.doesNotMatch(r.stdout, /consumer\.ts/, 'the consumer compiles');
    assert.doesNotMatch(r.stdout, /node_modules/, 'no error inside the package');
  });
}

test('esbuild bundles the installed package for the browser; headless Chromium: handshake + ZK login', { timeout: 180_000 }, async (ctx) => {
  writeFileSync(join(pkg.project, 'entry.js'), "import { createClient } from '@pqzk/client'; globalThis.pqzk = { createClient };\n");
  const bundle = await build({
    entryPoints: [join(pkg.project, 'entry.js')], absWorkingDir: pkg.project, bundle: true, platform: 'browser', format: 'esm',
    target: 'es2022', write: false, logLevel: 'silent', metafile: true, define: { global: 'globalThis' },
  });
  const inputs = Object.keys(bundle.metafile.inputs);
  assert.ok(inputs.some((f) => f.includes('@pqzk/client/dist/client/kex.js')), 'the bundle is built from the installed package');
  assert.ok(!inputs.some((f) => f.startsWith('node:') || f.includes('/src/') && !f.includes('node_modules')), 'no node: module, no repository source');
  const js = bundle.outputFiles[0]!.contents;
  ctx.diagnostic(`browser bundle: ${(js.length / 1024).toFixed(0)} KiB`);
  if (!existsSync(CHROMIUM)) return void ctx.skip(`chromium not installed at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH); the bundle was built`);

  const t: TestApp & { baseUrl: string } = await listeningTestApp({ RATE_LIMIT_MAX: '1000000' });
  let server: Server | undefined;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--headless'] });
  try {
    // Page, bundle and a same-origin forward of /v1/* to the service.
    server = createServer(async (req, res) => {
      if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><script type="module" src="/sdk.js"></script>');
      if (req.url === '/sdk.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      if (!req.url?.startsWith('/v1/')) return void res.writeHead(404).end();
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => ['content-type', 'authorization', 'accept'].includes(k))) as Record<string, string>;
      const r = await fetch(t.baseUrl + req.url, { method: req.method!, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' }).end(Buffer.from(await r.arrayBuffer()));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const identityKey = Buffer.from((await t.app.ctx.systemKeys.identity()).publicKey).toString('base64url');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(origin + '/');
    await page.waitForFunction(() => (globalThis as { pqzk?: unknown }).pqzk !== undefined, undefined, { timeout: 60_000 });
    const out = await page.evaluate(async ({ base, identityKey }) => {
      const { createClient } = (globalThis as unknown as { pqzk: { createClient: typeof import('../../src/client/index.ts').createClient } }).pqzk;
      const client = createClient(base);
      const session = await client.openSecureSession({ identityKey });
      const health = await session.call('GET', '/v1/health');
      const reg = await client.zk.register('packaged-browser');
      const login = await client.zk.login('packaged-browser', reg.secret, session.clientPublicKey);
      session.setToken(login.accessToken);
      const keys = await session.call('GET', '/v1/keys');
      await session.close();
      return { health: health.status, keys: keys.status, ua: navigator.userAgent };
    }, { base: origin, identityKey });
    assert.deepEqual(errors, []);
    assert.match(out.ua, /Chrome/);
    assert.equal(out.health, 200, 'a call through the envelope after the handshake');
    assert.equal(out.keys, 200, 'the ZK token is accepted inside its session');
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await t.close();
  }
});
