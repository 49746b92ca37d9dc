/**
 * Per-address CPU budget for anonymous expensive operations (verifyWithPublicKey, openSession,
 * createChallenge / login, pirQuery): a token bucket of CPU-seconds per address prefix (IPv4 /24,
 * IPv6 /64, the scheduler's `anon:<prefix>` principal keys). Each request is charged its estimated
 * cost (src/workers/cost.ts `model.request(…)`) before any work; an empty bucket answers 429
 * (`rate_limited`) with `retryAfter` = the seconds until the bucket holds the cost again. The
 * request-count rate limit (@fastify/rate-limit) stays as the outer guard; tenants and the admin
 * are not budgeted here (the fair scheduler shares CPU between them).
 *
 * - Refill: `secondsPerMinute / 60` CPU-seconds per second, up to `burstSeconds`.
 * - A request is admitted when the bucket holds min(cost, burst): an operation dearer than the
 *   whole burst is possible from a full bucket, which then goes into debt (negative) and refills.
 * - Bounded memory: at most `maxTracked` prefixes. Inserting beyond it first forgets the least
 *   recently used buckets that have refilled completely (they carry no information), then the least
 *   recently used one (its debt is forgiven: an attacker needs > maxTracked prefixes for that).
 *
 * Pure logic with an injectable clock (ms); no `node:` import.
 */
import { AppError } from '../errors.ts';

/** Options of a CpuBudget; rates and capacities are in CPU-seconds. */
export interface CpuBudgetOptions {
  /** CPU-seconds one address prefix may spend per minute (the refill rate × 60). */
  secondsPerMinute: number;
  /** Bucket capacity in CPU-seconds: what a quiet prefix may spend at once (default secondsPerMinute / 3). */
  burstSeconds?: number;
  /** Most prefixes tracked at once (default 50,000; ~100 B each). */
  maxTracked?: number;
  /** Clock in ms (default Date.now). */
  now?: () => number;
}

/** Outcome of a charge: admitted with what remains, or refused with the seconds to wait. */
export type ChargeResult = { ok: true; remaining: number } | { ok: false; retryAfter: number };

/** Counters of a CpuBudget (for metrics). */
export interface BudgetStats { tracked: number; charged: number; refused: number; evicted: number; chargedSeconds: number }

interface Bucket { tokens: number; at: number }

const EPS = 1e-12;
/** Entries inspected for a full bucket before the least recently used one is dropped. */
const EVICTION_SCAN = 32;

/** Anonymous principal keys (`anon:<prefix>`, src/workers/principal.ts principalKey) are budgeted; others not. */
export const isBudgetedKey = (key: string): boolean => key.startsWith('anon:');

/** Token buckets of CPU-seconds per address prefix; the constructor throws TypeError on bad options. */
export class CpuBudget {
  readonly #rate: number; // CPU-seconds per ms
  readonly #cap: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();
  #stats = { charged: 0, refused: 0, evicted: 0, chargedSeconds: 0 };

  constructor(opts: CpuBudgetOptions) {
    if (!(opts.secondsPerMinute > 0) || !Number.isFinite(opts.secondsPerMinute)) throw new TypeError('secondsPerMinute must be a positive number');
    this.#rate = opts.secondsPerMinute / 60_000;
    const burst = opts.burstSeconds ?? opts.secondsPerMinute / 3;
    if (!(burst > 0) || !Number.isFinite(burst)) throw new TypeError('burstSeconds must be a positive number');
    this.#cap = burst;
    this.#max = Math.max(1, Math.floor(opts.maxTracked ?? 50_000));
    this.#now = opts.now ?? Date.now;
  }

