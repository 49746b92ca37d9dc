/**
 * Field arithmetic helpers and the two Poseidon hashes of the login circuit (circuits/login.circom).
 * Pure: no `node:` import, shared by the server and the browser SDK.
 *
 * Poseidon is circomlib's (iden3) over the BN254 scalar field, via poseidon-lite: x^5 S-box,
 * 8 full rounds, t = inputs + 1, capacity element 0. Every input must already be a canonical
 * field element; poseidon-lite would silently reduce values ≥ p (so H(p) = H(0)), we refuse them.
 */
import { poseidon3 } from 'poseidon-lite/poseidon3';
import { poseidon4 } from 'poseidon-lite/poseidon4';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoInputError } from '../errors.ts';

/** r, the order of BN254's G1/G2 and the field the circuit computes in (circom's `bn128` prime). */
export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Reads an ASCII label as a big-endian integer. Labels are ≤ 31 bytes, so the value is < 2^248 < p. */
export function labelToField(label: string): bigint {
  if (label.length === 0 || label.length > 31 || !/^[\x20-\x7e]+$/.test(label)) throw new CryptoInputError('domain label must be 1..31 printable ASCII characters');
  let v = 0n;
  for (let i = 0; i < label.length; i++) v = (v << 8n) | BigInt(label.charCodeAt(i));
  return v;
}

/** Domain label of the commitment hash. */
export const DOMAIN_COMMIT_LABEL = 'pqzk.zk-login.commitment.v1';
/** Domain label of the login tag hash. */
export const DOMAIN_LOGIN_LABEL = 'pqzk.zk-login.login-tag.v1';
/** Domain label of the session key hash. */
export const SESSION_KEY_LABEL = 'pqzk.zk-login.session-key.v1';
/** = labelToField(DOMAIN_COMMIT_LABEL); the same literal is in circuits/login.circom. */
export const DOMAIN_COMMIT = 46256480038490845158054805759651277526850158840723210195409204785n;
/** = labelToField(DOMAIN_LOGIN_LABEL); the same literal is in circuits/login.circom. */
export const DOMAIN_LOGIN = 180689375150354863898651584998637805624595113718118071762056753n;

const CANONICAL_DECIMAL = /^(0|[1-9][0-9]*)$/;
/** A canonical element of Fr has at most 77 decimal digits; checked before BigInt() parses it. */
const MAX_DIGITS = FIELD_MODULUS.toString().length;

/** True when `x` is a bigint in [0, p). */
export const isFieldElement = (x: unknown): x is bigint => typeof x === 'bigint' && x >= 0n && x < FIELD_MODULUS;

/** Throws CryptoInputError unless `x` is a bigint in [0, p). `what` names the value, never its content. */
export function assertFieldElement(x: unknown, what = 'field element'): bigint {
  if (!isFieldElement(x)) throw new CryptoInputError(`${what} must be an integer in [0, p)`);
  return x;
}

/**
 * Parses the canonical decimal form of a field element: no sign, no leading zeros, no
 * whitespace, no `0x`, value < p. Anything else throws CryptoInputError, so one number has one
 * spelling (needed wherever strings are compared or stored, e.g. commitments).
 *
 * @example parseFieldElement('42') // 42n; parseFieldElement('042') throws
 */
export function parseFieldElement(s: unknown, what = 'field element'): bigint {
  if (typeof s !== 'string' || s.length > MAX_DIGITS || !CANONICAL_DECIMAL.test(s)) {
    throw new CryptoInputError(`${what} must be a canonical decimal string`);
  }
  return assertFieldElement(BigInt(s), what);
}

/** Canonical decimal string of a field element (inverse of parseFieldElement). */
export const formatFieldElement = (x: bigint): string => assertFieldElement(x).toString(10);

/**
 * commitment = Poseidon(DOMAIN_COMMIT, secret, salt), what a user registers.
 *
 * @example const c = commitment(secret, salt) // bigint < p; send formatFieldElement(c)
 */
