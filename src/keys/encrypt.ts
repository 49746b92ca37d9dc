/**
 * Encryption to a managed KEM key: HPKE base-mode single-shot (RFC 9180 §6.1, draft-ietf-hpke-pq) with
 * the key algorithm's default suite (src/crypto/hpke.ts DEFAULT_SUITES, docs/ENCRYPTION.md), sealed to
 * the newest version. Serialized form: `v<N>:` ‖ base64url(enc ‖ ct).
 *
 * encrypt (this module), decrypt and rewrap (decrypt.ts), generateDataKey (datakey.ts) and decapsulate
 * (decapsulate.ts) share the helpers below. All HPKE work runs in the worker pool.
 */
import { base64urlEncode, isKemAlgorithm, type KemAlgorithm } from '../crypto/index.ts';
import { DEFAULT_SUITES, HPKE_AEAD_IDS, HPKE_KDF_IDS, HPKE_KEM_IDS } from '../crypto/hpke.ts';
import { AppError, toProblem, type Problem } from '../errors.ts';
import { MAX_BATCH, MAX_PLAINTEXT_BYTES, decodeField, invalid, parseHpkeContext } from './inputs.ts';
import type { Keyring } from './keyring.ts';
import type { KeyRow } from './repo.ts';
import type { SealInput } from './worker.ts';

export interface HpkeItem { aad?: string | undefined; info?: string | undefined; reference?: string | undefined }
export interface EncryptItem extends HpkeItem { plaintext?: string | undefined }
export interface EncryptRequest extends EncryptItem { batch?: EncryptItem[] | undefined }
export interface SuiteInfo { kem: string; kemId: number; kdf: string; kdfId: number; aead: string; aeadId: number }
export interface EncryptResult { ciphertext: string; algorithm: string; version: number; suite: SuiteInfo }
export interface ItemResult { reference?: string; ciphertext?: string; plaintext?: string; error?: Problem }
export interface BatchEncryptResult { algorithm: string; version: number; suite: SuiteInfo; results: ItemResult[] }

/** The key's algorithm when it is a KEM key; 400 for a signature key. */
export function kemAlgorithm(row: KeyRow): KemAlgorithm {
  if (!isKemAlgorithm(row.algorithm)) throw new AppError('unsupported_operation', `${row.algorithm} is a signature key; encryption needs an ML-KEM or X-Wing key`);
  return row.algorithm;
}

/** The suite of a KEM key, as the API reports it. */
export function suiteInfo(alg: KemAlgorithm): SuiteInfo {
  const s = DEFAULT_SUITES[alg];
  return { kem: s.kem, kemId: HPKE_KEM_IDS[s.kem], kdf: s.kdf, kdfId: HPKE_KDF_IDS[s.kdf], aead: s.aead, aeadId: HPKE_AEAD_IDS[s.aead] };
}

export const serialize = (version: number, bytes: Uint8Array): string => `v${version}:${base64urlEncode(bytes)}`;

/** The newest version's public key and row (through the ≤ 1 s cache; the seed copy is wiped at once). */
export async function newestPublicKey(ring: Keyring, owner: string, name: string): Promise<{ row: KeyRow & { version: number }; algorithm: KemAlgorithm; publicKey: Uint8Array }> {
  const { row, material } = await ring.cachedMaterial(owner, name, undefined);
  material.fill(0);
  return { row, algorithm: kemAlgorithm(row), publicKey: row.public_key };
}

/**
 * Runs one task per item (a bad item is reported in its slot; a refusal of the service, 5xx, fails the
 * whole request), like batch signing.
 */
export async function runItems<I, O>(
  items: Array<HpkeItem>, parse: (item: HpkeItem, prefix: string) => I, run: (inputs: I[]) => Promise<Array<PromiseSettledResult<O>>>, put: (slot: ItemResult, out: O) => void,
): Promise<ItemResult[]> {
  if (items.length === 0 || items.length > MAX_BATCH) throw invalid('batch', `batch must hold 1 to ${MAX_BATCH} items`);
  const results: ItemResult[] = [];
  const inputs: I[] = [];
  const slots: number[] = [];
  items.forEach((item, i) => {
    results.push(item.reference !== undefined ? { reference: item.reference } : {});
    try {
      inputs.push(parse(item, `batch.${i}.`));
      slots.push(i);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      results[i]!.error = toProblem(e);
    }
  });
  const settled = inputs.length > 0 ? await run(inputs) : [];
  settled.forEach((r, k) => {
    const slot = results[slots[k]!]!;
    if (r.status === 'fulfilled') put(slot, r.value);
    else if (r.reason instanceof AppError && r.reason.status < 500) slot.error = toProblem(r.reason);
    else throw r.reason;
  });
  return results;
}

/** Seals one plaintext (or a batch) to the newest version of the key. */
export async function encrypt(ring: Keyring, owner: string, name: string, req: EncryptRequest): Promise<EncryptResult | BatchEncryptResult> {
  const { row, algorithm, publicKey } = await newestPublicKey(ring, owner, name);
  const base = { algorithm, version: row.version, suite: suiteInfo(algorithm) };
  const parse = (item: EncryptItem, prefix = ''): SealInput => {
    if (item.plaintext === undefined) throw invalid(`${prefix}plaintext`, 'plaintext is required');
    return { algorithm, publicKey, plaintext: decodeField(`${prefix}plaintext`, item.plaintext, { max: MAX_PLAINTEXT_BYTES }), ...parseHpkeContext(item, prefix) };
  };
  if (req.batch === undefined) {
    const out = await ring.pool.run('keys.seal', parse(req));
    return { ciphertext: serialize(row.version, out.ciphertext), ...base };
  }
  if (req.plaintext !== undefined || req.aad !== undefined || req.info !== undefined) throw invalid('batch', 'send either batch or plaintext/aad/info, not both');
  const results = await runItems(req.batch, parse, (inputs) => ring.pool.runBatch('keys.seal', inputs), (slot, out) => { slot.ciphertext = serialize(row.version, out.ciphertext); });
  return { ...base, results };
}