  /** Charges `cost` CPU-seconds to `key`, or returns how long to wait. */
  tryCharge(key: string, cost: number): ChargeResult {
    const c = Number.isFinite(cost) && cost > 0 ? cost : 0;
    const now = this.#now();
    const b = this.#touch(key, now);
    const need = Math.min(c, this.#cap);
    if (b.tokens + EPS < need) {
      this.#stats.refused++;
      return { ok: false, retryAfter: Math.max(1, Math.ceil((need - b.tokens) / this.#rate / 1000 - 1e-9)) };
    }
    b.tokens -= c;
    this.#stats.charged++;
    this.#stats.chargedSeconds += c;
    return { ok: true, remaining: b.tokens };
  }

  /** Like tryCharge, but throws AppError('rate_limited') (429 + Retry-After) when the budget is spent. */
  charge(key: string, cost: number): void {
    const r = this.tryCharge(key, cost);
    if (!r.ok) {
      throw new AppError('rate_limited', `the CPU budget of this client address (${fmt(this.#rate * 60_000)} CPU-seconds per minute) is spent; retry later`, { retryAfter: r.retryAfter });
    }
  }

  /**
   * Refuses at once (429) while an anonymous key's bucket is empty or in debt: the cheap check that
   * runs before a budgeted request's body is read, parsed and validated. The exact charge comes later.
   */
  gate(key: string): void {
    if (!isBudgetedKey(key)) return;
    const b = this.#buckets.get(key);
    if (!b) return;
    this.#refill(b, this.#now());
    if (b.tokens > EPS) return;
    this.#stats.refused++;
    throw new AppError('rate_limited', `the CPU budget of this client address (${fmt(this.#rate * 60_000)} CPU-seconds per minute) is spent; retry later`,
      { retryAfter: Math.max(1, Math.ceil((EPS - b.tokens) / this.#rate / 1000)) });
  }

  /** Charges only anonymous principal keys (`anon:…`); tenants and the admin pass. */
  chargeIfBudgeted(key: string, cost: number): void {
    if (isBudgetedKey(key)) this.charge(key, cost);
  }

  /** Gives back a charge whose work never ran (e.g. the scheduler refused it). */
  refund(key: string, cost: number): void {
    const b = this.#buckets.get(key);
    if (!b || !(cost > 0)) return;
    this.#refill(b, this.#now());
    b.tokens = Math.min(this.#cap, b.tokens + cost);
  }

  /** CPU-seconds `key` may spend now (the burst for an unknown key). */
  remaining(key: string): number {
    const b = this.#buckets.get(key);
    if (!b) return this.#cap;
    this.#refill(b, this.#now());
    return b.tokens;
  }

  get size(): number { return this.#buckets.size; }

  stats(): BudgetStats {
    return { tracked: this.#buckets.size, ...this.#stats };
  }

  #refill(b: Bucket, now: number): void {
    if (now > b.at) {
      b.tokens = Math.min(this.#cap, b.tokens + (now - b.at) * this.#rate);
      b.at = now;
    }
  }

  /** The bucket of `key`, refilled to `now` and moved to the most recently used end. */
  #touch(key: string, now: number): Bucket {
    let b = this.#buckets.get(key);
    if (b) {
      this.#buckets.delete(key);
      this.#refill(b, now);
    } else {
      if (this.#buckets.size >= this.#max) this.#evict(now);
      b = { tokens: this.#cap, at: now };
    }
    this.#buckets.set(key, b);
    return b;
  }

  #evict(now: number): void {
    let scanned = 0;
    for (const [k, b] of this.#buckets) {
      if (this.#buckets.size < this.#max) return;
      if (scanned++ >= EVICTION_SCAN) break;
      this.#refill(b, now);
      if (b.tokens >= this.#cap - EPS) { this.#buckets.delete(k); this.#stats.evicted++; }
    }
    while (this.#buckets.size >= this.#max) {
      const oldest = this.#buckets.keys().next().value as string;
      this.#buckets.delete(oldest);
      this.#stats.evicted++;
    }
  }
}

const fmt = (x: number): string => (Math.round(x * 1000) / 1000).toString();
