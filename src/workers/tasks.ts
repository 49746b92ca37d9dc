/**
 * The one registry of worker tasks, and the entry point piscina loads in each worker thread.
 * Each capability keeps its worker-side code in `<capability>/worker.ts` and contributes one map
 * of tasks named `<capability>.<operation>`; this file only merges them, so no capability module
 * imports the pool's internals (no import cycle through here).
 *
 * Error transport across threads (the only one): an AppError thrown by a task is returned as a
 * tagged value (structured clone drops custom fields of thrown errors) and the pool throws it
 * again as an AppError with the same code, message and extra members. Anything else is a bug and
 * reaches the caller as a plain error (a 500 without detail).
 *
 * The crypto backend reaches tasks once: `workerData.cryptoBackend`, set at pool creation.
 */
import { workerData } from 'piscina';
import { getBackend } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import type { WorkerEnv } from './env.ts';
import { keysWorker } from '../keys/worker.ts';
import { kexWorker } from '../kex/worker.ts';
import { zkWorker } from '../zk/worker.ts';
import { pirWorker } from '../pir/worker.ts';

/** Tasks of the pool itself: they prove the pool works (tests, readiness). */
const poolTasks = {
  'pool.echo': (input: { value: string }) => ({ value: input.value }),
  /** Busy-waits for `ms` milliseconds: used by tests to fill the pool. */
  'pool.spin': (input: { ms: number }) => {
    const end = Date.now() + input.ms;
    while (Date.now() < end) { /* spin */ }
    return { ms: input.ms };
  },
  /** Throws the given AppError: proves codes survive the thread boundary (tests). */
  'pool.fail': (input: { code: 'invalid_input'; message: string }): never => { throw new AppError(input.code, input.message); },
};

const tasks = {
  ...poolTasks,
  ...keysWorker,
  ...kexWorker,
  ...zkWorker,
  ...pirWorker,
} satisfies Record<string, (input: never, env: WorkerEnv) => unknown>;

/** Name of a registered worker task (`<capability>.<operation>`). */
export type TaskName = keyof typeof tasks;
/** Input type of task N. */
export type TaskInput<N extends TaskName> = Parameters<(typeof tasks)[N]>[0];
/** Output type of task N (awaited). */
export type TaskOutput<N extends TaskName> = Awaited<ReturnType<(typeof tasks)[N]>>;

/** What a failed task returns instead of its output. */
export interface TaskFailure { __taskError: { code: AppError['code']; message: string; extra?: Record<string, unknown> | undefined } }

/** Options the pool hands every worker thread (piscina `workerData`). */
export interface WorkerOptions { cryptoBackend: 'native' | 'noble' }

let env: WorkerEnv | undefined;

export default async function run({ name, input }: { name: TaskName; input: unknown }): Promise<unknown> {
  env ??= { backend: getBackend((workerData as Partial<WorkerOptions> | undefined)?.cryptoBackend ?? 'native') };
  const task = tasks[name] as ((input: unknown, env: WorkerEnv) => unknown) | undefined;
  if (!task) throw new AppError('internal', `unknown worker task ${String(name)}`);
  try {
    return await task(input, env);
  } catch (err) {
    if (err instanceof AppError) return { __taskError: { code: err.code, message: err.message, extra: err.extra } } satisfies TaskFailure;
    throw err;
  }
}
