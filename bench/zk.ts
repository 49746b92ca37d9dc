/**
 * `npm run bench -- zk [--runs N] [--batch 64] [--proofs 3]`
 *
 * Groth16 login, side by side in one run: snarkjs.groth16.verify, the hardened verifier
 * (src/zk/verifier.ts) one proof at a time and batched, a pure-JS check with @noble/curves for
 * reference, and proving with snarkjs.groth16.fullProve. Prints per-proof ms and ratios.
 * Batches are filled with re-randomised copies (kA, k⁻¹B, C) of a few real proofs: distinct,
 * valid proofs with distinct B points, so every per-proof cost is paid.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as snarkjs from 'snarkjs';
import type { Groth16Proof } from 'snarkjs';
import { buildBn128 } from 'ffjavascript';
import { bn254 } from '@noble/curves/bn254.js';
import { loadLoginVerifier, loginPublicSignals } from '../src/zk/verifier.ts';
import { commitment, loginTag, randomFieldElement, sessionKeyHash } from '../src/zk/poseidon.ts';
import { R } from '../src/zk/_bn254.ts';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = arg('runs', 20);
const BATCH = arg('batch', 64);
const PROOFS = arg('proofs', 3);
const ART = join(fileURLToPath(new URL('..', import.meta.url)), 'circuits', 'artifacts');
const vkJson = JSON.parse(readFileSync(join(ART, 'verification_key.json'), 'utf8')) as Record<string, unknown>;

interface Timing {
  wall: number;
  cpu: number;
}
const cpuMs = (): number => {
  const u = process.cpuUsage(); // whole process, all threads (snarkjs uses worker threads)
  return (u.user + u.system) / 1000;
};
/** Mean wall-clock and CPU ms per call. CPU time is the steadier figure on a shared machine. */
async function timeIt(n: number, fn: (i: number) => unknown): Promise<Timing> {
  await fn(0); // warm-up
  const t = performance.now();
  const c = cpuMs();
  for (let i = 0; i < n; i++) await fn(i);
  return { wall: (performance.now() - t) / n, cpu: (cpuMs() - c) / n };
}
const per = (t: Timing, k: number): Timing => ({ wall: t.wall / k, cpu: t.cpu / k });

// --- proving ---------------------------------------------------------------------------------
const real: Array<{ proof: Groth16Proof; signals: bigint[] }> = [];
const proveMs: number[] = [];
for (let i = 0; i < PROOFS; i++) {
  const secret = randomFieldElement();
  const salt = randomFieldElement();
  const challenge = randomFieldElement();
  const skh = sessionKeyHash(new Uint8Array([i]));
  const t = performance.now();
  const { proof } = await snarkjs.groth16.fullProve(
    { secret: String(secret), salt: String(salt), challenge: String(challenge), sessionKeyHash: String(skh) },
    join(ART, 'login.wasm'),
    join(ART, 'login.zkey'),
  );
  proveMs.push(performance.now() - t);
  real.push({ proof, signals: loginPublicSignals({ commitment: commitment(secret, salt), loginTag: loginTag(secret, challenge, skh), challenge, sessionKeyHash: skh }) });
}

// Re-randomised copies for the batch.
const curve = await buildBn128(true);
const inv = (k: bigint): bigint => {
  let r = 1n, b = k, e = R - 2n;
  for (; e > 0n; e >>= 1n, b = (b * b) % R) if (e & 1n) r = (r * b) % R;
  return r;
};
function rerandomise(p: Groth16Proof, k: bigint): Groth16Proof {
  const a = curve.G1.toObject(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.fromObject([BigInt(p.pi_a[0]!), BigInt(p.pi_a[1]!)]), k))) as bigint[];
  const b = curve.G2.toObject(curve.G2.toAffine(curve.G2.timesScalar(curve.G2.fromObject([p.pi_b[0]!.map(BigInt), p.pi_b[1]!.map(BigInt)]), inv(k)))) as bigint[][];
  return {
    ...p,
    pi_a: [String(a[0]), String(a[1]), '1'],
    pi_b: [b[0]!.map(String), b[1]!.map(String), ['1', '0']],
  };
}
const batchItems = Array.from({ length: BATCH }, (_, i) => {
  const r = real[i % real.length]!;
  return { proof: i < real.length ? r.proof : rerandomise(r.proof, BigInt(i + 2)), publicSignals: r.signals };
});

