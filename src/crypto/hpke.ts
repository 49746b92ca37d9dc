/**
 * HPKE (RFC 9180) base mode over a CryptoBackend, with the post-quantum KEMs of draft-ietf-hpke-pq:
 * ML-KEM-512/768/1024 (KEM ids 0x0040/0x0041/0x0042) and MLKEM768-X25519 = X-Wing (0x647a), seed-form
 * private keys (ML-KEM d‖z 64 B, X-Wing 32 B), and the KDFs of both key schedules:
 *
 *   two-stage (RFC 9180 §5.1, HKDF-SHA256/384/512, ids 0x0001-0x0003): LabeledExtract / LabeledExpand;
 *   one-stage (draft-ietf-hpke-hpke, SHAKE128/256 0x0010/0x0011, TurboSHAKE128/256 0x0012/0x0013):
 *     LabeledDerive(ikm, label, ctx, L) = Derive(ikm ‖ "HPKE-v1" ‖ suite_id ‖ lp2(label) ‖ I2OSP(L, 2) ‖ ctx, L)
 *     secret = LabeledDerive(lp2(psk) ‖ lp2(ss), "secret", mode ‖ lp2(psk_id) ‖ lp2(info), Nk + Nn + Nh)
 *
 * AEADs: AES-128-GCM (0x0001), AES-256-GCM (0x0002), ChaCha20-Poly1305 (0x0003), export-only (0xffff).
 * HMAC, SHAKE and the AEADs come from the backend (native: OpenSSL; noble: @noble/*). TurboSHAKE has no
 * OpenSSL implementation: it is @noble/hashes on both backends.
 *
 * Synchronous (like the backend): the service runs it in the worker pool, the SDK on the noble backend.
 * Only base mode (mode 0x00) is offered: PSK and auth modes are not part of the service's contract.
 *
 * @example
 * const suite = DEFAULT_SUITES['X-Wing'];
 * const { enc, ct } = hpkeSeal(backend, suite, publicKey, plaintext, { info, aad });
 * const pt = hpkeOpen(backend, suite, (e) => backend.decapsulate('X-Wing', e, secretKey), enc, ct, { info, aad });
 */
import { turboshake128, turboshake256 } from '@noble/hashes/sha3-addons.js';
import type { CryptoBackend } from './backend.ts';
import { SIZES, type AeadCipher, type KemAlgorithm } from './algorithms.ts';
import { concatBytes, wipe } from './bytes.ts';
import { CryptoInputError, DecryptionError } from '../errors.ts';

export const HPKE_KEM_IDS: Record<KemAlgorithm, number> = { 'ML-KEM-512': 0x0040, 'ML-KEM-768': 0x0041, 'ML-KEM-1024': 0x0042, 'X-Wing': 0x647a };
export const HPKE_KDFS = ['HKDF-SHA256', 'HKDF-SHA384', 'HKDF-SHA512', 'SHAKE128', 'SHAKE256', 'TurboSHAKE128', 'TurboSHAKE256'] as const;
export type HpkeKdf = (typeof HPKE_KDFS)[number];
export const HPKE_AEADS = ['AES-128-GCM', 'AES-256-GCM', 'ChaCha20-Poly1305', 'Export-only'] as const;
export type HpkeAead = (typeof HPKE_AEADS)[number];

export const HPKE_KDF_IDS: Record<HpkeKdf, number> = {
  'HKDF-SHA256': 0x0001, 'HKDF-SHA384': 0x0002, 'HKDF-SHA512': 0x0003,
  SHAKE128: 0x0010, SHAKE256: 0x0011, TurboSHAKE128: 0x0012, TurboSHAKE256: 0x0013,
};
export const HPKE_AEAD_IDS: Record<HpkeAead, number> = { 'AES-128-GCM': 0x0001, 'AES-256-GCM': 0x0002, 'ChaCha20-Poly1305': 0x0003, 'Export-only': 0xffff };

