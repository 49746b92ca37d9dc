/**
 * Internal: the prepared Groth16 pairing engine of one verification key, driving ffjavascript's
 * WASM bn128 exports directly on its linear memory (no per-call buffer copies).
 *
 * Once per key it stores in WASM memory: the G2 line coefficients of β, γ, δ (bn128_prepareG2),
 * e(α, β), and fixed-base tables (4-bit windows, affine) for α and every ICⱼ. Per check it runs
 * one multi-Miller loop (the Fq12 squaring of each step shared by all pairs; the loop of
 * bn128_millerLoop otherwise step for step) and one final exponentiation; vk_x and Σρα are table
 * additions instead of scalar multiplications. verifier.ts keeps the plain path
 * (ffjavascript's wrappers, one Miller loop per pair) and test/zk checks the two agree.
 *
 * Memory: ffjavascript's single-thread memory is 25 pages (1.6 MB) and does not grow; the
 * permanent part here is ≈ 430 KB, and a batch prepares its B points CHUNK at a time.
 * Not constant time; it only sees public values. Pure (no node: imports).
 */
import type { Bn128 } from 'ffjavascript';
import { BN_X, PSI_X, PSI_Y, R } from './_bn254.ts';

/** The WASM exports used here (all present in ffjavascript 0.3.1's bn128 build). */
interface Exports {
  ftm_one(r: number): void;
  ftm_square(a: number, r: number): void;
  ftm_mul(a: number, b: number, r: number): void;
  ftm_eq(a: number, b: number): number;
  f2m_mul1(a: number, b: number, r: number): void;
  bn128__mulBy024(ell0: number, vw: number, vv: number, f: number): void;
  bn128_prepareG1(p: number, r: number): void;
  bn128_prepareG2(q: number, r: number): void;
  bn128_finalExponentiation(a: number, r: number): void;
  g1m_zero(r: number): void;
  g1m_add(a: number, b: number, r: number): void;
  g1m_addMixed(a: number, b: number, r: number): void;
  g1m_double(a: number, r: number): void;
  g1m_neg(a: number, r: number): void;
  g1m_batchToAffine(pIn: number, n: number, pOut: number): void;
  g1m_timesScalarAffine(p: number, scalar: number, scalarLen: number, r: number): void;
  f2m_conjugate(a: number, r: number): void;
  f2m_mul(a: number, b: number, r: number): void;
  g2m_timesScalarAffine(p: number, scalar: number, scalarLen: number, r: number): void;
  g2m_addMixed(a: number, b: number, r: number): void;
  g2m_add(a: number, b: number, r: number): void;
  g2m_double(a: number, r: number): void;
  g2m_eq(a: number, b: number): number;
  f2m_isZero(a: number): number;
  f2m_inverse(a: number, r: number): void;
  f2m_one(r: number): void;
  /** Present when the curve was built with _wasm-plugin.ts: an Fq2 one that f2m_mul treats as a copy. */
  pqzk_onePtr?: () => number;
}
interface ThreadManager {
  u8: Uint8Array;
  instance: { exports: Exports };
  alloc(n: number): number;
  startSyncOp(): void;
  endSyncOp(): void;
}

const F1 = 32; // bytes of an Fq element
const F2 = 2 * F1;
const G2_JAC = 3 * F2;
const G1_AFF = 2 * F1;
const G1_JAC = 3 * F1;
const GT = 12 * F1;
const COEF = 3 * F2; // one line: ell_0, ell_vw, ell_vv
const WINDOWS = 64; // 4-bit windows over scalars < r < 2^254
const DIGITS = 15;
/** How many B points a batch prepares at once (19,776 bytes each). */
const CHUNK = 16;

// bits(6x + 2), least significant first, exactly as wasmcurves builds its ate loop.
const ATE_BITS: number[] = [];
for (let e = 6n * BN_X + 2n; e > 0n; e >>= 1n) ATE_BITS.push(Number(e & 1n));

