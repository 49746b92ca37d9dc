/**
 * Parsing of the keys capability's request fields: strict base64url with length bounds, the
 * `v<N>:` signature prefix, pre-hash names and the message / μ / context rules of FIPS 204 and 205.
 * Every failure is a 400 `invalid_input` naming its field.
 */
import {
  COMPOSITE, PREHASH_ALGORITHMS, SIZES, TRADITIONAL_SIZES, isComposite, isMlDsa, prehashMeetsStrength, securityStrength, signatureLengthOk, base64urlDecode,
} from '../crypto/index.ts';
import type { PreHashAlgorithm, SignatureAlgorithm } from '../crypto/index.ts';
import { AppError } from '../errors.ts';

/** Key names: 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Largest message the service signs or verifies directly (bytes). Larger: send external μ or a prehash digest client-side. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Most items in one batch sign request. */
export const MAX_BATCH = 64;

/** API names of pre-hash functions: the ACVP names plus the common SHA-256 / SHA-384 / SHA-512 spellings. */
const PREHASH_ALIASES: Record<string, PreHashAlgorithm> = {
  ...Object.fromEntries(PREHASH_ALGORITHMS.map((p) => [p, p])),
  'SHA-224': 'SHA2-224', 'SHA-256': 'SHA2-256', 'SHA-384': 'SHA2-384', 'SHA-512': 'SHA2-512',
};
/** Every pre-hash name the API accepts. */
export const PREHASH_NAMES = Object.keys(PREHASH_ALIASES);

/** The 400 of a bad request field. */
export const invalid = (field: string, detail: string): AppError => new AppError('invalid_input', detail, { field });

/** Strict base64url of a request field; `min`/`max`/`exact` bound the decoded length. */
export function decodeField(field: string, value: string, opts: { min?: number; max?: number; exact?: number } = {}): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = base64urlDecode(value);
  } catch {
    throw invalid(field, `${field} is not valid base64url (RFC 4648 §5, no padding)`);
  }
  if (opts.exact !== undefined && bytes.length !== opts.exact) throw invalid(field, `${field} must be ${opts.exact} bytes, got ${bytes.length}`);
  if (opts.min !== undefined && bytes.length < opts.min) throw invalid(field, `${field} must be at least ${opts.min} byte${opts.min === 1 ? '' : 's'}`);
  if (opts.max !== undefined && bytes.length > opts.max) throw invalid(field, `${field} must be at most ${opts.max} bytes, got ${bytes.length}`);
  return bytes;
}

/** `v<N>:<base64url>` → version and bytes. */
export function parseVersionedSignature(field: string, s: string): { version: number; bytes: Uint8Array } {
  // The prefix alone goes through the regex; decodeField checks the (multi-kilobyte) rest once.
  const colon = typeof s === 'string' ? s.indexOf(':') : -1;
  if (colon < 2 || colon > 10 || !/^v[1-9][0-9]{0,8}$/.test(s.slice(0, colon))) throw invalid(field, `${field} must look like v<version>:<base64url>`);
  return { version: Number(s.slice(1, colon)), bytes: decodeField(field, s.slice(colon + 1)) };
}

/** The signature sizes of `alg` in words: "3309 bytes", or for an ECDSA composite "3317 to 3381 bytes". */
const signatureSizeText = (alg: SignatureAlgorithm): string => {
  if (!isComposite(alg)) return `${SIZES[alg].signature} bytes`;
  const { mldsa, trad } = COMPOSITE[alg];
  const t = TRADITIONAL_SIZES[trad];
  return t.signatureMin === t.signatureMax ? `${SIZES[alg].signature} bytes` : `${SIZES[mldsa].signature + t.signatureMin} to ${SIZES[alg].signature} bytes`;
};

/**
 * A signature of the wrong length for `alg` is a 400, not merely invalid: the caller sent the wrong
 * thing. (A composite whose ECDSA DER is malformed within the length range is merely invalid.)
 */
