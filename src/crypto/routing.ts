/**
 * Which backend serves an operation. The configured backend serves everything it can express; the
 * few managed-key operations OpenSSL-through-Node cannot express are served by noble instead. That
 * choice is made here, explicitly, listed in NOBLE_SERVED and published in `/v1/algorithms`
 * (`servedByNoble`), never as a silent fallback inside a backend (native.ts throws UnsupportedError).
 */
import type { CryptoBackend } from './backend.ts';
import { nobleBackend } from './noble.ts';

/** Operations the service runs on noble even when CRYPTO_BACKEND=native, each with the reason. */
export const NOBLE_SERVED = [
  { operation: 'HashML-DSA / HashSLH-DSA sign and verify (prehash)', reason: 'OpenSSL 3.5 through node:crypto signs pure ML-DSA / SLH-DSA only' },
  { operation: 'ML-DSA external mu sign and verify', reason: 'node:crypto does not pass OpenSSL\'s "mu" signature parameter' },
] as const;

/** The backend for a signature request: `configured`, or noble for a pre-hash or external-μ request on native. */
export function signatureBackendFor(configured: CryptoBackend, request: { prehash?: unknown; mu?: unknown }): CryptoBackend {
  const needsNoble = request.prehash !== undefined || request.mu !== undefined;
  return configured.name === 'native' && needsNoble ? nobleBackend : configured;
}