/** A G1 point (affine, Montgomery form, as ffjavascript's G1.fromObject returns) and its role. */
export interface PreparedKey {
  alpha: Uint8Array;
  ic: readonly Uint8Array[];
  beta: Uint8Array; // G2, affine
  gamma: Uint8Array;
  delta: Uint8Array;
}
/** One proof's points as ffjavascript buffers (G1 affine, G2 affine), already validated. */
export interface Points {
  a: Uint8Array;
  b: Uint8Array;
  c: Uint8Array;
}

/** Prepared pairing checks for one verification key on one (owned, single-thread) curve. */
export class PreparedPairing {
  /** The most ICⱼ points (public inputs + 1) whose tables fit beside a batch's scratch. */
  static readonly MAX_IC = 12;
  readonly #curve: Bn128;
  readonly #tm: ThreadManager;
  readonly #x: Exports;
  readonly #one: Uint8Array; // Fq one, Montgomery (the z of an affine point in Jacobian form)
  readonly #preBeta: number;
  readonly #preGamma: number;
  readonly #preDelta: number;
  readonly #alphaBeta: number;
  readonly #gtOne: number;
  readonly #alphaTable: number;
  readonly #icTables: number[];
  readonly #psi: number; // ψ's constants ξ^((q−1)/3), ξ^((q−1)/2), Montgomery Fq2
  readonly #seed: number; // x, 8 bytes little endian
  readonly #unit: number; // the plugin's Fq2 one, or 0 without the plugin
  readonly #unitLines = new Set<number>(); // resident lines scaled to ell_0 = 1

  constructor(curve: Bn128, key: PreparedKey) {
    this.#curve = curve;
    this.#tm = curve.tm as ThreadManager;
    this.#x = this.#tm.instance.exports;
    this.#one = curve.G1.toJacobian(key.alpha).slice(G1_AFF);
    const keep = (b: Uint8Array): number => {
      const p = this.#tm.alloc(b.byteLength); // outside a sync op: permanent
      this.#tm.u8.set(b, p);
      return p;
    };
    this.#unit = this.#x.pqzk_onePtr?.() ?? 0;
    const prep2 = (q: Uint8Array): number => this.#scaleLines(keep(curve.prepareG2(curve.G2.toJacobian(q))));
    this.#preBeta = prep2(key.beta);
    this.#preGamma = prep2(key.gamma);
    this.#preDelta = prep2(key.delta);
    this.#alphaBeta = keep(curve.finalExponentiation(curve.millerLoop(curve.prepareG1(curve.G1.toJacobian(key.alpha)), curve.prepareG2(curve.G2.toJacobian(key.beta)))));
    this.#gtOne = keep(curve.Gt.one);
    this.#psi = keep(new Uint8Array([...curve.G2.F.fromObject([...PSI_X] as unknown as bigint), ...curve.G2.F.fromObject([...PSI_Y] as unknown as bigint)]));
    this.#seed = this.#tm.alloc(8);
    putScalar(this.#tm.u8, this.#seed, BN_X, 8);
    this.#alphaTable = this.#table(key.alpha);
    this.#icTables = key.ic.map((p) => this.#table(p));
  }

  /**
   * With the plugin: divides every line (ell_0, ell_vw, ell_vv) of a resident G2 point by its
   * ell_0, so that bn128__mulBy024 gets the plugin's 1 (three Fq2 products fewer per line). The
   * Miller loop value changes by a factor in Fq2*, which the final exponentiation (its exponent
   * has the factor q⁶ − 1) sends to 1: the pairing is unchanged, and e(α, β) is computed with the
   * unscaled lines. A point with some ell_0 = 0 stays unscaled.
   */
  #scaleLines(pre: number): number {
    if (this.#unit === 0) return pre;
    const x = this.#x;
    const lines = (this.#curve.preQSize - G2_JAC) / COEF;
    for (let k = 0; k < lines; k++) if (x.f2m_isZero(pre + G2_JAC + k * COEF) === 1) return pre;
    this.#sync(() => {
      const inv = this.#tm.alloc(F2);
      for (let k = 0; k < lines; k++) {
        const c = pre + G2_JAC + k * COEF;
        x.f2m_inverse(c, inv);
        x.f2m_mul(c + F2, inv, c + F2);
        x.f2m_mul(c + 2 * F2, inv, c + 2 * F2);
        x.f2m_one(c);
      }
    });
    this.#unitLines.add(pre);
    return pre;
  }

