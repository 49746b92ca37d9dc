/**
 * Raw KEM decapsulation (Google Cloud KMS's `decapsulate`): for clients that encapsulate locally and
 * run their own key schedule. Returns the shared secret, so a key must have been created with
 * `decapsulateAllowed: true` (purposes.ts); 403 otherwise. The version comes from an optional `v<N>:`
 * prefix (else the newest); FIPS 203 implicit rejection applies (a wrong ciphertext of the right
 * size yields an unrelated secret, not an error).
 */
import { SIZES, base64urlEncode } from '../crypto/index.ts';
import { decodeField, invalid, parseVersionedSignature } from './inputs.ts';
import type { Keyring } from './keyring.ts';
import { kemAlgorithm } from './encrypt.ts';
import { requirePurpose } from './purposes.ts';
import { requirePrivate } from './public-only.ts';

export async function decapsulate(ring: Keyring, owner: string, name: string, req: { ciphertext: string }): Promise<{ sharedSecret: string; algorithm: string; version: number }> {
  const prefixed = /^v[0-9]{1,10}:/.test(req.ciphertext);
  const c = prefixed ? parseVersionedSignature('ciphertext', req.ciphertext) : { version: undefined, bytes: decodeField('ciphertext', req.ciphertext) };
  const { row, material } = await ring.cachedMaterial(owner, name, c.version);
  try {
    const algorithm = kemAlgorithm(row);
    requirePrivate(material, 'decapsulate');
    await requirePurpose(ring, row, 'decapsulate');
    if (row.version < row.min_version) throw invalid('ciphertext', `version ${row.version} is below the key's minVersion ${row.min_version}`);
    if (c.bytes.length !== SIZES[algorithm].cipherText) throw invalid('ciphertext', `ciphertext must be ${SIZES[algorithm].cipherText} bytes for ${algorithm}`);
    const out = await ring.pool.run('keys.decapsulate', { algorithm, material, cacheId: `${row.id}#v${row.version}`, ciphertext: c.bytes });
    const sharedSecret = base64urlEncode(out.sharedSecret);
    out.sharedSecret.fill(0);
    return { sharedSecret, algorithm, version: row.version };
  } finally {
    material.fill(0);
  }
}