export function checkSignatureLength(alg: SignatureAlgorithm, sig: Uint8Array, field = 'signature'): void {
  if (!signatureLengthOk(alg, sig.length)) throw invalid(field, `${field} must be ${signatureSizeText(alg)} for ${alg}, got ${sig.length}`);
}

/** The pre-hash function named in a request, refused when weaker than the key's strength. */
export function parsePrehash(alg: SignatureAlgorithm, name: string | undefined): PreHashAlgorithm | undefined {
  if (name === undefined) return undefined;
  if (isComposite(alg)) {
    throw invalid('prehash', `${alg} has no pre-hash variant: the composite construction pre-hashes the message itself (PH = ${COMPOSITE[alg].ph}, draft-ietf-lamps-pq-composite-sigs §2.2); send the message without prehash`);
  }
  const ph = PREHASH_ALIASES[name];
  if (!ph) throw invalid('prehash', `unknown prehash ${JSON.stringify(name)}; one of ${PREHASH_NAMES.join(', ')}`);
  if (!prehashMeetsStrength(alg, ph)) {
    throw invalid('prehash', `prehash ${ph} offers less collision resistance than ${alg}'s ${securityStrength(alg)}-bit strength (FIPS 204 §5.4 / FIPS 205 §10.2)`);
  }
  return ph;
}

/** One message item of a sign or verify request, as sent (base64url fields). */
export interface SignItem { message?: string | undefined; mu?: string | undefined; context?: string | undefined; reference?: string | undefined }
/** A message item decoded. */
export interface MessageInput { message?: Uint8Array; mu?: Uint8Array; context?: Uint8Array }

/** message xor mu; context ≤ 255 B; mu only for ML-DSA and without context/prehash (μ already binds them). */
export function parseMessage(alg: SignatureAlgorithm, item: SignItem, prehash: PreHashAlgorithm | undefined, prefix = ''): MessageInput {
  const f = (n: string) => `${prefix}${n}`;
  if ((item.message === undefined) === (item.mu === undefined)) throw invalid(f('message'), 'exactly one of message and mu is required');
  const out: MessageInput = {};
  if (item.context !== undefined) out.context = decodeField(f('context'), item.context, { max: 255 });
  if (item.mu !== undefined) {
    if (!isMlDsa(alg)) throw invalid(f('mu'), 'external mu is defined for ML-DSA keys only (FIPS 204 §6.2)');
    if (item.context !== undefined || prehash !== undefined) throw invalid(f('mu'), 'mu already binds the context and message: send neither context nor prehash with it');
    out.mu = decodeField(f('mu'), item.mu, { exact: 64 });
  } else {
    out.message = decodeField(f('message'), item.message!, { min: 1, max: MAX_MESSAGE_BYTES });
  }
  return out;
}

/** Largest plaintext `encrypt` takes (bytes); larger payloads: the SDK's chunked file encryption. */
export const MAX_PLAINTEXT_BYTES = MAX_MESSAGE_BYTES;
/** HPKE additional data and info bounds (bytes). */
export const MAX_AAD_BYTES = 8192;
export const MAX_INFO_BYTES = 1024;

/** An HPKE item's optional aad / info, decoded. */
export function parseHpkeContext(item: { aad?: string | undefined; info?: string | undefined }, prefix = ''): { aad?: Uint8Array; info?: Uint8Array } {
  const out: { aad?: Uint8Array; info?: Uint8Array } = {};
  if (item.aad !== undefined) out.aad = decodeField(`${prefix}aad`, item.aad, { max: MAX_AAD_BYTES });
  if (item.info !== undefined) out.info = decodeField(`${prefix}info`, item.info, { max: MAX_INFO_BYTES });
  return out;
}
/** Largest HPKE enc of the offered KEMs (ML-KEM-1024 ciphertext). */
export const ENC_MAX_BYTES = SIZES['ML-KEM-1024'].cipherText;
