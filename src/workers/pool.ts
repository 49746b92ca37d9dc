/**
 * Worker pool (piscina) for CPU-bound crypto, sized to the cores.
 *
 * With an `admission` (what buildApp passes), every task goes through the fair scheduler
 * (src/workers/admission.ts → scheduler.ts): accounted by estimated CPU-seconds to the principal of
 * the current request, served fairly between principals, refused at once with `overloaded` (503 +
 * Retry-After) when it cannot finish by the request's deadline, dropped if the client went away.
 * The scheduler never runs more tasks than there are threads, so piscina's own queue stays empty.
 * Without one (unit tests of the pool) a bounded FIFO queue refuses work beyond `maxQueue`.
 */
import { Piscina } from 'piscina';
import { availableParallelism } from 'node:os';
import { AppError } from '../errors.ts';
import type { Admission } from './admission.ts';
import type { TaskName, TaskInput, TaskOutput, TaskFailure, WorkerOptions } from './tasks.ts';

/** The worker pool the services run CPU-bound tasks in; refusals reject with `overloaded` (503). */
export interface WorkerPool {
  /** Runs task `name` in a worker; an AppError thrown there is thrown here with the same code. */
  run<N extends TaskName>(name: N, input: TaskInput<N>, transferList?: ArrayBuffer[]): Promise<TaskOutput<N>>;
  /**
   * Many tasks of one request (batch items), admitted item by item in the same accounting; when one
   * cannot be admitted, the queued earlier ones are cancelled and the refusal is thrown.
   */
  runBatch<N extends TaskName>(name: N, inputs: Array<TaskInput<N>>): Promise<Array<PromiseSettledResult<TaskOutput<N>>>>;
  readonly threads: number;
  /** Tasks waiting for a thread. */
  readonly queueSize: number;
  utilization(): number;
  close(): Promise<void>;
}

const saturated = (): AppError => new AppError('overloaded', 'the worker pool is saturated; retry later', { retryAfter: 1 });

/** A pool of `threads` workers (default: the cores) running the tasks of src/workers/tasks.ts on `cryptoBackend` (default native). */
export function createWorkerPool(opts: {
  threads?: number | undefined; maxQueue: number; cryptoBackend?: WorkerOptions['cryptoBackend']; admission?: Admission | undefined;
}): WorkerPool {
  const threads = opts.threads ?? availableParallelism();
  const { admission } = opts;
  const pool = new Piscina({
    filename: new URL('./tasks.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    maxQueue: admission ? Infinity : opts.maxQueue,
    idleTimeout: 60_000,
    workerData: { cryptoBackend: opts.cryptoBackend ?? 'native' } satisfies WorkerOptions,
  });

  /** One task on a thread now: the tagged AppError of a failed task is thrown again here. */
  async function start(name: string, input: unknown, transferList?: ArrayBuffer[]): Promise<never> {
    let out: unknown;
    try {
      // piscina's typings want a mutable array; the list is handed over, not reused.
      out = await pool.run({ name, input }, { transferList: transferList as never });
    } catch (err) {
      if ((err as Error)?.message?.includes('Task queue is at limit')) throw saturated();
      throw err;
    }
    const failure = (out as Partial<TaskFailure> | null)?.__taskError;
    if (failure) throw new AppError(failure.code, failure.message, failure.extra);
    return out as never;
  }

  return {
    threads,
    get queueSize() { return admission ? admission.scheduler.queuedJobs : pool.queueSize; },
    utilization: () => pool.utilization,
    run(name, input, transferList) {
      if (admission) return admission.run(name, input, () => start(name, input, transferList));
      if (pool.queueSize >= opts.maxQueue) return Promise.reject(saturated());
      return start(name, input, transferList);
    },
    async runBatch(name, inputs) {
      if (!admission) return Promise.allSettled(inputs.map((input) => this.run(name, input)));
      const batch = admission.runBatch(name, inputs, (input) => start(name, input), { onRefusal: 'cancel' });
      if (batch.refused) throw batch.refused.error;
      return Promise.allSettled(batch.results) as never;
    },
    async close() {
      await pool.close({ force: true });
    },
  };
}
