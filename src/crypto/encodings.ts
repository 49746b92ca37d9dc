/**
 * Key encodings: raw, SPKI (RFC 5280) for public keys, PKCS#8 / OneAsymmetricKey (RFC 5958) for
 * private keys, and JWK `kty: "AKP"` for ML-DSA (RFC 9964). Hand-written strict DER, pure module
 * (no `node:` import) so the SDK can use it in a browser.
 *
 * OIDs (NIST CSOR, 2.16.840.1.101.3.4):
 *   ML-DSA-44/65/87           .3.17 / .3.18 / .3.19           (RFC 9881)
 *   SLH-DSA-SHA2-128s…256f     .3.20 … .3.25  (s, f alternate)  (RFC 9909)
 *   SLH-DSA-SHAKE-128s…256f    .3.26 … .3.31
 *   ML-KEM-512/768/1024        .4.1 / .4.2 / .4.3              (RFC 9935)
 *   composite ML-DSA           1.3.6.1.5.5.7.6.N, N = 39, 40, 45, 46, 48, 49 (draft-ietf-lamps-pq-composite-sigs-19 §7)
 * AlgorithmIdentifier parameters are absent for all of them.
 *
 * Private keys (RFC 9881 §6 / RFC 9935 §6):
 *   ML-DSA-PrivateKey / ML-KEM-PrivateKey ::= CHOICE {
 *     seed [0] IMPLICIT OCTET STRING, expandedKey OCTET STRING, both SEQUENCE { seed OCTET STRING, expandedKey OCTET STRING } }
 *   SLH-DSA: the privateKey OCTET STRING holds the raw 4n-byte key directly (RFC 9909 §6); so does a
 *   composite its raw secret key ξ ‖ tradSK (draft §5.3), and its SPKI BIT STRING the raw mldsaPK ‖ tradPK.
 * We write the seed-only form (the standards' recommendation); we read all three.
 * PEM (RFC 7468) and `parsePublicKey`, the one parser of public keys sent by clients, are at the end.
 */
import { AppError, CryptoInputError } from '../errors.ts';
import { COMPOSITE, COMPOSITE_ML_DSA, SIZES, ML_DSA, ML_KEM, SLH_DSA, isComposite, isMlDsa } from './algorithms.ts';
import type { Algorithm, CompositeAlgorithm, MlDsaAlgorithm, MlKemAlgorithm, SlhDsaAlgorithm } from './algorithms.ts';
import { base64urlDecode, base64urlEncode, concatBytes } from './bytes.ts';

/** Algorithms with a standard ASN.1 encoding (X-Wing has none yet: raw only). */
export type EncodableAlgorithm = MlKemAlgorithm | MlDsaAlgorithm | SlhDsaAlgorithm | CompositeAlgorithm;

const NIST = [2, 16, 840, 1, 101, 3, 4];
/** id-pkix 1.3.6.1.5.5.7, arc 6 (algorithms): the composite signature OIDs. */
const PKIX_ALGS = [1, 3, 6, 1, 5, 5, 7, 6];
const ARCS: Record<EncodableAlgorithm, number[]> = {
  'ML-DSA-44': [...NIST, 3, 17], 'ML-DSA-65': [...NIST, 3, 18], 'ML-DSA-87': [...NIST, 3, 19],
  'ML-KEM-512': [...NIST, 4, 1], 'ML-KEM-768': [...NIST, 4, 2], 'ML-KEM-1024': [...NIST, 4, 3],
  ...(Object.fromEntries(SLH_DSA.map((a, i) => [a, [...NIST, 3, 20 + i]])) as Record<SlhDsaAlgorithm, number[]>),
  ...(Object.fromEntries(COMPOSITE_ML_DSA.map((a) => [a, [...PKIX_ALGS, COMPOSITE[a].oidArc]])) as Record<CompositeAlgorithm, number[]>),
};

