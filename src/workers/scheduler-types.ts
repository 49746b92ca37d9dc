/** Public types of the fair scheduler (src/workers/scheduler.ts); import them from there. */
import type { AppError } from '../errors.ts';

/** A unit of CPU work submitted to the scheduler. */
export interface Job<T> {
  /** principalKey(…) of whoever asked for the work; background work uses e.g. 'system'. */
  principal: string;
  /** Estimated CPU-seconds (cost model). */
  cost: number;
  /** Absolute time (ms, the scheduler's clock) by which the result is wanted; absent = none. */
  deadline?: number | undefined;
  /** The client went away: drop the job if it has not started. */
  signal?: AbortSignal | undefined;
  /** The work itself (e.g. () => piscina.run(task)); called at most once. */
  run: () => Promise<T>;
}

/** Options of FairScheduler. */
export interface SchedulerOptions {
  /** Jobs running at once (= worker threads). */
  concurrency: number;
  /** Clock in ms (default Date.now). */
  now?: () => number;
  /** Most jobs queued (not running) at once, over all principals (default 10,000). */
  maxQueuedJobs?: number;
  /** Most CPU-seconds queued at once, over all principals (default: no cap beyond deadlines). */
  maxQueuedSeconds?: number;
  /** Jobs estimated longer than this are "long" (default 0.05 s). */
  longJobSeconds?: number;
  /** Threads long jobs may not occupy (default 1 if concurrency ≥ 2, else 0; at most concurrency − 1). */
  reservedThreads?: number;
  /** Weighted fair share (default 1 for everyone). Read once per principal while it is active. */
  weight?: (principal: string) => number;
  /**
   * A queued job that has not started `expireGraceMs` after its deadline is dropped (refused) instead
   * of run (default 0: at the deadline; Infinity: never). Admission cannot foresee work that other
   * principals submit later and that the fair order serves first, so an admitted job can start late.
   */
  expireGraceMs?: number;
  /** Upper bound of retryAfter, seconds (default 60). */
  maxRetryAfterSeconds?: number;
  /** Called when a job leaves the scheduler (ran, failed, refused at dispatch, cancelled): metrics, cost feedback. */
  onSettled?: (info: SettledInfo) => void;
}

/** What the scheduler reports about a job once it settled. */
export interface SettledInfo {
  principal: string;
  cost: number;
  outcome: 'ok' | 'error' | 'cancelled' | 'expired';
  /** ms between submit and start (or drop). */
  queuedMs: number;
  /** ms the job ran (0 if it never started). */
  runMs: number;
}

/** Queued and running work of one principal. */
export interface PrincipalStats { principal: string; queuedJobs: number; queuedSeconds: number; running: number }

/** A snapshot of the scheduler (for metrics and tests). */
export interface SchedulerStats {
  concurrency: number;
  running: number;
  runningLong: number;
  queuedJobs: number;
  queuedSeconds: number;
  /** Principals with queued or running work. */
  activePrincipals: number;
  /** Cumulative counters since creation. */
  admitted: number;
  refusedDeadline: number;
  refusedCapacity: number;
  cancelled: number;
  expired: number;
  completed: number;
  /** The principals with the most queued CPU-seconds (at most `top`). */
  top: PrincipalStats[];
}

/** When a job would start and finish if submitted now. */
export interface Estimate {
  /** Estimated ms until the job would start (0: at once). */
  waitMs: number;
  /** Estimated completion, ms on the scheduler's clock. */
  completion: number;
  startsAtOnce: boolean;
}

/** Result of FairScheduler.submitBatch: the admitted items and the first refusal. */
export interface BatchAdmission<T> {
  /** One promise per admitted item, in order (items [0, results.length)). Already marked handled. */
  results: Array<Promise<T>>;
  /** The first refused item and why; every later item was refused with it (not submitted). */
  refused?: { index: number; error: AppError } | undefined;
}
