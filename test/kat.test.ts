/**
 * Known-answer suite inside `npm test`: the full ACVP + Wycheproof + community set on the native backend,
 * and a sample (2 cases per group) on noble, whose pure-JS SLH-DSA "s" sets are slow. Both runs spawn
 * test/kat/run.ts with --json and assert zero failures and passes in every suite.
 * Full noble coverage: `npm run kat`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allJobs, SUITES } from './kat/jobs.ts';
import { missingFiles, vectorDir, type KatRow } from './kat/lib.ts';

const runner = fileURLToPath(new URL('./kat/run.ts', import.meta.url));
const dir = vectorDir();
const missing = missingFiles(dir, [...new Set(allJobs().flatMap((j) => j.files))]);
const skip = missing.length > 0 && process.env['CI'] !== 'true'
  ? `${missing.length} KAT vector files missing under ${dir} (run \`npm run kat\` for the list and upstream sources; CI=true makes this a failure)`
  : false;

function runKat(args: string[]): Promise<{ code: number | null; rows: KatRow[]; out: string }> {
  const tmp = mkdtempSync(join(tmpdir(), 'kat-'));
  const json = join(tmp, 'rows.json');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, ...args, '--json', json], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        const rows = JSON.parse(readFileSync(json, 'utf8')) as KatRow[];
        resolve({ code, rows, out });
      } catch (e) {
        reject(new Error(`runner wrote no JSON (exit ${code}): ${(e as Error).message}\n${out.slice(-3000)}`));
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  });
}

function assertClean(name: string, r: { code: number | null; rows: KatRow[]; out: string }): void {
  const failed = r.rows.filter((row) => row.failed > 0);
  assert.deepEqual(failed.map((row) => `${row.suite} ${row.algorithm} ${row.function}: ${row.failed} failed`), [], `${name}: failures\n${r.out.slice(-3000)}`);
  assert.equal(r.code, 0, `${name}: runner exit ${r.code} (zero-case job or problem)\n${r.out.slice(-3000)}`);
  for (const suite of SUITES) {
    const passed = r.rows.filter((row) => row.suite === suite).reduce((s, row) => s + row.passed, 0);
    assert.ok(passed > 0, `${name}: suite ${suite} passed no case`);
  }
}

// Both runs start at once: the native one is short, the noble sample dominates the wall time.
const native = skip ? undefined : runKat(['--backend', 'native']);
const noble = skip ? undefined : runKat(['--backend', 'noble', '--sample', '2']);
// Never leave a rejected promise unobserved when only one test runs.
native?.catch(() => {});
noble?.catch(() => {});

test('KAT: full ACVP + Wycheproof + CCTV + X-Wing + RFC + Poseidon on the native backend', { skip, timeout: 600_000 }, async () => {
  const r = await native!;
  assertClean('native', r);
  const total = r.rows.reduce((s, row) => s + row.passed, 0);
  assert.ok(total > 5000, `native: only ${total} cases passed`);
});

test('KAT: the same set on noble, 2 cases per group', { skip, timeout: 600_000 }, async () => {
  const r = await noble!;
  assertClean('noble', r);
  assert.ok(r.rows.every((row) => row.backend === 'noble' || row.backend === 'js'));
});
