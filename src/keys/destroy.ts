/**
 * Destroying one version of a managed key (issue 15 §2; Google Cloud KMS's DestroyCryptoKeyVersion,
 * without the scheduled delay): its wrapped private material is erased in the store (the column is
 * set to zero bytes, the mark every secret-using path refuses with 410 `key_version_destroyed`,
 * keyring.ts), the version stays listed with `state: destroyed` and `destroyedAt`, and its public key
 * and version-row MAC are kept, so signatures it made still verify and ciphertexts can still be
 * produced for nobody (encryption always uses the newest version, which cannot be destroyed).
 *
 * Refusals change nothing: the current (newest) version → 409; a version the key does not have → 404;
 * a version already destroyed → 409 as well (the answer says so; nothing is left to erase).
 * One transaction holds the key row's lock, so a concurrent rotation cannot make the version being
 * destroyed the newest one after the check. The instance's ≤ 1 s key cache is invalidated before the
 * call returns; other instances may serve the erased material for up to that second (docs/KEYS.md).
 */
import { AppError } from '../errors.ts';
import { notFound, type Keyring } from './keyring.ts';
import { describe, type KeyInfo } from './lifecycle.ts';
import * as repo from './repo.ts';

/** The 409 of destroying the current version. */
const currentVersion = (name: string, version: number): AppError =>
  new AppError('conflict', `version ${version} is the current version of key ${name} and cannot be destroyed; rotate first`, { reason: 'current_version' });

/** Erases the private material of `version`; answers with the key as getKey shows it. */
export async function destroyKeyVersion(ring: Keyring, owner: string, name: string, version: number): Promise<KeyInfo> {
  if (!Number.isSafeInteger(version) || version < 1) throw new AppError('invalid_input', 'version must be a positive integer', { field: 'version' });
  const now = ring.now();
  let row: repo.KeyRow;
  try {
    row = await ring.store.transaction(async (tx) => {
      const key = await repo.lockKey(tx, owner, name);
      if (!key) throw notFound();
      ring.checkKey(key);
      const v = version <= key.latest_version ? await repo.findVersion(tx, key.id, version) : undefined;
      if (!v) throw new AppError('not_found', `key ${name} has no version ${version}; latest is ${key.latest_version}`, { reason: 'no_such_version' });
      ring.checkVersion(key, v);
      if (version === key.latest_version) throw currentVersion(name, version);
      if (v.destroyed || !(await repo.destroyVersion(tx, key.id, version, now))) {
        throw new AppError('conflict', `version ${version} of key ${name} is already destroyed`, { reason: 'already_destroyed' });
      }
      return key;
    });
  } finally {
    ring.invalidate(owner, name);
  }
  return describe(ring, row);
}
