/**
 * Decryption with a managed KEM key and rewrapping to its newest version. The version comes from the
 * ciphertext's `v<N>:` prefix. Every failure of the ciphertext itself (enc, ct, tag, aad, info, a
 * prefix naming a version that does not open it or does not exist, a ciphertext for another key) is
 * the same `400 decryption_failed` with the fixed detail "decryption failed": no oracle. A version
 * below the key's minVersion is refused as such (a policy, not a property of the ciphertext).
 */
import { AppError, DecryptionError } from '../errors.ts';
import { ENC_MAX_BYTES, MAX_PLAINTEXT_BYTES, invalid, parseHpkeContext, parseVersionedSignature } from './inputs.ts';
import { base64urlEncode } from '../crypto/index.ts';
import type { Keyring } from './keyring.ts';
import { kemAlgorithm, newestPublicKey, runItems, serialize, type HpkeItem, type ItemResult } from './encrypt.ts';
import type { OpenInput } from './worker.ts';
import { requirePrivate } from './public-only.ts';

export interface DecryptItem extends HpkeItem { ciphertext?: string | undefined }
export interface DecryptRequest extends DecryptItem { batch?: DecryptItem[] | undefined }

/** `v<N>:<base64url>` of a ciphertext; a size no suite can produce is a decryption failure. */
export function parseCiphertext(field: string, s: string | undefined): { version: number; bytes: Uint8Array } {
  if (s === undefined) throw invalid(field, `${field} is required`);
  const c = parseVersionedSignature(field, s);
  if (c.bytes.length > ENC_MAX_BYTES + MAX_PLAINTEXT_BYTES + 16) throw new DecryptionError();
  return c;
}

/** A version's key for opening: its material copy (the caller wipes it) and the checks every open needs. */
async function openingKey(ring: Keyring, owner: string, name: string, version: number) {
  let found;
  try {
    found = await ring.cachedMaterial(owner, name, version);
  } catch (e) {
    // No such version: the same answer as a tampered prefix.
    if (e instanceof AppError && e.code === 'invalid_input') throw new DecryptionError();
    throw e;
  }
  const { row, material } = found;
  try {
    const algorithm = kemAlgorithm(row);
    requirePrivate(material, 'decrypt');
    if (row.version < row.min_version) throw invalid('ciphertext', `the ciphertext's version ${row.version} is below the key's minVersion ${row.min_version}`);
    return { row, material, algorithm, cacheId: `${row.id}#v${row.version}` };
  } catch (e) {
    material.fill(0);
    throw e;
  }
}

/** Opens one ciphertext (or a batch; each item names its own version). */
export async function decrypt(ring: Keyring, owner: string, name: string, req: DecryptRequest): Promise<{ plaintext: string; version: number } | { results: ItemResult[] }> {
  if (req.batch === undefined) {
    const c = parseCiphertext('ciphertext', req.ciphertext);
    const k = await openingKey(ring, owner, name, c.version);
    try {
      const out = await ring.pool.run('keys.open', { algorithm: k.algorithm, material: k.material, cacheId: k.cacheId, ciphertext: c.bytes, ...parseHpkeContext(req) } satisfies OpenInput);
      return { plaintext: base64urlEncode(out.plaintext), version: k.row.version };
    } finally {
      k.material.fill(0);
    }
  }
  if (req.ciphertext !== undefined || req.aad !== undefined || req.info !== undefined) throw invalid('batch', 'send either batch or ciphertext/aad/info, not both');
  const held: Uint8Array[] = [];
  try {
    // Items are parsed first (syntax), then each version's key is fetched once.
    const parsed = req.batch.map((item, i) => {
      try { return { c: parseCiphertext(`batch.${i}.ciphertext`, item.ciphertext), ctx: parseHpkeContext(item, `batch.${i}.`) }; } catch (e) { return e as Error; }
    });
    const keys = new Map<number, Awaited<ReturnType<typeof openingKey>> | Error>();
    for (const p of parsed) {
      if (p instanceof Error || keys.has(p.c.version)) continue;
      try {
        const k = await openingKey(ring, owner, name, p.c.version);
        held.push(k.material);
        keys.set(p.c.version, k);
      } catch (e) {
        if (!(e instanceof AppError) || e.status >= 500 || e.code === 'not_found' || e.code === 'unsupported_operation') throw e;
        keys.set(p.c.version, e);
      }
    }
    let i = 0;
    const results = await runItems(req.batch, () => {
      const p = parsed[i++]!;
      if (p instanceof Error) throw p;
      const k = keys.get(p.c.version)!;
      if (k instanceof Error) throw k;
      return { algorithm: k.algorithm, material: k.material, cacheId: k.cacheId, ciphertext: p.c.bytes, ...p.ctx } satisfies OpenInput;
    }, (inputs) => ring.pool.runBatch('keys.open', inputs), (slot, out) => { slot.plaintext = base64urlEncode(out.plaintext); });
    return { results };
  } finally {
    for (const m of held) m.fill(0);
  }
}

/** Opens under the ciphertext's version and seals to the newest one in one worker task. */
export async function rewrap(ring: Keyring, owner: string, name: string, req: DecryptItem): Promise<{ ciphertext: string; version: number; previousVersion: number }> {
  const c = parseCiphertext('ciphertext', req.ciphertext);
  const ctx = parseHpkeContext(req);
  const to = await newestPublicKey(ring, owner, name);
  const k = await openingKey(ring, owner, name, c.version);
  try {
    const out = await ring.pool.run('keys.rewrap', {
      algorithm: k.algorithm, material: k.material, cacheId: k.cacheId, ciphertext: c.bytes, ...ctx, to: { algorithm: to.algorithm, publicKey: to.publicKey },
    });
    return { ciphertext: serialize(to.row.version, out.ciphertext), version: to.row.version, previousVersion: k.row.version };
  } finally {
    k.material.fill(0);
  }
}
