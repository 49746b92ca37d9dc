/**
 * Extra purposes of a KEM key, fixed at creation (migration 009). Today one: `decapsulate`, because raw
 * decapsulation returns the shared secret itself (Google Cloud KMS's model), so it is off by default.
 *
 * Stored as the keyring's wrap of the purpose list bound to the key's id, owner and name as "version 0"
 * (no real version is 0): a database writer without the master key can neither forge the row nor copy
 * another key's; deleting it only turns the purpose off (fails closed).
 */
import { AppError } from '../errors.ts';
import type { Queryable } from '../store/index.ts';
import type { Keyring } from './keyring.ts';
import * as repo from './repo.ts';
import type { KeyRow } from './repo.ts';

export type KeyPurpose = 'decapsulate';
const PURPOSE_VERSION = 0;
const utf8 = new TextEncoder();

/** Writes the purposes of a new key (inside its creation transaction). */
export async function storePurposes(ring: Keyring, tx: Queryable, row: { id: string; owner: string; name: string }, purposes: KeyPurpose[]): Promise<void> {
  if (purposes.length === 0) return;
  await repo.insertPurposes(tx, row.id, ring.wrap(row, PURPOSE_VERSION, utf8.encode(purposes.join(','))));
}

/** The purposes of a checked key row (a row that does not open is the keyring's logged 500). */
export async function purposesOf(ring: Keyring, row: KeyRow): Promise<KeyPurpose[]> {
  const sealed = await repo.findPurposes(ring.store, row.id);
  if (!sealed) return [];
  const bytes = ring.unwrap({ ...row, version: PURPOSE_VERSION, public_key: null, wrapped_secret: sealed, version_mac: null });
  return new TextDecoder().decode(bytes).split(',').filter((p): p is KeyPurpose => p === 'decapsulate');
}

/** 403 unless the key was created with `purpose` allowed. */
export async function requirePurpose(ring: Keyring, row: KeyRow, purpose: KeyPurpose): Promise<void> {
  if (!(await purposesOf(ring, row)).includes(purpose)) {
    throw new AppError('forbidden', `this key was not created with ${purpose}Allowed: true; raw ${purpose} returns secret material and is off by default`);
  }
}