/** Dotted OID of an algorithm. @example oidOf('ML-DSA-65') // '2.16.840.1.101.3.4.3.18' */
export const oidOf = (alg: EncodableAlgorithm): string => ARCS[alg].join('.');

/** Algorithms whose PKCS#8 privateKey OCTET STRING holds the raw secret key (SLH-DSA, composites). */
const rawPrivate = (a: string): boolean => (SLH_DSA as readonly string[]).includes(a) || isComposite(a);

const isEncodable = (a: string): a is EncodableAlgorithm => a in ARCS;

// ---- minimal strict DER -------------------------------------------------------------------------

function encLen(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  if (n < 0x10000) return Uint8Array.of(0x82, n >> 8, n & 255);
  return Uint8Array.of(0x83, n >> 16, (n >> 8) & 255, n & 255);
}
const tlv = (tag: number, body: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(tag), encLen(body.length), body);

function encOid(arcs: number[]): Uint8Array {
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const a of arcs.slice(2)) {
    const tmp: number[] = [a & 0x7f];
    for (let v = a >>> 7; v > 0; v >>>= 7) tmp.unshift((v & 0x7f) | 0x80);
    out.push(...tmp);
  }
  return tlv(0x06, Uint8Array.from(out));
}

const ALG_ID = Object.fromEntries(
  (Object.keys(ARCS) as EncodableAlgorithm[]).map((a) => [a, tlv(0x30, encOid(ARCS[a]))]),
) as Record<EncodableAlgorithm, Uint8Array>;

const bad = (what: string): never => { throw new CryptoInputError(`malformed ${what}`); };

interface Tlv { tag: number; body: Uint8Array; end: number }

/** Reads one TLV at `off` with DER length rules (definite, minimal, no overflow). */
function readTlv(buf: Uint8Array, off: number, what: string): Tlv {
  if (off + 2 > buf.length) bad(what);
  const tag = buf[off]!;
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const nb = len & 0x7f;
    if (nb === 0 || nb > 3 || p + nb > buf.length) bad(what);
    len = 0;
    for (let i = 0; i < nb; i++) len = (len << 8) | buf[p + i]!;
    p += nb;
    // Minimal encoding: long form only for ≥ 128, and no leading zero byte.
    if (len < 0x80 || buf[p - nb] === 0) bad(what);
  }
  if (p + len > buf.length) bad(what);
  return { tag, body: buf.subarray(p, p + len), end: p + len };
}

function readAll(buf: Uint8Array, what: string): Tlv[] {
  const out: Tlv[] = [];
  for (let off = 0; off < buf.length;) {
    const t = readTlv(buf, off, what);
    out.push(t);
    off = t.end;
  }
  return out;
}

function single(buf: Uint8Array, tag: number, what: string): Uint8Array {
  const t = readTlv(buf, 0, what);
  if (t.tag !== tag || t.end !== buf.length) bad(what);
  return t.body;
}

function parseAlgId(body: Uint8Array, what: string): EncodableAlgorithm {
  const full = tlv(0x30, body);
  for (const a of Object.keys(ALG_ID) as EncodableAlgorithm[]) {
    const id = ALG_ID[a];
    if (id.length === full.length && id.every((x, i) => x === full[i])) return a;
  }
  // Either an algorithm we don't know or parameters present (they must be absent).
  throw new CryptoInputError(`unsupported algorithm in ${what}`);
}

// ---- SPKI ---------------------------------------------------------------------------------------

/** SubjectPublicKeyInfo DER for a raw public key. @example encodeSpki('ML-DSA-65', pk) */
export function encodeSpki(alg: EncodableAlgorithm, publicKey: Uint8Array): Uint8Array {
  if (!isEncodable(alg)) throw new CryptoInputError('algorithm has no SPKI encoding');
  checkLen(publicKey, SIZES[alg].publicKey, 'public key');
  return tlv(0x30, concatBytes(ALG_ID[alg], tlv(0x03, concatBytes(Uint8Array.of(0), publicKey))));
}

