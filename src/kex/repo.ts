/**
 * SQL of the kex capability (tables in src/store/migrations/003_kex.sql, 006_kex_binding.sql,
 * 008_kex_registry_mac.sql). Same SQL on PGlite and PostgreSQL; errors of the store propagate.
 */
import type { Queryable } from '../store/index.ts';

/** A kex_prekeys row. */
export interface PrekeyRow {
  prekey_id: string; public_key: Uint8Array; not_before: Date; not_after: Date; signature: Uint8Array;
  identity_key_id: string; identity_version: number; identity_public_key: Uint8Array;
}
/** A kex_sessions row (recv_seq: the highest sequence number consumed). */
export interface SessionRow { session_id: string; recv_seq: number; confirmed: boolean; expires_at: Date }
/** A kex_grants row: one secret sealed to one instance's grant key. */
export interface GrantRow { secret_id: string; instance_key_id: string; ciphertext: Uint8Array; sealed: Uint8Array; expires_at: Date }
/** A kex_instances row (the registry: instance, grant key id and public key, registry MAC). */
export interface InstanceRow { instance_id: string; key_id: string; public_key: Uint8Array; registry_mac: Uint8Array | null }

// ---- instances
/** Inserts or refreshes an instance's registry entry and its seen_at heartbeat. */
export async function upsertInstance(q: Queryable, id: string, keyId: string, publicKey: Uint8Array, mac: Uint8Array): Promise<void> {
  await q.query(`INSERT INTO kex_instances (instance_id, key_id, public_key, registry_mac, seen_at) VALUES ($1, $2, $3, $4, now())
    ON CONFLICT (instance_id) DO UPDATE SET key_id = EXCLUDED.key_id, public_key = EXCLUDED.public_key, registry_mac = EXCLUDED.registry_mac, seen_at = now()`,
  [id, keyId, publicKey, mac]);
}
/** Instances other than `exclude` seen within `staleSeconds` (and not in the future). */
export async function liveInstances(q: Queryable, exclude: string, staleSeconds: number): Promise<InstanceRow[]> {
  return q.query<InstanceRow & Record<string, unknown>>(
    // A row "seen" in the future is forged or from a skewed clock: never live.
    `SELECT instance_id, key_id, public_key, registry_mac FROM kex_instances
      WHERE instance_id <> $1 AND seen_at > now() - make_interval(secs => $2) AND seen_at <= now() + interval '5 seconds'`,
    [exclude, staleSeconds]);
}
/** Deletes an instance's registry entry and every grant addressed to it. */
export async function deleteInstance(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM kex_instances WHERE instance_id = $1', [id]);
  await q.query('DELETE FROM kex_grants WHERE instance_id = $1', [id]);
}
/** Deletes instances (and their grants) not seen for 4 × `staleSeconds`. */
export async function deleteStaleInstances(q: Queryable, staleSeconds: number): Promise<void> {
  await q.query(`DELETE FROM kex_grants WHERE instance_id IN
    (SELECT instance_id FROM kex_instances WHERE seen_at < now() - make_interval(secs => $1))`, [staleSeconds * 4]);
  await q.query('DELETE FROM kex_instances WHERE seen_at < now() - make_interval(secs => $1)', [staleSeconds * 4]);
}

