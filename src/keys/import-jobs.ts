/**
 * Import jobs (BYOK with post-quantum wrapping, docs/ENCRYPTION.md "Import jobs"): `createImportJob`
 * makes a short-lived X-Wing key pair whose private seed never leaves the service (wrapped at rest,
 * deleted at expiry); the client HPKE-wraps key material to its public key; `importKeyVersion` opens
 * it in the worker pool and stores it as a new version of a key (or version 1 of a new key) with the
 * same wrapping and integrity MACs as generated material.
 *
 * Wrapping: the X-Wing suite (HKDF-SHA256, ChaCha20-Poly1305), info "pqzk import v1",
 * aad = "<job id>\n<algorithm>": material wrapped for another job or algorithm does not open.
 */
import { base64urlEncode, isKemAlgorithm, isSignatureAlgorithm, KEM_ALGORITHMS, SIGNATURE_ALGORITHMS, type Algorithm } from '../crypto/index.ts';
import { randomId } from '../crypto/hash.ts';
import { AppError, DecryptionError } from '../errors.ts';
import { decodeField, invalid } from './inputs.ts';
import type { Keyring } from './keyring.ts';
import * as lifecycle from './lifecycle.ts';
import type { KeyInfo } from './lifecycle.ts';
import * as repo from './repo.ts';
import type { ImportJobRow, KeyRow } from './repo.ts';
import { suiteInfo, type SuiteInfo } from './encrypt.ts';
import { importPublicKeyVersion } from './import-public.ts';
import { latestIsPublicOnly, publicOnlyError } from './public-only.ts';

export const IMPORT_INFO = 'pqzk import v1';
export const importAad = (jobId: string, algorithm: string): string => `${jobId}\n${algorithm}`;
/** Default and largest import-job lifetime (seconds). */
export const IMPORT_JOB_TTL_S = 900;
export const IMPORT_JOB_MAX_TTL_S = 86_400;

export interface ImportJobInfo { id: string; algorithm: 'X-Wing'; publicKey: string; expiresAt: string; suite: SuiteInfo }

const utf8 = new TextEncoder();
/** The identity the job row's MAC and its wrap are bound to: a name no key can have, carrying the expiry. */
const jobIdentity = (j: { id: string; owner: string; expires_at: Date }) =>
  ({ id: j.id, owner: j.owner, name: `~import-job@${new Date(j.expires_at).getTime()}`, algorithm: 'X-Wing', exportable: false });
const jobRow = (j: ImportJobRow): KeyRow => ({
  ...jobIdentity(j), deletion_allowed: false, min_version: 1, latest_version: 1, created_at: j.created_at, updated_at: j.created_at, row_mac: null,
  rotation_period_seconds: null, next_rotation_at: null, max_versions: null,
});
const gone = (): AppError => new AppError('gone', 'this import job has expired; create a new one');
const noJob = (): AppError => new AppError('not_found', 'no such import job');

function info(j: ImportJobRow): ImportJobInfo {
  return {
    id: j.id, algorithm: 'X-Wing', publicKey: base64urlEncode(j.public_key), expiresAt: new Date(j.expires_at).toISOString(),
    suite: suiteInfo('X-Wing'),
  };
}

export async function createImportJob(ring: Keyring, owner: string, req: { ttlSeconds?: number | undefined }): Promise<ImportJobInfo> {
  const ttl = req.ttlSeconds ?? IMPORT_JOB_TTL_S;
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > IMPORT_JOB_MAX_TTL_S) throw invalid('ttlSeconds', `ttlSeconds must be 60..${IMPORT_JOB_MAX_TTL_S}`);
  const { publicKey, material } = await ring.generate('X-Wing');
  try {
    // Whole milliseconds survive the timestamptz round trip (microseconds), so the MAC'd name re-derives.
    const job = { id: randomId(), owner, expires_at: new Date(Date.now() + ttl * 1000) };
    const ident = jobIdentity(job);
    const row = { ...job, public_key: publicKey, wrapped_secret: ring.wrap(ident, 1, material), row_mac: ring.versionMac(ident, 1, publicKey) };
    await repo.insertImportJob(ring.store, row);
    return info({ ...row, created_at: new Date() });
  } finally {
    material.fill(0);
  }
}