/** Parses SPKI DER; checks the key length for the algorithm found. */
export function decodeSpki(der: Uint8Array): { algorithm: EncodableAlgorithm; publicKey: Uint8Array } {
  if (!(der instanceof Uint8Array)) bad('SPKI');
  const parts = readAll(single(der, 0x30, 'SPKI'), 'SPKI');
  if (parts.length !== 2 || parts[0]!.tag !== 0x30 || parts[1]!.tag !== 0x03) bad('SPKI');
  const algorithm = parseAlgId(parts[0]!.body, 'SPKI');
  const bits = parts[1]!.body;
  if (bits.length < 1 || bits[0] !== 0) bad('SPKI');
  const publicKey = bits.slice(1);
  checkLen(publicKey, SIZES[algorithm].publicKey, 'public key');
  return { algorithm, publicKey };
}

// ---- PKCS#8 -------------------------------------------------------------------------------------

/** A decoded private key: its algorithm, seed and/or expanded key. */
export interface PrivateKeyParts {
  /** ML-KEM d‖z (64 B) or ML-DSA ξ (32 B). */
  seed?: Uint8Array;
  /** Expanded FIPS secret key (ML-KEM dk, ML-DSA sk, SLH-DSA 4n-byte sk). */
  secretKey?: Uint8Array;
}

/**
 * PKCS#8 (OneAsymmetricKey v1) DER. ML-KEM / ML-DSA: seed form if a seed is given (recommended),
 * `both` if seed and secretKey are given, expandedKey otherwise. SLH-DSA: the 4n-byte secret key.
 *
 * @example encodePkcs8('ML-DSA-65', { seed })
 */
export function encodePkcs8(alg: EncodableAlgorithm, key: PrivateKeyParts): Uint8Array {
  if (!isEncodable(alg)) throw new CryptoInputError('algorithm has no PKCS#8 encoding');
  let inner: Uint8Array;
  if (rawPrivate(alg)) {
    if (key.seed !== undefined || key.secretKey === undefined) throw new CryptoInputError(`${alg} PKCS#8 holds the secret key`);
    checkLen(key.secretKey, SIZES[alg].secretKey, 'secret key');
    inner = key.secretKey;
  } else {
    const { seed, secretKey } = key;
    if (seed !== undefined) checkLen(seed, SIZES[alg].seed, 'seed');
    if (secretKey !== undefined) checkLen(secretKey, SIZES[alg].secretKey, 'secret key');
    if (seed !== undefined && secretKey !== undefined) inner = tlv(0x30, concatBytes(tlv(0x04, seed), tlv(0x04, secretKey)));
    else if (seed !== undefined) inner = tlv(0x80, seed);
    else if (secretKey !== undefined) inner = tlv(0x04, secretKey);
    else throw new CryptoInputError('no private key material');
  }
  return tlv(0x30, concatBytes(Uint8Array.of(0x02, 0x01, 0x00), ALG_ID[alg], tlv(0x04, inner)));
}

/**
 * Parses PKCS#8 DER (v1 or v2; attributes ignored, a v2 public key returned). For ML-KEM / ML-DSA
 * any of the three CHOICE forms; the caller must check that seed and expandedKey agree when both are present.
 */
