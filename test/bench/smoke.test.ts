/**
 * The benchmarks stay runnable: a short `npm run bench -- encrypt` (issue 14 asks for it in CI) must
 * exit 0 and print its ratio table. Nothing here asserts a figure: timing belongs to the benchmark.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('bench encrypt runs end to end and prints its HTTP / pool ratios', { timeout: 300_000 }, () => {
  const r = spawnSync(process.execPath, ['bench/run.ts', 'encrypt', '--seconds', '1', '--mb', '1'], { cwd: ROOT, encoding: 'utf8', timeout: 280_000 });
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stderr.slice(-2000)}`);
  const out = r.stdout + r.stderr;
  assert.match(out, /X-Wing encrypt/);
  assert.match(out, /ratio/);
  assert.match(out, /MB\/s/);
});
