/**
 * SDK proving defaults in Node (src/client/zk.ts): the default login proves with the
 * multi-threaded prover (its curve, with worker threads, stays cached for later logins), a
 * `singleThread: true` login afterwards leaves that cached curve in place, and a process that used
 * both exits on its own without terminating anything (the idle threads are unref'd). The circuit's
 * WASM is compiled once for five logins, three of them concurrent (one cached witness calculator).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('default Node proving is multi-threaded, keeps its curve, and never keeps the process alive', { timeout: 240_000 }, async () => {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./_sdk-exit-child.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, 200_000);
    child.once('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  assert.notEqual(code, null, `the child did not exit by itself; output: ${out}`);
  assert.equal(code, 0, out);
  const r = JSON.parse(out.trim().split('\n').pop()!) as { ok: boolean; threads: number; after: number; circuitCompiles: number };
  assert.ok(r.ok, 'every login, the concurrent ones included, got a token');
  assert.equal(r.circuitCompiles, 1, 'the witness calculator is built once and reused');
  assert.ok(r.threads >= 1, 'the default prover ran on worker threads');
  assert.equal(r.after, r.threads, 'the multi-threaded curve is back in place after a calling-thread login');
});
