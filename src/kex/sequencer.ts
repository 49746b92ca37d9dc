/**
 * Envelope sequence numbers without a store round trip per envelope (docs/PROTOCOL.md §6.2).
 *
 * An instance that accepts a session's envelope reserves a window of numbers [seq, seq + width − 1]
 * in one conditional UPDATE (repo.reserveSeq, or its memory twin): `recv_seq` becomes the window's end (the fence) and the
 * row records this instance as lease owner until now() + lease. Inside its window and while its lease
 * runs, the instance accepts strictly increasing numbers from memory. It renews (same statement) when
 * the lease or the window runs out, as long as nobody else reserved meanwhile.
 *
 * Exactness across instances: another instance reserves only numbers above the fence, and only once
 * the lease has ended in the database's clock; the holder stops using its window at 90 % of the lease
 * as measured from before its request was sent, so the two never overlap (assuming clocks that run at
 * about the same rate). A number below the fence that was never used is skipped: the client is told
 * the next usable number (`nextSeq` in the 409) and seals its request again under it. That refusal is
 * only given after the refusing instance took the ended lease over (repo.takeOverFence), so the
 * window's last holder cannot renew it and the refused envelope can never be accepted later anywhere:
 * resending its request under a new number cannot run it twice.
 */
import { AppError } from '../errors.ts';
import type { SessionTable } from './session-table.ts';

/** The session's client-key binding an accepted number yields (the inner request's auth needs it). */
export interface SeqBinding { clientKeyThumbprint: string | null }

interface Window { highest: number; end: number; deadline: number; expiresAt: number; binding: SeqBinding }

/** Options of {@link Sequencer}; `now` is a monotonic clock in ms, `sleep` waits (tests inject both). */
export interface SequencerOptions {
  /** Where fences and leases live (session-table.ts: the store's tables, or memory on the embedded store). */
  table: SessionTable;
  instanceId: string;
  /** Lease of a reserved window, ms (KEX_SEQ_LEASE_MS). */
  leaseMs: number;
  /** Numbers per reservation. */
  width: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const REPLAY = 'sequence number already used or skipped: envelopes must carry strictly increasing numbers (replay or reordering); nextSeq is the lowest number this session may still use';
const replay = (nextSeq: number) => new AppError('conflict', REPLAY, { nextSeq });
const notFound = () => new AppError('not_found', 'unknown or expired session');

/** The per-instance sequence windows (see the module header). */
export class Sequencer {
  readonly #o: Required<SequencerOptions>;
  readonly #windows = new Map<string, Window>();
  readonly #busy = new Map<string, Promise<unknown>>();
  /** Numbers accepted from memory, reservations made, waits for another instance's lease. */
  readonly stats = { local: 0, reservations: 0, waits: 0 };

  constructor(o: SequencerOptions) {
    this.#o = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), ...o };
  }

  /**
   * Accepts `seq` for session `id` (strictly above every number used before, on every instance) and
   * returns the session's binding. `confirming`: this envelope carried a valid client confirmation.
   *
   * @throws AppError `conflict` with `nextSeq` (replayed, reordered or skipped number), `not_found`
   * (unknown, expired or closed session), `invalid_input` (first envelope without confirmation),
   * `overloaded` (another instance's lease did not end in time; retry).
   */
  async accept(id: string, seq: number, confirming: boolean): Promise<SeqBinding> {
    return this.#inWindow(id, seq) ?? this.#serial(id, () => this.#inWindow(id, seq) ?? this.#reserve(id, seq, confirming));
  }

  /**
   * Deletes session `id` for a close sealed under `seq`, with the same rules as {@link accept}.
   *
   * @throws AppError `conflict` with `nextSeq`, `not_found`, `overloaded`.
   */
  async close(id: string, seq: number): Promise<void> {
    await this.#serial(id, async () => {
      const owned = this.#inWindow(id, seq) !== undefined;
      this.#windows.delete(id);
      // Inside the own live window: delete at once, if the lease is still ours in the database too.
      if (owned && await this.#o.table.remove(id, seq, { me: this.#o.instanceId, owned: true })) return;
      for (let attempt = 0; ; attempt++) {
        if (await this.#o.table.remove(id, seq, { me: this.#o.instanceId })) return;
        await this.#refusal(id, attempt);
      }
    });
  }

