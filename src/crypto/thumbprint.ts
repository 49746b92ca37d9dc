/**
 * Key thumbprints, one definition for server and SDK (pure: no `node:` import).
 *
 * - `publicKeyThumbprint`: base64url SHA-256 of a raw public key. It names the session key a token
 *   is bound to (`cnf.skt`, RFC 7800 style) and a kex session's client key.
 * - `jwkThumbprint`: RFC 7638 thumbprint of an AKP JWK (RFC 9964): SHA-256 over the JSON of the
 *   required members {"alg","kty","pub"} in lexicographic order. It is the `kid` of token keys and
 *   the identity key's `keyId`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlEncode } from './bytes.ts';

const utf8 = new TextEncoder();

/** base64url SHA-256 of a raw public key. @example publicKeyThumbprint(session.clientPublicKey) // 43 characters */
export const publicKeyThumbprint = (publicKey: Uint8Array): string => base64urlEncode(sha256(publicKey));

/** RFC 7638 thumbprint of the AKP JWK of `publicKey`. @example jwkThumbprint('ML-DSA-65', pk) */
export const jwkThumbprint = (alg: string, publicKey: Uint8Array): string =>
  base64urlEncode(sha256(utf8.encode(JSON.stringify({ alg, kty: 'AKP', pub: base64urlEncode(publicKey) }))));
