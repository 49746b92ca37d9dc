/**
 * Hardened Groth16 verifier (BN254) for the pinned login verification key.
 *
 * Differences from `snarkjs.groth16.verify`, on purpose:
 * - public signals are bigints the caller rebuilt from server state, never client strings;
 * - a proof has exactly one accepted encoding: canonical decimal strings < q, affine points
 *   with z written exactly "1" (G1) / ["1","0"] (G2), no extra members, protocol "groth16" and
 *   curve "bn128"; points must be on their curves, not the identity, and B must lie in G2
 *   (ψ-based subgroup tests, see _bn254.ts and _pairing.ts). Any violation is `false`, never an exception;
 * - per key, once: e(α, β), the G2 line coefficients of β, γ, δ and fixed-base tables for α and
 *   the ICⱼ, all resident in WASM memory (_pairing.ts); a check is one multi-Miller loop and one
 *   final exponentiation (`plain: true` keeps the earlier path: one Miller loop per pair through
 *   ffjavascript's wrappers, the reference the prepared path is tested against);
 * - `verifyBatch` checks many proofs with one random linear combination.
 *
 * Groth16 proofs are malleable: (kA, k⁻¹B, C) and (−A, −B, C) also verify for the same
 * statement. Nothing may treat a proof's bytes as unique (replay protection is the single-use
 * challenge bound into the public signals).
 *
 * Pairings and scalar multiplications run in ffjavascript's WASM bn128 in single-thread mode:
 * `verify` is synchronous and starts no worker threads; run it in a worker pool to keep it off
 * the event loop (one verifier per worker).
 */
import { sha256Hex } from '../crypto/hash.ts';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBn128 } from 'ffjavascript';
import type { Bn128 } from 'ffjavascript';
import { AppError, CryptoInputError } from '../errors.ts';
import { Q, R, onG1, onTwist, psi, SIX_X_SQUARED, type Fq2 } from './_bn254.ts';
import { PreparedPairing } from './_pairing.ts';
import { bn128Plugin, checkPlugin } from './_wasm-plugin.ts';

/** A proof as snarkjs writes it. */
export interface Groth16Proof {
  pi_a: [string, string, string];
  pi_b: [[string, string], [string, string], [string, string]];
  pi_c: [string, string, string];
  protocol: 'groth16';
  curve: 'bn128';
}

/** The login circuit's public signals, named; `loginPublicSignals` gives the circuit's order. */
export interface LoginSignals {
  commitment: bigint;
  loginTag: bigint;
  challenge: bigint;
  sessionKeyHash: bigint;
}
/** Order fixed by circuits/login.circom: outputs (commitment, loginTag), then public inputs. */
export const loginPublicSignals = (s: LoginSignals): bigint[] => [s.commitment, s.loginTag, s.challenge, s.sessionKeyHash];

/** One proof and the public signals it must verify against. */
export interface BatchItem {
  proof: unknown;
  publicSignals: readonly bigint[];
}

const DEFAULT_ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'circuits', 'artifacts');
const VK_FILE = 'verification_key.json';

/** Affine points as BigInt coordinates, validated. */
interface G1A {
  x: bigint;
  y: bigint;
}
interface G2A {
  x: Fq2;
  y: Fq2;
}
/** A proof that passed every encoding and group check, with its WASM point buffers. */
interface ParsedProof {
  a: Uint8Array;
  b: Uint8Array;
  c: Uint8Array;
}

const CANONICAL = /^(0|[1-9][0-9]*)$/;
const MAX_DIGITS = Q.toString().length;
const reject = (why: string): never => {
  throw new CryptoInputError(`proof: ${why}`);
};