export function commitment(secret: bigint, salt: bigint): bigint {
  return poseidon3([DOMAIN_COMMIT, assertFieldElement(secret, 'secret'), assertFieldElement(salt, 'salt')]);
}

/** loginTag = Poseidon(DOMAIN_LOGIN, secret, challenge, sessionKeyHash), the circuit's second output. */
export function loginTag(secret: bigint, challenge: bigint, sessionKeyHash: bigint): bigint {
  return poseidon4([
    DOMAIN_LOGIN,
    assertFieldElement(secret, 'secret'),
    assertFieldElement(challenge, 'challenge'),
    assertFieldElement(sessionKeyHash, 'sessionKeyHash'),
  ]);
}

/**
 * Binds a proof to the session public key given at challenge time:
 * the first 31 bytes (248 bits, big-endian) of SHA-256(SESSION_KEY_LABEL ‖ 0x00 ‖ publicKey).
 * Truncation rather than reduction mod p keeps the value uniform over [0, 2^248) with no bias.
 *
 * @example const skh = sessionKeyHash(sessionPublicKeyBytes)
 */
export function sessionKeyHash(sessionPublicKey: Uint8Array): bigint {
  if (!(sessionPublicKey instanceof Uint8Array) || sessionPublicKey.length === 0) throw new CryptoInputError('session public key must be non-empty bytes');
  return hashToField248(SESSION_KEY_LABEL, sessionPublicKey);
}

/**
 * Draws a uniform field element from the platform CSPRNG (WebCrypto, in Node and browsers),
 * by rejection sampling 254-bit candidates. For secrets, salts and challenges.
 */
export function randomFieldElement(): bigint {
  const buf = new Uint8Array(32);
  for (;;) {
    globalThis.crypto.getRandomValues(buf);
    buf[0] = buf[0]! & 0x3f; // 254 bits: p > 2^253, so a candidate is accepted with probability > 1/2
    let v = 0n;
    for (const b of buf) v = (v << 8n) | BigInt(b);
    if (v < FIELD_MODULUS) return v;
  }
}

/** First 31 bytes (big-endian) of SHA-256(label ‖ 0x00 ‖ data): a uniform value < 2^248 < p. */
function hashToField248(label: string, data: Uint8Array): bigint {
  const l = new TextEncoder().encode(label);
  const msg = new Uint8Array(l.length + 1 + data.length);
  msg.set(l, 0);
  msg.set(data, l.length + 1);
  const digest = sha256(msg);
  let v = 0n;
  for (let i = 0; i < 31; i++) v = (v << 8n) | BigInt(digest[i]!);
  return v;
}

/** Domain label of the username salt (usernameSalt). */
export const SALT_LABEL = 'pqzk.zk-login.salt.v1';
/** Domain label of the commitment rotation message. */
export const ROTATE_LABEL = 'pqzk.zk-login.rotate.v1';

/**
 * The salt of a user's commitment, derived from the username so the user keeps one value (the
 * secret): SHA-256(SALT_LABEL ‖ 0x00 ‖ UTF-8 username), first 31 bytes. It makes equal secrets give
 * different commitments for different users (no cross-user precomputation); it adds no entropy.
 *
 * @example const c = commitment(secret, usernameSalt('alice'))
 */
export const usernameSalt = (username: string): bigint => hashToField248(SALT_LABEL, new TextEncoder().encode(username));

/**
 * What a rotation proof carries in its `sessionKeyHash` slot: binds the proof of the old secret to
 * the new commitment, SHA-256(ROTATE_LABEL ‖ 0x00 ‖ 32-byte big-endian newCommitment), 31 bytes.
 * A different label from sessionKeyHash, and the server also tags challenges with their purpose.
 */
export function rotationBinding(newCommitment: bigint): bigint {
  let v = assertFieldElement(newCommitment, 'new commitment');
  const be = new Uint8Array(32);
  for (let i = 31; i >= 0; i--, v >>= 8n) be[i] = Number(v & 0xffn);
  return hashToField248(ROTATE_LABEL, be);
}
