/**
 * The SDK in a browser: esbuild bundles src/client (with snarkjs's browser build) for the browser,
 * a local server serves the page and the bundle and forwards /v1/* to the service (same origin),
 * and headless Chromium registers, proves and logs in. Skips, saying why, without /usr/bin/chromium.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { testApp, type TestApp } from '../support/app.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = fileURLToPath(new URL('../../', import.meta.url));
let t: TestApp | undefined;
let server: Server | undefined;
let origin = '';

const PAGE = '<!doctype html><meta charset="utf-8"><title>pqzk zk sdk</title><script type="module" src="/sdk.js"></script>';

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  t = await testApp();
  const api = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const bundle = await build({
    stdin: { contents: "import { createClient } from './src/client/index.ts'; globalThis.pqzk = { createClient };", resolveDir: root, loader: 'ts' },
    bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent',
    define: { global: 'globalThis' },
  });
  const js = bundle.outputFiles[0]!.contents;
  server = createServer(async (req, res) => {
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (req.url === '/sdk.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    if (req.url?.startsWith('/v1/')) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => ['content-type', 'authorization', 'accept'].includes(k))) as Record<string, string>;
      const r = await fetch(api + req.url, { method: req.method!, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
      const out = Buffer.from(await r.arrayBuffer());
      return void res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' }).end(out);
    }
    return void res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await t?.close();
});

test('headless Chromium: the bundled SDK registers, proves with snarkjs and logs in', { timeout: 300_000 }, async (ctx) => {
  if (!existsSync(CHROMIUM)) {
    ctx.skip(`chromium not installed at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--headless'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(origin + '/');
    await page.waitForFunction(() => (globalThis as { pqzk?: unknown }).pqzk !== undefined, undefined, { timeout: 60_000 });
    const identityKey = Buffer.from((await t!.app.ctx.systemKeys.identity()).publicKey).toString('base64url');
    const out = await page.evaluate(async ({ base, identityKey }) => {
      const { createClient } = (globalThis as unknown as { pqzk: { createClient: typeof import('../../src/client/index.ts').createClient } }).pqzk;
      const client = createClient(base);
      const reg = await client.zk.register('browser-user');
      // The token is bound to the secure session's client key and used inside that session.
      const session = await client.openSecureSession({ identityKey });
      const spk = session.clientPublicKey;
      const login = await client.zk.login('browser-user', reg.secret, spk);
      session.setToken(login.accessToken);
      const key = await session.call('POST', '/v1/keys', { name: 'from-browser', algorithm: 'ML-DSA-44' });
      const direct = await fetch(`${base}/v1/keys`, { headers: { authorization: `Bearer ${login.accessToken}` } });
      await session.close();
      let wrong = '';
      try { await client.zk.login('browser-user', '12345', spk); } catch (e) { wrong = (e as Error).message; }
      return { token: login.accessToken, provingMs: login.provingMs, key: (key.body as { name: string }).name, keyStatus: key.status, direct: direct.status, wrong, ua: navigator.userAgent };
    }, { base: origin, identityKey });
    assert.deepEqual(errors, []);
    assert.match(out.ua, /Chrome/);
    assert.equal(out.keyStatus, 201);
    assert.equal(out.key, 'from-browser');
    assert.equal(out.direct, 401, 'the bound token is refused outside its session');
    assert.equal(out.wrong, 'unauthorized: login failed');
    assert.equal((await t!.app.ctx.tokens.verify(out.token)).sub, 'browser-user');
    ctx.diagnostic(`browser proving time: ${out.provingMs.toFixed(0)} ms`);
  } finally {
    await browser.close();
  }
});
