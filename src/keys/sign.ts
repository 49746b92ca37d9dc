/**
 * Signing with a managed key: one message (or external μ), or a batch, with the latest (or the
 * given) version. The path, top-down: parse the request (inputs.ts) → the version and a copy of its
 * material from the keyring (keyring.ts: cache → store, integrity check, unwrap) → `keys.sign` in
 * the worker pool (worker.ts: prepared key → crypto backend) → `v<N>:<base64url>`.
 */
import type { PreHashAlgorithm, SignatureAlgorithm } from '../crypto/index.ts';
import { base64urlEncode, isSignatureAlgorithm } from '../crypto/index.ts';
import { AppError, toProblem, type Problem } from '../errors.ts';
import { MAX_BATCH, invalid, parseMessage, parsePrehash, type SignItem } from './inputs.ts';
import type { Keyring } from './keyring.ts';
import { requirePrivate } from './public-only.ts';
import type { KeyRow } from './repo.ts';
import type { SignInput } from './worker.ts';

export interface SignRequest extends SignItem {
  batch?: SignItem[] | undefined; prehash?: string | undefined; deterministic?: boolean | undefined; version?: number | undefined;
}
export interface SignResult { signature: string; algorithm: string; version: number }
export interface BatchResult {
  algorithm: string; version: number;
  results: Array<{ reference?: string; signature?: string; error?: Problem }>;
}

/** The key's algorithm when it can sign with `version`; 400 for a KEM key or a version below minVersion. */
export function signingAlgorithm(row: KeyRow, version: number): SignatureAlgorithm {
  if (!isSignatureAlgorithm(row.algorithm)) throw new AppError('unsupported_operation', `${row.algorithm} is a KEM key; it cannot sign`);
  if (version < row.min_version) throw invalid('version', `version ${version} is below the key's minVersion ${row.min_version}`);
  return row.algorithm;
}

const signature = (version: number, bytes: Uint8Array): string => `v${version}:${base64urlEncode(bytes)}`;

/** Signs one message (or external μ), or a batch of up to MAX_BATCH items, each its own task. */
export async function sign(ring: Keyring, owner: string, name: string, req: SignRequest): Promise<SignResult | BatchResult> {
  const { row, material } = await ring.cachedMaterial(owner, name, req.version);
  try {
    requirePrivate(material, 'sign'); // a public-key-only key (public-only.ts): a clear refusal
    const alg = signingAlgorithm(row, row.version);
    const prehash: PreHashAlgorithm | undefined = parsePrehash(alg, req.prehash);
    const base = {
      algorithm: alg, material, cacheId: `${row.id}#v${row.version}`,
      ...(prehash ? { prehash } : {}), ...(req.deterministic ? { deterministic: true } : {}),
    };
    if (req.batch === undefined) {
      const msg = parseMessage(alg, req, prehash);
      const out = await ring.pool.run('keys.sign', { ...base, ...msg } satisfies SignInput);
      return { signature: signature(row.version, out.signature), algorithm: alg, version: row.version };
    }
    if (req.message !== undefined || req.mu !== undefined || req.context !== undefined) {
      throw invalid('batch', 'send either batch or message/mu/context, not both');
    }
    if (req.batch.length === 0 || req.batch.length > MAX_BATCH) throw invalid('batch', `batch must hold 1 to ${MAX_BATCH} items`);
    // Each item parsed on its own (a bad item is reported in its slot), the valid ones admitted item
    // by item as one batch (a refusal of the service, 5xx, fails the whole request).
    const results: BatchResult['results'] = [];
    const inputs: SignInput[] = [];
    const slots: number[] = [];
    req.batch.forEach((item, i) => {
      results.push(item.reference !== undefined ? { reference: item.reference } : {});
      try {
        inputs.push({ ...base, ...parseMessage(alg, item, prehash, `batch.${i}.`) });
        slots.push(i);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        results[i]!.error = toProblem(e);
      }
    });
    const signed = inputs.length > 0 ? await ring.pool.runBatch('keys.sign', inputs) : [];
    signed.forEach((r, k) => {
      const slot = results[slots[k]!]!;
      if (r.status === 'fulfilled') slot.signature = signature(row.version, r.value.signature);
      else if (r.reason instanceof AppError && r.reason.status < 500) slot.error = toProblem(r.reason);
      else throw r.reason;
    });
    return { algorithm: alg, version: row.version, results };
  } finally {
    material.fill(0);
  }
}

/** Raw signature bytes with the latest (or the given) version (system keys; no API prefix). */
export async function signRaw(ring: Keyring, owner: string, name: string, message: Uint8Array, context?: Uint8Array, version?: number): Promise<{ signature: Uint8Array; version: number }> {
  // Callers publish the signature next to a freshly read identity(): "latest" comes from the store,
  // never from the ≤ 1 s cache (another instance may just have rotated). A named version may be cached.
  const v = version ?? (await ring.key(owner, name)).latest_version;
  const { row, material } = await ring.cachedMaterial(owner, name, v);
  try {
    const algorithm = signingAlgorithm(row, row.version);
    const out = await ring.pool.run('keys.sign', {
      algorithm, material, cacheId: `${row.id}#v${row.version}`, message, ...(context ? { context } : {}),
    } satisfies SignInput);
    return { signature: out.signature, version: row.version };
  } finally {
    material.fill(0);
  }
}
