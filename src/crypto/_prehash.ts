/**
 * HashML-DSA (FIPS 204 §5.4) and HashSLH-DSA (FIPS 205 §10.2) message formatting. Pure module.
 *
 * M' = 0x01 ‖ |ctx| ‖ ctx ‖ OID(PH) ‖ PH(M). Pure signing uses 0x00 ‖ |ctx| ‖ ctx ‖ M.
 */
import type { PreHashAlgorithm } from './algorithms.ts';
import { concatBytes } from './bytes.ts';

/** DER-encoded OIDs 2.16.840.1.101.3.4.2.x (NIST hash algorithms) and PH output lengths in bytes. */
export const PREHASH: Record<PreHashAlgorithm, { arc: number; outputLength: number }> = {
  'SHA2-256': { arc: 1, outputLength: 32 },
  'SHA2-384': { arc: 2, outputLength: 48 },
  'SHA2-512': { arc: 3, outputLength: 64 },
  'SHA2-224': { arc: 4, outputLength: 28 },
  'SHA2-512/224': { arc: 5, outputLength: 28 },
  'SHA2-512/256': { arc: 6, outputLength: 32 },
  'SHA3-224': { arc: 7, outputLength: 28 },
  'SHA3-256': { arc: 8, outputLength: 32 },
  'SHA3-384': { arc: 9, outputLength: 48 },
  'SHA3-512': { arc: 10, outputLength: 64 },
  // FIPS 204 §5.4.1 / FIPS 205 §10.2.2: SHAKE128 with 256-bit output, SHAKE256 with 512-bit output.
  'SHAKE-128': { arc: 11, outputLength: 32 },
  'SHAKE-256': { arc: 12, outputLength: 64 },
};

/** DER encoding of the OID of pre-hash function `ph` (NIST 2.16.840.1.101.3.4.2.x), as written into M'. */
export const prehashOid = (ph: PreHashAlgorithm): Uint8Array =>
  Uint8Array.of(0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, PREHASH[ph].arc);

/** M' for HashML-DSA / HashSLH-DSA given the digest PH(M). */
export function formatPrehashMessage(ph: PreHashAlgorithm, digest: Uint8Array, ctx: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(1, ctx.length), ctx, prehashOid(ph), digest);
}
