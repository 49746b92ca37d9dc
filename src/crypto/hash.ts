/**
 * SHA-256 and random identifiers for server modules that hold no backend handle (artifact and
 * verification-key pins, migration checksums, PIR digests, token ids). Server-only: node:crypto.
 * Everything else hashes through a CryptoBackend.
 */
import { createHash, randomUUID } from 'node:crypto';

/** SHA-256 of bytes or of a string's UTF-8. */
export const sha256 = (data: Uint8Array | string): Uint8Array => new Uint8Array(createHash('sha256').update(data).digest());

/** Lower-case hex SHA-256 (the form of SHA256SUMS and pins). */
export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** A random RFC 9562 version 4 UUID (key ids, token ids). */
export const randomId = (): string => randomUUID();
