/**
 * The client package's tarball (issue 17): built from src/client + src/cli, packed, installed
 * offline into a fresh project; then what is in it. No server module, no test file, no secret,
 * only client-side dependencies, an exports map whose every target exists, JavaScript with source
 * maps and types, and the size (reported).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { installPackage, PACKAGE_NAME, type InstalledPackage } from '../support/client-package.ts';
import { ADMIN_TOKEN } from '../support/app.ts';

let pkg: InstalledPackage;
before(() => { pkg = installPackage(); });
after(() => pkg?.cleanup());

const CLIENT_DEPENDENCIES = new Set(['@noble/ciphers', '@noble/curves', '@noble/hashes', '@noble/post-quantum', 'openapi-fetch', 'poseidon-lite', 'snarkjs', 'circom_runtime', 'commander']);
// What must never be shipped: the service process and its capability internals (as in .dependency-cruiser.cjs), and the native backend.
const SERVER_FILE = /^dist\/(store|http|workers)\/|^dist\/(app|server|cluster|config|context|capabilities|secrets)\.|^dist\/(keys|kex|zk|pir)\/(routes|repo|service|tasks|worker|plugin|server|kernel)\.|^dist\/crypto\/(native|hash)\./;

test('the tarball holds the built package and nothing else', (ctx) => {
  const files = pkg.packed.files;
  assert.ok(files.length > 20, `${files.length} files`);
  for (const f of files) assert.match(f, /^(dist\/.+\.(js|js\.map|d\.ts)|package\.json|README\.md|LICENSE)$/, `unexpected file ${f}`);
  for (const f of files) assert.doesNotMatch(f, SERVER_FILE, `server module ${f}`);
  for (const f of files) assert.doesNotMatch(f, /(^|\/)test\/|\.test\.|(^|\/)(data|circuits|bench)\//, `test or repository file ${f}`);
  for (const f of ['dist/client/sdk.js', 'dist/client/sdk.d.ts', 'dist/client/sdk.js.map', 'dist/cli/main.js', 'README.md', 'LICENSE']) assert.ok(files.includes(f), `${f} is shipped`);
  for (const js of files.filter((f) => f.endsWith('.js'))) {
    assert.ok(files.includes(`${js}.map`), `${js} has a source map`);
    assert.ok(files.includes(js.replace(/\.js$/, '.d.ts')), `${js} has types`);
  }
  assert.ok(pkg.packed.size < 512 * 1024, `packed size ${pkg.packed.size} bytes`);
  ctx.diagnostic(`${PACKAGE_NAME} tarball: ${files.length} files, ${(pkg.packed.size / 1024).toFixed(1)} KiB packed, ${(pkg.packed.unpackedSize / 1024).toFixed(1)} KiB unpacked`);
});

test('no secrets and no server code inside the shipped files', () => {
  // Secret values, and code that would read the service's secrets (the master key, ADMIN_TOKEN).
  const secretPatterns = [/BEGIN (RSA |EC |)PRIVATE KEY/, /MASTER_KEY/, /process\.env\.ADMIN_TOKEN/, new RegExp(ADMIN_TOKEN), /postgres:\/\/[^'"\s]*:[^'"\s]*@/];
  for (const f of pkg.packed.files) {
    const text = readFileSync(join(pkg.installed, f), 'utf8');
    for (const p of secretPatterns) assert.doesNotMatch(text, p, `${f} matches ${p}`);
    if (f.endsWith('.js') && !f.startsWith('dist/cli/')) {
      assert.doesNotMatch(text, /from\s*['"](node:|fastify|pg|piscina|@electric-sql)/, `${f} imports a node: or server module`);
    }
    if (f.endsWith('.js') || f.endsWith('.d.ts')) assert.doesNotMatch(text, /from\s*['"]\.{1,2}\/[^'"]+\.ts['"]/, `${f} keeps a .ts specifier`);
    // Browser users' compilers have no @types/node: the SDK's declarations must not need it.
    if (f.endsWith('.d.ts') && !f.startsWith('dist/cli/')) assert.doesNotMatch(text, /\bNodeJS\.|\bBuffer\b|from ['"]node:/, `${f} names a Node type`);
  }
});

test('the manifest: ESM, exports map with node and browser conditions, side-effect free, client-side dependencies only', () => {
  const m = JSON.parse(readFileSync(join(pkg.installed, 'package.json'), 'utf8')) as Record<string, any>;
  assert.equal(m.name, PACKAGE_NAME);
  assert.match(m.version, /^\d+\.\d+\.\d+/);
  assert.equal(m.type, 'module');
  assert.equal(m.sideEffects, false);
  assert.equal(m.license, 'MIT');
  assert.match(m.engines.node, /^>=20/);
  const root = m.exports['.'];
  for (const c of ['types', 'browser', 'node', 'default']) {
    assert.equal(typeof root[c], 'string', `condition ${c}`);
    assert.ok(existsSync(join(pkg.installed, root[c])), `${c} → ${root[c]} exists`);
  }
  assert.deepEqual(Object.keys(root)[0], 'types', 'types first (TypeScript takes the first matching condition)');
  assert.deepEqual(new Set(Object.keys(m.dependencies)), CLIENT_DEPENDENCIES);
  const rootManifest = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
  for (const [d, v] of Object.entries(m.dependencies as Record<string, string>)) assert.equal(v, rootManifest.dependencies[d], `${d} pinned like the service`);
  assert.equal(m.devDependencies, undefined);
  assert.equal(m.scripts, undefined, 'no install scripts');
  assert.equal(m.bin.pqzk, './dist/cli/main.js');
  const bin = join(pkg.installed, 'dist/cli/main.js');
  assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  assert.ok(statSync(pkg.bin).isFile(), 'npm linked the pqzk bin');
  assert.ok((statSync(bin).mode & 0o111) !== 0, 'the bin is executable');
});

test('source maps carry their sources (the .ts files are not shipped)', () => {
  const map = JSON.parse(readFileSync(join(pkg.installed, 'dist/client/kex.js.map'), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
  assert.equal(map.sources.length, 1);
  assert.match(map.sourcesContent?.[0] ?? '', /export async function openSecureSession/);
});
