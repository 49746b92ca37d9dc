/**
 * Child process of sdk-proving.test.ts: logs in with the SDK's default proving options (the
 * multi-threaded prover in Node), then with singleThread: true, closes the app and returns without
 * terminating the prover. The process must exit by itself: idle prover threads are unref'd.
 * It also counts compilations of the circuit's WASM (> 1 MB) across all logins, three of them
 * concurrent: the SDK builds the witness calculator once and queues its calls.
 */
import { createClient } from '../../src/client/index.ts';
import { listeningTestApp } from '../support/app.ts';

let circuitCompiles = 0;
const compile = WebAssembly.compile.bind(WebAssembly);
WebAssembly.compile = (bytes: Parameters<typeof WebAssembly.compile>[0]) => {
  if (bytes.byteLength > 1_000_000) circuitCompiles++;
  return compile(bytes);
};
const t = await listeningTestApp();
const client = createClient(t.baseUrl);
const { secret } = await client.zk.register('exit-user');
const spk = new Uint8Array(32).fill(7);
const a = await client.zk.login('exit-user', secret, spk);
const threads = ((globalThis as { curve_bn128?: { tm?: { workers?: unknown[] } } | null }).curve_bn128?.tm?.workers ?? []).length;
const b = await client.zk.login('exit-user', secret, spk, { singleThread: true });
const after = (globalThis as { curve_bn128?: { tm?: { workers?: unknown[] } } | null }).curve_bn128?.tm?.workers?.length ?? 0;
const concurrent = await Promise.all([1, 2, 3].map(() => client.zk.login('exit-user', secret, spk)));
await t.close();
const ok = [a, b, ...concurrent].every((r) => r.tokenType === 'Bearer');
console.log(JSON.stringify({ ok, threads, after, circuitCompiles }));
