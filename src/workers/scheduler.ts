/**
 * Fair scheduler of CPU work across principals (tenants, the admin, anonymous clients keyed by
 * address prefix), in front of the worker pool. It replaces the FIFO task-count queue:
 *
 * - **Cost, not count.** Every job carries its estimated CPU-seconds (src/workers/cost.ts).
 * - **Fairness: start-time fair queueing (SFQ)** over per-principal FIFO queues. Each principal has
 *   a virtual clock; the head of its queue starts at max(V, finish of its previous job), a job
 *   advances the principal's clock by cost / weight, and the scheduler always dispatches the head
 *   with the smallest start tag (ties: smaller finish tag, then arrival). V is the start tag of the
 *   last dispatched job (the largest finish tag once nothing is queued or running). A principal
 *   that arrives while another has 100 expensive jobs queued starts at V, before all of them: it
 *   waits for at most about one job (the one whose start tag equals V), plus whatever is already
 *   running. Idle principals earn no credit.
 * - **Non-preemptive long jobs cannot take every thread.** A job longer than `longJobSeconds` may
 *   only run while fewer than `concurrency − reservedThreads` long jobs run, so `reservedThreads`
 *   (default 1 when there are ≥ 2 threads) always frees within `longJobSeconds` for short work:
 *   a tenant's SLH-DSA-SHAKE-256s batch (1.3 s per signature) never makes a 0.2 ms verify wait
 *   behind it. Short jobs may use every thread (work-conserving for the common case).
 * - **Admission by deadline.** On submit the scheduler estimates the job's completion: the work that
 *   the fair policy would serve before it (the principal's own queue, plus from each other principal
 *   the part of its queue whose start tags precede this job's, plus the remaining time of running
 *   jobs), divided by the threads, plus the job's own cost. If that exceeds the job's deadline the
 *   job is refused at once with AppError('overloaded') (503) and `retryAfter` = the time the
 *   principal's own backlog needs to drain at its fair share. A job that would start at once is
 *   never refused for its own length. Optional global caps (jobs, CPU-seconds) refuse the same way.
 *   A queued job whose deadline (+ `expireGraceMs`) has passed when its turn comes is dropped
 *   (refused), not run.
 * - **Gone clients.** A job whose AbortSignal fires while queued is removed before it runs; its
 *   promise rejects with AppError('overloaded', …, { cancelled: true }). A running job is not
 *   interrupted (a piscina task cannot be stopped without killing the thread).
 * - **Batches** (`submitBatch`) are admitted item by item in the same accounting (each item sees the
 *   earlier ones as its principal's backlog), and none starts before the batch is whole.
 *
 * Pure logic with an injected clock (`now`, ms), no timers. Costs are CPU-seconds, times ms.
 * Principal keys (`principalKey`, re-exported) are in src/workers/principal.ts.
 */
import { AppError } from '../errors.ts';
import type { BatchAdmission, Estimate, Job, PrincipalStats, SchedulerOptions, SchedulerStats, SettledInfo } from './scheduler-types.ts';

export { addressPrefix, principalKey } from './principal.ts';
/** Public types of the scheduler (src/workers/scheduler-types.ts). */
export type * from './scheduler-types.ts';

// ------------------------------------------------------------------------------------ internals

interface Entry {
  seq: number; p: PState; cost: number; long: boolean; deadline: number; signal: AbortSignal | undefined;
  run: () => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void; onAbort: (() => void) | undefined;
  submittedAt: number; startedAt: number; state: 'queued' | 'running' | 'done';
}

interface PState {
  key: string; weight: number;
  /** FIFO; `head` indexes its first live entry. */
  queue: Entry[]; head: number;
  queuedSeconds: number; queuedLongSeconds: number; running: Set<Entry>;
  /** Virtual finish tag of the last job dispatched. */
  lastFinish: number;
}

const EPS = 1e-12;

