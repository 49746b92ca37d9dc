/**
 * Public-key-only keys (issue 14; Vault's long-standing request): a key whose versions hold an imported
 * public key and no private material, to verify signatures with or encrypt to by name. `sign`, `decrypt`,
 * `rewrap`, `decapsulate`, `rotate` and private imports are 400 `unsupported_operation` with
 * `reason: "public_key_only"`; `export` is 403 (such keys are never exportable).
 *
 * Marker: the version's wrapped material is the keyring's wrap of zero bytes, bound to the key's id,
 * owner, name and version like any material, so a database writer cannot turn a private version into a
 * public-only one or back. The public key itself is covered by the version-row MAC as usual.
 */
import { AppError } from '../errors.ts';
import type { Keyring } from './keyring.ts';

/** Whether unwrapped material is the public-only marker. */
export const isPublicOnly = (material: Uint8Array): boolean => material.length === 0;

/** The 400 of an operation that needs private material, on a public-key-only key. */
export const publicOnlyError = (op: string): AppError =>
  new AppError('unsupported_operation', `this key holds public keys only (imported); it cannot ${op}`, { reason: 'public_key_only' });

/** Throws publicOnlyError(op) when the material is the marker. */
export function requirePrivate(material: Uint8Array, op: string): void {
  if (isPublicOnly(material)) throw publicOnlyError(op);
}

/** Whether the newest version of a key is public-only (rotate, private imports). */
export async function latestIsPublicOnly(ring: Keyring, owner: string, name: string): Promise<boolean> {
  const { material } = await ring.cachedMaterial(owner, name, undefined);
  const only = isPublicOnly(material);
  material.fill(0);
  return only;
}

/**
 * Whether the newest version is public-only, read from the store (not the ≤ 1 s cache: getKey must not
 * warm it, so a row changed right after a create is read again by the next sign). The copy is wiped at once.
 */
export async function latestIsPublicOnlyUncached(ring: Keyring, owner: string, name: string): Promise<boolean> {
  let material: Uint8Array;
  try {
    material = ring.unwrap(await ring.material(owner, name, undefined));
  } catch (e) {
    // The newest version is never destroyed through the API; if a database writer erased it, getKey still answers.
    if (e instanceof AppError && e.code === 'key_version_destroyed') return false;
    throw e;
  }
  const only = isPublicOnly(material);
  material.fill(0);
  return only;
}