function coord(s: unknown): bigint {
  if (typeof s !== 'string') return reject('coordinate is not a string');
  if (s.length > MAX_DIGITS || !CANONICAL.test(s)) return reject('coordinate is not a canonical decimal');
  const v = BigInt(s);
  if (v >= Q) return reject('coordinate is not reduced mod q');
  return v;
}
function tuple(v: unknown, n: number): unknown[] {
  if (!Array.isArray(v) || v.length !== n) return reject('malformed point');
  return v;
}
function exactKeys(o: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return reject('not an object');
  const own = Object.keys(o);
  if (own.length !== keys.length || !keys.every((k) => Object.hasOwn(o, k))) return reject('unexpected members');
  return o as Record<string, unknown>;
}

/** G1 point [x, y, "1"]: canonical, affine, on the curve, not the identity (G1 has cofactor 1). */
export function parseG1(v: unknown): G1A {
  const [xs, ys, zs] = tuple(v, 3);
  if (zs !== '1') return reject('G1 point is not normalised (z must be "1")');
  const x = coord(xs);
  const y = coord(ys);
  if (!onG1(x, y)) return reject('G1 point is not on the curve');
  return { x, y };
}

/** G2 point [[x0,x1],[y0,y1],["1","0"]]: canonical, affine, on the twist, not the identity. */
export function parseG2(v: unknown): G2A {
  const [xv, yv, zv] = tuple(v, 3);
  const z = tuple(zv, 2);
  if (z[0] !== '1' || z[1] !== '0') return reject('G2 point is not normalised (z must be ["1","0"])');
  const xa = tuple(xv, 2);
  const ya = tuple(yv, 2);
  const x: Fq2 = [coord(xa[0]), coord(xa[1])];
  const y: Fq2 = [coord(ya[0]), coord(ya[1])];
  if (!onTwist(x, y)) return reject('G2 point is not on the twist curve');
  return { x, y };
}

function randomScalar128(): bigint {
  const b = new Uint8Array(16);
  for (;;) {
    globalThis.crypto.getRandomValues(b);
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    if (v !== 0n) return v;
  }
}

/** Where to find the verification key, and an optional pin of its SHA-256. */
export interface LoadOptions {
  /** Folder holding verification_key.json and SHA256SUMS (default circuits/artifacts). */
  artifactsDir?: string;
  /** Pin the vk's SHA-256 (hex) from configuration in addition to SHA256SUMS. */
  expectedVkSha256?: string;
  /** The plain pairing path (reference for tests and the bench); default the prepared one. */
  plain?: boolean;
  /** ffjavascript's WASM as shipped, without the ξ-multiplication plugin (_wasm-plugin.ts); for tests and the bench. */
  stockWasm?: boolean;
}

/**
 * Hardened Groth16 verifier of one verification key (build with `fromVk`, which rejects a bad key);
 * a malformed proof verifies as false, never throws.
 */
export class Groth16Verifier {
  readonly nPublic: number;
  /** SHA-256 (hex) of the vk JSON this verifier was built from. */
  readonly vkSha256: string;
  #curve: Bn128 | undefined;
  readonly #ic: Uint8Array[];
  readonly #alpha: Uint8Array;
  readonly #preBeta: Uint8Array;
  readonly #preGamma: Uint8Array;
  readonly #preDelta: Uint8Array;
  readonly #alphaBeta: Uint8Array;
  readonly #prepared: PreparedPairing | undefined;

