/**
 * The artifact reproducibility check (`node circuits/build.ts --check`, docs/ZK.md §2): checksums,
 * byte-identical recompilation, both ceremony phases re-verified, vk re-exported. About 30 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('node circuits/build.ts --check passes on the committed artifacts', { timeout: 600_000 }, () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const r = spawnSync(process.execPath, ['circuits/build.ts', '--check'], { cwd: root, encoding: 'utf8', timeout: 590_000 });
  assert.equal(r.status, 0, `--check failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
});
