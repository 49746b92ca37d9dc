/**
 * Collects concurrent login verifications into batches (Groth16Verifier.verifyBatch, run as the
 * pool task 'zk.verifyBatch' of worker.ts: one random linear combination, n + 3 Miller loops and
 * one final exponentiation instead of 3n and n).
 *
 * Policy: a proof waits at most `maxWaitMs` for company, or less if `maxBatch` proofs are queued;
 * at most `maxInFlight` batches run at once (one per worker thread). While every worker is busy,
 * arrivals keep accumulating, so batches grow exactly when the service is loaded and a lone login
 * pays only `maxWaitMs` of latency. A batch whose equation fails is re-checked proof by proof (in
 * the verifier), so one bad proof never rejects the others.
 */
import { AppError } from '../errors.ts';

/** Verifies one batch; resolves to one verdict per item, in order (rejects only on infrastructure errors). */
export type BatchRunner = (items: Array<{ proof: unknown; publicSignals: bigint[] }>) => Promise<boolean[]>;

interface Pending {
  proof: unknown;
  publicSignals: bigint[];
  resolve(ok: boolean): void;
  reject(err: unknown): void;
  /** Absolute deadline (Date.now ms) and abort signal of the login's request: dropped before dispatch when past or gone. */
  deadline?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Per-item request context (the request scope of the login). */
export interface VerifyContext { deadline?: number | undefined; signal?: AbortSignal | undefined }

/** Batching policy: largest batch, longest wait in ms, most batches running at once. */
export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
  maxInFlight: number;
  /** Most proofs waiting for a batch; beyond, a login is refused at once (503 + Retry-After). Default 16 batches. */
  maxQueue?: number;
}

const busy = (): AppError => new AppError('overloaded', 'too many logins are waiting for verification; retry later', { retryAfter: 1 });

/**
 * Batches proofs for a {@link BatchRunner}; `verify` has the ProofVerifier shape of service.ts (policy: module header).
 *
 * @example
 * const batcher = new VerifyBatcher((items) => pool.run('zk.verifyBatch', { vkSha256, items }), { maxBatch: 32, maxWaitMs: 2, maxInFlight: pool.threads });
 * const ok = await batcher.verify(proof, publicSignals);
 */
export class VerifyBatcher {
  readonly #run: BatchRunner;
  readonly #opts: BatcherOptions;
  #queue: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight = 0;
  #closed = false;
  /** Sizes of the batches dispatched so far (for tests and metrics). */
  readonly stats = { batches: 0, proofs: 0, largest: 0 };

  constructor(run: BatchRunner, opts: BatcherOptions) {
    this.#run = run;
    this.#opts = { ...opts, maxBatch: Math.max(1, opts.maxBatch), maxInFlight: Math.max(1, opts.maxInFlight) };
  }

  /**
   * Resolves to the verdict for this proof (false for any invalid or malformed proof). Rejects when
   * the batcher is closed or the batch runner fails.
   */
  verify(proof: unknown, publicSignals: bigint[], ctx: VerifyContext = {}): Promise<boolean> {
    if (this.#closed) return Promise.reject(new Error('verifier batcher is closed'));
    if (this.#queue.length >= (this.#opts.maxQueue ?? 16 * this.#opts.maxBatch)) return Promise.reject(busy());
    return new Promise<boolean>((resolve, reject) => {
      this.#queue.push({ proof, publicSignals, resolve, reject, deadline: ctx.deadline, signal: ctx.signal });
      if (this.#queue.length >= this.#opts.maxBatch) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#opts.maxWaitMs);
    });
  }

  #flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#queue.length > 0 && this.#inFlight < this.#opts.maxInFlight) {
      // Logins whose request is past its deadline or gone are refused here, not verified.
      const now = Date.now();
      const batch = this.#queue.splice(0, this.#opts.maxBatch).filter((p) => {
        if ((p.deadline === undefined || now <= p.deadline) && !p.signal?.aborted) return true;
        p.reject(busy());
        return false;
      });
      if (batch.length > 0) this.#dispatch(batch);
    }
  }

  #dispatch(batch: Pending[]): void {
    this.#inFlight++;
    this.stats.batches++;
    this.stats.proofs += batch.length;
    this.stats.largest = Math.max(this.stats.largest, batch.length);
    this.#run(batch.map((p) => ({ proof: p.proof, publicSignals: p.publicSignals })))
      .then(
        (verdicts) => batch.forEach((p, i) => p.resolve(verdicts[i] === true)),
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      )
      .finally(() => {
        this.#inFlight--;
        // Whatever queued while the workers were busy goes out now, as one batch per free worker.
        if (this.#queue.length > 0) this.#flush();
      });
  }

  /** Rejects queued work (and every later verify); batches already running finish. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const q = this.#queue;
    this.#queue = [];
    for (const p of q) p.reject(new Error('verifier batcher is closed'));
  }
}
