/**
 * Entries of the private public-key directory (docs/PIR.md, Directory): what the service signs and
 * what a lookup returns. Pure module shared by the server (directory.ts, which signs) and the SDK
 * (which verifies): no `node:` imports.
 *
 * The directory is the keyword database DIRECTORY_DB_NAME; key = UTF-8 of the entry name, value =
 * the encoded entry below. The service identity key (ML-DSA-65) signs, with the FIPS 204 context
 * "pqzk pir directory entry v1",
 *
 *   lp(label) ‖ lp(entryName) ‖ lp(owner) ‖ lp(algorithm) ‖ lp(u64 keyVersion) ‖ lp(publicKey) ‖
 *   lp(signedAt) ‖ lp(identityKeyId) ‖ lp(u64 identityVersion)
 *
 * Value = u8 2 ‖ lp(owner) ‖ lp(algorithm) ‖ u64be keyVersion ‖ lp(publicKey) ‖ lp(signedAt) ‖
 * lp(identityKeyId) ‖ u64be identityVersion ‖ lp(signature)   (lp(x) = u32be(len x) ‖ x).
 *
 * Names are first come, first served: the signed owner (`tenant:<id>` or `admin`) is what tells a
 * looker whose key a name leads to; a client that knows whom it means checks it (SDK `owner` option).
 */
import { concatBytes, lp, u64 } from '../crypto/bytes.ts';
import { CryptoInputError } from '../errors.ts';

/** Name of the keyword database the service maintains as the directory. */
export const DIRECTORY_DB_NAME = 'pqzk-directory';
/** Domain label and FIPS 204 context string of an entry signature. */
export const DIRECTORY_ENTRY_LABEL = 'pqzk pir directory entry v1';
/** DIRECTORY_ENTRY_LABEL in UTF-8. */
export const DIRECTORY_ENTRY_CONTEXT = new TextEncoder().encode(DIRECTORY_ENTRY_LABEL);
/** maxValueSize of the directory database: an ML-DSA-87 public key (2592) and an ML-DSA-65 signature (3309) fit. */
export const DIRECTORY_MAX_VALUE = 6144;
/** Accepted entry names (lower case; e-mail-like names fit). */
export const DIRECTORY_NAME_PATTERN = /^[a-z0-9][a-z0-9._@+-]{0,127}$/;

/** A directory entry: the name, the published key's algorithm, version and public key, and the signature over them. */
export interface DirectoryEntry {
  entryName: string;
  /** Who published the entry (`tenant:<id>` or `admin`), signed with it. */
  owner: string;
  algorithm: string;
  keyVersion: number;
  publicKey: Uint8Array;
  /** ISO 8601 time the service signed this entry. */
  signedAt: string;
  identityKeyId: string;
  identityVersion: number;
  signature: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Throws CryptoInputError unless `name` is a valid entry name. */
export function assertDirectoryName(name: string): void {
  if (typeof name !== 'string' || !DIRECTORY_NAME_PATTERN.test(name)) throw new CryptoInputError(`an entry name matches ${DIRECTORY_NAME_PATTERN.source}`);
}

/** The bytes the identity key signs for an entry (everything but the signature). */
export function directoryEntrySignedMessage(e: Omit<DirectoryEntry, 'signature'>): Uint8Array {
  return concatBytes(lp(DIRECTORY_ENTRY_LABEL), lp(e.entryName), lp(e.owner), lp(e.algorithm), lp(u64(e.keyVersion)), lp(e.publicKey),
    lp(e.signedAt), lp(e.identityKeyId), lp(u64(e.identityVersion)));
}

/** The keyword-database value of an entry (the entry name is the key, not repeated here). */
export function encodeDirectoryValue(e: DirectoryEntry): Uint8Array {
  return concatBytes(new Uint8Array([2]), lp(e.owner), lp(e.algorithm), u64(e.keyVersion), lp(e.publicKey), lp(e.signedAt),
    lp(e.identityKeyId), u64(e.identityVersion), lp(e.signature));
}

/** Parses a value found under `entryName`; throws CryptoInputError on any malformed field. */
export function decodeDirectoryValue(entryName: string, v: Uint8Array): DirectoryEntry {
  let o = 0;
  const need = (n: number): void => { if (o + n > v.length) throw new CryptoInputError('directory entry is truncated'); };
  const u32 = (): number => { need(4); const x = ((v[o]! << 24) | (v[o + 1]! << 16) | (v[o + 2]! << 8) | v[o + 3]!) >>> 0; o += 4; return x; };
  const bytes = (): Uint8Array => { const n = u32(); need(n); const b = v.slice(o, o + n); o += n; return b; };
  const num = (): number => { need(8); const hi = u32(), lo = u32(); if (hi > 0x1fffff) throw new CryptoInputError('directory entry: integer too large'); return hi * 0x100000000 + lo; };
  const text = (): string => { try { return dec.decode(bytes()); } catch { throw new CryptoInputError('directory entry: bad UTF-8'); } };
  need(1);
  if (v[o++] !== 2) throw new CryptoInputError('directory entry: unknown format');
  const owner = text(), algorithm = text(), keyVersion = num(), publicKey = bytes(), signedAt = text(), identityKeyId = text(), identityVersion = num(), signature = bytes();
  if (o !== v.length) throw new CryptoInputError('directory entry has trailing bytes');
  return { entryName, owner, algorithm, keyVersion, publicKey, signedAt, identityKeyId, identityVersion, signature };
}

/** UTF-8 key of an entry name in the directory database. */
export const directoryKey = (name: string): Uint8Array => enc.encode(name);
