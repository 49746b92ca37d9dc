/**
 * Cost model: the estimated CPU-seconds of every operation the service runs, so the scheduler
 * (src/workers/scheduler.ts) can queue work by cost instead of by task count, and the anonymous
 * CPU budget (src/http/budget.ts) can charge what a request really costs.
 *
 * The default figures (src/workers/cost-table.ts) were measured on the 2-core development machine;
 * `calibrate()` measures a few representative operations at start-up (bounded,
 * default 250 ms, safe to skip) and scales the whole table by one machine factor.
 *
 * Everything here is plain data and pure functions (calibrate takes the backend and a clock as
 * arguments); no `node:` import, so the table can be published as is.
 *
 * Published shape (`model.table()`, a `CostTableJson`), proposed for `GET /v1/algorithms` as a
 * `costs` member (or its own `GET /v1/costs`):
 *
 *   { unit: 'cpu-seconds', backend: 'native', factor: 1.04, calibration: { source: 'startup', … },
 *     algorithms: { 'ML-DSA-44': { keygen: 0.00013, sign: 0.00074, verify: 0.00016 }, …,
 *                   'X-Wing': { keygen: …, encaps: …, decaps: … } },
 *     nobleServed: { 'ML-DSA-44': { … } },        // prehash / external-μ requests on native run on noble
 *     operations: { 'kex.respond': 0.0011, 'zk.verify': 0.008, 'zk.verifyBatch.fixed': …, 'zk.verifyBatch.item': …,
 *                   'pir.scan.perByte': 8e-11, 'pir.hint.perByteColumn': 1e-10, 'pir.layout.perByte': 6e-9,
 *                   'hash.perByte': 3e-9, 'task.overhead': 5e-5, 'http.request': 5e-4, 'store.write': 0.0025 } }
 */
import { KEM_ALGORITHMS, SIGNATURE_ALGORITHMS, isKemAlgorithm, isSignatureAlgorithm } from '../crypto/algorithms.ts';
import type { KemAlgorithm, SignatureAlgorithm } from '../crypto/algorithms.ts';
import type { CryptoBackend } from '../crypto/backend.ts';
import { DEFAULT_COSTS } from './cost-table.ts';
import type {
  BackendCosts, CalibrationResult, CalibrationSample, CostBackend, CostTable, CostTableJson, KemOperation, OperationCosts, SignatureOperation,
} from './cost-table.ts';

export { DEFAULT_COSTS };
/** Types of the cost table (src/workers/cost-table.ts). */
export type * from './cost-table.ts';

// ------------------------------------------------------------------------------------ the model

/** Options of createCostModel: the table, the backend and the machine factor or calibration. */
export interface CostModelOptions {
  /** The table to start from (default DEFAULT_COSTS). */
  table?: CostTable;
  /** Machine factor: every figure is multiplied by it (default 1, or the calibration's). */
  factor?: number;
  calibration?: CalibrationResult;
  /** The configured backend (default native); prehash / external-μ requests on native cost as noble. */
  backend?: CostBackend;
}

/** Anonymous operations the per-address budget charges (src/http/budget.ts). */
export type BudgetedOperation =
  /** `prehash`: served by noble on native (a pre-hash or an external μ, src/crypto/routing.ts). */
  | { op: 'verifyWithPublicKey'; algorithm: SignatureAlgorithm; messageBytes?: number; prehash?: boolean }
  | { op: 'openSession' }
  | { op: 'createChallenge' }
  | { op: 'login' }
  | { op: 'pirQuery'; matrixBytes: number }
  /** An envelope the service refused (bad seal, replayed seq, forbidden or malformed inner request): charged after the fact. */
  | { op: 'envelopeRefused' };

/** Estimated CPU-seconds of operations, tasks and whole requests, scaled by the machine factor. */
export interface CostModel {
  readonly backend: CostBackend;
  readonly factor: number;
  signature(alg: SignatureAlgorithm, op: SignatureOperation, backend?: CostBackend): number;
  kem(alg: KemAlgorithm, op: KemOperation, backend?: CostBackend): number;
  kexRespond(backend?: CostBackend): number;
  /** n = 1: a single verification; n > 1: one batch. */
  zkVerify(n: number): number;
  pirScan(matrixBytes: number): number;
  pirHint(matrixBytes: number, columns: number): number;
  pirLayout(recordBytes: number): number;
  /** A keyword table build from an upload of `bodyBytes` (one salt). */
  pirKeywordBuild(bodyBytes: number): number;
  hash(bytes: number): number;
  /**
   * The pool seam: the estimated cost of worker task `name` with `input` (task names
   * `<capability>.<operation>`, inputs as in src/<capability>/worker.ts), including the task overhead.
   * Unknown tasks cost `unknownTaskSeconds` (1 ms) so they are never free.
   */
  task(name: string, input: unknown): number;
  /** The budget seam: what an anonymous request costs, main thread included. */
  request(op: BudgetedOperation): number;
  /** Publishable plain data (see the module comment). */
  table(): CostTableJson;
}

