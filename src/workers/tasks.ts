/**
 * Tasks that run inside the worker threads. Each capability registers its CPU-bound
 * operations here; the pool calls the default export with {name, input}.
 * An AppError thrown by a task crosses the thread boundary as a tagged value (structured clone
 * drops custom fields of thrown errors) and the pool throws it again as an AppError.
 */
import { AppError } from '../errors.ts';
import { keyTasks } from '../keys/tasks.ts';
import { zkTasks } from '../zk/tasks.ts';
import { pirTasks } from '../pir/scan-task.ts';
import { kexTasks } from '../kex/tasks.ts';

// Each capability's CPU-bound tasks, merged here (one import per capability).
const tasks = {
  /** A trivial task: proves the pool works (tests, readiness). */
  echo: (input: { value: string }) => ({ value: input.value }),
  /** Busy-waits for `ms` milliseconds: used by tests to fill the pool. */
  spin: (input: { ms: number }) => {
    const end = Date.now() + input.ms;
    while (Date.now() < end) { /* spin */ }
    return { ms: input.ms };
  },
  /** Throws the given AppError: proves codes survive the thread boundary (tests). */
  fail: (input: { code: 'invalid_input'; message: string }): never => { throw new AppError(input.code, input.message); },
  ...keyTasks,
  ...zkTasks,
  ...pirTasks,
  ...kexTasks,
  // @tasks-end (spread capability task maps above this line, e.g. ...keyTasks)
} satisfies Record<string, (input: never) => unknown>;

export type TaskName = keyof typeof tasks;
export type TaskInput<N extends TaskName> = Parameters<(typeof tasks)[N]>[0];
export type TaskOutput<N extends TaskName> = Awaited<ReturnType<(typeof tasks)[N]>>;

export interface TaskFailure { __taskError: { code: AppError['code']; message: string; extra?: Record<string, unknown> | undefined } }

export default async function run({ name, input }: { name: TaskName; input: unknown }): Promise<unknown> {
  const task = tasks[name] as ((input: unknown) => unknown) | undefined;
  if (!task) throw new AppError('internal', `unknown worker task ${String(name)}`);
  try {
    return await task(input);
  } catch (err) {
    if (err instanceof AppError) return { __taskError: { code: err.code, message: err.message, extra: err.extra } } satisfies TaskFailure;
    throw err;
  }
}
