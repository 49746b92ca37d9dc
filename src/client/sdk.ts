/**
 * The entry point of the installable package `@pqzk/client` (src/package/build.ts): everything
 * index.ts offers (createClient, ServiceError, unwrap, the contract types) plus each capability
 * module's public helpers and error classes, so a package user imports all from one place. Like
 * the rest of src/client, it imports no `node:` module.
 *
 * @example
 *
 * ```ts
 * import { createClient, ServiceError, SecureSessionError, computeMu } from '@pqzk/client';
 * ```
 */
export * from './index.ts';
export * from './keys.ts';
export * from './kex.ts';
export * from './zk.ts';
export * from './pir.ts';
export * from './audit.ts';
export * from './pir-keyword.ts';
/** Thrown before any request for input the SDK can tell is invalid (sizes, encodings, field elements). */
export { CryptoInputError, DecryptionError, AppError } from '../errors.ts';
/** base64url (RFC 4648 §5, no padding) as the service's JSON carries bytes. */
export { base64urlEncode, base64urlDecode } from '../crypto/bytes.ts';
