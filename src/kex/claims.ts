/**
 * Handshake claims with group commit: every openSession claims its replay digest and creates its
 * session row BEFORE any KEM operation (a replayed hello is refused without crypto, exactly across
 * instances: the digest's primary key decides). Claims that arrive in the same event-loop turn share
 * one statement (repo.claimHandshakes; on the embedded store a memory table, session-table.ts), so under load a handshake costs a fraction of a store round
 * trip instead of two (the earlier pre-check SELECT and insert). A failed handshake undoes its claim.
 */
import { isForeignKeyViolation } from '../store/index.ts';
import type * as repo from './repo.ts';
import type { SessionTable } from './session-table.ts';

interface Waiter { claim: repo.HandshakeClaim; key: string; resolve: (claimed: boolean) => void; reject: (err: unknown) => void }

/** Most claims in one statement (5 parameters each). */
const MAX_BATCH = 64;

const keyOf = (b: Uint8Array): string => String.fromCharCode(...b);

/** Batches handshake claims of one instance (see the module header). */
export class HandshakeClaims {
  readonly #table: SessionTable;
  #queue: Waiter[] = [];
  #scheduled = false;
  /** Statements run and claims made (metrics, tests). */
  readonly stats = { statements: 0, claims: 0 };

  constructor(table: SessionTable) {
    this.#table = table;
  }

  /** Digests claimed on this instance whose handshake is still running (claimed, not yet settled). */
  readonly #inflight = new Set<string>();

  /**
   * Claims a handshake: resolves `claimed` when its digest was new (the session row now exists),
   * `replay` when it was accepted before, `busy` when this instance is still running a handshake
   * with the same digest (it may yet fail and be undone: retry). Nothing is created unless
   * `claimed`; then call {@link settle} or {@link unclaim}. Rejects with the store's error (a retired
   * prekey: a foreign-key violation).
   */
  async claim(c: repo.HandshakeClaim): Promise<'claimed' | 'replay' | 'busy'> {
    const key = keyOf(c.digest);
    const made = await new Promise<boolean>((resolve, reject) => {
      this.#queue.push({ claim: c, key, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => { this.#scheduled = false; void this.#flush(); });
      }
    });
    if (made) { this.#inflight.add(key); return 'claimed'; }
    return this.#inflight.has(key) ? 'busy' : 'replay';
  }

  /** The claimed handshake completed: its digest now only refuses replays. */
  settle(c: repo.HandshakeClaim): void {
    this.#inflight.delete(keyOf(c.digest));
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      // The same hello twice in one batch: only the first may claim (one statement would insert both sessions).
      const seen = new Set<string>();
      const first: Waiter[] = [];
      for (const w of batch) {
        if (seen.has(w.key)) w.resolve(false);
        else { seen.add(w.key); first.push(w); }
      }
      await this.#run(first);
    }
  }

  async #run(batch: Waiter[]): Promise<void> {
    try {
      this.stats.statements++;
      const made = await this.#table.claim(batch.map((w) => w.claim));
      this.stats.claims += made.size;
      for (const w of batch) w.resolve(made.has(w.claim.sessionId));
    } catch (err) {
      // One retired prekey fails the whole statement: claim one by one so only its handshakes fail.
      if (batch.length > 1 && isForeignKeyViolation(err)) {
        for (const w of batch) await this.#run([w]);
        return;
      }
      for (const w of batch) w.reject(err);
    }
  }

  /**
   * Undoes the claim of a handshake that failed after claiming (its session and digest). A store
   * error here is swallowed: the caller's own error is the answer, and the keyless row expires.
   */
  async unclaim(c: repo.HandshakeClaim): Promise<void> {
    try {
      await this.#table.unclaim(c.sessionId, c.digest);
    } catch {
      // The session row has no keys anywhere and expires with its TTL; the digest stays (a replay is then a 409).
    } finally {
      this.#inflight.delete(keyOf(c.digest));
    }
  }
}