export interface HpkeSuite { readonly kem: KemAlgorithm; readonly kdf: HpkeKdf; readonly aead: HpkeAead }

/**
 * The suite the service uses for each KEM key (docs/ENCRYPTION.md): the draft-ietf-hpke-pq combinations
 * that carry test vectors (so every default suite is a known answer), RFC 9180 two-stage HKDF throughout.
 */
export const DEFAULT_SUITES: Readonly<Record<KemAlgorithm, HpkeSuite>> = {
  'ML-KEM-512': { kem: 'ML-KEM-512', kdf: 'HKDF-SHA256', aead: 'AES-128-GCM' },
  'ML-KEM-768': { kem: 'ML-KEM-768', kdf: 'HKDF-SHA256', aead: 'AES-128-GCM' },
  'ML-KEM-1024': { kem: 'ML-KEM-1024', kdf: 'HKDF-SHA384', aead: 'AES-256-GCM' },
  'X-Wing': { kem: 'X-Wing', kdf: 'HKDF-SHA256', aead: 'ChaCha20-Poly1305' },
};

/** Nh (two-stage: Extract output size; one-stage: security strength) in bytes. */
const NH: Record<HpkeKdf, number> = {
  'HKDF-SHA256': 32, 'HKDF-SHA384': 48, 'HKDF-SHA512': 64, SHAKE128: 32, SHAKE256: 64, TurboSHAKE128: 32, TurboSHAKE256: 64,
};
const HMAC_OF = { 'HKDF-SHA256': 'SHA-256', 'HKDF-SHA384': 'SHA-384', 'HKDF-SHA512': 'SHA-512' } as const;
/** Nk, Nn, Nt of each AEAD (RFC 9180 §7.3). */
const AEAD_SIZES: Record<HpkeAead, { Nk: number; Nn: number; Nt: number }> = {
  'AES-128-GCM': { Nk: 16, Nn: 12, Nt: 16 }, 'AES-256-GCM': { Nk: 32, Nn: 12, Nt: 16 },
  'ChaCha20-Poly1305': { Nk: 32, Nn: 12, Nt: 16 }, 'Export-only': { Nk: 0, Nn: 0, Nt: 0 },
};
/** Inputs longer than this are refused (the one-stage length prefixes are 2 bytes; applied to both schedules alike). */
export const HPKE_MAX_INPUT = 0xffff;

export type HpkeDeps = Pick<CryptoBackend, 'encapsulate' | 'keygen' | 'hmac' | 'hash' | 'aeadSeal' | 'aeadOpen'>;

const utf8 = new TextEncoder();
const L = (s: string): Uint8Array => utf8.encode(s);
const HPKE_V1 = L('HPKE-v1');
const EMPTY = new Uint8Array(0);

export function i2osp(n: number, w: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0 || (w < 7 && n >= 256 ** w)) throw new CryptoInputError('I2OSP: value out of range');
  const out = new Uint8Array(w);
  let x = n;
  for (let i = w - 1; i >= 0 && x > 0; i--) { out[i] = x % 256; x = Math.floor(x / 256); }
  return out;
}
const lp2 = (x: Uint8Array): Uint8Array => concatBytes(i2osp(x.length, 2), x);
const isOneStage = (kdf: HpkeKdf): boolean => !kdf.startsWith('HKDF');

function checkSuite(s: HpkeSuite): void {
  if (!Object.hasOwn(HPKE_KEM_IDS, s.kem) || !Object.hasOwn(HPKE_KDF_IDS, s.kdf) || !Object.hasOwn(HPKE_AEAD_IDS, s.aead)) {
    throw new CryptoInputError('unknown HPKE suite');
  }
}

/** suite_id = "HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2) (RFC 9180 §5.1). */
export function suiteId(s: HpkeSuite): Uint8Array {
  checkSuite(s);
  return concatBytes(L('HPKE'), i2osp(HPKE_KEM_IDS[s.kem], 2), i2osp(HPKE_KDF_IDS[s.kdf], 2), i2osp(HPKE_AEAD_IDS[s.aead], 2));
}

