/**
 * The PIR SDK bundles for a browser: esbuild with platform "browser" resolves src/client/index.ts
 * (which wires client.pir) with no Node built-in, and the bundle contains the PIR client half.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';

test('src/client (with client.pir) bundles for the browser without node: modules', async () => {
  const out = await build({
    entryPoints: ['src/client/index.ts'], bundle: true, platform: 'browser', format: 'esm', write: false,
    target: 'es2022', logLevel: 'silent', metafile: true,
  });
  assert.equal(out.errors.length, 0);
  const inputs = Object.keys(out.metafile.inputs);
  for (const f of ['src/client/pir.ts', 'src/pir/client.ts', 'src/pir/config.ts', 'src/pir/matrixA.ts']) assert.ok(inputs.includes(f), `${f} is in the bundle`);
  assert.ok(!inputs.some((f) => f.startsWith('node:') || f.includes('src/pir/service.ts') || f.includes('src/pir/server.ts')), 'no node: module or server code');
  const text = out.outputFiles[0]!.text;
  assert.doesNotMatch(text, /from\s*["']node:|require\(["']node:/);
  assert.match(text, /pqzk pir config v1/);
});
