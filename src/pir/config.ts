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
 *
 * v2 (every version whose params carry `queriesPerHint`, i.e. all but those stored by the first
 * release): label and context "pqzk pir config v2", the same fields with "pqzk pir config v2" first,
 * then lp(u64 queriesPerHint) ‖ lp(u64 parentVersion), parentVersion 0 for a full upload. A patched
 * version names its parent, so a client holding the parent's hint may fetch a hint delta (delta.ts)
 * and check the patched hint against this config's hintSha256.
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
/** Label and FIPS 204 context string of v2 configs (params with queriesPerHint, optional parentVersion). */
export const PIR_CONFIG_LABEL_V2 = 'pqzk pir config v2';
const PIR_CONFIG_CONTEXT_V2 = enc.encode(PIR_CONFIG_LABEL_V2);
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
  /** The version this one was patched from (patch.ts); absent for a full upload. Signed in v2. */
  parentVersion?: number;
  identity: { keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: string };
  /** Present on keyword databases (keyword.ts): the cuckoo layout over the records; signed. */
  keyword?: KeywordLayout;
  /** base64url ML-DSA-65 signature. */
  signature: string;
}

/** A config before signing (the input of {@link pirConfigSignedMessage}). */
export type UnsignedPirConfig = Omit<PirConfigJson, 'signature'>;

const isV2 = (c: Pick<UnsignedPirConfig, 'params'>): boolean => c.params.queriesPerHint !== undefined;

/** The FIPS 204 context string a config is signed under: v2 when its params carry queriesPerHint, else v1. */
export function pirConfigContext(c: Pick<UnsignedPirConfig, 'params'>): Uint8Array {
  return isV2(c) ? PIR_CONFIG_CONTEXT_V2 : PIR_CONFIG_CONTEXT;
}

/**
 * The bytes the identity key signs. Throws CryptoInputError on a malformed field (wrong seed or
 * hash length, non-integer), so a client never verifies a signature over something it misread.
 *
 * @example backend.verify('ML-DSA-65', pk, pirConfigSignedMessage(cfg), sig, { context: pirConfigContext(cfg) })
 */
export function pirConfigSignedMessage(c: UnsignedPirConfig): Uint8Array {
  const p = c.params;
  const seed = base64urlDecode(c.seed);
  if (seed.length !== SEED_BYTES) throw new CryptoInputError('PIR config: seed must be 32 bytes');
  if (!/^[0-9a-f]{64}$/.test(c.hintSha256)) throw new CryptoInputError('PIR config: hintSha256 must be 64 hex digits');
  if (typeof c.name !== 'string' || typeof c.createdAt !== 'string' || typeof c.identity?.keyId !== 'string') {
    throw new CryptoInputError('PIR config: malformed');
  }
  const v2 = isV2(c);
  if (!v2 && c.parentVersion !== undefined) throw new CryptoInputError('PIR config: parentVersion needs a v2 config');
  if (c.parentVersion !== undefined && (!Number.isSafeInteger(c.parentVersion) || c.parentVersion < 1 || c.parentVersion >= c.version)) {
    throw new CryptoInputError('PIR config: parentVersion must be an earlier version');
  }
  const tail = v2 ? [lp(u64(p.queriesPerHint!)), lp(u64(c.parentVersion ?? 0))] : [];
  return concatBytes(
    lp(v2 ? PIR_CONFIG_LABEL_V2 : PIR_CONFIG_LABEL), lp(c.name), lp(u64(c.version)), lp(c.createdAt), lp(p.scheme),
    lp(u64(p.n)), lp(u64(p.logQ)), lp(u64(p.logP)), lp(u64(p.eta)), lp(u64(p.recordCount)),
    lp(u64(p.recordSize)), lp(u64(p.recordsPerColumn)), lp(u64(p.rows)), lp(u64(p.cols)),
    lp(seed), lp(fromHex(c.hintSha256)),
    lp(c.identity.algorithm), lp(c.identity.keyId), lp(u64(c.identity.version)), lp(base64urlDecode(c.identity.publicKey)),
    ...tail,
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