  /** ψ of the Jacobian point at p into r: (X̄·ξ^((q−1)/3), Ȳ·ξ^((q−1)/2), Z̄) (ψ(x, y) in _bn254.ts). */
  #psiJac(p: number, r: number): void {
    const x = this.#x;
    for (let i = 0; i < 3; i++) x.f2m_conjugate(p + i * F2, r + i * F2);
    x.f2m_mul(r, this.#psi, r);
    x.f2m_mul(r + F2, this.#psi + F2, r + F2);
  }

  /**
   * Whether a point already on the twist (affine buffer) lies in G2: for BN254 (x ≢ 4 mod 13,
   * x ≢ 92 mod 97) P ∈ G2 iff [x+1]P + ψ([x]P) + ψ²([x]P) = ψ³([2x]P) (Dai, Lin, Zhao, Zhou, "Fast
   * subgroup membership testings for G1, G2 and GT on pairing-friendly curves", ePrint 2022/348;
   * the test gnark-crypto uses): one 63-bit scalar multiplication instead of the 127-bit one of
   * ψ(P) = [6x²]P (the plain path). test/zk checks both agree with [r]P = O.
   */
  inG2(b: Uint8Array): boolean {
    return this.#sync(() => {
      const tm = this.#tm;
      const x = this.#x;
      const p = tm.alloc(2 * F2);
      tm.u8.set(b, p);
      const xp = tm.alloc(G2_JAC);
      const lhs = tm.alloc(G2_JAC);
      const t = tm.alloc(G2_JAC);
      const rhs = tm.alloc(G2_JAC);
      x.g2m_timesScalarAffine(p, this.#seed, 8, xp); // [x]P
      x.g2m_addMixed(xp, p, lhs); // [x+1]P
      this.#psiJac(xp, t);
      x.g2m_add(lhs, t, lhs); // + ψ([x]P)
      this.#psiJac(t, t);
      x.g2m_add(lhs, t, lhs); // + ψ²([x]P)
      x.g2m_double(xp, rhs); // [2x]P
      for (let i = 0; i < 3; i++) {
        this.#psiJac(rhs, t);
        tm.u8.copyWithin(rhs, t, t + G2_JAC);
      }
      return x.g2m_eq(lhs, rhs) === 1;
    });
  }

