/**
 * The integration seam between the worker pool and the fair scheduler: one object the pool (or
 * buildApp) creates from the config, through which every worker task passes. It reads the request
 * scope (src/workers/request-scope.ts), estimates the task's cost (src/workers/cost.ts) and submits
 * it to the scheduler (src/workers/scheduler.ts), whose job calls the pool's real `piscina.run`.
 *
 *   const admission = createAdmission({ threads, costs, config });
 *   // in pool.run(name, input, transferList):
 *   return admission.run(name, input, () => piscina.run({ name, input }, { transferList }));
 *
 * Work outside any request scope is accounted to principal 'system' with no deadline.
 */
import type { Config } from '../config.ts';
import type { CostModel } from './cost.ts';
import { CpuBudget } from '../http/budget.ts';
import { FairScheduler, type BatchAdmission, type SchedulerOptions } from './scheduler.ts';
import { currentScope } from './request-scope.ts';

/** The configuration fields the scheduler reads. */
export type SchedulerConfig = Pick<Config, 'schedLongTaskMs' | 'schedReservedThreads' | 'schedMaxQueuedCpuMs' | 'schedExpireGraceMs' | 'workerQueue'>;
/** The configuration fields the anonymous CPU budget reads. */
export type BudgetConfig = Pick<Config, 'anonCpuMsPerMinute' | 'anonCpuBurstMs' | 'anonBudgetMaxPrefixes'>;

/** Principal of work started outside any request (sweepers, rotation, start-up). */
export const SYSTEM_PRINCIPAL = 'system';

/** Scheduler options from the configuration (WORKER_QUEUE caps queued tasks; SCHED_* the rest). */
export function schedulerOptions(config: SchedulerConfig, threads: number, now?: () => number): SchedulerOptions {
  return {
    concurrency: threads,
    maxQueuedJobs: config.workerQueue,
    ...(config.schedMaxQueuedCpuMs > 0 ? { maxQueuedSeconds: config.schedMaxQueuedCpuMs / 1000 } : {}),
    longJobSeconds: config.schedLongTaskMs / 1000,
    reservedThreads: config.schedReservedThreads,
    expireGraceMs: config.schedExpireGraceMs,
    ...(now ? { now } : {}),
  };
}

/** The anonymous CPU budget from the configuration, or undefined when ANON_CPU_MS_PER_MINUTE=0. */
export function createAnonymousBudget(config: BudgetConfig, now?: () => number): CpuBudget | undefined {
  if (config.anonCpuMsPerMinute <= 0) return undefined;
  return new CpuBudget({
    secondsPerMinute: config.anonCpuMsPerMinute / 1000,
    burstSeconds: config.anonCpuBurstMs / 1000,
    maxTracked: config.anonBudgetMaxPrefixes,
    ...(now ? { now } : {}),
  });
}

/** The seam between pool and scheduler: runs tasks accounted to the current request scope. */
export interface Admission {
  readonly scheduler: FairScheduler;
  readonly costs: CostModel;
  /** Runs worker task `name` through the scheduler, accounted to the current request scope. */
  run<T>(name: string, input: unknown, start: () => Promise<T>): Promise<T>;
  /** Many tasks of one request (e.g. sign batch items), admitted item by item; see FairScheduler.submitBatch. */
  runBatch<T>(name: string, inputs: unknown[], start: (input: unknown, index: number) => Promise<T>, opts?: { onRefusal?: 'keep' | 'cancel' }): BatchAdmission<T>;
  /** Flat gauges for registerMetrics (no per-principal labels: anonymous keys are client addresses). */
  gauges(): Record<string, number>;
}

/** Creates the Admission and its FairScheduler; refusals reject with `overloaded` (503). */
export function createAdmission(opts: { threads: number; costs: CostModel; config: SchedulerConfig; now?: () => number }): Admission {
  const scheduler = new FairScheduler(schedulerOptions(opts.config, opts.threads, opts.now));
  const job = <T>(name: string, input: unknown, start: () => Promise<T>) => {
    const scope = currentScope();
    return { principal: scope?.principal ?? SYSTEM_PRINCIPAL, cost: opts.costs.task(name, input), deadline: scope?.deadline, signal: scope?.signal, run: start };
  };
  return {
    scheduler,
    costs: opts.costs,
    run: (name, input, start) => scheduler.submit(job(name, input, start)),
    runBatch: (name, inputs, start, o) => scheduler.submitBatch(inputs.map((input, i) => job(name, input, () => start(input, i))), o),
    gauges() {
      const s = scheduler.stats(1);
      return {
        scheduler_threads: s.concurrency,
        scheduler_running_tasks: s.running,
        scheduler_running_long_tasks: s.runningLong,
        scheduler_queued_tasks: s.queuedJobs,
        scheduler_queued_cpu_seconds: s.queuedSeconds,
        scheduler_active_principals: s.activePrincipals,
        scheduler_max_principal_queued_cpu_seconds: s.top[0]?.queuedSeconds ?? 0,
        scheduler_admitted_total: s.admitted,
        scheduler_refused_deadline_total: s.refusedDeadline,
        scheduler_refused_capacity_total: s.refusedCapacity,
        scheduler_cancelled_total: s.cancelled,
        scheduler_expired_total: s.expired,
        scheduler_completed_total: s.completed,
        cost_model_factor: opts.costs.factor,
      };
    },
  };
}

/** Flat gauges of the anonymous budget for registerMetrics. */
export function budgetGauges(budget: CpuBudget | undefined): Record<string, number> {
  if (!budget) return {};
  const s = budget.stats();
  return {
    anon_budget_tracked_prefixes: s.tracked,
    anon_budget_charged_total: s.charged,
    anon_budget_refused_total: s.refused,
    anon_budget_evicted_total: s.evicted,
    anon_budget_charged_cpu_seconds_total: s.chargedSeconds,
  };
}