// ---------- KDFs ----------

function extract(b: HpkeDeps, kdf: HpkeKdf, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  const h = HMAC_OF[kdf as keyof typeof HMAC_OF];
  // RFC 5869 §2.2: an empty salt is HashLen zeros; HMAC pads short keys with zeros, so both agree.
  return b.hmac(h, salt.length ? salt : new Uint8Array(NH[kdf]), ikm);
}

function expand(b: HpkeDeps, kdf: HpkeKdf, prk: Uint8Array, info: Uint8Array, len: number): Uint8Array {
  const h = HMAC_OF[kdf as keyof typeof HMAC_OF];
  const n = NH[kdf];
  if (len > 255 * n) throw new CryptoInputError('HKDF-Expand length exceeds 255·Nh');
  const out = new Uint8Array(len);
  let t: Uint8Array = EMPTY;
  for (let i = 1, off = 0; off < len; i++) {
    t = b.hmac(h, prk, concatBytes(t, info, Uint8Array.of(i)));
    out.set(t.subarray(0, Math.min(n, len - off)), off);
    off += n;
  }
  return out;
}

function derive(b: HpkeDeps, kdf: HpkeKdf, ikm: Uint8Array, len: number): Uint8Array {
  switch (kdf) {
    case 'SHAKE128': return b.hash('SHAKE-128', ikm, len);
    case 'SHAKE256': return b.hash('SHAKE-256', ikm, len);
    case 'TurboSHAKE128': return turboshake128(ikm, { dkLen: len });
    case 'TurboSHAKE256': return turboshake256(ikm, { dkLen: len });
    default: throw new CryptoInputError('not a one-stage KDF');
  }
}

