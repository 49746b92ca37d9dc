/**
 * Integrity of key rows at rest: an attacker who can write the database but does not hold the
 * master key must not be able to change what a key is (its public key, algorithm, exportability,
 * minVersion) without the service noticing. The wrap AAD (wrap.ts) only says where a secret
 * belongs; these MACs cover the clear columns the service acts on.
 *
 * MAC key: HKDF-SHA-256(ikm = master key, salt = "", info = "pqzk key-row mac v1", 32 B).
 * MAC: HMAC-SHA-256 over a canonical, length-prefixed encoding (each field: u32 big-endian length ‖ bytes):
 * - key row (`keys.row_mac`): "key" ‖ id ‖ owner ‖ name ‖ algorithm ‖ exportable ‖ min_version ‖ deletion_allowed,
 *   followed, when the key has a rotation period or a version limit (migration 011), by
 *   "lifecycle" ‖ rotation_period_seconds ‖ max_versions (0 for none); a key with neither keeps the
 *   original encoding, so rows written before 011 still verify and clearing both is covered too
 * - version row (`key_versions.row_mac`): "version" ‖ id ‖ owner ‖ name ‖ algorithm ‖ exportable ‖ version ‖ SHA-256(public_key)
 * A missing MAC fails the check. The MACs do not stop a rollback to an earlier authentic state
 * of the same row, nor deletion of rows (docs/KEYS.md, "Integrity at rest").
 */
import { nativeBackend } from '../crypto/index.ts';
import { concatBytes, constantTimeEqual } from '../crypto/bytes.ts';
import { AppError } from '../errors.ts';
import { deriveSubkey } from '../secrets.ts';

const utf8 = new TextEncoder();
const macKey = (masterKey: Uint8Array): Uint8Array => deriveSubkey(masterKey, 'pqzk key-row mac v1');

const u32 = (n: number): Uint8Array => {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffff_ffff) throw new AppError('internal', 'integer field out of range');
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};

function encode(fields: Array<string | Uint8Array | number | boolean>): Uint8Array {
  return concatBytes(...fields.flatMap((f) => {
    const bytes = typeof f === 'string' ? utf8.encode(f) : typeof f === 'number' ? u32(f) : typeof f === 'boolean' ? Uint8Array.of(f ? 1 : 0) : f;
    return [u32(bytes.length), bytes];
  }));
}

const hmac = (masterKey: Uint8Array, data: Uint8Array): Uint8Array => nativeBackend.hmac('SHA-256', macKey(masterKey), data);

export interface KeyRowFields {
  id: string; owner: string; name: string; algorithm: string; exportable: boolean; min_version: number; deletion_allowed: boolean;
  /** Lifecycle policy (migration 011); absent or null: none. */
  rotation_period_seconds?: number | null | undefined; max_versions?: number | null | undefined;
}
export interface VersionFields { id: string; owner: string; name: string; algorithm: string; exportable: boolean; version: number; public_key: Uint8Array }

/** MAC of a key row's policy columns. */
export function keyRowMac(masterKey: Uint8Array, k: KeyRowFields): Uint8Array {
  const base: Array<string | number | boolean> = ['key', k.id, k.owner, k.name, k.algorithm, k.exportable, k.min_version, k.deletion_allowed];
  const period = k.rotation_period_seconds ?? null;
  const max = k.max_versions ?? null;
  // Both ≥ 1 when set, so 0 stands for "none" unambiguously.
  if (period !== null || max !== null) base.push('lifecycle', period ?? 0, max ?? 0);
  return hmac(masterKey, encode(base));
}

/** MAC of a version row (its public key by hash), bound to the key's identity and algorithm. */
export function versionRowMac(masterKey: Uint8Array, v: VersionFields): Uint8Array {
  const pkHash = nativeBackend.hash('SHA-256', v.public_key);
  return hmac(masterKey, encode(['version', v.id, v.owner, v.name, v.algorithm, v.exportable, v.version, pkHash]));
}

/** The fixed 500 every integrity failure maps to (no detail about which field differed). */
export const integrityError = (): AppError => new AppError('internal', 'stored key material failed its integrity check');

const matches = (stored: Uint8Array | null | undefined, expected: Uint8Array): boolean =>
  stored instanceof Uint8Array && stored.length === expected.length && constantTimeEqual(stored, expected);

/** Whether a key row's stored MAC matches its columns (constant-time compare). */
export const keyRowIntact = (masterKey: Uint8Array, k: KeyRowFields & { row_mac?: Uint8Array | null }): boolean => matches(k.row_mac, keyRowMac(masterKey, k));
/** Whether a version row's stored MAC matches its columns (constant-time compare). */
export const versionRowIntact = (masterKey: Uint8Array, v: VersionFields & { version_mac?: Uint8Array | null }): boolean => matches(v.version_mac, versionRowMac(masterKey, v));
