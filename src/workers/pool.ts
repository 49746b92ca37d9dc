/**
 * Worker pool (piscina) for CPU-bound crypto: sized to the cores, with a bounded queue.
 * When the queue is full the task is refused at once with `overloaded` (503 + Retry-After)
 * instead of building an unbounded backlog.
 */
import { Piscina } from 'piscina';
import { availableParallelism } from 'node:os';
import { AppError } from '../errors.ts';
import type { TaskName, TaskInput, TaskOutput, TaskFailure, WorkerOptions } from './tasks.ts';

export interface WorkerPool {
  /** Runs task `name` in a worker; an AppError thrown there is thrown here with the same code. */
  run<N extends TaskName>(name: N, input: TaskInput<N>, transferList?: ArrayBuffer[]): Promise<TaskOutput<N>>;
  readonly threads: number;
  readonly queueSize: number;
  utilization(): number;
  close(): Promise<void>;
}

/** A pool of `threads` workers (default: the cores) running the tasks of src/workers/tasks.ts on `cryptoBackend` (default native). */
export function createWorkerPool(opts: { threads?: number | undefined; maxQueue: number; cryptoBackend?: WorkerOptions['cryptoBackend'] }): WorkerPool {
  const threads = opts.threads ?? availableParallelism();
  const pool = new Piscina({
    filename: new URL('./tasks.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    maxQueue: opts.maxQueue,
    idleTimeout: 60_000,
    workerData: { cryptoBackend: opts.cryptoBackend ?? 'native' } satisfies WorkerOptions,
  });
  return {
    threads,
    get queueSize() { return pool.queueSize; },
    utilization: () => pool.utilization,
    async run(name, input, transferList) {
      if (pool.queueSize >= opts.maxQueue) {
        throw new AppError('overloaded', 'the worker pool is saturated; retry later', { retryAfter: 1 });
      }
      let out: unknown;
      try {
        // piscina's typings want a mutable array; the list is handed over, not reused.
        out = await pool.run({ name, input }, { transferList: transferList as never });
      } catch (err) {
        if ((err as Error)?.message?.includes('Task queue is at limit')) {
          throw new AppError('overloaded', 'the worker pool is saturated; retry later', { retryAfter: 1 });
        }
        throw err;
      }
      const failure = (out as Partial<TaskFailure> | null)?.__taskError;
      if (failure) throw new AppError(failure.code, failure.message, failure.extra);
      return out as never;
    },
    async close() {
      await pool.close({ force: true });
    },
  };
}
