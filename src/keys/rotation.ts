/**
 * Automatic rotation and version retention of managed keys (issue 15 §2, docs/KEYS.md "Lifecycle").
 *
 * - `rotationPeriod` is a whole number of seconds, ROTATION_PERIOD_MIN_S (1 hour) to
 *   ROTATION_PERIOD_MAX_S (10 years of 365 days). The key row stores it (MAC-covered) with
 *   `next_rotation_at` (whole seconds).
 * - The keys plugin runs `sweepRotations` every KEY_ROTATION_SWEEP_MS on every instance: at most
 *   ROTATION_BATCH due keys per tick, each rotated through the worker pool (`keys.generate`, like a
 *   manual rotation) and claimed by one conditional UPDATE on (latest version, next rotation time,
 *   period) in the transaction that inserts the new version: of instances racing for one due
 *   rotation exactly one adds a version, the others discard what they generated. (A re-read before
 *   generating and a shuffled batch keep that waste small; they are not what makes it exact.)
 * - The next rotation is one period after the one that was due; when the service was down for longer
 *   than that, one rotation catches up and the next is one period from now (missed periods are not
 *   replayed). A manual rotation starts a new period (repo.bumpVersion).
 * - `maxVersions`: after each new version (manual, automatic, imported), the versions beyond the newest
 *   `maxVersions` that still hold material are destroyed in the same transaction (destroy.ts).
 */
import { AppError } from '../errors.ts';
import type { Algorithm } from '../crypto/index.ts';
import type { Queryable } from '../store/index.ts';
import { invalid } from './inputs.ts';
import type { Keyring } from './keyring.ts';
import * as repo from './repo.ts';
import type { KeyRow } from './repo.ts';

/** Shortest automatic rotation period, in seconds (1 hour). */
export const ROTATION_PERIOD_MIN_S = 3600;
/** Longest automatic rotation period, in seconds (10 years of 365 days). */
export const ROTATION_PERIOD_MAX_S = 315_360_000;
/** Largest `maxVersions` (versions that keep private material). */
export const MAX_VERSIONS_LIMIT = 1000;
/** Due keys one sweep rotates at most (the rest wait for the next tick). */
export const ROTATION_BATCH = 16;

/** A time truncated to whole seconds (what next_rotation_at holds, so reads compare exactly). */
export const wholeSeconds = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

/** RFC 3339 in whole seconds, e.g. `2026-12-01T11:00:00Z`. */
export const rfc3339Seconds = (d: Date): string => new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A rotationPeriod from a request: seconds in range, null (none) where `nullable`, undefined when absent; 400 otherwise. */
export function parseRotationPeriod(value: unknown, nullable: boolean): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === null && nullable) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < ROTATION_PERIOD_MIN_S || value > ROTATION_PERIOD_MAX_S) {
    throw invalid('rotationPeriod', `rotationPeriod must be a whole number of seconds from ${ROTATION_PERIOD_MIN_S} (1 hour) to ${ROTATION_PERIOD_MAX_S} (10 years)${nullable ? ', or null for none' : ''}`);
  }
  return value;
}

/** A maxVersions from a request: 1..MAX_VERSIONS_LIMIT, null (all) where `nullable`, undefined when absent; 400 otherwise. */
export function parseMaxVersions(value: unknown, nullable: boolean): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === null && nullable) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_VERSIONS_LIMIT) {
    throw invalid('maxVersions', `maxVersions must be a whole number from 1 to ${MAX_VERSIONS_LIMIT}${nullable ? ', or null for no limit' : ''}`);
  }
  return value;
}

/** The first rotation time of a period that starts at `now`. */
export const firstRotation = (now: Date, periodSeconds: number): Date => wholeSeconds(now.getTime() + periodSeconds * 1000);