/** The owner's live job, checked; 404 unknown, 410 expired (and deleted), 500 when its MAC fails. */
async function liveJob(ring: Keyring, owner: string, id: string): Promise<ImportJobRow> {
  const job = await repo.findImportJob(ring.store, owner, id);
  if (!job) throw noJob();
  // The fixed 500 of a key version whose MAC fails (swapped public key, extended expiry).
  ring.checkVersion(jobRow(job), { version: 1, public_key: job.public_key, version_mac: job.row_mac });
  if (new Date(job.expires_at).getTime() <= Date.now()) {
    await repo.deleteImportJob(ring.store, job.id);
    throw gone();
  }
  return job;
}

export async function getImportJob(ring: Keyring, owner: string, id: string): Promise<ImportJobInfo> {
  return info(await liveJob(ring, owner, id));
}

export interface ImportRequest {
  importJob?: string | undefined; wrappedKey?: string | undefined; algorithm?: string | undefined; exportable?: boolean | undefined;
  /** Instead of importJob + wrappedKey: a public key, as the next version of a public-key-only key. */
  publicKey?: string | Record<string, unknown> | undefined;
}

/**
 * Opens `wrappedKey` with the job's key and adds it as the newest version of key `name`; creates the key
 * (version 1) when it does not exist and `algorithm` is given. Wrong job, algorithm or bytes: 400
 * `decryption_failed` (fixed); a job of another owner: 404; expired: 410. Nothing is written on failure.
 */
export async function importKeyVersion(ring: Keyring, owner: string, name: string, req: ImportRequest): Promise<KeyInfo> {
  if (req.publicKey !== undefined) {
    if (req.importJob !== undefined || req.wrappedKey !== undefined || req.exportable !== undefined) throw invalid('publicKey', 'send either publicKey or importJob + wrappedKey');
    return importPublicKeyVersion(ring, owner, name, req.publicKey);
  }
  if (req.importJob === undefined || req.wrappedKey === undefined) throw invalid('wrappedKey', 'importJob and wrappedKey are required (or publicKey)');
  const wrapped = decodeField('wrappedKey', req.wrappedKey, { min: 1, max: 8192 });
  const job = await liveJob(ring, owner, req.importJob);
  const existing = await repo.findKey(ring.store, owner, name);
  if (existing && await latestIsPublicOnly(ring, owner, name)) throw publicOnlyError('take private material (import public keys with publicKey)');
  const algorithm = existing ? ring.checkKey(existing).algorithm : req.algorithm;
  if (algorithm === undefined) throw invalid('algorithm', `key ${name} does not exist: give the algorithm to create it from the imported material`);
  if (!isSignatureAlgorithm(algorithm) && !isKemAlgorithm(algorithm)) {
    throw invalid('algorithm', `unknown algorithm; one of ${[...SIGNATURE_ALGORITHMS, ...KEM_ALGORITHMS].join(', ')}`);
  }
  if (existing && req.algorithm !== undefined && req.algorithm !== algorithm) throw invalid('algorithm', `key ${name} is ${algorithm}, not ${req.algorithm}`);
  if (existing && req.exportable !== undefined) throw invalid('exportable', 'exportable is fixed when a key is created');
  const jobSeed = ring.unwrap({ ...jobRow(job), version: 1, public_key: job.public_key, wrapped_secret: job.wrapped_secret, version_mac: job.row_mac });
  let given;
  try {
    given = await ring.pool.run('keys.importUnwrap', {
      jobSeed, wrapped, aad: utf8.encode(importAad(job.id, algorithm)), info: utf8.encode(IMPORT_INFO), algorithm: algorithm as Algorithm,
    });
  } catch (e) {
    if (e instanceof DecryptionError || (e instanceof AppError && e.code === 'decryption_failed')) throw new DecryptionError();
    throw e;
  } finally {
    jobSeed.fill(0);
  }
  try {
    if (existing) return await lifecycle.rotateKey(ring, owner, name, { ...given, algorithm });
    return await lifecycle.createKey(ring, owner, { name, algorithm, exportable: req.exportable ?? false }, given);
  } finally {
    given.material.fill(0);
  }
}

/** Deletes expired jobs and their wrapped keys (the plugin's sweep). */
export const sweepImportJobs = (ring: Keyring): Promise<number> => repo.deleteExpiredImportJobs(ring.store);