  /** d·16^k·P for k < 64, d ∈ 1..15, affine, permanent in WASM memory. */
  #table(p: Uint8Array): number {
    const tm = this.#tm;
    const x = this.#x;
    const table = tm.alloc(WINDOWS * DIGITS * G1_AFF);
    tm.startSyncOp();
    try {
      const jac = tm.alloc(WINDOWS * DIGITS * G1_JAC);
      const base = this.#putG1(p, tm.alloc(G1_JAC));
      for (let k = 0; k < WINDOWS; k++) {
        const row = jac + k * DIGITS * G1_JAC;
        tm.u8.copyWithin(row, base, base + G1_JAC);
        for (let d = 1; d < DIGITS; d++) x.g1m_add(row + (d - 1) * G1_JAC, base, row + d * G1_JAC);
        for (let i = 0; i < 4; i++) x.g1m_double(base, base);
      }
      x.g1m_batchToAffine(jac, WINDOWS * DIGITS, table);
    } finally {
      tm.endSyncOp();
    }
    return table;
  }

  /** Writes an affine G1 buffer as a Jacobian point (z = 1) at ptr. */
  #putG1(p: Uint8Array, ptr: number): number {
    this.#tm.u8.set(p.subarray(0, G1_AFF), ptr);
    this.#tm.u8.set(this.#one, ptr + G1_AFF);
    return ptr;
  }

  /** acc += s·P from P's table (s < r). */
  #addTimes(table: number, s: bigint, acc: number): void {
    for (let k = 0; s > 0n; k++, s >>= 4n) {
      const d = Number(s & 15n);
      if (d !== 0) this.#x.g1m_addMixed(acc, table + (k * DIGITS + d - 1) * G1_AFF, acc);
    }
  }

  /** Prepared −(s₀·IC₀ + Σ sⱼ·ICⱼ₊₁) at a fresh scratch pointer. */
  #negVkx(s0: bigint, s: readonly bigint[]): number {
    const acc = this.#tm.alloc(G1_JAC);
    this.#x.g1m_zero(acc);
    this.#addTimes(this.#icTables[0]!, s0, acc);
    s.forEach((v, j) => this.#addTimes(this.#icTables[j + 1]!, v, acc));
    return this.#prepNeg(acc);
  }

  /** bn128_prepareG1(−P) of the Jacobian point at ptr (negated in place). */
  #prepNeg(ptr: number): number {
    this.#x.g1m_neg(ptr, ptr);
    return this.#prep1(ptr);
  }
  #prep1(ptr: number): number {
    const out = this.#tm.alloc(this.#curve.prePSize);
    this.#x.bn128_prepareG1(ptr, out);
    return out;
  }
  #prep2(bJac: Uint8Array): number {
    const tm = this.#tm;
    const q = tm.alloc(bJac.byteLength);
    tm.u8.set(bJac, q);
    const out = tm.alloc(this.#curve.preQSize);
    this.#x.bn128_prepareG2(q, out);
    return out;
  }

  /** f ← f · Π MillerLoop(Pᵢ, Qᵢ) over prepared pairs, one squaring per step for all of them. */
  #multiMiller(pairs: ReadonlyArray<readonly [number, number]>, f: number): void {
    const x = this.#x;
    const tm = this.#tm;
    const vw = tm.alloc(F2);
    const vv = tm.alloc(F2);
    const acc = tm.alloc(GT);
    const px = pairs.map(([p]) => p);
    const coef = pairs.map(([, q]) => q + 3 * F2);
    const unit = pairs.map(([, q]) => (this.#unitLines.has(q) ? this.#unit : 0));
    const n = pairs.length;
    const step = (): void => {
      for (let k = 0; k < n; k++) {
        const c = coef[k]!;
        x.f2m_mul1(c + F2, px[k]! + F1, vw); // ell_vw · y_P
        x.f2m_mul1(c + 2 * F2, px[k]!, vv); // ell_vv · x_P
        x.bn128__mulBy024(unit[k] || c, vw, vv, acc);
        coef[k] = c + COEF;
      }
    };
    x.ftm_one(acc);
    for (let i = ATE_BITS.length - 2; i >= 0; i--) {
      x.ftm_square(acc, acc);
      step();
      if (ATE_BITS[i]) step();
    }
    step(); // the two Frobenius lines
    step();
    x.ftm_mul(f, acc, f);
  }

  /** Whether FE(f) equals the value at `target` (a Gt pointer). */
  #finalEq(f: number, target: number): boolean {
    const r = this.#tm.alloc(GT);
    this.#x.bn128_finalExponentiation(f, r);
    return this.#x.ftm_eq(r, target) === 1;
  }

  #sync<T>(fn: () => T): T {
    this.#tm.startSyncOp();
    try {
      return fn();
    } finally {
      this.#tm.endSyncOp();
    }
  }

  /** e(A, B) = e(α, β)·e(vk_x, γ)·e(C, δ) for signals reduced mod r. */
  check(p: Points, s: readonly bigint[]): boolean {
    const bJac = this.#curve.G2.toJacobian(p.b);
    return this.#sync(() => {
      const tm = this.#tm;
      const f = tm.alloc(GT);
      this.#x.ftm_one(f);
      const preA = this.#prep1(this.#putG1(p.a, tm.alloc(G1_JAC)));
      const preC = this.#prepNeg(this.#putG1(p.c, tm.alloc(G1_JAC)));
      const pairs = [[preA, this.#prep2(bJac)], [this.#negVkx(1n, s), this.#preGamma], [preC, this.#preDelta]] as const;
      this.#multiMiller(pairs, f);
      return this.#finalEq(f, this.#alphaBeta);
    });
  }

  /**
   * Π e(ρᵢAᵢ, Bᵢ) · e(−Σρᵢ·vk_xᵢ, γ) · e(−ΣρᵢCᵢ, δ) · e(−(Σρᵢ)α, β) = 1 with the caller's 128-bit ρᵢ:
   * n + 3 Miller loops sharing their squarings CHUNK proofs at a time, one final exponentiation.
   */
  checkBatch(ps: readonly Points[], signals: ReadonlyArray<readonly bigint[]>, rhos: readonly bigint[]): boolean {
    const bJac = ps.map((p) => this.#curve.G2.toJacobian(p.b));
    const nPublic = signals[0]!.length;
    let sumRho = 0n;
    const sumS = new Array<bigint>(nPublic).fill(0n);
    rhos.forEach((rho, i) => {
      sumRho += rho;
      signals[i]!.forEach((v, j) => (sumS[j] = (sumS[j]! + rho * v) % R));
    });
    sumRho %= R;
    return this.#sync(() => {
      const tm = this.#tm;
      const x = this.#x;
      const f = tm.alloc(GT);
      x.ftm_one(f);
      const scalar = tm.alloc(16);
      const pt = tm.alloc(G1_JAC);
      const tmp = tm.alloc(G1_JAC);
      const cAcc = tm.alloc(G1_JAC);
      x.g1m_zero(cAcc);
      const times = (p: Uint8Array, i: number): number => {
        putScalar(tm.u8, scalar, rhos[i]!, 16);
        x.g1m_timesScalarAffine(this.#putG1(p, pt), scalar, 16, tmp);
        return tmp;
      };
      ps.forEach((p, i) => x.g1m_add(cAcc, times(p.c, i), cAcc));
      const alpha = tm.alloc(G1_JAC);
      x.g1m_zero(alpha);
      this.#addTimes(this.#alphaTable, sumRho, alpha);
      const fixed: Array<readonly [number, number]> = [
        [this.#negVkx(sumRho, sumS), this.#preGamma],
        [this.#prepNeg(cAcc), this.#preDelta],
        [this.#prepNeg(alpha), this.#preBeta],
      ];
      // Scratch per chunk only (ρᵢAᵢ and Bᵢ prepared, then released), whatever the batch size.
      const mark = scratchMark(tm);
      for (let start = 0; start < Math.max(ps.length, 1); start += CHUNK) {
        const pairs: Array<readonly [number, number]> = start === 0 ? fixed : [];
        for (let i = start; i < Math.min(ps.length, start + CHUNK); i++) pairs.push([this.#prep1(times(ps[i]!.a, i)), this.#prep2(bJac[i]!)]);
        this.#multiMiller(pairs, f);
        scratchReset(tm, mark);
      }
      return this.#finalEq(f, this.#gtOne);
    });
  }
}

/** s < 2^(8·len) as len little-endian bytes at ptr. */
function putScalar(u8: Uint8Array, ptr: number, s: bigint, len: number): void {
  for (let i = 0; i < len; i++, s >>= 8n) u8[ptr + i] = Number(s & 0xffn);
}
// ffjavascript's bump allocator keeps its free pointer in the first word of memory.
const scratchMark = (tm: ThreadManager): number => new Uint32Array(tm.u8.buffer, 0, 1)[0]!;
const scratchReset = (tm: ThreadManager, mark: number): void => {
  new Uint32Array(tm.u8.buffer, 0, 1)[0] = mark;
};