  private constructor(curve: Bn128, vk: Record<string, unknown>, vkSha256: string, plain: boolean) {
    this.#curve = curve;
    this.vkSha256 = vkSha256;
    this.nPublic = vk.nPublic as number;
    const g1 = (p: G1A): Uint8Array => curve.G1.fromObject([p.x, p.y]);
    const g2 = (p: G2A): Uint8Array => curve.G2.fromObject([[...p.x], [...p.y]]);
    const jac2 = (p: Uint8Array): Uint8Array => curve.G2.toJacobian(p);
    this.#alpha = g1(parseG1(vk.vk_alpha_1));
    const [beta, gamma, delta] = [vk.vk_beta_2, vk.vk_gamma_2, vk.vk_delta_2].map((v) => {
      const pt = parseG2(v);
      if (!this.#inG2(pt, g2(pt))) throw new AppError('internal', 'verification key: G2 point outside the subgroup');
      return g2(pt);
    }) as [Uint8Array, Uint8Array, Uint8Array];
    this.#ic = (vk.IC as unknown[]).map((p) => g1(parseG1(p)));
    this.#preBeta = curve.prepareG2(jac2(beta));
    this.#preGamma = curve.prepareG2(jac2(gamma));
    this.#preDelta = curve.prepareG2(jac2(delta));
    this.#alphaBeta = curve.finalExponentiation(curve.millerLoop(this.#prepG1(this.#alpha), this.#preBeta));
    // One 61 KB table per ICⱼ in the curve's fixed 1.6 MB memory: keys with many public inputs stay plain.
    const fits = this.#ic.length <= PreparedPairing.MAX_IC;
    this.#prepared = plain || !fits ? undefined : new PreparedPairing(curve, { alpha: this.#alpha, ic: this.#ic, beta, gamma, delta });
  }

  /**
   * Builds a verifier from a snarkjs verification key object (already pinned by the caller).
   *
   * `plain` selects the reference pairing path (see the class comment); `stockWasm` builds the
   * curve without the ξ-multiplication plugin.
   *
   * @example const v = await Groth16Verifier.fromVk(JSON.parse(vkText), sha256hex(vkText))
   */
  static async fromVk(vk: unknown, vkSha256 = '', opts: { plain?: boolean; stockWasm?: boolean } = {}): Promise<Groth16Verifier> {
    const o = vk as Record<string, unknown>;
    if (typeof vk !== 'object' || vk === null || o.protocol !== 'groth16' || o.curve !== 'bn128') {
      throw new AppError('internal', 'verification key: not a groth16/bn128 key');
    }
    if (!Number.isSafeInteger(o.nPublic) || !Array.isArray(o.IC) || o.IC.length !== (o.nPublic as number) + 1) {
      throw new AppError('internal', 'verification key: IC does not match nPublic');
    }
    // The plugin makes ξ-multiplications cheap (≈ 20 % off the Miller loop and final exponentiation).
    const curve = opts.stockWasm === true ? await buildBn128(true) : await buildBn128(true, bn128Plugin);
    try {
      if (opts.stockWasm !== true) checkPlugin(curve.tm as Parameters<typeof checkPlugin>[0]);
      return new Groth16Verifier(curve, o, vkSha256, opts.plain === true);
    } catch (err) {
      if (err instanceof CryptoInputError) throw new AppError('internal', `verification key: ${err.message}`);
      throw err;
    }
  }

  /** Frees the WASM curve. Single-thread mode starts no workers, so nothing can keep a process alive. */
  async close(): Promise<void> {
    const c = this.#curve;
    this.#curve = undefined;
    await c?.terminate();
  }

  get #c(): Bn128 {
    if (!this.#curve) throw new AppError('internal', 'verifier is closed');
    return this.#curve;
  }

  #prepG1(p: Uint8Array): Uint8Array {
    const c = this.#c;
    return c.prepareG1(c.G1.toJacobian(p));
  }

  /**
   * G2 membership of a point already on the twist (parseG2): the prepared engine's 63-bit test,
   * or ψ(P) = [6x²]P on the plain path.
   */
  #inG2(p: G2A, buf: Uint8Array): boolean {
    if (this.#prepared) return this.#prepared.inG2(buf);
    const G2 = this.#c.G2;
    const [px, py] = psi(p.x, p.y);
    return G2.eq(G2.timesScalar(buf, SIX_X_SQUARED), G2.fromObject([[...px], [...py]]));
  }