// ---- grants
/** Stores a grant; a second grant of the same secret to the same instance is ignored. */
export async function insertGrant(q: Queryable, g: GrantRow & { instance_id: string }): Promise<void> {
  await q.query(`INSERT INTO kex_grants (secret_id, instance_id, instance_key_id, ciphertext, sealed, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (secret_id, instance_id) DO NOTHING`,
  [g.secret_id, g.instance_id, g.instance_key_id, g.ciphertext, g.sealed, g.expires_at]);
}
/** Grants addressed to `instanceId`, all of them (`secretIds` null) or for the given secrets. */
export async function grantsFor(q: Queryable, instanceId: string, secretIds: string[] | null): Promise<GrantRow[]> {
  return secretIds === null
    ? q.query<GrantRow & Record<string, unknown>>('SELECT secret_id, instance_key_id, ciphertext, sealed, expires_at FROM kex_grants WHERE instance_id = $1', [instanceId])
    : q.query<GrantRow & Record<string, unknown>>('SELECT secret_id, instance_key_id, ciphertext, sealed, expires_at FROM kex_grants WHERE instance_id = $1 AND secret_id = ANY($2)', [instanceId, secretIds]);
}
/** (secret, instance) pairs that have a grant, for the given secrets. */
export async function existingGrants(q: Queryable, secretIds: string[]): Promise<Array<{ secret_id: string; instance_id: string }>> {
  return q.query('SELECT secret_id, instance_id FROM kex_grants WHERE secret_id = ANY($1)', [secretIds]);
}
/** Deletes the grants of the given secrets, to every instance or only to `instanceId`. */
export async function deleteGrants(q: Queryable, secretIds: string[], instanceId?: string): Promise<void> {
  if (secretIds.length === 0) return;
  if (instanceId === undefined) await q.query('DELETE FROM kex_grants WHERE secret_id = ANY($1)', [secretIds]);
  else await q.query('DELETE FROM kex_grants WHERE secret_id = ANY($1) AND instance_id = $2', [secretIds, instanceId]);
}
/** Deletes grants past their expiry. */
export async function deleteExpiredGrants(q: Queryable): Promise<void> {
  await q.query('DELETE FROM kex_grants WHERE expires_at <= now()');
}