// --- verifying -------------------------------------------------------------------------------
const verifier = await loadLoginVerifier();
const pick = (i: number): { proof: Groth16Proof; publicSignals: bigint[] } => batchItems[i % batchItems.length]!;

const snarkjsMs = await timeIt(RUNS, async (i) => {
  const it = pick(i);
  if (!(await snarkjs.groth16.verify(vkJson, it.publicSignals.map(String), it.proof))) throw new Error('snarkjs rejected a valid proof');
});
const singleMs = await timeIt(RUNS, (i) => {
  const it = pick(i);
  if (!verifier.verify(it.proof, it.publicSignals)) throw new Error('verifier rejected a valid proof');
});
const batchRuns = Math.max(1, Math.round(RUNS / 10));
const batchMs = per(
  await timeIt(batchRuns, () => {
    if (!verifier.verifyBatch(batchItems).every(Boolean)) throw new Error('batch rejected valid proofs');
  }),
  BATCH,
);
const small = Math.min(16, BATCH);
const batchSmallMs = per(
  await timeIt(batchRuns, () => {
    if (!verifier.verifyBatch(batchItems.slice(0, small)).every(Boolean)) throw new Error('batch rejected valid proofs');
  }),
  small,
);

// Pure JS reference: the same pairing equation with @noble/curves (no cached e(α, β)).
const { G1, G2 } = bn254;
const Fp2 = bn254.fields.Fp2;
const nG1 = (p: string[]) => G1.Point.fromAffine({ x: BigInt(p[0]!), y: BigInt(p[1]!) });
const nG2 = (p: string[][]) => G2.Point.fromAffine({ x: Fp2.fromBigTuple([BigInt(p[0]![0]!), BigInt(p[0]![1]!)]), y: Fp2.fromBigTuple([BigInt(p[1]![0]!), BigInt(p[1]![1]!)]) });
const ic = (vkJson.IC as string[][]).map(nG1);
const nobleMs = await timeIt(Math.max(2, Math.round(RUNS / 10)), (i) => {
  const it = pick(i);
  const A = nG1(it.proof.pi_a);
  const B = nG2(it.proof.pi_b);
  B.assertValidity(); // includes the subgroup check
  const vkx = it.publicSignals.reduce((acc, s, j) => (s === 0n ? acc : acc.add(ic[j + 1]!.multiply(s))), ic[0]!);
  const f = bn254.pairingBatch([
    { g1: A.negate(), g2: B },
    { g1: nG1(vkJson.vk_alpha_1 as string[]), g2: nG2(vkJson.vk_beta_2 as string[][]) },
    { g1: vkx, g2: nG2(vkJson.vk_gamma_2 as string[][]) },
    { g1: nG1(it.proof.pi_c), g2: nG2(vkJson.vk_delta_2 as string[][]) },
  ]);
  if (!bn254.fields.Fp12.eql(f, bn254.fields.Fp12.ONE)) throw new Error('noble rejected a valid proof');
});

const rows: Array<[string, Timing]> = [
  ['snarkjs.groth16.verify', snarkjsMs],
  ['@noble/curves pairing check (pure JS)', nobleMs],
  ['hardened verify (WASM, cached e(α,β))', singleMs],
  [`hardened verifyBatch, batch of ${small}`, batchSmallMs],
  [`hardened verifyBatch, batch of ${BATCH}`, batchMs],
];
console.log(`\nGroth16 login verification (bn128, 4 public signals), ${RUNS} runs single, ${batchRuns} runs batched`);
console.log('| method | wall ms/proof | CPU ms/proof | proofs/s per core (CPU) | vs snarkjs (wall) | vs snarkjs (CPU) |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, t] of rows) {
  console.log(
    `| ${name} | ${t.wall.toFixed(2)} | ${t.cpu.toFixed(2)} | ${(1000 / t.cpu).toFixed(0)} | ${(snarkjsMs.wall / t.wall).toFixed(2)}x | ${(snarkjsMs.cpu / t.cpu).toFixed(2)}x |`,
  );
}
const avgProve = proveMs.reduce((a, b) => a + b, 0) / proveMs.length;
console.log(
  `\nproving (snarkjs.groth16.fullProve, witness + prove, wall): ${proveMs.map((m) => m.toFixed(0)).join(', ')} ms; mean ${avgProve.toFixed(0)} ms = ${(avgProve / singleMs.wall).toFixed(0)}x one hardened verify`,
);
console.log(`load average during the run: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores)`);

await verifier.close();
await curve.terminate();
await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