/** The rotation after the one due at `due`: one period later, or one period from now when that is past too. */
export function nextRotation(due: Date, periodSeconds: number, now: Date): Date {
  const next = due.getTime() + periodSeconds * 1000;
  return next > now.getTime() ? wholeSeconds(next) : firstRotation(now, periodSeconds);
}

/**
 * Inserts the claimed version (inside the transaction that claimed it) and applies the key's retention
 * as the claimed row has it, after checking that row's MAC (so a maxVersions forged after the caller's
 * read destroys nothing: the transaction rolls back); returns the versions destroyed. The caller wipes
 * `material` and invalidates the cache.
 */
export async function insertVersionAndRetain(ring: Keyring, tx: Queryable, key: KeyRow, claimed: repo.Claimed, publicKey: Uint8Array, material: Uint8Array, now: Date): Promise<number[]> {
  ring.checkKey(claimed);
  const version = claimed.latest_version;
  await repo.insertVersion(tx, key.id, version, publicKey, ring.wrap(key, version, material), ring.versionMac(key, version, publicKey));
  return claimed.max_versions === null ? [] : repo.destroyBeyond(tx, key.id, claimed.max_versions, now);
}

/**
 * What one sweep did: rotations this instance made; `skipped`, due keys someone else (another instance,
 * a manual rotation) had rotated before this sweep generated anything; `lost`, rotations whose claim
 * another transaction won after this sweep had generated the material (wiped); keys that failed.
 */
export interface SweepResult { rotated: number; skipped: number; lost: number; failed: number; events: RotationEvent[] }

/** One rotation this sweep made: the key, its new version and the versions retention destroyed with it (for the audit log). */
export interface RotationEvent { owner: string; name: string; version: number; destroyed: number[] }

/** Rotates one due key unless someone else already did. */
async function rotateDue(ring: Keyring, due: KeyRow, now: Date): Promise<'skipped' | 'lost' | RotationEvent> {
  const key = ring.checkKey(due); // a forged period or limit fails here (logged), nothing is generated
  const seen = { latestVersion: key.latest_version, nextRotationAt: key.next_rotation_at!, periodSeconds: key.rotation_period_seconds! };
  // A cheap re-read first: after a while in the batch another instance has often done it already.
  const fresh = await repo.findKey(ring.store, key.owner, key.name);
  if (!fresh || fresh.latest_version !== seen.latestVersion || fresh.next_rotation_at?.getTime() !== seen.nextRotationAt.getTime()) return 'skipped';
  const { publicKey, material } = await ring.generate(key.algorithm as Algorithm);
  try {
    return await ring.store.transaction(async (tx) => {
      const claimed = await repo.claimRotation(tx, key.id, seen, nextRotation(seen.nextRotationAt, seen.periodSeconds, now));
      if (!claimed) return 'lost' as const;
      const destroyed = await insertVersionAndRetain(ring, tx, key, claimed, publicKey, material, now);
      return { owner: key.owner, name: key.name, version: claimed.latest_version, destroyed };
    });
  } finally {
    material.fill(0);
    ring.invalidate(key.owner, key.name);
  }
}

/** Fisher–Yates with Math.random: spreads instances sweeping one batch over different keys (not a security choice). */
function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * One sweep at `now` (the keyring's clock by default): the `limit` keys due longest, in random order
 * (instances sweeping at once then mostly take different keys first), one at a time.
 */
export async function sweepRotations(ring: Keyring, now: Date = ring.now(), limit = ROTATION_BATCH): Promise<SweepResult> {
  const out: SweepResult = { rotated: 0, skipped: 0, lost: 0, failed: 0, events: [] };
  for (const due of shuffled(await repo.dueRotations(ring.store, now, limit))) {
    try {
      const done = await rotateDue(ring, due, now);
      if (typeof done === 'string') out[done]++;
      else { out.rotated++; out.events.push(done); }
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      out.failed++;
      ring.log.warn({ keyId: due.id, code: err.code }, 'automatic rotation of a key failed; retried next sweep');
    }
  }
  return out;
}
