/**
 * The SDK works from a browser bundle: esbuild bundles src/client/index.ts for platform=browser
 * (a `node:` import anywhere in its graph fails the build), and the bundle, loaded as a plain ES
 * module, runs a handshake and an envelope call against the service over a real socket.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { testApp, type TestApp } from '../support/app.ts';

let t: TestApp;
let baseUrl: string;
let dir: string;
before(async () => {
  t = await testApp();
  baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
  dir = mkdtempSync(join(tmpdir(), 'pqzk-bundle-'));
});
after(async () => { await t.close(); rmSync(dir, { recursive: true, force: true }); });

test('browser bundle of the SDK: no node: imports, handshake + envelope call work', async () => {
  const out = await build({
    entryPoints: [new URL('../../src/client/index.ts', import.meta.url).pathname],
    bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent',
  });
  const code = out.outputFiles[0]!.text;
  assert.doesNotMatch(code, /from\s*["']node:|require\(["']node:/);
  const file = join(dir, 'sdk.mjs');
  writeFileSync(file, code);
  const sdk = await import(pathToFileURL(file).href) as typeof import('../../src/client/index.ts');
  const identity = await t.app.ctx.systemKeys.identity();
  const s = await sdk.createClient(baseUrl).openSecureSession({ identityKey: identity.publicKey });
  const r = await s.call('GET', '/v1/algorithms');
  assert.equal(r.status, 200);
  assert.ok(Array.isArray((r.body as { algorithms: unknown[] }).algorithms));
  await s.close();
});
