/**
 * The cost table: estimated CPU-seconds per algorithm and operation, as plain frozen data, and its
 * types. The model that reads it (lookups, the pool and budget seams, calibration, the published
 * shape) is src/workers/cost.ts; import from there.
 *
 * The default figures were measured on the 2-core development machine (Node 24, OpenSSL 3.5, quiet):
 * CPU time of one call on one thread, through `getBackend('native' | 'noble')`. Native signing
 * includes importing the secret key (the worker key cache makes a warm sign ~1/4 cheaper, so the
 * estimate errs high).
 */
import { KEM_ALGORITHMS, SIGNATURE_ALGORITHMS } from '../crypto/algorithms.ts';
import type { KemAlgorithm, SignatureAlgorithm } from '../crypto/algorithms.ts';

/** The backend a figure was measured on. */
export type CostBackend = 'native' | 'noble';
/** Operations of a signature algorithm the table prices. */
export type SignatureOperation = 'keygen' | 'sign' | 'verify';
/** Operations of a KEM the table prices. */
export type KemOperation = 'keygen' | 'encaps' | 'decaps';

/** Operations that are not "one algorithm, one primitive"; all in CPU-seconds (per unit where named so). */
export interface OperationCosts {
  /** Server half of the kex handshake: X-Wing decaps + encaps, HKDF, HMACs. */
  'kex.respond': number;
  /** One Groth16 login proof verified alone (also the per-proof fallback of a failed batch). */
  'zk.verify': number;
  /** A batch of n proofs costs fixed + n × item. */
  'zk.verifyBatch.fixed': number;
  'zk.verifyBatch.item': number;
  /** PIR answer: per byte of database matrix scanned (WASM SIMD kernel). */
  'pir.scan.perByte': number;
  /** PIR hint: per matrix byte per hint column (n = 1408 columns for a whole hint). */
  'pir.hint.perByteColumn': number;
  /** PIR upload layout: per byte of records. */
  'pir.layout.perByte': number;
  /** Keyword PIR table build (parse, SHA-256 per key, cuckoo insertion, slots): per byte of upload, one salt. */
  'pir.keyword.perByte': number;
  /** Hashing the message a signature covers (SHAKE/SHA-2), per byte. */
  'hash.perByte': number;
  /** Posting a task to a worker and back (structured clone, scheduling). */
  'task.overhead': number;
  /** Main-thread cost of an HTTP request (parse, validate, auth, serialise): for budgets. */
  'http.request': number;
  /** Main-thread cost of one store write (PGlite): for budgets. */
  'store.write': number;
}

/** CPU-seconds of every algorithm and operation on one backend. */
export interface BackendCosts {
  signature: Record<SignatureAlgorithm, Record<SignatureOperation, number>>;
  kem: Record<KemAlgorithm, Record<KemOperation, number>>;
  'kex.respond': number;
}

/** The whole table, CPU-seconds; plain data (JSON-serialisable). */
export interface CostTable {
  native: BackendCosts;
  noble: BackendCosts;
  operations: Omit<OperationCosts, 'kex.respond'>;
}

/** One measured operation of calibration: expected and measured CPU-seconds, and their ratio. */
export interface CalibrationSample { name: string; expected: number; measured: number; ratio: number }
/** Outcome of start-up calibration: the machine factor and how it was obtained. */
export interface CalibrationResult {
  /** Multiply every default figure by this (median of the sample ratios, clamped to [0.25, 8]). */
  factor: number;
  samples: CalibrationSample[];
  elapsedMs: number;
  /** 'startup' when measured, 'default' when skipped or nothing could be measured in time. */
  source: 'startup' | 'default';
}

/** The published cost model (`costs` of /v1/algorithms). */
export interface CostTableJson {
  unit: 'cpu-seconds';
  backend: CostBackend;
  factor: number;
  calibration: { source: 'startup' | 'default'; elapsedMs: number; samples: CalibrationSample[] };
  algorithms: Record<string, Record<string, number>>;
  nobleServed: Record<string, Record<string, number>>;
  operations: OperationCosts;
}

// ------------------------------------------------------------------------------------ defaults

/** Measured milliseconds [keygen, sign, verify]. */
type Ms3 = readonly [number, number, number];

const NATIVE_SIG_MS: Record<SignatureAlgorithm, Ms3> = {
  'ML-DSA-44': [0.13, 0.74, 0.16], 'ML-DSA-65': [0.2, 1.35, 0.22], 'ML-DSA-87': [0.27, 1.35, 0.31],
  'SLH-DSA-SHA2-128s': [33, 253, 0.31], 'SLH-DSA-SHA2-128f': [0.53, 12.3, 0.79],
  'SLH-DSA-SHA2-192s': [49, 512, 0.49], 'SLH-DSA-SHA2-192f': [0.77, 22, 1.23],
  'SLH-DSA-SHA2-256s': [32, 481, 0.67], 'SLH-DSA-SHA2-256f': [2.0, 45, 1.27],
  'SLH-DSA-SHAKE-128s': [98, 742, 0.81], 'SLH-DSA-SHAKE-128f': [1.56, 36, 2.13],
  'SLH-DSA-SHAKE-192s': [144, 1288, 1.11], 'SLH-DSA-SHAKE-192f': [2.6, 66, 3.17],
  'SLH-DSA-SHAKE-256s': [94, 1262, 1.67], 'SLH-DSA-SHAKE-256f': [5.9, 120, 3.28],
  // Composites (unprepared: both components imported, PH, point checks), measured like the rest.
  'MLDSA44-Ed25519-SHA512': [0.21, 0.85, 0.69], 'MLDSA44-ECDSA-P256-SHA256': [0.31, 0.95, 0.36],
  'MLDSA65-Ed25519-SHA512': [0.25, 1.2, 0.67], 'MLDSA65-ECDSA-P256-SHA512': [0.37, 1.31, 0.37],
  'MLDSA65-ECDSA-P384-SHA512': [1.9, 3.7, 1.01], 'MLDSA87-ECDSA-P384-SHA512': [1.9, 3.77, 1.27],
};

