/**
 * Client-side HPKE for managed KEM keys (docs/ENCRYPTION.md): the same key schedule as the service
 * (src/crypto/hpke.ts) on the noble backend, so the service never sees the plaintext. Pure: no `node:`
 * import (runs in browsers).
 *
 * - `sealTo` / `openWithSeed`: the single-shot serialized form `v<N>:<base64url(enc ‖ ct)>`.
 * - `encryptChunked` / `decryptChunked`: payloads larger than the body limit, one HPKE context whose
 *   sequence numbers order the chunks (RFC 9180 §5.2), with a final-chunk flag against truncation:
 *
 *     header = "pqzkC1" ‖ u16 kem_id ‖ u16 kdf_id ‖ u16 aead_id ‖ u32 version ‖ u32 chunk_size ‖ enc
 *     chunk_i = Seal_seq=i(aad = u8 last ‖ aad, pt_i)     (|pt_i| = chunk_size except the last, 0 < |last| ≤ chunk_size or an empty payload)
 *     info   = "pqzk chunked v1" ‖ u32 |info| ‖ info
 *
 *   Reordered or dropped chunks fail (wrong nonce), a missing last chunk or bytes after it fail, a
 *   changed header field fails (suite ids enter the key schedule, chunk_size moves the boundaries,
 *   version picks another key). Every failure is the one DecryptionError.
 *
 * @example
 * const c = sealTo('X-Wing', publicKey, 3, new TextEncoder().encode('hi')); // 'v3:…'
 * const file = encryptChunked('X-Wing', publicKey, 3, bigBytes);
 * const back = await decryptChunked(file, (enc) => client.keys.decapsulate('inbox', enc, { version: 3 }));
 */
import { nobleBackend as b } from '../crypto/noble.ts';
import { DEFAULT_SUITES, HPKE_AEAD_IDS, HPKE_KDF_IDS, HPKE_KEM_IDS, HpkeContext, encLength, hpkeOpen, hpkeSeal, keySchedule, setupBaseS } from '../crypto/hpke.ts';
import type { KemAlgorithm } from '../crypto/algorithms.ts';
import { base64urlDecode, base64urlEncode, concatBytes, lp, wipe } from '../crypto/bytes.ts';
import { CryptoInputError, DecryptionError } from '../errors.ts';

export interface SealOptions { aad?: Uint8Array | undefined; info?: Uint8Array | undefined }

/** HPKE-seals `plaintext` to a KEM public key, serialized as the service does (`v<version>:…`). */
export function sealTo(algorithm: KemAlgorithm, publicKey: Uint8Array, version: number, plaintext: Uint8Array, opts: SealOptions = {}): string {
  const { enc, ct } = hpkeSeal(b, DEFAULT_SUITES[algorithm], publicKey, plaintext, opts);
  return `v${version}:${base64urlEncode(concatBytes(enc, ct))}`;
}

/** Splits `v<N>:<base64url>` into the version and enc ‖ ct. */
export function parseCiphertext(ciphertext: string): { version: number; bytes: Uint8Array } {
  const m = /^v([1-9][0-9]{0,9}):([A-Za-z0-9_-]*)$/.exec(ciphertext);
  if (!m) throw new CryptoInputError('ciphertext must look like v<version>:<base64url>');
  return { version: Number(m[1]), bytes: base64urlDecode(m[2]!) };
}

/** Opens a serialized ciphertext locally with an exported seed (exportable keys). */
export function openWithSeed(algorithm: KemAlgorithm, seed: Uint8Array, ciphertext: string, opts: SealOptions = {}): Uint8Array {
  const { bytes } = parseCiphertext(ciphertext);
  const n = encLength(algorithm);
  if (bytes.length < n + 16) throw new DecryptionError();
  const key = b.prepareDecapsulationKey(algorithm, seed);
  try {
    return hpkeOpen(b, DEFAULT_SUITES[algorithm], (e) => key.decapsulate(e), bytes.subarray(0, n), bytes.subarray(n), opts);
  } finally {
    key.destroy();
  }
}

// ---------- chunked ----------

const MAGIC = new TextEncoder().encode('pqzkC1');
const INFO_LABEL = new TextEncoder().encode('pqzk chunked v1');
/** Default chunk size: 64 KiB. */
export const DEFAULT_CHUNK_SIZE = 65536;
const TAG = 16;

const u16 = (n: number) => Uint8Array.of(n >>> 8, n & 0xff);
const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const rd16 = (x: Uint8Array, o: number) => (x[o]! << 8) | x[o + 1]!;
const rd32 = (x: Uint8Array, o: number) => ((x[o]! << 24) >>> 0) + (x[o + 1]! << 16) + (x[o + 2]! << 8) + x[o + 3]!;
const chunkInfo = (info: Uint8Array = new Uint8Array(0)) => concatBytes(INFO_LABEL, lp(info));
const chunkAad = (last: boolean, aad: Uint8Array = new Uint8Array(0)) => concatBytes(Uint8Array.of(last ? 1 : 0), aad);