/** SFQ of CPU work across principals (module header); the constructor throws TypeError on bad options. */
export class FairScheduler {
  readonly concurrency: number;
  readonly #now: () => number;
  readonly #maxQueuedJobs: number;
  readonly #maxQueuedSeconds: number;
  readonly #longJobSeconds: number;
  readonly #longLimit: number;
  readonly #weight: (principal: string) => number;
  readonly #maxRetryAfter: number;
  readonly #expireGraceMs: number;
  readonly #onSettled: ((info: SettledInfo) => void) | undefined;

  readonly #principals = new Map<string, PState>();
  #virtual = 0;
  #maxFinish = 0;
  #seq = 0;
  #running = 0;
  #runningLong = 0;
  #queuedJobs = 0;
  #queuedSeconds = 0;
  #counters = { admitted: 0, refusedDeadline: 0, refusedCapacity: 0, cancelled: 0, expired: 0, completed: 0 };

  constructor(opts: SchedulerOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new TypeError('concurrency must be a positive integer');
    this.concurrency = opts.concurrency;
    this.#now = opts.now ?? Date.now;
    this.#maxQueuedJobs = opts.maxQueuedJobs ?? 10_000;
    this.#maxQueuedSeconds = opts.maxQueuedSeconds ?? Infinity;
    this.#longJobSeconds = opts.longJobSeconds ?? 0.05;
    const reserved = Math.min(opts.concurrency - 1, Math.max(0, opts.reservedThreads ?? (opts.concurrency >= 2 ? 1 : 0)));
    this.#longLimit = opts.concurrency - reserved;
    this.#weight = opts.weight ?? (() => 1);
    this.#maxRetryAfter = opts.maxRetryAfterSeconds ?? 60;
    this.#expireGraceMs = Math.max(0, opts.expireGraceMs ?? 0);
    this.#onSettled = opts.onSettled;
  }