/**
 * noble (pure JS). SLH-DSA "s" keygen and sign were not timed (tens of seconds): they are the native
 * figure × the noble/native sign ratio of the "f" set of the same hash and size (5× SHA2, 10–12× SHAKE).
 */
const NOBLE_SIG_MS: Record<SignatureAlgorithm, Ms3> = {
  'ML-DSA-44': [1.21, 5.9, 1.24], 'ML-DSA-65': [1.84, 15.6, 2.1], 'ML-DSA-87': [2.74, 8.6, 2.92],
  'SLH-DSA-SHA2-128s': [176, 1350, 1.76], 'SLH-DSA-SHA2-128f': [2.6, 66, 4.64],
  'SLH-DSA-SHA2-192s': [247, 2590, 3.03], 'SLH-DSA-SHA2-192f': [3.9, 111, 6.5],
  'SLH-DSA-SHA2-256s': [164, 2460, 3.54], 'SLH-DSA-SHA2-256f': [10.5, 232, 7.2],
  'SLH-DSA-SHAKE-128s': [1190, 8990, 8.84], 'SLH-DSA-SHAKE-128f': [18.6, 435, 29],
  'SLH-DSA-SHAKE-192s': [1540, 13800, 12.6], 'SLH-DSA-SHAKE-192f': [27.3, 708, 38],
  'SLH-DSA-SHAKE-256s': [1140, 15200, 19.6], 'SLH-DSA-SHAKE-256f': [72, 1445, 39],
  'MLDSA44-Ed25519-SHA512': [3.18, 7.01, 3.08], 'MLDSA44-ECDSA-P256-SHA256': [1.54, 6.69, 3.86],
  'MLDSA65-Ed25519-SHA512': [2.2, 11.1, 3.58], 'MLDSA65-ECDSA-P256-SHA512': [2.03, 7.96, 4.14],
  'MLDSA65-ECDSA-P384-SHA512': [2.74, 13.9, 6.37], 'MLDSA87-ECDSA-P384-SHA512': [3.65, 11.6, 7.36],
};

/** Measured milliseconds [keygen, encaps, decaps]. */
const NATIVE_KEM_MS: Record<KemAlgorithm, Ms3> = {
  'ML-KEM-512': [0.08, 0.075, 0.12], 'ML-KEM-768': [0.11, 0.09, 0.16], 'ML-KEM-1024': [0.12, 0.1, 0.2], 'X-Wing': [0.24, 0.28, 0.51],
};
const NOBLE_KEM_MS: Record<KemAlgorithm, Ms3> = {
  'ML-KEM-512': [0.42, 0.34, 0.4], 'ML-KEM-768': [0.38, 0.49, 0.63], 'ML-KEM-1024': [0.57, 0.68, 0.79], 'X-Wing': [0.93, 2.04, 2.5],
};

const s = (ms: number): number => ms / 1000;
const sig = (t: Record<SignatureAlgorithm, Ms3>) => Object.fromEntries(
  SIGNATURE_ALGORITHMS.map((a) => [a, { keygen: s(t[a][0]), sign: s(t[a][1]), verify: s(t[a][2]) }]),
) as BackendCosts['signature'];
const kem = (t: Record<KemAlgorithm, Ms3>) => Object.fromEntries(
  KEM_ALGORITHMS.map((a) => [a, { keygen: s(t[a][0]), encaps: s(t[a][1]), decaps: s(t[a][2]) }]),
) as BackendCosts['kem'];

const deepFreeze = <T>(o: T): T => {
  if (o && typeof o === 'object') { for (const v of Object.values(o)) deepFreeze(v); Object.freeze(o); }
  return o;
};

/** The default table (2-core development machine, quiet). Frozen. */
export const DEFAULT_COSTS: CostTable = deepFreeze({
  native: { signature: sig(NATIVE_SIG_MS), kem: kem(NATIVE_KEM_MS), 'kex.respond': s(1.13) },
  noble: { signature: sig(NOBLE_SIG_MS), kem: kem(NOBLE_KEM_MS), 'kex.respond': s(7.7) },
  operations: {
    // Prepared verifier (issue 13): 5.8 ms CPU single at load 14 (the plain path 8.05 in the same run,
    // 7.6 quiet); the issue measured 12.7–19 ms for a junk proof on a loaded machine.
    'zk.verify': s(6),
    // bench zk, prepared: 1.83 ms CPU per proof in batches of 64, 2.06 in batches of 16 (load 14);
    // the fixed part is one final exponentiation and the γ/δ/β pairs of the multi-Miller loop.
    'zk.verifyBatch.fixed': s(3),
    'zk.verifyBatch.item': s(2.5),
    // 0.065–0.082 ns/byte measured (4 and 16 MiB); bench pir: 11–13 GB/s per core.
    'pir.scan.perByte': 8e-11,
    // bench pir: a whole hint (1408 columns) of 64 MiB in 7.1 s → 0.075 ns; 0.19 ns measured on 32 columns.
    'pir.hint.perByteColumn': 1e-10,
    'pir.layout.perByte': 6e-9,
    // 1 M keys of ~8 bytes with 32-byte values (45.9 MB framed): 3.3 s on one thread → 7.3e-8 s/byte.
    'pir.keyword.perByte': 8e-8,
    'hash.perByte': 3e-9,
    'task.overhead': 5e-5,
    'http.request': s(0.5),
    'store.write': s(2.5),
  },
});
