/**
 * Where the kex capability keeps its session bookkeeping (replay digests, sessions, sequence
 * fences and leases; never keys): one interface, two homes.
 *
 * - `sql` (PostgreSQL): the kex_handshakes / kex_sessions tables (repo.ts), shared by every instance
 *   on the database — what makes replay refusal and sequence numbers exact across instances.
 * - `memory` (the embedded PGlite store): a PGlite data directory is opened by exactly one process,
 *   so there is exactly one instance, and none of this state can outlive it in a useful way: the
 *   prekey secrets and session keys live only in this process's memory (PROTOCOL.md §8), so after a
 *   restart no old hello can be answered and no old session used. Keeping the bookkeeping in memory
 *   therefore refuses exactly what the tables would, and takes a PGlite statement (0.3–1.4 ms of
 *   event-loop time each, measured) off every handshake. Replay digests are bounded: up to
 *   MEMORY_DIGESTS_PER_PREKEY per prekey are held in memory (then the prekey rotates early), further
 *   ones go to kex_handshakes.
 *
 * Both implement the same semantics (the SQL statements' conditions are spelled out again in the
 * memory methods); test/kex/sequencer.test.ts runs its cases on both.
 */
import type { Queryable } from '../store/index.ts';
import * as repo from './repo.ts';
import type { HandshakeClaim, Reservation, SeqState } from './repo.ts';

/** A session's bookkeeping as tests and diagnostics see it. */
export interface SessionView { sessionId: string; recvSeq: number; confirmed: boolean; clientKeyThumbprint: string | null }

/** The session bookkeeping operations (see repo.ts for each one's contract). */
export interface SessionTable {
  readonly kind: 'sql' | 'memory';
  /** repo.claimHandshakes: the session ids created (digests distinct within one call). */
  claim(claims: readonly HandshakeClaim[]): Promise<Set<string>>;
  /** repo.unclaimHandshake. */
  unclaim(sessionId: string, digest: Uint8Array): Promise<void>;
  /** Whether an unexpired session with this id exists. */
  exists(id: string): Promise<boolean>;
  /** repo.reserveSeq. */
  reserve(r: Parameters<typeof repo.reserveSeq>[1]): Promise<Reservation | undefined>;
  /** repo.seqState. */
  state(id: string, me: string): Promise<SeqState | undefined>;
  /** repo.takeOverFence. */
  takeOverFence(id: string, me: string): Promise<number | undefined>;
  /** repo.deleteSession. */
  remove(id: string, seq: number, opts: { me: string; owned?: boolean; force?: boolean }): Promise<boolean>;
  /** repo.deleteExpiredSessions. */
  removeExpired(limit: number): Promise<string[]>;
  /** repo.existingSessions. */
  existing(ids: string[]): Promise<Set<string>>;
  /** The prekeys were retired: their replay digests go (the SQL rows go by ON DELETE CASCADE). */
  prekeysRetired(ids: readonly string[]): void;
  /** Whether a prekey's replay digests filled their memory (the service then rotates the prekey early; SQL: never). */
  full(prekeyId: string): boolean;
  /** Every session (expired or not) and the number of replay digests held (tests, diagnostics). */
  snapshot(): Promise<{ sessions: SessionView[]; digests: number }>;
}

/** The tables of the store (repo.ts), shared by all instances on it. */
export function sqlSessionTable(q: Queryable): SessionTable {
  return {
    kind: 'sql',
    claim: (claims) => repo.claimHandshakes(q, claims),
    unclaim: (sessionId, digest) => repo.unclaimHandshake(q, sessionId, digest),
    exists: async (id) => (await repo.findSession(q, id)) !== undefined,
    reserve: (r) => repo.reserveSeq(q, r),
    state: (id, me) => repo.seqState(q, id, me),
    takeOverFence: (id, me) => repo.takeOverFence(q, id, me),
    remove: (id, seq, opts) => repo.deleteSession(q, id, seq, opts),
    removeExpired: (limit) => repo.deleteExpiredSessions(q, limit),
    existing: (ids) => repo.existingSessions(q, ids),
    prekeysRetired: () => {},
    full: () => false,
    async snapshot() {
      const rows = await q.query<{ session_id: string; recv_seq: string | number; confirmed: boolean; client_key_thumbprint: string | null }>(
        'SELECT session_id, recv_seq, confirmed, client_key_thumbprint FROM kex_sessions ORDER BY session_id');
      const digests = Number((await q.query<{ n: number }>('SELECT count(*)::int AS n FROM kex_handshakes'))[0]!.n);
      return { sessions: rows.map((r) => ({ sessionId: r.session_id, recvSeq: Number(r.recv_seq), confirmed: r.confirmed, clientKeyThumbprint: r.client_key_thumbprint })), digests };
    },
  };
}

/**
 * Replay digests one prekey keeps in memory (16 bytes of the digest each, ≈ 70 B with the set's
 * overhead: ≈ 37 MB at the cap). A full prekey is rotated early (new hellos use the new one);
 * hellos still sent to it go to the store's kex_handshakes.
 */
export const MEMORY_DIGESTS_PER_PREKEY = 1 << 19;

interface Row { prekeyId: string; recvSeq: number; confirmed: boolean; expiresAt: number; thumbprint: string | null; leaseOwner: string | null; leaseUntil: number }

const digestKey = (d: Uint8Array): string => String.fromCharCode(...d.subarray(0, 16));

/** The single-instance bookkeeping of the embedded store (see the module header). */
export class MemorySessionTable implements SessionTable {
  readonly kind = 'memory' as const;
  readonly #q: Queryable;
  readonly #max: number;
  readonly #rows = new Map<string, Row>();
  readonly #digests = new Map<string, Set<string>>();

