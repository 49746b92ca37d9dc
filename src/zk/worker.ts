/**
 * Worker side of the zk capability: `zk.verifyBatch`, Groth16 verification off the event loop. Each worker
 * thread loads the pinned verifier once (single-thread WASM curve, e(α, β) cached) and keeps it
 * until the pool terminates the thread (which frees the WASM memory with it).
 *
 * ffjavascript imports the `web-worker` package at load time, and that package, when loaded in any
 * thread other than the main one, assumes it IS a web worker it spawned itself (it reads
 * workerData.mod and crashes). The verifier never spawns workers (single-thread curve), so in pool
 * threads `web-worker` is resolved to a stub, with a module resolve hook registered before
 * verifier.ts (and so ffjavascript) is imported dynamically.
 */
import { registerHooks } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import type { Groth16Verifier } from './verifier.ts';

const WEB_WORKER_STUB = `data:text/javascript,${encodeURIComponent(
  'export default class Worker { constructor() { throw new Error("web workers are disabled in pool threads"); } }',
)}`;
let hooked = false;

function stubWebWorker(): void {
  if (hooked || isMainThread) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, next) {
      if (specifier === 'web-worker') return { url: WEB_WORKER_STUB, format: 'module', shortCircuit: true };
      return next(specifier, context);
    },
  });
}

let verifier: Promise<Groth16Verifier> | undefined;
let pinned: string | undefined;

function get(vkSha256: string): Promise<Groth16Verifier> {
  if (verifier === undefined || pinned !== vkSha256) {
    pinned = vkSha256;
    stubWebWorker();
    // The pin comes from the main thread, which checked it at start-up; the worker checks it again.
    verifier = import('./verifier.ts').then((m) => m.loadLoginVerifier({ expectedVkSha256: vkSha256 }));
    verifier.catch(() => { verifier = undefined; });
  }
  return verifier;
}

export interface ZkVerifyInput {
  vkSha256: string;
  /** Proof objects as received (checked by the verifier) and the signals the server rebuilt. */
  items: Array<{ proof: unknown; publicSignals: bigint[] }>;
}

/** One batch: random linear combination, per-proof fallback when the batch equation fails. */
export async function verifyBatch(input: ZkVerifyInput): Promise<boolean[]> {
  const v = await get(input.vkSha256);
  return input.items.length === 1 ? [v.verify(input.items[0]!.proof, input.items[0]!.publicSignals)] : v.verifyBatch(input.items);
}

/** The zk capability's worker tasks, for the registry in src/workers/tasks.ts. */
export const zkWorker = {
  'zk.verifyBatch': verifyBatch,
};