const labeledExtract = (b: HpkeDeps, kdf: HpkeKdf, sid: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array =>
  extract(b, kdf, salt, concatBytes(HPKE_V1, sid, L(label), ikm));
const labeledExpand = (b: HpkeDeps, kdf: HpkeKdf, sid: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, len: number): Uint8Array =>
  expand(b, kdf, prk, concatBytes(i2osp(len, 2), HPKE_V1, sid, L(label), info), len);
const labeledDerive = (b: HpkeDeps, kdf: HpkeKdf, sid: Uint8Array, ikm: Uint8Array, label: string, ctx: Uint8Array, len: number): Uint8Array =>
  derive(b, kdf, concatBytes(ikm, HPKE_V1, sid, lp2(L(label)), i2osp(len, 2), ctx), len);

// ---------- key schedule and context ----------

export interface KeyScheduleOutput { key: Uint8Array; baseNonce: Uint8Array; exporterSecret: Uint8Array }

/** KeySchedule(mode_base, shared_secret, info, "", "") of the suite's schedule (RFC 9180 §5.1 / draft-ietf-hpke-hpke). */
export function keySchedule(b: HpkeDeps, suite: HpkeSuite, sharedSecret: Uint8Array, info: Uint8Array = EMPTY): KeyScheduleOutput {
  const sid = suiteId(suite);
  if (info.length > HPKE_MAX_INPUT) throw new CryptoInputError(`info must be at most ${HPKE_MAX_INPUT} bytes`);
  const { Nk, Nn } = AEAD_SIZES[suite.aead];
  const Nh = NH[suite.kdf];
  const mode = Uint8Array.of(0x00);
  if (isOneStage(suite.kdf)) {
    const secret = labeledDerive(b, suite.kdf, sid, concatBytes(lp2(EMPTY), lp2(sharedSecret)), 'secret', concatBytes(mode, lp2(EMPTY), lp2(info)), Nk + Nn + Nh);
    const out = { key: secret.slice(0, Nk), baseNonce: secret.slice(Nk, Nk + Nn), exporterSecret: secret.slice(Nk + Nn) };
    wipe(secret);
    return out;
  }
  const pskIdHash = labeledExtract(b, suite.kdf, sid, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(b, suite.kdf, sid, EMPTY, 'info_hash', info);
  const ctx = concatBytes(mode, pskIdHash, infoHash);
  const secret = labeledExtract(b, suite.kdf, sid, sharedSecret, 'secret', EMPTY);
  const out = {
    key: Nk ? labeledExpand(b, suite.kdf, sid, secret, 'key', ctx, Nk) : EMPTY,
    baseNonce: Nn ? labeledExpand(b, suite.kdf, sid, secret, 'base_nonce', ctx, Nn) : EMPTY,
    exporterSecret: labeledExpand(b, suite.kdf, sid, secret, 'exp', ctx, Nh),
  };
  wipe(secret);
  return out;
}

/**
 * An HPKE encryption context (RFC 9180 §5.2): the sender's seals or the recipient's opens, in sequence
 * order, and the secret export interface (§5.3). A failed open throws DecryptionError and leaves the
 * sequence number where it was (the RFC's rule), so a later valid message still opens.
 */
export class HpkeContext {
  readonly suite: HpkeSuite;
  readonly #b: HpkeDeps;
  readonly #sid: Uint8Array;
  readonly #key: Uint8Array;
  readonly #baseNonce: Uint8Array;
  readonly #exporterSecret: Uint8Array;
  #seq = 0;

  constructor(b: HpkeDeps, suite: HpkeSuite, ks: KeyScheduleOutput) {
    this.#b = b; this.suite = suite; this.#sid = suiteId(suite);
    this.#key = ks.key; this.#baseNonce = ks.baseNonce; this.#exporterSecret = ks.exporterSecret;
  }

  /** The next message's sequence number. */
  get seq(): number { return this.#seq; }

  /** nonce = base_nonce XOR I2OSP(seq, Nn). */
  nonce(seq = this.#seq): Uint8Array {
    const n = this.#baseNonce.slice();
    const s = i2osp(seq, n.length);
    for (let i = 0; i < n.length; i++) n[i]! ^= s[i]!;
    return n;
  }

  #cipher(): AeadCipher {
    if (this.suite.aead === 'Export-only') throw new CryptoInputError('an export-only HPKE context cannot seal or open');
    return this.suite.aead;
  }

  seal(plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
    const ct = this.#b.aeadSeal(this.#cipher(), this.#key, this.nonce(), plaintext, aad);
    this.#seq++;
    return ct;
  }

  open(ciphertext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
    const pt = this.#b.aeadOpen(this.#cipher(), this.#key, this.nonce(), ciphertext, aad);
    this.#seq++;
    return pt;
  }

  /** Export(exporter_context, L). */
  export(exporterContext: Uint8Array, length: number): Uint8Array {
    if (exporterContext.length > HPKE_MAX_INPUT) throw new CryptoInputError(`exporter context must be at most ${HPKE_MAX_INPUT} bytes`);
    if (!Number.isSafeInteger(length) || length < 1 || length > 0xffff) throw new CryptoInputError('export length must be 1..65535');
    const kdf = this.suite.kdf;
    return isOneStage(kdf)
      ? labeledDerive(this.#b, kdf, this.#sid, this.#exporterSecret, 'sec', exporterContext, length)
      : labeledExpand(this.#b, kdf, this.#sid, this.#exporterSecret, 'sec', exporterContext, length);
  }

  /** Overwrites the context's secrets. */
  destroy(): void { wipe(this.#key, this.#baseNonce, this.#exporterSecret); }
}

// ---------- setup, single-shot ----------

export interface HpkeOptions { info?: Uint8Array | undefined; aad?: Uint8Array | undefined }

/** Nenc of the suite's KEM: the enc prefix of a serialized single-shot ciphertext. */
export const encLength = (kem: KemAlgorithm): number => SIZES[kem].cipherText;
/** Nt of the suite's AEAD. */
export const tagLength = (aead: HpkeAead): number => AEAD_SIZES[aead].Nt;

/**
 * SetupBaseS(pkR, info). `ikmE`: the encapsulation randomness (the draft's derandomised Encap for
 * tests: ML-KEM m, 32 B; X-Wing eseed, 64 B); a backend that cannot take it throws UnsupportedError.
 */
export function setupBaseS(b: HpkeDeps, suite: HpkeSuite, publicKey: Uint8Array, info: Uint8Array = EMPTY, ikmE?: Uint8Array): { enc: Uint8Array; ctx: HpkeContext } {
  checkSuite(suite);
  const { cipherText: enc, sharedSecret } = b.encapsulate(suite.kem, publicKey, ikmE);
  try {
    return { enc, ctx: new HpkeContext(b, suite, keySchedule(b, suite, sharedSecret, info)) };
  } finally {
    wipe(sharedSecret);
  }
}

/** SetupBaseR(enc, skR, info) with the decapsulation supplied by the caller (a prepared key, a seed…). */
export function setupBaseR(b: HpkeDeps, suite: HpkeSuite, decapsulate: (enc: Uint8Array) => Uint8Array, enc: Uint8Array, info: Uint8Array = EMPTY): HpkeContext {
  checkSuite(suite);
  if (enc.length !== encLength(suite.kem)) throw new CryptoInputError(`enc must be ${encLength(suite.kem)} bytes for ${suite.kem}`);
  const ss = decapsulate(enc);
  try {
    return new HpkeContext(b, suite, keySchedule(b, suite, ss, info));
  } finally {
    wipe(ss);
  }
}

/** Single-shot SealBase: a fresh encapsulation, one AEAD seal (seq 0). */
export function hpkeSeal(b: HpkeDeps, suite: HpkeSuite, publicKey: Uint8Array, plaintext: Uint8Array, opts: HpkeOptions = {}): { enc: Uint8Array; ct: Uint8Array } {
  const { enc, ctx } = setupBaseS(b, suite, publicKey, opts.info);
  try {
    return { enc, ct: ctx.seal(plaintext, opts.aad) };
  } finally {
    ctx.destroy();
  }
}

/**
 * Single-shot OpenBase. Every failure (enc of the wrong length, a KEM that rejects enc, a tag that does
 * not verify) is the same DecryptionError: no oracle on which part was wrong.
 */
export function hpkeOpen(b: HpkeDeps, suite: HpkeSuite, decapsulate: (enc: Uint8Array) => Uint8Array, enc: Uint8Array, ct: Uint8Array, opts: HpkeOptions = {}): Uint8Array {
  let ctx: HpkeContext;
  try {
    ctx = setupBaseR(b, suite, decapsulate, enc, opts.info);
  } catch {
    throw new DecryptionError();
  }
  try {
    return ctx.open(ct, opts.aad);
  } catch {
    throw new DecryptionError();
  } finally {
    ctx.destroy();
  }
}

/**
 * DeriveKeyPair(ikm) of draft-ietf-hpke-pq: seed = SHAKE256(ikm ‖ "HPKE-v1" ‖ "KEM" ‖ I2OSP(kem_id, 2) ‖
 * lp2("DeriveKeyPair") ‖ I2OSP(Nsk, 2), Nsk), then the KEM's own key generation from that seed.
 */
export function deriveKeyPair(b: HpkeDeps, kem: KemAlgorithm, ikm: Uint8Array): { seed: Uint8Array; publicKey: Uint8Array } {
  const nsk = SIZES[kem].seed;
  if (ikm.length < nsk) throw new CryptoInputError(`ikm must be at least ${nsk} bytes`);
  const sid = concatBytes(L('KEM'), i2osp(HPKE_KEM_IDS[kem], 2));
  const seed = b.hash('SHAKE-256', concatBytes(ikm, HPKE_V1, sid, lp2(L('DeriveKeyPair')), i2osp(nsk, 2)), nsk);
  return { seed, publicKey: b.keygen(kem, seed).publicKey };
}