  /** Queues `job`; the promise rejects at once with AppError('overloaded') when it cannot meet its deadline. */
  submit<T>(job: Job<T>): Promise<T> {
    try { return this.#admit(job, undefined) as Promise<T>; } catch (err) { return Promise.reject(err); }
  }

  /**
   * Admits the items one by one in the same accounting as `submit`. On the first refusal the
   * remaining items are not submitted; with `onRefusal: 'cancel'` the admitted items are cancelled
   * too (rejected with the refusal). No item starts before the whole batch is admitted, so a refused
   * batch has cost no worker time (a 64-item SLH-DSA batch used to burn its first signatures).
   */
  submitBatch<T>(jobs: Array<Job<T>>, opts: { onRefusal?: 'keep' | 'cancel' } = {}): BatchAdmission<T> {
    const results: Array<Promise<T>> = [];
    const entries: Entry[] = [];
    this.#holding++;
    try {
      for (let i = 0; i < jobs.length; i++) {
        let promise: Promise<T>;
        try {
          promise = this.#admit(jobs[i]!, entries) as Promise<T>;
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          if (opts.onRefusal === 'cancel') for (const e of entries) if (e.state === 'queued') this.#drop(e, 'cancelled', err);
          return { results, refused: { index: i, error: err } };
        }
        promise.catch(() => {}); // handled: a caller that stops reading after a refusal must not crash the process
        results.push(promise);
      }
      return { results };
    } finally {
      if (--this.#holding === 0) this.#held = this.#heldLong = 0;
      this.#dispatch();
    }
  }

  /** What admission would estimate for a job of `cost` from `principal` now (no side effect). */
  estimate(principal: string, cost: number): Estimate {
    return this.#estimate(this.#principals.get(principal), principal, sanitizeCost(cost));
  }

  get running(): number { return this.#running; }
  get queuedJobs(): number { return this.#queuedJobs; }
  get queuedSeconds(): number { return this.#queuedSeconds; }

  stats(top = 10): SchedulerStats {
    const list: PrincipalStats[] = [];
    let active = 0;
    for (const p of this.#principals.values()) {
      const queued = p.queue.length - p.head;
      if (queued > 0 || p.running.size > 0) active++;
      if (queued > 0) list.push({ principal: p.key, queuedJobs: queued, queuedSeconds: p.queuedSeconds, running: p.running.size });
    }
    list.sort((a, b) => b.queuedSeconds - a.queuedSeconds);
    return {
      concurrency: this.concurrency,
      running: this.#running,
      runningLong: this.#runningLong,
      queuedJobs: this.#queuedJobs,
      queuedSeconds: Math.max(0, this.#queuedSeconds),
      activePrincipals: active,
      ...this.#counters,
      top: list.slice(0, Math.max(0, top)),
    };
  }

  // ---------------------------------------------------------------------------------- admission

  #admit(job: Job<unknown>, batch: Entry[] | undefined): Promise<unknown> {
    const now = this.#now();
    const cost = sanitizeCost(job.cost);
    const deadline = job.deadline ?? Infinity;
    if (job.signal?.aborted) {
      this.#counters.cancelled++;
      return Promise.reject(cancelledError());
    }
    let p = this.#principals.get(job.principal);
    const refuse = (kind: 'refusedDeadline' | 'refusedCapacity', detail: string): never => {
      this.#counters[kind]++;
      throw new AppError('overloaded', detail, { retryAfter: this.#retryAfter(p, now) });
    };
    if (this.#queuedJobs >= this.#maxQueuedJobs || this.#queuedSeconds + cost > this.#maxQueuedSeconds + EPS) {
      const est = this.#estimate(p, job.principal, cost);
      if (!est.startsAtOnce) refuse('refusedCapacity', 'the worker queue is full; retry later');
    }
    if (Number.isFinite(deadline)) {
      const est = this.#estimate(p, job.principal, cost);
      if (!est.startsAtOnce && est.completion > deadline) {
        refuse('refusedDeadline', `the estimated completion (${Math.ceil(est.waitMs + cost * 1000)} ms) exceeds the request deadline; retry later`);
      }
    }
    if (!p) {
      p = { key: job.principal, weight: sanitizeWeight(this.#weight(job.principal)), queue: [], head: 0, queuedSeconds: 0, queuedLongSeconds: 0, running: new Set(), lastFinish: 0 };
      this.#principals.set(job.principal, p);
    }
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const e: Entry = {
      seq: this.#seq++, p, cost, long: cost > this.#longJobSeconds, deadline, signal: job.signal, run: job.run,
      resolve, reject, onAbort: undefined, submittedAt: now, startedAt: 0, state: 'queued',
    };
    if (job.signal) {
      e.onAbort = () => { if (e.state === 'queued') this.#drop(e, 'cancelled', cancelledError()); };
      job.signal.addEventListener('abort', e.onAbort, { once: true });
    }
    p.queue.push(e);
    p.queuedSeconds += cost;
    if (e.long) p.queuedLongSeconds += cost;
    this.#queuedJobs++;
    this.#queuedSeconds += cost;
    this.#counters.admitted++;
    batch?.push(e);
    if (this.#holding > 0) { this.#held++; if (e.long) this.#heldLong++; }
    this.#dispatch();
    return promise;
  }

  #headStart(p: PState): number {
    return Math.max(this.#virtual, p.lastFinish);
  }

  #estimate(p: PState | undefined, _key: string, cost: number): Estimate {
    const now = this.#now();
    const long = cost > this.#longJobSeconds;
    // Dispatch is eager: with a free thread this job may use, nothing queued could take it first
    // (whatever is queued is long and blocked by the long-job limit).
    // Items of a batch being admitted count as started (they take the threads first once it is whole).
    const startsAtOnce = this.#running + this.#held < this.concurrency && (!long || this.#runningLong + this.#heldLong < this.#longLimit);
    if (startsAtOnce) return { waitMs: 0, completion: now + cost * 1000, startsAtOnce };
    const w = p?.weight ?? sanitizeWeight(this.#weight(_key));
    // This job's start tag: after everything its principal already queued.
    const ownQueued = p ? p.queuedSeconds : 0;
    const ownLong = p ? p.queuedLongSeconds : 0;
    const start = (p ? this.#headStart(p) : this.#virtual) + ownQueued / w;
    let ahead = ownQueued;
    let aheadLong = ownLong;
    for (const q of this.#principals.values()) {
      if (q === p) continue;
      const n = q.queue.length - q.head;
      if (n === 0) continue;
      const qs = this.#headStart(q);
      if (start + EPS < qs) continue;
      // q's work with start tags before ours: w_q × (start − qs), plus about one job of q (the one straddling; ties go first).
      const part = Math.min(q.queuedSeconds, q.weight * (start - qs) + q.queuedSeconds / n);
      ahead += part;
      if (q.queuedSeconds > 0) aheadLong += part * (q.queuedLongSeconds / q.queuedSeconds);
    }
    let runningMs = 0;
    let runningLongMs = 0;
    for (const q of this.#principals.values()) {
      for (const r of q.running) {
        const left = Math.max(0, r.cost * 1000 - (now - r.startedAt));
        runningMs += left;
        if (r.long) runningLongMs += left;
      }
    }
    let waitMs = (ahead * 1000 + runningMs) / this.concurrency;
    if (long) waitMs = Math.max(waitMs, (aheadLong * 1000 + runningLongMs) / this.#longLimit);
    return { waitMs, completion: now + waitMs + cost * 1000, startsAtOnce };
  }

  /** Seconds until `p`'s own backlog (queued + running) drains at its fair share of the threads. */
  #retryAfter(p: PState | undefined, now: number): number {
    let own = 0;
    if (p) {
      own = p.queuedSeconds;
      for (const r of p.running) own += Math.max(0, r.cost - (now - r.startedAt) / 1000);
    }
    let active = 0;
    for (const q of this.#principals.values()) if (q.queue.length - q.head > 0 || q.running.size > 0) active++;
    if (!p || (p.queue.length - p.head === 0 && p.running.size === 0)) active++;
    const share = Math.min(this.concurrency, (this.concurrency * (p?.weight ?? 1)) / Math.max(1, active));
    return Math.min(this.#maxRetryAfter, Math.max(1, Math.ceil(own / share)));
  }

  // ---------------------------------------------------------------------------------- dispatch

  /** Batches being admitted (dispatch waits until they are whole), and the jobs / long jobs admitted meanwhile. */
  #holding = 0; #held = 0; #heldLong = 0;

  #dispatch(): void {
    if (this.#holding > 0) return;
    while (this.#running < this.concurrency && this.#queuedJobs > 0) {
      const e = this.#pick();
      if (!e) break; // only long jobs queued and the long slots are full
      this.#dequeue(e);
      const now = this.#now();
      if (now >= e.deadline + this.#expireGraceMs) {
        this.#settle(e, 'expired', now);
        this.#counters.expired++;
        e.reject(new AppError('overloaded', 'the request deadline passed before its work could start; retry later', { retryAfter: this.#retryAfter(e.p, now) }));
        continue;
      }
      this.#start(e, now);
    }
    if (this.#queuedJobs === 0 && this.#running === 0) this.#virtual = Math.max(this.#virtual, this.#maxFinish);
    this.#forgetIdle();
  }

  /** The queued head with the smallest (start, finish, seq) among those allowed to start now. */
  #pick(): Entry | undefined {
    const longOk = this.#runningLong < this.#longLimit;
    let best: Entry | undefined;
    let bestStart = 0;
    let bestFinish = 0;
    for (const p of this.#principals.values()) {
      // The first entry of p that may start: its head, unless the head is long and long slots are
      // full (p's short jobs behind a long head wait: per-principal order is FIFO).
      if (p.head >= p.queue.length) continue;
      const h = p.queue[p.head]!;
      if (h.long && !longOk) continue;
      const s = this.#headStart(p);
      const f = s + h.cost / p.weight;
      if (!best || s < bestStart - EPS || (Math.abs(s - bestStart) <= EPS && (f < bestFinish - EPS || (Math.abs(f - bestFinish) <= EPS && h.seq < best.seq)))) {
        best = h; bestStart = s; bestFinish = f;
      }
    }
    return best;
  }

  #dequeue(e: Entry): void {
    const p = e.p;
    const i = p.queue.indexOf(e, p.head);
    if (i === p.head) {
      p.head++;
    } else if (i > p.head) {
      p.queue.splice(i, 1);
    }
    if (p.head > 64 && p.head * 2 > p.queue.length) { p.queue.splice(0, p.head); p.head = 0; }
    p.queuedSeconds -= e.cost;
    if (e.long) p.queuedLongSeconds -= e.cost;
    if (p.head >= p.queue.length) { p.queuedSeconds = 0; p.queuedLongSeconds = 0; }
    this.#queuedJobs--;
    this.#queuedSeconds -= e.cost;
    if (this.#queuedJobs === 0) this.#queuedSeconds = 0;
    if (e.onAbort) e.signal?.removeEventListener('abort', e.onAbort);
  }

  #start(e: Entry, now: number): void {
    const p = e.p;
    const s = this.#headStart(p);
    p.lastFinish = s + e.cost / p.weight;
    this.#maxFinish = Math.max(this.#maxFinish, p.lastFinish);
    this.#virtual = Math.max(this.#virtual, s);
    e.state = 'running';
    e.startedAt = now;
    p.running.add(e);
    this.#running++;
    if (e.long) this.#runningLong++;
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(e.run());
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (v) => { this.#finish(e, 'ok'); e.resolve(v); },
      (err: unknown) => { this.#finish(e, 'error'); e.reject(err); },
    );
  }

  #finish(e: Entry, outcome: 'ok' | 'error'): void {
    const p = e.p;
    p.running.delete(e);
    this.#running--;
    if (e.long) this.#runningLong--;
    this.#counters.completed++;
    this.#settle(e, outcome, this.#now());
    this.#dispatch();
  }

  /** Removes a queued job without running it. */
  #drop(e: Entry, outcome: 'cancelled', err: unknown): void {
    this.#dequeue(e);
    this.#counters.cancelled++;
    this.#settle(e, outcome, this.#now());
    e.reject(err);
    this.#dispatch(); // resets V and forgets idle principals when this was the last queued job
  }

  #settle(e: Entry, outcome: SettledInfo['outcome'], now: number): void {
    const wasRunning = e.state === 'running';
    e.state = 'done';
    if (this.#onSettled) {
      const queuedMs = (wasRunning ? e.startedAt : now) - e.submittedAt;
      try {
        this.#onSettled({ principal: e.p.key, cost: e.cost, outcome, queuedMs, runMs: wasRunning ? now - e.startedAt : 0 });
      } catch { /* a metrics hook must not break scheduling */ }
    }
  }

  /** Bounded memory: a principal with nothing queued or running and no lead over V is forgotten. */
  #forgetIdle(): void {
    for (const [k, p] of this.#principals) {
      if (p.head >= p.queue.length && p.running.size === 0 && p.lastFinish <= this.#virtual + EPS) this.#principals.delete(k);
    }
  }
}

const sanitizeCost = (cost: number): number => (Number.isFinite(cost) && cost >= 0 ? cost : 0.001);
const sanitizeWeight = (w: number): number => (Number.isFinite(w) && w > 0 ? w : 1);
const cancelledError = (): AppError => new AppError('overloaded', 'the request went away before its work started', { retryAfter: 1, cancelled: true });