export function decodePkcs8(der: Uint8Array): { algorithm: EncodableAlgorithm; publicKey?: Uint8Array } & PrivateKeyParts {
  if (!(der instanceof Uint8Array)) bad('PKCS#8');
  const parts = readAll(single(der, 0x30, 'PKCS#8'), 'PKCS#8');
  if (parts.length < 3 || parts[0]!.tag !== 0x02 || parts[1]!.tag !== 0x30 || parts[2]!.tag !== 0x04) bad('PKCS#8');
  const version = parts[0]!.body;
  if (version.length !== 1 || version[0]! > 1) bad('PKCS#8');
  const algorithm = parseAlgId(parts[1]!.body, 'PKCS#8');
  let publicKey: Uint8Array | undefined;
  for (const extra of parts.slice(3)) {
    if (extra.tag === 0xa0) continue; // attributes [0]
    if (extra.tag === 0x81 && version[0] === 1 && publicKey === undefined) {
      if (extra.body[0] !== 0) bad('PKCS#8');
      publicKey = extra.body.slice(1);
      checkLen(publicKey, SIZES[algorithm].publicKey, 'public key');
    } else bad('PKCS#8');
  }
  const inner = parts[2]!.body;
  const sizes = SIZES[algorithm];
  const withPk = <T extends object>(o: T) => (publicKey ? { ...o, publicKey } : o);
  if (rawPrivate(algorithm)) {
    checkLen(inner, sizes.secretKey, 'secret key');
    return withPk({ algorithm, secretKey: inner.slice() });
  }
  const t = readTlv(inner, 0, 'private key');
  if (t.end !== inner.length) bad('private key');
  if (t.tag === 0x80) {
    checkLen(t.body, sizes.seed, 'seed');
    return withPk({ algorithm, seed: t.body.slice() });
  }
  if (t.tag === 0x04) {
    checkLen(t.body, sizes.secretKey, 'secret key');
    return withPk({ algorithm, secretKey: t.body.slice() });
  }
  if (t.tag === 0x30) {
    const both = readAll(t.body, 'private key');
    if (both.length !== 2 || both[0]!.tag !== 0x04 || both[1]!.tag !== 0x04) bad('private key');
    checkLen(both[0]!.body, sizes.seed, 'seed');
    checkLen(both[1]!.body, sizes.secretKey, 'secret key');
    return withPk({ algorithm, seed: both[0]!.body.slice(), secretKey: both[1]!.body.slice() });
  }
  return bad('private key');
}

function checkLen(b: Uint8Array, n: number, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new CryptoInputError(`${what} must be ${n} bytes`);
}

// ---- JWK (RFC 9964, kty "AKP") ------------------------------------------------------------------

/** An ML-DSA key as a JWK, `kty: "AKP"` (RFC 9964). */
export interface AkpJwk {
  kty: 'AKP';
  alg: MlDsaAlgorithm;
  /** base64url public key. */
  pub: string;
  /** base64url 32-byte seed ξ (private keys only). */
  priv?: string;
  kid?: string;
  use?: string;
  key_ops?: string[];
}

/** ML-DSA key as an AKP JWK; `seed` makes it a private JWK. @example toJwk('ML-DSA-65', pk) */
export function toJwk(alg: MlDsaAlgorithm, publicKey: Uint8Array, seed?: Uint8Array): AkpJwk {
  if (!isMlDsa(alg)) throw new CryptoInputError('AKP JWK is defined for ML-DSA only');
  checkLen(publicKey, SIZES[alg].publicKey, 'public key');
  const jwk: AkpJwk = { kty: 'AKP', alg, pub: base64urlEncode(publicKey) };
  if (seed !== undefined) {
    checkLen(seed, SIZES[alg].seed, 'seed');
    jwk.priv = base64urlEncode(seed);
  }
  return jwk;
}

/** Parses an AKP JWK (strict base64url, exact sizes). Consistency of pub and priv is the caller's check. */
export function fromJwk(jwk: unknown): { algorithm: MlDsaAlgorithm; publicKey: Uint8Array; seed?: Uint8Array } {
  if (typeof jwk !== 'object' || jwk === null) throw new CryptoInputError('JWK must be an object');
  const j = jwk as Record<string, unknown>;
  if (j.kty !== 'AKP') throw new CryptoInputError('JWK kty must be AKP');
  if (typeof j.alg !== 'string' || !isMlDsa(j.alg)) throw new CryptoInputError('unsupported JWK alg');
  if (typeof j.pub !== 'string') throw new CryptoInputError('JWK pub missing');
  const algorithm = j.alg;
  const publicKey = base64urlDecode(j.pub);
  checkLen(publicKey, SIZES[algorithm].publicKey, 'public key');
  if (j.priv === undefined) return { algorithm, publicKey };
  if (typeof j.priv !== 'string') throw new CryptoInputError('JWK priv must be a string');
  const seed = base64urlDecode(j.priv);
  checkLen(seed, SIZES[algorithm].seed, 'seed');
  return { algorithm, publicKey, seed };
}