/** Encrypts a payload of any size to a KEM public key in the chunked format above. */
export function encryptChunked(algorithm: KemAlgorithm, publicKey: Uint8Array, version: number, plaintext: Uint8Array, opts: SealOptions & { chunkSize?: number } = {}): Uint8Array {
  const size = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > 1 << 24) throw new CryptoInputError('chunkSize must be 1..16 MiB');
  const s = DEFAULT_SUITES[algorithm];
  const { enc, ctx } = setupBaseS(b, s, publicKey, chunkInfo(opts.info));
  try {
    const parts: Uint8Array[] = [MAGIC, u16(HPKE_KEM_IDS[s.kem]), u16(HPKE_KDF_IDS[s.kdf]), u16(HPKE_AEAD_IDS[s.aead]), u32(version), u32(size), enc];
    const n = Math.max(1, Math.ceil(plaintext.length / size));
    for (let i = 0; i < n; i++) {
      parts.push(ctx.seal(plaintext.subarray(i * size, (i + 1) * size), chunkAad(i === n - 1, opts.aad)));
    }
    return concatBytes(...parts);
  } finally {
    ctx.destroy();
  }
}

/** The header of a chunked file: the key version to ask for, and enc. */
export function chunkedHeader(file: Uint8Array): { algorithm: KemAlgorithm; version: number; chunkSize: number; enc: Uint8Array; bodyOffset: number } {
  const fail = () => new DecryptionError();
  if (file.length < MAGIC.length + 14 || !MAGIC.every((x, i) => file[i] === x)) throw fail();
  let o = MAGIC.length;
  const kemId = rd16(file, o), kdfId = rd16(file, o + 2), aeadId = rd16(file, o + 4);
  const version = rd32(file, o + 6), chunkSize = rd32(file, o + 10);
  o += 14;
  const algorithm = (Object.keys(HPKE_KEM_IDS) as KemAlgorithm[]).find((a) => HPKE_KEM_IDS[a] === kemId);
  if (!algorithm) throw fail();
  const s = DEFAULT_SUITES[algorithm];
  if (HPKE_KDF_IDS[s.kdf] !== kdfId || HPKE_AEAD_IDS[s.aead] !== aeadId || chunkSize < 1 || chunkSize > 1 << 24) throw fail();
  const n = encLength(algorithm);
  if (file.length < o + n + TAG) throw fail();
  return { algorithm, version, chunkSize, enc: file.slice(o, o + n), bodyOffset: o + n };
}

/**
 * Decrypts a chunked file. `sharedSecret(enc, version, algorithm)` decapsulates enc: with an exported
 * seed locally, or through the service's `decapsulate` (keys created with decapsulateAllowed).
 */
export async function decryptChunked(
  file: Uint8Array, sharedSecret: (enc: Uint8Array, version: number, algorithm: KemAlgorithm) => Uint8Array | Promise<Uint8Array>, opts: SealOptions = {},
): Promise<Uint8Array> {
  const h = chunkedHeader(file);
  const ss = await sharedSecret(h.enc, h.version, h.algorithm);
  let ctx: HpkeContext;
  try {
    ctx = new HpkeContext(b, DEFAULT_SUITES[h.algorithm], keySchedule(b, DEFAULT_SUITES[h.algorithm], ss, chunkInfo(opts.info)));
  } catch {
    throw new DecryptionError();
  } finally {
    wipe(ss);
  }
  try {
    const out: Uint8Array[] = [];
    const full = h.chunkSize + TAG;
    let o = h.bodyOffset;
    for (;;) {
      const rest = file.length - o;
      if (rest < TAG) throw new DecryptionError();
      const last = rest <= full;
      out.push(ctx.open(file.subarray(o, o + Math.min(rest, full)), chunkAad(last, opts.aad)));
      o += Math.min(rest, full);
      if (last) return concatBytes(...out);
    }
  } catch {
    throw new DecryptionError();
  } finally {
    ctx.destroy();
  }
}

// ---------- import jobs (BYOK) ----------

/**
 * Wraps key material (its stored form: ML-DSA seed, ML-KEM d‖z, X-Wing seed, SLH-DSA secret key) to an
 * import job's X-Wing public key, as `importKeyVersion` expects: base64url(enc ‖ ct), info "pqzk import v1",
 * aad "<job id>\n<algorithm>".
 */
export function wrapForImport(job: { id: string; publicKey: Uint8Array }, algorithm: string, material: Uint8Array): string {
  const { enc, ct } = hpkeSeal(b, DEFAULT_SUITES['X-Wing'], job.publicKey, material, {
    info: new TextEncoder().encode('pqzk import v1'), aad: new TextEncoder().encode(`${job.id}\n${algorithm}`),
  });
  return base64urlEncode(concatBytes(enc, ct));
}
