/**
 * Tarpit for clients over their limits: a 429 to an address prefix is sent after `delayMs` instead of
 * at once. A flooding client with a fixed number of connections then gets one answer per connection
 * per delay, so its refusals cost the event loop a bounded rate instead of as many as it can send
 * (measured with `npm run bench -- abuse`: an immediate 429 still costs ~0.2 ms of main thread, and a
 * 300-connection flood asked for ~2,700 of them a second). Held answers are bounded per prefix and in
 * all; beyond the bounds a 429 goes out at once. A held answer is a timer and an unsent reply: no body
 * is read meanwhile. Never used for 503s (those mean "busy", the client did nothing wrong).
 */
import type { FastifyInstance } from 'fastify';
import { addressPrefix } from '../workers/principal.ts';

export interface TarpitOptions {
  /** How long a 429 is held, ms (0 disables). */
  delayMs: number;
  /** Most answers held at once for one address prefix. */
  maxPerPrefix?: number;
  /** Most answers held at once in all. */
  maxTotal?: number;
  /** The wait (tests inject their own). */
  sleep?: (ms: number) => Promise<void>;
}

/** Counts of held answers, per prefix and in all (bounded by the options). */
export class TarpitLedger {
  readonly #perPrefix = new Map<string, number>();
  #total = 0;
  readonly #maxPerPrefix: number;
  readonly #maxTotal: number;
  constructor(maxPerPrefix: number, maxTotal: number) { this.#maxPerPrefix = maxPerPrefix; this.#maxTotal = maxTotal; }
  /** Takes a slot for `prefix`; false when a bound is reached (answer at once). */
  take(prefix: string): boolean {
    const n = this.#perPrefix.get(prefix) ?? 0;
    if (n >= this.#maxPerPrefix || this.#total >= this.#maxTotal) return false;
    this.#perPrefix.set(prefix, n + 1);
    this.#total++;
    return true;
  }
  /** Gives a slot back. */
  release(prefix: string): void {
    const n = (this.#perPrefix.get(prefix) ?? 1) - 1;
    if (n > 0) this.#perPrefix.set(prefix, n); else this.#perPrefix.delete(prefix);
    this.#total--;
  }
  get held(): number { return this.#total; }
}

/** Holds 429 answers per the options (registers one onSend hook on `app`). */
export function registerTarpit(app: FastifyInstance, opts: TarpitOptions): TarpitLedger {
  const ledger = new TarpitLedger(opts.maxPerPrefix ?? 512, opts.maxTotal ?? 4096);
  if (opts.delayMs <= 0) return ledger;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  app.addHook('onSend', (req, reply, payload, done) => {
    // Callback style: every response passes here, and only 429s wait.
    if (reply.statusCode !== 429) { done(null, payload); return; }
    const prefix = addressPrefix(req.ip);
    if (!ledger.take(prefix)) { done(null, payload); return; }
    void sleep(opts.delayMs).finally(() => { ledger.release(prefix); done(null, payload); });
  });
  return ledger;
}