  /** Decodes and checks a proof; throws CryptoInputError with a fixed reason (no secret in it). */
  parseProof(proof: unknown): ParsedProof {
    const o = exactKeys(proof, ['pi_a', 'pi_b', 'pi_c', 'protocol', 'curve']);
    if (o.protocol !== 'groth16') reject('protocol must be "groth16"');
    if (o.curve !== 'bn128') reject('curve must be "bn128"');
    const c = this.#c;
    const A = parseG1(o.pi_a);
    const B = parseG2(o.pi_b);
    const C = parseG1(o.pi_c);
    const b = c.G2.fromObject([[...B.x], [...B.y]]);
    if (!this.#inG2(B, b)) reject('B is not in the prime-order subgroup G2');
    return { a: c.G1.fromObject([A.x, A.y]), b, c: c.G1.fromObject([C.x, C.y]) };
  }

  #checkSignals(s: readonly bigint[]): void {
    if (!Array.isArray(s) || s.length !== this.nPublic || !s.every((v) => typeof v === 'bigint' && v >= 0n && v < R)) {
      throw new CryptoInputError(`public signals must be ${this.nPublic} bigints in [0, r)`);
    }
  }

  /** vk_x = IC₀ + Σ sⱼ·ICⱼ₊₁, with scalars already reduced mod r. */
  #linear(s0: bigint, s: readonly bigint[]): Uint8Array {
    const G1 = this.#c.G1;
    let acc = s0 === 1n ? this.#ic[0]! : G1.timesScalar(this.#ic[0]!, s0);
    s.forEach((v, j) => {
      if (v !== 0n) acc = G1.add(acc, G1.timesScalar(this.#ic[j + 1]!, v));
    });
    return acc;
  }

  /**
   * Verifies one proof against public signals the caller built from its own state.
   * Returns false for any invalid or malformed proof; throws only if `publicSignals` is malformed
   * (a programming error on the server side).
   *
   * @example v.verify(body.proof, loginPublicSignals({ commitment, loginTag, challenge, sessionKeyHash }))
   */
  verify(proof: unknown, publicSignals: readonly bigint[]): boolean {
    this.#checkSignals(publicSignals);
    let p: ParsedProof;
    try {
      p = this.parseProof(proof);
    } catch (err) {
      if (err instanceof CryptoInputError) return false;
      throw err;
    }
    return this.#pairingCheck(p, publicSignals);
  }

  // e(A, B) = e(α, β)·e(vk_x, γ)·e(C, δ)  ⇔  FE(ML(A, B)·ML(−vk_x, γ)·ML(−C, δ)) = e(α, β)
  #pairingCheck(p: ParsedProof, s: readonly bigint[]): boolean {
    if (this.#prepared) return this.#prepared.check(p, s);
    const c = this.#c;
    const vkx = this.#linear(1n, s);
    let f = c.millerLoop(this.#prepG1(p.a), c.prepareG2(c.G2.toJacobian(p.b)));
    f = c.Gt.mul(f, c.millerLoop(this.#prepG1(c.G1.neg(vkx)), this.#preGamma));
    f = c.Gt.mul(f, c.millerLoop(this.#prepG1(c.G1.neg(p.c)), this.#preDelta));
    return c.Gt.eq(c.finalExponentiation(f), this.#alphaBeta);
  }

  /**
   * Verifies many proofs at once. With random 128-bit ρᵢ it checks
   *   Π e(ρᵢAᵢ, Bᵢ) · e(−Σρᵢ·vk_xᵢ, γ) · e(−ΣρᵢCᵢ, δ) · e(−(Σρᵢ)α, β) = 1
   * (n + 3 Miller loops, one final exponentiation). A false batch is retried proof by proof, so
   * one bad proof never rejects the good ones. Malformed proofs are rejected before batching.
   * A wrong batch passes with probability about 2⁻¹²⁸.
   *
   * @example const ok = v.verifyBatch(items) // ok[i] is the verdict for items[i]
   */
  verifyBatch(items: readonly BatchItem[]): boolean[] {
    for (const it of items) this.#checkSignals(it.publicSignals);
    const signals = items.map((it) => [...it.publicSignals]);
    const out: boolean[] = new Array<boolean>(items.length).fill(false);
    const ready: Array<{ i: number; p: ParsedProof }> = [];
    items.forEach((it, i) => {
      try {
        ready.push({ i, p: this.parseProof(it.proof) });
      } catch (err) {
        if (!(err instanceof CryptoInputError)) throw err;
      }
    });
    if (ready.length === 0) return out;
    if (ready.length === 1) {
      out[ready[0]!.i] = this.#pairingCheck(ready[0]!.p, signals[ready[0]!.i]!);
      return out;
    }
    if (this.#prepared) {
      const rhos = ready.map(() => randomScalar128());
      if (this.#prepared.checkBatch(ready.map((r) => r.p), ready.map((r) => signals[r.i]!), rhos)) {
        for (const { i } of ready) out[i] = true;
      } else {
        for (const { i, p } of ready) out[i] = this.#pairingCheck(p, signals[i]!);
      }
      return out;
    }
    const c = this.#c;
    let sumRho = 0n;
    const sumS = new Array<bigint>(this.nPublic).fill(0n);
    let cAcc = c.G1.zero;
    let f = c.Gt.one;
    for (const { i, p } of ready) {
      const rho = randomScalar128();
      sumRho += rho;
      signals[i]!.forEach((v, j) => (sumS[j] = (sumS[j]! + rho * v) % R));
      f = c.Gt.mul(f, c.millerLoop(this.#prepG1(c.G1.timesScalar(p.a, rho)), c.prepareG2(c.G2.toJacobian(p.b))));
      cAcc = c.G1.add(cAcc, c.G1.timesScalar(p.c, rho));
    }
    sumRho %= R;
    f = c.Gt.mul(f, c.millerLoop(this.#prepG1(c.G1.neg(this.#linear(sumRho, sumS))), this.#preGamma));
    f = c.Gt.mul(f, c.millerLoop(this.#prepG1(c.G1.neg(cAcc)), this.#preDelta));
    f = c.Gt.mul(f, c.millerLoop(this.#prepG1(c.G1.neg(c.G1.timesScalar(this.#alpha, sumRho))), this.#preBeta));
    if (c.Gt.eq(c.finalExponentiation(f), c.Gt.one)) {
      for (const { i } of ready) out[i] = true;
    } else {
      for (const { i, p } of ready) out[i] = this.#pairingCheck(p, signals[i]!);
    }
    return out;
  }
}

/** Hex SHA-256 of the named file as listed in a sha256sum-style SHA256SUMS. */
function listedSha256(sums: string, name: string): string | undefined {
  for (const line of sums.split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (m && m[2] === name) return m[1];
  }
  return undefined;
}

/**
 * Loads the pinned login verification key: its SHA-256 must equal the committed SHA256SUMS entry
 * (and `expectedVkSha256` when given), else startup fails.
 *
 * @example const verifier = await loadLoginVerifier(); ...; await verifier.close()
 */
export async function loadLoginVerifier(opts: LoadOptions = {}): Promise<Groth16Verifier> {
  const dir = opts.artifactsDir ?? DEFAULT_ARTIFACTS;
  const bytes = readFileSync(join(dir, VK_FILE));
  const actual = sha256Hex(bytes);
  const listed = listedSha256(readFileSync(join(dir, 'SHA256SUMS'), 'utf8'), VK_FILE);
  if (listed !== actual) throw new AppError('internal', `${VK_FILE} does not match SHA256SUMS`);
  if (opts.expectedVkSha256 !== undefined && opts.expectedVkSha256.toLowerCase() !== actual) {
    throw new AppError('internal', `${VK_FILE} does not match the configured SHA-256 pin`);
  }
  const vk = JSON.parse(bytes.toString('utf8')) as unknown;
  const v = await Groth16Verifier.fromVk(vk, actual, { plain: opts.plain, stockWasm: opts.stockWasm });
  if (v.nPublic !== 4) {
    await v.close();
    throw new AppError('internal', 'verification key is not the login circuit (nPublic != 4)');
  }
  return v;
}
