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
/**
 * One statement, so atomic without a transaction: records the handshake digest (the replay guard:
 * a second use is a unique violation) and creates the session.
 */
export async function insertSession(q: Queryable, s: { sessionId: string; prekeyId: string; digest: Uint8Array; expiresAt: Date; clientKeyThumbprint: string }): Promise<void> {
  await q.query(`WITH h AS (INSERT INTO kex_handshakes (digest, prekey_id) VALUES ($1, $2) RETURNING prekey_id)
    INSERT INTO kex_sessions (session_id, prekey_id, expires_at, client_key_thumbprint) SELECT $3, prekey_id, $4, $5 FROM h`,
  [s.digest, s.prekeyId, s.sessionId, s.expiresAt, s.clientKeyThumbprint]);
}
/** Whether a handshake with this digest (SHA-256(lp(prekeyId) ‖ lp(ct1))) was already accepted. */
export async function handshakeSeen(q: Queryable, digest: Uint8Array): Promise<boolean> {
  return (await q.query('SELECT 1 FROM kex_handshakes WHERE digest = $1', [digest])).length > 0;
}

/** The unexpired session with this id; undefined if none. */
export async function findSession(q: Queryable, id: string): Promise<SessionRow | undefined> {
  const r = (await q.query<SessionRow & Record<string, unknown>>(
    'SELECT session_id, recv_seq, confirmed, expires_at FROM kex_sessions WHERE session_id = $1 AND expires_at > now()', [id]))[0];
  return r ? { ...r, recv_seq: Number(r.recv_seq) } : undefined;
}
/**
 * Atomically consumes sequence number `seq`: succeeds for exactly one caller across all instances,
 * and only when `seq` is above every number used before (replay and reordering are refused) and the
 * session is confirmed or this envelope carries a valid client confirmation. On success, returns the
 * session's client key thumbprint (null for sessions opened before migration 006); otherwise undefined.
 */
export async function consumeSeq(q: Queryable, id: string, seq: number, confirming: boolean): Promise<{ clientKeyThumbprint: string | null } | undefined> {
  const rows = await q.query<{ client_key_thumbprint: string | null }>(`UPDATE kex_sessions SET recv_seq = $2, confirmed = true
    WHERE session_id = $1 AND recv_seq < $2 AND expires_at > now() AND (confirmed OR $3) RETURNING client_key_thumbprint`, [id, seq, confirming]);
  return rows.length === 1 ? { clientKeyThumbprint: rows[0]!.client_key_thumbprint } : undefined;
}
/** Deletes the session if `seq` is fresh (a close is a sealed message too); false if not deleted. */
export async function deleteSession(q: Queryable, id: string, seq: number): Promise<boolean> {
  const rows = await q.query('DELETE FROM kex_sessions WHERE session_id = $1 AND recv_seq < $2 RETURNING session_id', [id, seq]);
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