  /** Forgets a session's window (closed, evicted or dropped on this instance). */
  forget(id: string): void {
    this.#windows.delete(id);
  }

  /** Drops the windows of sessions that expired or that `held` says this instance no longer holds. */
  sweep(held: (id: string) => boolean): void {
    const now = Date.now();
    for (const [id, w] of this.#windows) if (w.expiresAt <= now || !held(id)) this.#windows.delete(id);
  }

  /** Windows held (tests, metrics). */
  get size(): number {
    return this.#windows.size;
  }

  /** From memory: the binding if `seq` is inside this instance's live window; throws a replay if it was used. */
  #inWindow(id: string, seq: number): SeqBinding | undefined {
    const w = this.#windows.get(id);
    if (!w) return undefined;
    if (seq <= w.highest) throw replay(w.highest + 1);
    if (seq > w.end || this.#o.now() >= w.deadline || Date.now() >= w.expiresAt) return undefined;
    w.highest = seq;
    this.stats.local++;
    return w.binding;
  }

  async #reserve(id: string, seq: number, confirming: boolean): Promise<SeqBinding> {
    for (let attempt = 0; ; attempt++) {
      const old = this.#windows.get(id);
      const sent = this.#o.now();
      const r = await this.#o.table.reserve({
        id, seq, width: this.#o.width, me: this.#o.instanceId, myEnd: old?.end ?? -1, confirming, leaseMs: this.#o.leaseMs,
      });
      if (r) {
        this.stats.reservations++;
        const binding = { clientKeyThumbprint: r.clientKeyThumbprint };
        this.#windows.set(id, { highest: seq, end: r.end, deadline: sent + this.#o.leaseMs * 0.9, expiresAt: r.expiresAt.getTime(), binding });
        return binding;
      }
      if (!confirming) {
        const st = await this.#o.table.state(id, this.#o.instanceId);
        if (st && !st.confirmed) throw new AppError('invalid_input', 'the first envelope of a session must carry the client key confirmation', { field: 'body.confirmation' });
      }
      await this.#refusal(id, attempt);
    }
  }

  /** After a failed reservation or close: waits once for another instance's lease, else throws why. */
  async #refusal(id: string, attempt: number): Promise<void> {
    const st = await this.#o.table.state(id, this.#o.instanceId);
    if (!st) { this.#windows.delete(id); throw notFound(); }
    if (st.otherLeaseMs > 0) {
      if (attempt >= 1) throw new AppError('overloaded', 'another instance holds this session\'s sequence numbers; retry', { retryAfter: Math.max(1, Math.ceil(st.otherLeaseMs / 1000)) });
      this.stats.waits++;
      await this.#o.sleep(Math.min(st.otherLeaseMs, this.#o.leaseMs) + 5);
      return;
    }
    // No lease runs: take the fence over (the last holder can no longer renew its window), so this
    // number is dead everywhere from now on, and tell the client where to skip to.
    this.#windows.delete(id);
    const fence = await this.#o.table.takeOverFence(id, this.#o.instanceId);
    if (fence === undefined) {
      if (attempt >= 1) throw new AppError('overloaded', 'another instance holds this session\'s sequence numbers; retry', { retryAfter: 1 });
      return;
    }
    throw replay(fence + 1);
  }

  /** Runs `fn` after any reservation of the same session in flight on this instance. */
  async #serial<T>(id: string, fn: () => Promise<T> | T): Promise<T> {
    const before = this.#busy.get(id);
    const run = (before ? before.then(() => fn(), () => fn()) : Promise.resolve().then(fn));
    const tail = run.catch(() => {});
    this.#busy.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.#busy.get(id) === tail) this.#busy.delete(id);
    }
  }
}
