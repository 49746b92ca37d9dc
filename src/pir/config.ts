/**
 * The signed PIR config: what a client must trust before querying a database version. Pure module
 * shared by the server (which signs) and the SDK (which verifies): no `node:` imports.
 *
 * The service identity key (ML-DSA-65, FIPS 204) signs `pirConfigSignedMessage(config)` with the
 * FIPS 204 context string "pqzk pir config v1". The message is a sequence of length-prefixed
 * fields, lp(x) = u32be(len(x)) ‖ x, strings in UTF-8, integers as u64be (docs/PIR.md):
 *
 *   lp("pqzk pir config v1") ‖ lp(name) ‖ lp(u64 version) ‖ lp(createdAt) ‖ lp(scheme) ‖
 *   lp(u64 n) ‖ lp(u64 logQ) ‖ lp(u64 logP) ‖ lp(u64 eta) ‖ lp(u64 recordCount) ‖
 *   lp(u64 recordSize) ‖ lp(u64 recordsPerColumn) ‖ lp(u64 rows) ‖ lp(u64 cols) ‖ lp(seed) ‖
 *   lp(hintSha256) ‖ lp(identity.algorithm) ‖ lp(identity.keyId) ‖ lp(u64 identity.version) ‖
 *   lp(identity.publicKey) [‖ lp("keyword") ‖ keyword layout fields, keyword databases only]
 *
 * createdAt is signed as the exact ISO 8601 string sent; seed and hintSha256 as raw bytes.
 * `sizes` in the JSON are derived from params and not signed (the client recomputes them).
 */
import { base64urlDecode, concatBytes, fromHex, lp, u64 } from '../crypto/bytes.ts';
import { CryptoInputError } from '../errors.ts';
import { SEED_BYTES } from './matrixA.ts';
import { assertPirParams, pirSizes, type PirParams } from './params.ts';
import { assertKeywordLayout, keywordSignedFields, type KeywordLayout } from './keyword.ts';

const enc = new TextEncoder();

/** Domain label (first field) and FIPS 204 context string of the config signature. */
export const PIR_CONFIG_LABEL = 'pqzk pir config v1';
/** PIR_CONFIG_LABEL in UTF-8, the FIPS 204 context string of the config signature. */
export const PIR_CONFIG_CONTEXT = enc.encode(PIR_CONFIG_LABEL);
/** The only accepted signature algorithm of a PIR config. */
export const PIR_IDENTITY_ALGORITHM = 'ML-DSA-65';

/** The config as sent on the wire (openapi.yaml `PirConfig`). */
export interface PirConfigJson {
  name: string;
  version: number;
  createdAt: string;
  params: PirParams;
  /** base64url, 32 bytes. */
  seed: string;
  /** hex SHA-256 of the hint bytes. */
  hintSha256: string;
  sizes: { query: number; answer: number; hint: number };
  identity: { keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: string };
  /** Present on keyword databases (keyword.ts): the cuckoo layout over the records; signed. */
  keyword?: KeywordLayout;
  /** base64url ML-DSA-65 signature. */
  signature: string;
}

/** A config before signing (the input of {@link pirConfigSignedMessage}). */
export type UnsignedPirConfig = Omit<PirConfigJson, 'signature'>;

/**
 * The bytes the identity key signs. Throws CryptoInputError on a malformed field (wrong seed or
 * hash length, non-integer), so a client never verifies a signature over something it misread.
 *
 * @example backend.verify('ML-DSA-65', pk, pirConfigSignedMessage(cfg), sig, { context: PIR_CONFIG_CONTEXT })
 */
export function pirConfigSignedMessage(c: UnsignedPirConfig): Uint8Array {
  const p = c.params;
  const seed = base64urlDecode(c.seed);
  if (seed.length !== SEED_BYTES) throw new CryptoInputError('PIR config: seed must be 32 bytes');
  if (!/^[0-9a-f]{64}$/.test(c.hintSha256)) throw new CryptoInputError('PIR config: hintSha256 must be 64 hex digits');
  if (typeof c.name !== 'string' || typeof c.createdAt !== 'string' || typeof c.identity?.keyId !== 'string') {
    throw new CryptoInputError('PIR config: malformed');
  }
  return concatBytes(
    lp(PIR_CONFIG_LABEL), lp(c.name), lp(u64(c.version)), lp(c.createdAt), lp(p.scheme),
    lp(u64(p.n)), lp(u64(p.logQ)), lp(u64(p.logP)), lp(u64(p.eta)), lp(u64(p.recordCount)),
    lp(u64(p.recordSize)), lp(u64(p.recordsPerColumn)), lp(u64(p.rows)), lp(u64(p.cols)),
    lp(seed), lp(fromHex(c.hintSha256)),
    lp(c.identity.algorithm), lp(c.identity.keyId), lp(u64(c.identity.version)), lp(base64urlDecode(c.identity.publicKey)),
    // Keyword databases only: lp("keyword") ‖ the layout's fields (keyword.ts keywordSignedFields).
    ...(c.keyword === undefined ? [] : [lp('keyword'), keywordSignedFields(c.keyword)]),
  );
}

/** Checks everything in a config except the signature: params (recomputed shape), sizes, field formats. */
export function assertPirConfigShape(c: unknown): asserts c is PirConfigJson {
  const cfg = c as Partial<PirConfigJson> | null;
  if (typeof cfg !== 'object' || cfg === null) throw new CryptoInputError('PIR config must be an object');
  assertPirParams(cfg.params);
  if (cfg.identity?.algorithm !== PIR_IDENTITY_ALGORITHM) throw new CryptoInputError('PIR config: unsupported identity algorithm');
  if (typeof cfg.signature !== 'string') throw new CryptoInputError('PIR config: missing signature');
  const sizes = pirSizes(cfg.params);
  if (cfg.sizes?.query !== sizes.query || cfg.sizes.answer !== sizes.answer || cfg.sizes.hint !== sizes.hint) {
    throw new CryptoInputError('PIR config: sizes do not match params');
  }
  if (cfg.keyword !== undefined) assertKeywordLayout(cfg.keyword, cfg.params);
  pirConfigSignedMessage(cfg as PirConfigJson);
}