/** Estimate of a task the table does not know, CPU-seconds. */
export const UNKNOWN_TASK_SECONDS = 0.001;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
const len = (v: unknown): number => (v instanceof Uint8Array || v instanceof Uint32Array || v instanceof Int8Array ? v.length : typeof v === 'string' ? v.length : 0);

/** Creates a CostModel from a table (default DEFAULT_COSTS); an invalid factor falls back to 1. */
export function createCostModel(opts: CostModelOptions = {}): CostModel {
  const t = opts.table ?? DEFAULT_COSTS;
  const backend = opts.backend ?? 'native';
  const rawFactor = opts.factor ?? opts.calibration?.factor ?? 1;
  const factor = Number.isFinite(rawFactor) && rawFactor > 0 ? rawFactor : 1;
  const calibration = opts.calibration ?? { factor, samples: [], elapsedMs: 0, source: 'default' as const };
  const ops = t.operations;
  const f = (x: number) => x * factor;
  const bk = (b: CostBackend | undefined) => t[b ?? backend];

  const model: CostModel = {
    backend,
    factor,
    signature: (alg, op, b) => f(bk(b).signature[alg][op]),
    kem: (alg, op, b) => f(bk(b).kem[alg][op]),
    kexRespond: (b) => f(bk(b)['kex.respond']),
    zkVerify: (n) => f(n <= 1 ? ops['zk.verify'] : ops['zk.verifyBatch.fixed'] + n * ops['zk.verifyBatch.item']),
    pirScan: (bytes) => f(bytes * ops['pir.scan.perByte']),
    pirHint: (bytes, columns) => f(bytes * columns * ops['pir.hint.perByteColumn']),
    pirLayout: (bytes) => f(bytes * ops['pir.layout.perByte']),
    pirKeywordBuild: (bytes) => f(bytes * ops['pir.keyword.perByte']),
    hash: (bytes) => f(bytes * ops['hash.perByte']),

    task(name, input) {
      const i = (input ?? {}) as Record<string, unknown>;
      const overhead = f(ops['task.overhead']);
      // prehash / external μ on native are served by noble (src/crypto/routing.ts).
      const sigBackend = (): CostBackend => (backend === 'native' && (i.prehash !== undefined || i.mu !== undefined) ? 'noble' : backend);
      const alg = i.algorithm;
      switch (name) {
        case 'keys.generate':
          if (typeof alg === 'string' && isSignatureAlgorithm(alg)) return overhead + model.signature(alg, 'keygen');
          if (typeof alg === 'string' && isKemAlgorithm(alg)) return overhead + model.kem(alg, 'keygen');
          break;
        case 'keys.sign':
        case 'keys.verify':
          if (typeof alg === 'string' && isSignatureAlgorithm(alg)) {
            return overhead + model.signature(alg, name === 'keys.sign' ? 'sign' : 'verify', sigBackend()) + model.hash(len(i.message));
          }
          break;
        // HPKE on managed KEM keys (src/keys/worker.ts): the KEM operation plus the AEAD over the bytes.
        case 'keys.seal':
        case 'keys.datakey':
          if (typeof alg === 'string' && isKemAlgorithm(alg)) return overhead + model.kem(alg, 'encaps') + model.hash(len(i.plaintext));
          break;
        case 'keys.open':
        case 'keys.decapsulate':
          if (typeof alg === 'string' && isKemAlgorithm(alg)) return overhead + model.kem(alg, 'decaps') + model.hash(len(i.ciphertext));
          break;
        case 'keys.rewrap':
          if (typeof alg === 'string' && isKemAlgorithm(alg)) return overhead + model.kem(alg, 'decaps') + model.kem(alg, 'encaps') + model.hash(len(i.ciphertext));
          break;
        case 'keys.importUnwrap': {
          // Opening the wrap (X-Wing) and deriving the public key: a keygen (SLH-DSA recomputes PK.root on noble).
          const keygen = typeof alg === 'string' && isSignatureAlgorithm(alg) ? model.signature(alg, 'keygen', alg.startsWith('SLH') ? 'noble' : backend)
            : typeof alg === 'string' && isKemAlgorithm(alg) ? model.kem(alg, 'keygen') : 0;
          return overhead + model.kem('X-Wing', 'decaps') + keygen;
        }
        case 'kex.respond':
          return overhead + model.kexRespond();
        case 'zk.verifyBatch': {
          const n = Array.isArray(i.items) ? i.items.length : 1;
          return overhead + model.zkVerify(n);
        }
        case 'pir.scan': {
          const rows = Math.max(0, num(i.rowEnd) - num(i.rowStart)) || num(i.rows);
          return overhead + model.pirScan(rows * num(i.cols));
        }
        case 'pir.hint':
          return overhead + model.pirHint(num(i.rows) * num(i.cols), Math.max(0, num(i.kEnd) - num(i.kStart)));
        case 'pir.layout':
          return overhead + model.pirLayout(len(i.records));
        case 'pir.extract': {
          const p = (i.params ?? {}) as Record<string, unknown>;
          return overhead + model.pirLayout(num(p.recordCount) * num(p.recordSize));
        }
        case 'pir.hintDelta':
          // cells/3 × n multiply-adds in a TS loop (~12× the WASM kernel per byte), plus A's blocks.
          return overhead + model.pirScan(12 * ((i.cells instanceof Int32Array ? i.cells.length : 0) / 3) * num(i.n));
        case 'pir.keywordBuild':
          return overhead + model.pirKeywordBuild(len(i.body));
        case 'pool.spin':
          return overhead + num(i.ms) / 1000;
        case 'pool.echo':
        case 'pool.fail':
          return overhead;
        default:
      }
      return Math.max(overhead, f(UNKNOWN_TASK_SECONDS));
    },

    request(r) {
      const base = f(ops['http.request']);
      switch (r.op) {
        case 'verifyWithPublicKey':
          return base + f(ops['task.overhead']) + model.signature(r.algorithm, 'verify', r.prehash && backend === 'native' ? 'noble' : backend) + model.hash(r.messageBytes ?? 0);
        case 'openSession':
          return base + f(ops['task.overhead']) + model.kexRespond() + f(ops['store.write']);
        case 'createChallenge':
          return base + f(ops['store.write']);
        case 'login':
          // A junk proof makes a batch fall back to single verification: charge the single figure,
          // plus the ML-DSA-65 token signature and the challenge consumption.
          return base + f(ops['task.overhead']) + f(ops['zk.verify']) + model.signature('ML-DSA-65', 'sign') + f(ops['store.write']);
        case 'pirQuery':
          return base + f(ops['task.overhead']) + model.pirScan(r.matrixBytes);
        case 'envelopeRefused':
          // Reading, opening and judging the envelope, often with a store round trip (the sequence number).
          return base + f(ops['store.write']);
      }
    },

    table() {
      const scaled = (b: BackendCosts): Record<string, Record<string, number>> => {
        const out: Record<string, Record<string, number>> = {};
        for (const a of SIGNATURE_ALGORITHMS) out[a] = { keygen: f(b.signature[a].keygen), sign: f(b.signature[a].sign), verify: f(b.signature[a].verify) };
        for (const a of KEM_ALGORITHMS) out[a] = { keygen: f(b.kem[a].keygen), encaps: f(b.kem[a].encaps), decaps: f(b.kem[a].decaps) };
        return out;
      };
      const operations = Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, f(v)])) as Omit<OperationCosts, 'kex.respond'>;
      const nobleAll = scaled(t.noble);
      return {
        unit: 'cpu-seconds',
        backend,
        factor,
        calibration: { source: calibration.source, elapsedMs: calibration.elapsedMs, samples: calibration.samples },
        algorithms: scaled(t[backend]),
        // What native actually pays for requests it routes to noble (prehash, external μ): signatures only.
        nobleServed: backend === 'native' ? Object.fromEntries(SIGNATURE_ALGORITHMS.map((a) => [a, nobleAll[a]!])) : {},
        operations: { 'kex.respond': f(t[backend]['kex.respond']), ...operations },
      };
    },
  };
  return model;
}