/** Algorithms with SPKI / PKCS#8 / PEM encodings (every one but X-Wing). */
export const ENCODABLE_ALGORITHMS: readonly EncodableAlgorithm[] = [...ML_KEM, ...ML_DSA, ...SLH_DSA, ...COMPOSITE_ML_DSA];

// ---------------------------------------------------------------- PEM (RFC 7468) and public-key input

const toStdBase64 = (s: string): string => s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);

/** One PEM block (RFC 7468 §2: base64 lines of 64 characters). @example encodePem('PUBLIC KEY', encodeSpki('ML-DSA-65', pk)) */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = toStdBase64(base64urlEncode(der)).replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

const inputError = (field: string, detail: string): AppError => new AppError('invalid_input', detail, { field });

/** The DER inside exactly one PEM block with `label` (strict base64, CRLF or LF line ends). */
export function decodePem(label: string, text: string, field = 'publicKey'): Uint8Array {
  const m = new RegExp(`^-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+)-----END ${label}-----\\r?\\n?$`).exec(text);
  if (!m) throw inputError(field, `PEM must be one ${label} block`);
  const b64 = m[1]!.replace(/\r?\n/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw inputError(field, 'PEM body is not valid base64');
  try {
    return base64urlDecode(b64.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'));
  } catch {
    throw inputError(field, 'PEM body is not valid base64');
  }
}

/**
 * A public key of `alg` in any supported form: AKP JWK object (ML-DSA), PEM text, base64url raw
 * (FIPS encoding) or base64url SPKI DER (told apart by length: no SPKI is as long as its raw key).
 * Throws a 400 naming `field`.
 *
 * @example parsePublicKey('ML-DSA-65', '-----BEGIN PUBLIC KEY-----\n…') // raw 1952 bytes
 */
export function parsePublicKey(alg: Algorithm, input: string | Record<string, unknown>, field = 'publicKey'): Uint8Array {
  const want = SIZES[alg].publicKey;
  if (typeof input === 'object') {
    let jwk;
    try { jwk = fromJwk(input); } catch (e) { throw inputError(field, `invalid JWK: ${(e as Error).message}`); }
    if (jwk.seed !== undefined) throw inputError(field, 'the JWK carries a private key (priv); send the public JWK only');
    if (jwk.algorithm !== alg) throw inputError(field, `JWK alg ${jwk.algorithm} does not match algorithm ${alg}`);
    return jwk.publicKey;
  }
  const isPem = input.startsWith('-----BEGIN');
  let der: Uint8Array;
  if (isPem) der = decodePem('PUBLIC KEY', input, field);
  else {
    try { der = base64urlDecode(input); } catch { throw inputError(field, `${field} is not valid base64url (RFC 4648 §5, no padding)`); }
  }
  if (!isPem && der.length === want) return der;
  if (der.length > 0 && der[0] === 0x30) {
    let spki;
    try { spki = decodeSpki(der); } catch (e) { throw inputError(field, `invalid SPKI: ${(e as Error).message}`); }
    if (spki.algorithm !== alg) throw inputError(field, `SPKI algorithm ${spki.algorithm} does not match algorithm ${alg}`);
    return spki.publicKey;
  }
  throw inputError(field, `${field} must be ${want} bytes (raw ${alg}), SPKI DER, PEM or an AKP JWK; got ${der.length} bytes`);
}
