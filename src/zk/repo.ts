/**
 * SQL of the zk capability (src/store/migrations/004_zk.sql); the same statements run on PGlite
 * and PostgreSQL. Single use is enforced by the database: a challenge is consumed by one
 * `DELETE … RETURNING`, so of two concurrent logins (on one or several instances) exactly one
 * gets the row.
 */
import type { Queryable } from '../store/index.ts';

/** A zk_challenges row joined with its user's commitment. */
export type ChallengeRow = {
  challenge_id: string;
  username: string;
  purpose: 'login' | 'rotate';
  challenge: string;
  session_key_hash: string;
  session_key_thumbprint: string | null;
  new_commitment: string | null;
  /** The user's current commitment, null when the username is not registered. */
  commitment: string | null;
};

/** The zk statements; each takes the store or a transaction and propagates store errors. */
export const zkRepo = {
  /** Inserts a user; a taken username rejects with a unique violation. */
  async insertUser(db: Queryable, username: string, commitment: string): Promise<{ created_at: Date }> {
    const rows = await db.query<{ created_at: Date }>(
      'INSERT INTO zk_users (username, commitment) VALUES ($1, $2) RETURNING created_at', [username, commitment]);
    return rows[0]!;
  },

  /** Inserts a challenge expiring `ttlSeconds` from now (database clock); returns its expiry. */
  async insertChallenge(db: Queryable, c: Omit<ChallengeRow, 'commitment'>, ttlSeconds: number): Promise<{ expires_at: Date }> {
    const rows = await db.query<{ expires_at: Date }>(
      `INSERT INTO zk_challenges (challenge_id, username, purpose, challenge, session_key_hash, session_key_thumbprint, new_commitment, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8)) RETURNING expires_at`,
      [c.challenge_id, c.username, c.purpose, c.challenge, c.session_key_hash, c.session_key_thumbprint, c.new_commitment, ttlSeconds]);
    return rows[0]!;
  },

  /**
   * A live challenge with the commitment of its user, in one statement whatever the user's existence
   * (LEFT JOIN): a known and an unknown username take the same path.
   */
  async findChallenge(db: Queryable, challengeId: string): Promise<ChallengeRow | undefined> {
    const rows = await db.query<ChallengeRow>(
      `SELECT c.challenge_id, c.username, c.purpose, c.challenge, c.session_key_hash, c.session_key_thumbprint, c.new_commitment, u.commitment
         FROM zk_challenges c LEFT JOIN zk_users u ON u.username = c.username
        WHERE c.challenge_id = $1 AND c.expires_at > now()`, [challengeId]);
    return rows[0];
  },

  /** Atomic single use: true for exactly one caller, and only while the challenge is live. */
  async consumeChallenge(db: Queryable, challengeId: string): Promise<boolean> {
    const rows = await db.query('DELETE FROM zk_challenges WHERE challenge_id = $1 AND expires_at > now() RETURNING challenge_id', [challengeId]);
    return rows.length === 1;
  },

  /** Compare-and-set: replaces the commitment only if it is still the one the proof was checked against. */
  async replaceCommitment(db: Queryable, username: string, oldCommitment: string, newCommitment: string): Promise<{ updated_at: Date } | undefined> {
    const rows = await db.query<{ updated_at: Date }>(
      'UPDATE zk_users SET commitment = $3, updated_at = now() WHERE username = $1 AND commitment = $2 RETURNING updated_at',
      [username, oldCommitment, newCommitment]);
    return rows[0];
  },

  /** Deletes challenges expired for more than a minute; returns how many. */
  async sweepExpired(db: Queryable): Promise<number> {
    return (await db.query("DELETE FROM zk_challenges WHERE expires_at < now() - interval '1 minute' RETURNING 1")).length;
  },
};
