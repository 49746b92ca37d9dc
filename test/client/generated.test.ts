/** src/client/schema.ts is generated from openapi.yaml and committed: regenerating must not change it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('the generated client is up to date with openapi.yaml', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'pqzk-gen-')), 'schema.ts');
  execFileSync(process.execPath, ['node_modules/openapi-typescript/bin/cli.js', 'openapi.yaml', '-o', out], { stdio: 'pipe' });
  const fresh = readFileSync(out, 'utf8');
  const committed = readFileSync('src/client/schema.ts', 'utf8');
  assert.ok(fresh.length > 1000);
  assert.equal(committed, fresh, 'src/client/schema.ts is stale: run `npm run gen:client` and commit the result');
});

test('the SDK imports no node: module (it must run in a browser)', () => {
  for (const file of readdirSync('src/client')) {
    const text = readFileSync(join('src/client', file), 'utf8');
    assert.doesNotMatch(text, /from ['"]node:/, `${file} imports a node: module`);
  }
});
