/**
 * Child process of sdk-proving.test.ts: logs in with the SDK's default proving options (the
 * multi-threaded prover in Node), then with singleThread: true, closes the app and returns without
 * terminating the prover. The process must exit by itself: idle prover threads are unref'd.
 */
import { createClient } from '../../src/client/index.ts';
import { listeningTestApp } from '../support/app.ts';

const t = await listeningTestApp();
const client = createClient(t.baseUrl);
const { secret } = await client.zk.register('exit-user');
const spk = new Uint8Array(32).fill(7);
const a = await client.zk.login('exit-user', secret, spk);
const threads = ((globalThis as { curve_bn128?: { tm?: { workers?: unknown[] } } | null }).curve_bn128?.tm?.workers ?? []).length;
const b = await client.zk.login('exit-user', secret, spk, { singleThread: true });
const after = (globalThis as { curve_bn128?: { tm?: { workers?: unknown[] } } | null }).curve_bn128?.tm?.workers?.length ?? 0;
await t.close();
console.log(JSON.stringify({ ok: a.tokenType === 'Bearer' && b.tokenType === 'Bearer', threads, after }));
