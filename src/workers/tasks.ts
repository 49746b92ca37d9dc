/**
 * Tasks that run inside the worker threads. Each capability registers its CPU-bound
 * operations here; the pool calls the default export with {name, input}.
 * Errors cross the thread boundary as plain objects; AppError codes are preserved.
 */
import { AppError } from '../errors.ts';

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
  // @tasks-end (spread capability task maps above this line, e.g. ...keyTasks)
} satisfies Record<string, (input: never) => unknown>;

export type TaskName = keyof typeof tasks;
export type TaskInput<N extends TaskName> = Parameters<(typeof tasks)[N]>[0];
export type TaskOutput<N extends TaskName> = Awaited<ReturnType<(typeof tasks)[N]>>;

export default async function run({ name, input }: { name: TaskName; input: unknown }): Promise<unknown> {
  const task = tasks[name] as ((input: unknown) => unknown) | undefined;
  if (!task) throw new AppError('internal', `unknown worker task ${String(name)}`);
  return task(input);
}