// ------------------------------------------------------------------------------------ calibration

/** Options of calibrate: the backend to time, the time budget and the clock. */
export interface CalibrateOptions {
  /** The backend to time (the configured one). */
  backend: Pick<CryptoBackend, 'name' | 'signatureKeygen' | 'sign' | 'verify' | 'keygen' | 'encapsulate' | 'decapsulate'>;
  /** Total time budget in ms (default 250). Calibration stops early when it is spent. */
  budgetMs?: number;
  /** Clock in ms (default performance.now); injectable for tests. */
  now?: () => number;
  table?: CostTable;
}

const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};

/**
 * Times a few representative operations on this machine (ML-DSA-65 sign and verify, X-Wing encaps
 * and decaps, ML-KEM-768 decaps, SLH-DSA-SHA2-128f sign) on the calling thread, each a few times
 * (the median run is kept: robust to interference from threads starting up), and returns the median
 * ratio measured/default as the machine factor. Bounded by `budgetMs`; if nothing could be
 * measured the factor is 1 (source 'default'). Runs are timed in thread CPU time where Node offers it
 * (`process.threadCpuUsage`), so a busy host does not inflate the factor. Blocks the calling thread for at most ~budgetMs:
 * call it once at start-up, before listening.
 */
export function calibrate(opts: CalibrateOptions): CalibrationResult {
  const now = opts.now ?? (() => performance.now());
  // Each run is timed in this thread's CPU time when the platform has it: the factor must describe the
  // machine, not whatever else is running on it at start-up (wall time on a loaded host overstates costs).
  const threadCpu = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  const cpuNow = opts.now ?? (threadCpu ? () => { const u = threadCpu(); return (u.user + u.system) / 1000; } : now);
  const budget = opts.budgetMs ?? 250;
  const t = (opts.table ?? DEFAULT_COSTS)[opts.backend.name];
  const b = opts.backend;
  const started = now();
  const msg = new TextEncoder().encode('calibration message, 32 bytes..');
  const samples: CalibrationSample[] = [];
  const left = () => budget - (now() - started);

  const probes: Array<{ name: string; expected: number; setup: () => () => unknown }> = [
    { name: 'ML-DSA-65 verify', expected: t.signature['ML-DSA-65'].verify, setup: () => {
      const kp = b.signatureKeygen('ML-DSA-65'); const sg = b.sign('ML-DSA-65', kp.secretKey, msg);
      return () => b.verify('ML-DSA-65', kp.publicKey, msg, sg);
    } },
    { name: 'ML-DSA-65 sign', expected: t.signature['ML-DSA-65'].sign, setup: () => {
      const kp = b.signatureKeygen('ML-DSA-65'); return () => b.sign('ML-DSA-65', kp.secretKey, msg);
    } },
    { name: 'X-Wing encaps', expected: t.kem['X-Wing'].encaps, setup: () => {
      const kp = b.keygen('X-Wing'); return () => b.encapsulate('X-Wing', kp.publicKey);
    } },
    { name: 'X-Wing decaps', expected: t.kem['X-Wing'].decaps, setup: () => {
      const kp = b.keygen('X-Wing'); const e = b.encapsulate('X-Wing', kp.publicKey);
      return () => b.decapsulate('X-Wing', e.cipherText, kp.secretKey);
    } },
    { name: 'ML-KEM-768 decaps', expected: t.kem['ML-KEM-768'].decaps, setup: () => {
      const kp = b.keygen('ML-KEM-768'); const e = b.encapsulate('ML-KEM-768', kp.publicKey);
      return () => b.decapsulate('ML-KEM-768', e.cipherText, kp.secretKey);
    } },
    { name: 'SLH-DSA-SHA2-128f sign', expected: t.signature['SLH-DSA-SHA2-128f'].sign, setup: () => {
      const kp = b.signatureKeygen('SLH-DSA-SHA2-128f'); return () => b.sign('SLH-DSA-SHA2-128f', kp.secretKey, msg);
    } },
  ];

  for (const p of probes) {
    // Skip a probe whose expected cost (×10 runs, ×1.5 for safety) no longer fits in the budget.
    if (left() < p.expected * 1000 * 15) continue;
    const runs: number[] = [];
    try {
      const fn = p.setup();
      for (let w = 0; w < 3; w++) fn(); // warm-up (JIT, OpenSSL method caches)
      for (let run = 0; run < 7 && left() > 0; run++) {
        const t0 = cpuNow();
        fn();
        runs.push(cpuNow() - t0);
      }
    } catch {
      continue; // a probe the backend cannot run is skipped: calibration never fails start-up
    }
    const typical = runs.length > 0 ? median(runs) : 0;
    if (typical > 0) {
      const measured = typical / 1000;
      samples.push({ name: p.name, expected: p.expected, measured, ratio: measured / p.expected });
    }
  }
  const elapsedMs = now() - started;
  if (samples.length === 0) return { factor: 1, samples, elapsedMs, source: 'default' };
  const factor = Math.min(8, Math.max(0.25, median(samples.map((x) => x.ratio))));
  return { factor, samples, elapsedMs, source: 'startup' };
}
