/**
 * Per-address and total caps on the sessions this instance opened and still holds, so a flood of
 * valid anonymous handshakes cannot grow memory without bound (each live session holds its keys
 * in the vault, a store row and bookkeeping). Sessions all live SESSION_TTL_SECONDS, so insertion
 * order is expiry order and `expire` costs only what has expired. Per instance, like the other
 * limits; a session closed or expired frees its slot. Pure logic with an injected clock.
 */
import { AppError } from '../errors.ts';

/** Caps of a SessionQuota (KEX_MAX_SESSIONS_PER_ADDRESS, KEX_MAX_SESSIONS) and its clock. */
export interface SessionQuotaOptions {
  /** Live sessions one address prefix may hold on this instance. */
  perPrefix: number;
  /** Live sessions this instance holds in all. */
  total: number;
  now?: () => number;
}

/** Counts live sessions per address prefix and in all; `admit` throws a 429 / 503 AppError beyond a cap. */
export class SessionQuota {
  readonly #o: Required<SessionQuotaOptions>;
  /** sessionId → its prefix and expiry (ms), in expiry order. */
  readonly #live = new Map<string, { prefix: string; expires: number }>();
  /** prefix → session ids in expiry order (ids already gone are skipped lazily). */
  readonly #byPrefix = new Map<string, string[]>();
  readonly #counts = new Map<string, number>();

  constructor(o: SessionQuotaOptions) {
    this.#o = { now: Date.now, ...o };
  }

  /** The per-prefix cap alone (429 with Retry-After), with no other effect: checked before any work. */
  check(prefix: string): void {
    this.expire();
    if ((this.#counts.get(prefix) ?? 0) >= this.#o.perPrefix) {
      throw new AppError('rate_limited', `at most ${this.#o.perPrefix} open sessions per client address; close one or wait for one to expire`, { retryAfter: this.#retryAfter(prefix) });
    }
  }

  /**
   * Refuses a new session for `prefix` (429 with Retry-After) when it holds its cap. When the instance
   * is full, the oldest session of the prefix holding the most is returned for eviction (the caller
   * erases it), so many prefixes filling the instance cannot lock newcomers out; 503 only when the
   * newcomer itself is among the largest holders.
   */
  admit(prefix: string): string | undefined {
    this.check(prefix);
    const own = this.#counts.get(prefix) ?? 0;
    if (this.#live.size < this.#o.total) return undefined;
    let largest: string | undefined;
    let most = 0;
    for (const [p, n] of this.#counts) if (n > most) { most = n; largest = p; }
    if (largest === undefined || largest === prefix || most <= own + 1) {
      throw new AppError('overloaded', 'this instance holds as many sessions as it may; retry later', { retryAfter: this.#retryAfter(undefined) });
    }
    const ids = this.#byPrefix.get(largest)!;
    while (ids.length > 0 && !this.#live.has(ids[0]!)) ids.shift();
    const victim = ids[0]!;
    this.remove(victim);
    return victim;
  }

  /** Counts a session that was just opened. */
  add(sessionId: string, prefix: string, expiresAt: number): void {
    this.#live.set(sessionId, { prefix, expires: expiresAt });
    this.#counts.set(prefix, (this.#counts.get(prefix) ?? 0) + 1);
    let ids = this.#byPrefix.get(prefix);
    if (!ids) this.#byPrefix.set(prefix, ids = []);
    ids.push(sessionId);
    // Closed sessions leave their ids behind; compacting when they outnumber the live ones keeps this amortized O(1).
    if (ids.length > 2 * this.#counts.get(prefix)! + 16) this.#byPrefix.set(prefix, ids.filter((id) => this.#live.has(id)));
  }

  /** Frees the slot of a closed session (unknown ids: opened elsewhere, ignored). */
  remove(sessionId: string): void {
    const s = this.#live.get(sessionId);
    if (!s) return;
    this.#live.delete(sessionId);
    const n = (this.#counts.get(s.prefix) ?? 1) - 1;
    if (n > 0) this.#counts.set(s.prefix, n);
    else { this.#counts.delete(s.prefix); this.#byPrefix.delete(s.prefix); }
  }

  /** Drops expired sessions; work proportional to what expired. */
  expire(): void {
    const now = this.#o.now();
    for (const [id, s] of this.#live) {
      if (s.expires > now) break;
      this.remove(id);
    }
  }

  /** Live sessions counted (metrics). */
  get size(): number { return this.#live.size; }

  /** Seconds until the oldest session of `prefix` (or of all) expires. */
  #retryAfter(prefix: string | undefined): number {
    let oldest: number | undefined;
    if (prefix === undefined) oldest = this.#live.values().next().value?.expires;
    else {
      const ids = this.#byPrefix.get(prefix) ?? [];
      while (ids.length > 0 && !this.#live.has(ids[0]!)) ids.shift();
      oldest = ids.length > 0 ? this.#live.get(ids[0]!)!.expires : undefined;
    }
    return Math.max(1, Math.ceil(((oldest ?? this.#o.now() + 1000) - this.#o.now()) / 1000));
  }
}
