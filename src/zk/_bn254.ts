/**
 * Internal: BN254 (alt_bn128, circom's "bn128") base-field arithmetic in BigInt, used only to
 * validate points before they reach the WASM curve, and the G2 endomorphism ψ for the fast
 * subgroup test. Not constant time; it only ever sees public values (proofs, keys). Pure.
 *
 * Curves (EIP-196/197): G1: y² = x³ + 3 over Fq; G2 (the D-type twist): y² = x³ + 3/ξ over
 * Fq2 = Fq[u]/(u² + 1), ξ = 9 + u. #G1 = r (cofactor 1), #E'(Fq2) = r·h2 with h2 ≈ 2^254.
 */

/** q, the base field modulus. */
export const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** r, the prime group order (= the circuit field). */
export const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** The BN parameter x (u in some papers); q and r are polynomials in it. */
export const BN_X = 4965661367192848881n;

/** An element a + b·u of Fq2, as [a, b]. */
export type Fq2 = readonly [bigint, bigint];

/** a mod m, in [0, m). */
export const mod = (a: bigint, m: bigint = Q): bigint => {
  const v = a % m;
  return v < 0n ? v + m : v;
};
/** b^e mod m by square-and-multiply. */
export function powMod(b: bigint, e: bigint, m: bigint = Q): bigint {
  let r = 1n;
  b = mod(b, m);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}
/** Inverse of a mod the prime m (Fermat: a^(m−2)); 0 for a = 0. */
export const invMod = (a: bigint, m: bigint = Q): bigint => powMod(a, m - 2n, m);

/** Addition in Fq2. */
export const f2add = (a: Fq2, b: Fq2): Fq2 => [mod(a[0] + b[0]), mod(a[1] + b[1])];
/** Multiplication in Fq2 (u² = −1). */
export const f2mul = (a: Fq2, b: Fq2): Fq2 => [mod(a[0] * b[0] - a[1] * b[1]), mod(a[0] * b[1] + a[1] * b[0])];
/** Squaring in Fq2. */
export const f2sqr = (a: Fq2): Fq2 => f2mul(a, a);
/** Equality of two reduced Fq2 elements. */
export const f2eq = (a: Fq2, b: Fq2): boolean => a[0] === b[0] && a[1] === b[1];
/** Frobenius on Fq2 is conjugation: (a + bu)^q = a − bu. */
export const f2conj = (a: Fq2): Fq2 => [a[0], mod(-a[1])];
/** a^e in Fq2. */
export function f2pow(a: Fq2, e: bigint): Fq2 {
  let r: Fq2 = [1n, 0n];
  let b = a;
  while (e > 0n) {
    if (e & 1n) r = f2mul(r, b);
    b = f2sqr(b);
    e >>= 1n;
  }
  return r;
}
/** Inverse in Fq2: (a − bu) / (a² + b²); 0 for 0. */
export function f2inv(a: Fq2): Fq2 {
  const n = invMod(mod(a[0] * a[0] + a[1] * a[1]));
  return [mod(a[0] * n), mod(-a[1] * n)];
}

/** ξ = 9 + u, the non-residue of the twist. */
export const XI: Fq2 = [9n, 1n];
/** b' = 3/ξ, the twist's constant. */
export const B2: Fq2 = f2mul([3n, 0n], f2inv(XI));

/** Whether affine (x, y) is on G1: y² = x³ + 3 (EIP-196). */
export const onG1 = (x: bigint, y: bigint): boolean => mod(y * y) === mod(x * x * x + 3n);
/** Whether affine (x, y) is on the twist E': y² = x³ + 3/ξ (EIP-197). */
export const onTwist = (x: Fq2, y: Fq2): boolean => f2eq(f2sqr(y), f2add(f2mul(f2sqr(x), x), B2));

// ψ = twist⁻¹ ∘ Frobenius ∘ twist on E'(Fq2): ψ(x, y) = (x̄·ξ^((q−1)/3), ȳ·ξ^((q−1)/2)).
/** ξ^((q−1)/3), ψ's x coefficient. */
export const PSI_X = f2pow(XI, (Q - 1n) / 3n);
/** ξ^((q−1)/2), ψ's y coefficient. */
export const PSI_Y = f2pow(XI, (Q - 1n) / 2n);
/** The endomorphism ψ(x, y) = (x̄·ξ^((q−1)/3), ȳ·ξ^((q−1)/2)) of E'(Fq2). */
export const psi = (x: Fq2, y: Fq2): [Fq2, Fq2] => [f2mul(f2conj(x), PSI_X), f2mul(f2conj(y), PSI_Y)];

/**
 * For BN curves a point P of E'(Fq2) lies in G2 iff ψ(P) = [6x²]P (El Housni, Guillevic,
 * Piellard, "Co-factor clearing and subgroup membership testing on pairing-friendly curves",
 * AFRICACRYPT 2022, ePrint 2022/352 §4; the same test as noble-curves and gnark). [6x²]P needs a
 * 127-bit scalar multiplication instead of the 254-bit [r]P. test/zk checks it agrees with
 * [r]P = O on points inside and outside the subgroup.
 */
export const SIX_X_SQUARED = 6n * BN_X * BN_X;