// ---- prekeys
/** Stores a new prekey's public record; a duplicate id rejects with a unique violation. */
export async function insertPrekey(q: Queryable, p: PrekeyRow): Promise<void> {
  await q.query(`INSERT INTO kex_prekeys (prekey_id, public_key, not_before, not_after, signature, identity_key_id, identity_version, identity_public_key)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
  [p.prekey_id, p.public_key, p.not_before, p.not_after, p.signature, p.identity_key_id, p.identity_version, p.identity_public_key]);
}
const PREKEY_COLS = 'prekey_id, public_key, not_before, not_after, signature, identity_key_id, identity_version, identity_public_key';
/** The prekey with this id, expired or not; undefined if none. */
export async function findPrekey(q: Queryable, id: string): Promise<PrekeyRow | undefined> {
  return (await q.query<PrekeyRow & Record<string, unknown>>(`SELECT ${PREKEY_COLS} FROM kex_prekeys WHERE prekey_id = $1`, [id]))[0];
}
/** Prekeys still usable for at least `marginSeconds`, newest first. */
export async function currentPrekeys(q: Queryable, marginSeconds: number): Promise<PrekeyRow[]> {
  return q.query<PrekeyRow & Record<string, unknown>>(
    `SELECT ${PREKEY_COLS} FROM kex_prekeys WHERE not_before <= now() AND not_after > now() + make_interval(secs => $1) ORDER BY not_before DESC LIMIT 8`,
    [marginSeconds]);
}
/** Deletes prekeys past notAfter + grace; returns their ids. */
export async function deleteRetiredPrekeys(q: Queryable, graceSeconds: number): Promise<string[]> {
  const rows = await q.query<{ prekey_id: string }>(
    'DELETE FROM kex_prekeys WHERE not_after + make_interval(secs => $1) <= now() RETURNING prekey_id', [graceSeconds]);
  return rows.map((r) => r.prekey_id);
}

// ---- sessions
/** One handshake to claim: its replay digest and the session it opens. */
export interface HandshakeClaim { digest: Uint8Array; prekeyId: string; sessionId: string; expiresAt: Date; clientKeyThumbprint: string }

/**
 * One statement for many handshakes, so atomic per handshake without a transaction: records each
 * digest (SHA-256(lp(prekeyId) ‖ lp(ct1)), the replay guard: the primary key makes a second use a
 * no-op) and creates the session of each digest that was new. Resolves with the session ids created;
 * a claim whose digest was already there (replay) creates nothing. Digests must be distinct within
 * one call (the caller refuses duplicates). A retired prekey rejects the whole statement with a
 * foreign-key violation (the caller then claims one by one).
 */
export async function claimHandshakes(q: Queryable, claims: readonly HandshakeClaim[]): Promise<Set<string>> {
  const params: unknown[] = [];
  const values = claims.map((c) => {
    params.push(c.digest, c.prekeyId, c.sessionId, c.expiresAt, c.clientKeyThumbprint);
    const n = params.length;
    return `($${n - 4}::bytea, $${n - 3}::text, $${n - 2}::text, $${n - 1}::timestamptz, $${n}::text)`;
  });
  const rows = await q.query<{ session_id: string }>(`WITH v (digest, prekey_id, session_id, expires_at, thumbprint) AS (VALUES ${values.join(', ')}),
    h AS (INSERT INTO kex_handshakes (digest, prekey_id) SELECT digest, prekey_id FROM v ON CONFLICT (digest) DO NOTHING RETURNING digest)
    INSERT INTO kex_sessions (session_id, prekey_id, expires_at, client_key_thumbprint)
    SELECT v.session_id, v.prekey_id, v.expires_at, v.thumbprint FROM v JOIN h ON h.digest = v.digest RETURNING session_id`, params);
  return new Set(rows.map((r) => r.session_id));
}
/** Undoes a claim whose handshake failed (a refused hello changes nothing): its session and its digest. */
export async function unclaimHandshake(q: Queryable, sessionId: string, digest: Uint8Array): Promise<void> {
  await q.query('WITH s AS (DELETE FROM kex_sessions WHERE session_id = $1) DELETE FROM kex_handshakes WHERE digest = $2', [sessionId, digest]);
}

/** The unexpired session with this id; undefined if none. */
export async function findSession(q: Queryable, id: string): Promise<SessionRow | undefined> {
  const r = (await q.query<SessionRow & Record<string, unknown>>(
    'SELECT session_id, recv_seq, confirmed, expires_at FROM kex_sessions WHERE session_id = $1 AND expires_at > now()', [id]))[0];
  return r ? { ...r, recv_seq: Number(r.recv_seq) } : undefined;
}
/** A reserved sequence window: numbers up to `end` (the new fence) are this instance's until the lease ends. */
export interface Reservation { end: number; expiresAt: Date; clientKeyThumbprint: string | null }

/**
 * Reserves the window [seq, seq + width − 1] of a session's sequence numbers for instance `me` under
 * a lease of `leaseMs` (docs/PROTOCOL.md §6.2). Succeeds, in one statement, for exactly one caller
 * across all instances, when the session is live and confirmed (or `confirming`: this envelope
 * carried a valid client confirmation), and either
 *  - `me` renews its own window: it holds the lease row and nobody reserved since (`recv_seq = myEnd`), or
 *  - `seq` is above the fence and no other instance's lease is running.
 * Otherwise resolves undefined and changes nothing.
 */
export async function reserveSeq(q: Queryable, r: { id: string; seq: number; width: number; me: string; myEnd: number; confirming: boolean; leaseMs: number }): Promise<Reservation | undefined> {
  const rows = await q.query<{ recv_seq: string | number; expires_at: Date; client_key_thumbprint: string | null }>(`UPDATE kex_sessions
    SET recv_seq = GREATEST(recv_seq, LEAST($2::bigint + $3::bigint - 1, 9007199254740991)), lease_owner = $4, lease_until = now() + make_interval(secs => $7::double precision / 1000), confirmed = true
    WHERE session_id = $1 AND expires_at > now() AND (confirmed OR $6)
      AND ((lease_owner = $4 AND recv_seq = $5::bigint)
        OR (recv_seq < $2::bigint AND (lease_owner IS NULL OR lease_owner = $4 OR lease_until <= now())))
    RETURNING recv_seq, expires_at, client_key_thumbprint`, [r.id, r.seq, r.width, r.me, r.myEnd, r.confirming, r.leaseMs]);
  const row = rows[0];
  return row ? { end: Number(row.recv_seq), expiresAt: row.expires_at, clientKeyThumbprint: row.client_key_thumbprint } : undefined;
}

/** Why a reservation or a close failed: the fence, confirmation, and how long another instance's lease still runs (ms, 0 if none). */
export interface SeqState { fence: number; confirmed: boolean; otherLeaseMs: number }
/** The sequence state of the unexpired session `id` as instance `me` sees it; undefined if none. */
export async function seqState(q: Queryable, id: string, me: string): Promise<SeqState | undefined> {
  const r = (await q.query<{ recv_seq: string | number; confirmed: boolean; other_ms: number | string | null }>(
    `SELECT recv_seq, confirmed, CASE WHEN lease_owner IS NOT NULL AND lease_owner <> $2 AND lease_until > now()
       THEN extract(epoch FROM lease_until - now()) * 1000 ELSE 0 END AS other_ms
     FROM kex_sessions WHERE session_id = $1 AND expires_at > now()`, [id, me]))[0];
  return r ? { fence: Number(r.recv_seq), confirmed: r.confirmed, otherLeaseMs: Math.max(0, Number(r.other_ms ?? 0)) } : undefined;
}

/**
 * Before refusing a number below the fence: takes the (ended) lease over with a lease that ends at
 * once, so the instance that held the window can no longer renew it and every later reservation
 * must start above the fence. Resolves the fence, or undefined when a lease is running (or the
 * session is gone): then nothing changed.
 */
export async function takeOverFence(q: Queryable, id: string, me: string): Promise<number | undefined> {
  const r = (await q.query<{ recv_seq: string | number }>(`UPDATE kex_sessions SET lease_owner = $2, lease_until = now()
    WHERE session_id = $1 AND expires_at > now() AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until <= now()) RETURNING recv_seq`, [id, me]))[0];
  return r ? Number(r.recv_seq) : undefined;
}

/**
 * Deletes the session on a close sealed under `seq`: when `seq` is above the fence and no other
 * instance's lease is running, or, when `owned` (`seq` is inside this instance's live window), when
 * this instance's lease is still running in the database; `force` deletes it whatever the lease (an
 * eviction to make room). False if not deleted.
 */
export async function deleteSession(q: Queryable, id: string, seq: number, opts: { me: string; owned?: boolean; force?: boolean } = { me: '' }): Promise<boolean> {
  const rows = opts.force
    ? await q.query('DELETE FROM kex_sessions WHERE session_id = $1 RETURNING session_id', [id])
    : opts.owned
    // Still this instance's live lease in the database's clock (the memory check may have run a while ago).
    ? await q.query('DELETE FROM kex_sessions WHERE session_id = $1 AND lease_owner = $2 AND lease_until > now() RETURNING session_id', [id, opts.me])
    : await q.query(`DELETE FROM kex_sessions WHERE session_id = $1 AND recv_seq < $2
        AND (lease_owner IS NULL OR lease_owner = $3 OR lease_until <= now()) RETURNING session_id`, [id, seq, opts.me]);
  return rows.length === 1;
}
/** Deletes expired sessions; returns their ids (so their keys can be erased). */
export async function deleteExpiredSessions(q: Queryable, limit: number): Promise<string[]> {
  return (await q.query<{ session_id: string }>(
    'DELETE FROM kex_sessions WHERE session_id IN (SELECT session_id FROM kex_sessions WHERE expires_at <= now() LIMIT $1) RETURNING session_id', [limit],
  )).map((r) => r.session_id);
}
/** Which of `ids` still have a session row (expired or not). */
export async function existingSessions(q: Queryable, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  return new Set((await q.query<{ session_id: string }>('SELECT session_id FROM kex_sessions WHERE session_id = ANY($1)', [ids])).map((r) => r.session_id));
}