  /** `q` takes the replay digests beyond `maxDigestsPerPrekey` for a prekey (kex_handshakes). */
  constructor(q: Queryable, maxDigestsPerPrekey = MEMORY_DIGESTS_PER_PREKEY) {
    this.#q = q;
    this.#max = maxDigestsPerPrekey;
  }

  async claim(claims: readonly HandshakeClaim[]): Promise<Set<string>> {
    const made = new Set<string>();
    const overflow: HandshakeClaim[] = [];
    for (const c of claims) {
      const key = digestKey(c.digest);
      const held = this.#digests.get(c.prekeyId) ?? this.#digests.set(c.prekeyId, new Set()).get(c.prekeyId)!;
      if (held.has(key)) continue;
      if (held.size >= this.#max) { overflow.push(c); continue; }
      held.add(key);
      this.#add(c);
      made.add(c.sessionId);
    }
    if (overflow.length > 0) {
      const fresh = await this.#q.query<{ digest: Uint8Array }>(
        `INSERT INTO kex_handshakes (digest, prekey_id) SELECT * FROM unnest($1::bytea[], $2::text[]) ON CONFLICT (digest) DO NOTHING RETURNING digest`,
        [overflow.map((c) => c.digest), overflow.map((c) => c.prekeyId)]);
      const keys = new Set(fresh.map((r) => digestKey(r.digest)));
      for (const c of overflow) if (keys.has(digestKey(c.digest))) { this.#add(c); made.add(c.sessionId); }
    }
    return made;
  }

  #add(c: HandshakeClaim): void {
    this.#rows.set(c.sessionId, { prekeyId: c.prekeyId, recvSeq: 0, confirmed: false, expiresAt: c.expiresAt.getTime(), thumbprint: c.clientKeyThumbprint, leaseOwner: null, leaseUntil: 0 });
  }

  async unclaim(sessionId: string, digest: Uint8Array): Promise<void> {
    const row = this.#rows.get(sessionId);
    this.#rows.delete(sessionId);
    if (row && this.#digests.get(row.prekeyId)?.delete(digestKey(digest))) return;
    await this.#q.query('DELETE FROM kex_handshakes WHERE digest = $1', [digest]);
  }

  #live(id: string): Row | undefined {
    const row = this.#rows.get(id);
    return row && row.expiresAt > Date.now() ? row : undefined;
  }

  async exists(id: string): Promise<boolean> {
    return this.#live(id) !== undefined;
  }

  async reserve(r: Parameters<typeof repo.reserveSeq>[1]): Promise<Reservation | undefined> {
    const row = this.#live(r.id);
    const now = Date.now();
    if (!row || !(row.confirmed || r.confirming)) return undefined;
    const renew = row.leaseOwner === r.me && row.recvSeq === r.myEnd;
    const fresh = row.recvSeq < r.seq && (row.leaseOwner === null || row.leaseOwner === r.me || row.leaseUntil <= now);
    if (!renew && !fresh) return undefined;
    row.recvSeq = Math.max(row.recvSeq, Math.min(r.seq + r.width - 1, Number.MAX_SAFE_INTEGER));
    row.leaseOwner = r.me;
    row.leaseUntil = now + r.leaseMs;
    row.confirmed = true;
    return { end: row.recvSeq, expiresAt: new Date(row.expiresAt), clientKeyThumbprint: row.thumbprint };
  }

  async state(id: string, me: string): Promise<SeqState | undefined> {
    const row = this.#live(id);
    if (!row) return undefined;
    const other = row.leaseOwner !== null && row.leaseOwner !== me ? Math.max(0, row.leaseUntil - Date.now()) : 0;
    return { fence: row.recvSeq, confirmed: row.confirmed, otherLeaseMs: other };
  }

  async takeOverFence(id: string, me: string): Promise<number | undefined> {
    const row = this.#live(id);
    const now = Date.now();
    if (!row || !(row.leaseOwner === null || row.leaseOwner === me || row.leaseUntil <= now)) return undefined;
    row.leaseOwner = me;
    row.leaseUntil = now;
    return row.recvSeq;
  }

  async remove(id: string, seq: number, opts: { me: string; owned?: boolean; force?: boolean }): Promise<boolean> {
    const row = this.#rows.get(id);
    if (!row) return false;
    const now = Date.now();
    const ok = opts.force ? true : opts.owned
      ? row.leaseOwner === opts.me && row.leaseUntil > now
      : row.recvSeq < seq && (row.leaseOwner === null || row.leaseOwner === opts.me || row.leaseUntil <= now);
    if (!ok) return false;
    this.#rows.delete(id);
    return true;
  }

  async removeExpired(limit: number): Promise<string[]> {
    const now = Date.now();
    const gone: string[] = [];
    for (const [id, row] of this.#rows) {
      if (gone.length >= limit) break;
      if (row.expiresAt <= now) { this.#rows.delete(id); gone.push(id); }
    }
    return gone;
  }

  async existing(ids: string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => this.#rows.has(id)));
  }

  prekeysRetired(ids: readonly string[]): void {
    for (const id of ids) this.#digests.delete(id);
  }

  full(prekeyId: string): boolean {
    return (this.#digests.get(prekeyId)?.size ?? 0) >= this.#max;
  }

  async snapshot(): Promise<{ sessions: SessionView[]; digests: number }> {
    const sessions = [...this.#rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([sessionId, r]) => ({ sessionId, recvSeq: r.recvSeq, confirmed: r.confirmed, clientKeyThumbprint: r.thumbprint }));
    const stored = Number((await this.#q.query<{ n: number }>('SELECT count(*)::int AS n FROM kex_handshakes'))[0]!.n);
    return { sessions, digests: [...this.#digests.values()].reduce((n, s) => n + s.size, 0) + stored };
  }
}
