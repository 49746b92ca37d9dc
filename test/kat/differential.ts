/**
 * Differential test: the native (OpenSSL) and noble (pure JS) backends must agree byte for byte
 * where both can act, and accept each other's outputs where the operation is randomized.
 *
 *   ML-KEM / X-Wing: identical keys from identical seeds; encapsulate on one, decapsulate on the
 *                    other (both ways); a tampered ciphertext decapsulates to the same implicit-
 *                    rejection key on both.
 *   ML-DSA:          identical keys from identical seeds; hedged signatures (random message and
 *                    context) cross-verify both ways (native cannot sign deterministically, so
 *                    byte equality of signatures is impossible); a tampered signature is rejected by both.
 *   composite ML-DSA: the same public key from a composite secret key on both; each signs, the other
 *                    verifies (random message and context); a tampered signature is rejected by both.
 *   SLH-DSA:         native cannot derive a key from the 3n-byte seed, so native makes a random key and
 *                    noble must derive the same key from its first 3n bytes; native signs, noble
 *                    verifies; noble signs, native verifies ("f" sets; "s" sets on request).
 *   X25519, SHA-3/SHAKE, HKDF, HMAC, AEAD: identical outputs on random inputs.
 *
 * Used by `npm run kat -- --differential N` (test/kat/run.ts); rows use suite `differential` and
 * backend `native-vs-noble`.
 */
import { getBackend, ML_KEM, ML_DSA, SLH_DSA, SIZES, AEAD_ALGORITHMS, COMPOSITE_ML_DSA, toHex } from '../../src/crypto/index.ts';
import type { CryptoBackend, KemAlgorithm } from '../../src/crypto/index.ts';

import { DEFAULT_SUITES, hpkeOpen, hpkeSeal } from '../../src/crypto/hpke.ts';
import type { KatRow } from './lib.ts';
export type { KatRow } from './lib.ts';

export interface DifferentialOptions {
  /** Cases per ML-KEM / X-Wing / ML-DSA / primitive function (≥ 10,000 for a meaningful run). */
  n: number;
  /**
   * Cases per SLH-DSA parameter set and direction (default min(n, 2)). SLH-DSA signing costs
   * 10–1000× an ML-DSA signature (hypertree of WOTS+ chains: ~0.1–1 s natively for the "s" sets and
   * 3–70 s per signature in pure JS), so n = 10,000 would take days; a handful per set suffices to
   * catch an encoding or parameter mismatch, and the ACVP vectors cover correctness.
   */
  slhN?: number;
  /**
   * noble-signs → native-verifies cases for the six SLH-DSA "s" sets (default 0: noble needs 3–70 s
   * per such signature; native-signs → noble-verifies still runs slhN cases for them).
   */
  slhSlowN?: number;
  onProgress?: (msg: string) => void;
}

const BACKEND = 'native-vs-noble';
const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

class Tally {
  readonly rows = new Map<string, KatRow>();
  private reported = 0;
  private readonly log: (m: string) => void;
  constructor(log: (m: string) => void) { this.log = log; }
  row(algorithm: string, fn: string): KatRow {
    const k = `${algorithm}\0${fn}`;
    let r = this.rows.get(k);
    if (!r) { r = { suite: 'differential', algorithm, function: fn, backend: BACKEND, passed: 0, failed: 0, notApplicable: 0 }; this.rows.set(k, r); }
    return r;
  }
  /** Runs one check; an exception counts as a failure (with its reproduction hint, test data only). */
  check(algorithm: string, fn: string, hint: string, f: () => boolean): void {
    const r = this.row(algorithm, fn);
    let ok = false;
    let why = 'mismatch';
    try { ok = f(); } catch (e) { why = e instanceof Error ? `${e.name}: ${e.message}` : 'throw'; }
    if (ok) r.passed++;
    else {
      r.failed++;
      if (this.reported++ < 20) this.log(`FAIL ${algorithm} ${fn} (${why}) ${hint}`);
    }
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

export async function runDifferential(opts: DifferentialOptions): Promise<KatRow[]> {
  const n = Math.max(0, Math.floor(opts.n));
  const slhN = Math.max(0, Math.floor(opts.slhN ?? Math.min(n, 2)));
  const slhSlowN = Math.max(0, Math.floor(opts.slhSlowN ?? 0));
  const log = opts.onProgress ?? (() => {});
  const nat = getBackend('native');
  const nob = getBackend('noble');
  const t = new Tally(log);
  const rnd = (len: number) => nob.randomBytes(len);
  const started = performance.now();
  const done = (what: string, t0: number) => log(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  for (const alg of [...ML_KEM, 'X-Wing'] as KemAlgorithm[]) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const seed = rnd(SIZES[alg].seed);
      const hint = `seed=${toHex(seed)}`;
      const a = nat.keygen(alg, seed);
      const b = nob.keygen(alg, seed);
      t.check(alg, 'keyGen', hint, () => eq(a.publicKey, b.publicKey) && eq(a.secretKey, b.secretKey));
      t.check(alg, 'encapsulate(native)→decapsulate(noble)', hint, () => {
        const e = nat.encapsulate(alg, a.publicKey);
        return eq(nob.decapsulate(alg, e.cipherText, b.secretKey), e.sharedSecret);
      });
      let ct: Uint8Array = new Uint8Array(0);
      t.check(alg, 'encapsulate(noble)→decapsulate(native)', hint, () => {
        const e = nob.encapsulate(alg, b.publicKey);
        ct = e.cipherText;
        return eq(nat.decapsulate(alg, e.cipherText, a.secretKey), e.sharedSecret);
      });
      if (alg !== 'X-Wing') {
        // Implicit rejection (FIPS 203 Alg. 18): K̄ = J(z ‖ c) must be the same on both.
        t.check(alg, 'decapsulate(implicit rejection)', hint, () => {
          const bad = ct.slice();
          bad[i % bad.length]! ^= 1 << (i % 8);
          return eq(nat.decapsulate(alg, bad, a.secretKey), nob.decapsulate(alg, bad, b.secretKey));
        });
      }
      if (i % 200 === 199) { await tick(); log(`${alg}: ${i + 1}/${n}`); }
    }
    done(alg, t0);
  }

  // HPKE (src/crypto/hpke.ts) with each KEM's default suite: random messages, AADs and infos sealed on
  // one backend open on the other (one key per 50 cases: the key schedule and AEAD are what vary).
  for (const alg of [...ML_KEM, 'X-Wing'] as KemAlgorithm[]) {
    const t0 = performance.now();
    const suite = DEFAULT_SUITES[alg];
    let seed = rnd(SIZES[alg].seed);
    for (let i = 0; i < n; i++) {
      if (i % 50 === 0) seed = rnd(SIZES[alg].seed);
      const pt = rnd(i % 257), aad = rnd(i % 33), info = rnd(i % 65);
      const hint = `seed=${toHex(seed)} pt=${toHex(pt)} aad=${toHex(aad)} info=${toHex(info)}`;
      const pk = nat.keygen(alg, seed).publicKey;
      const label = `HPKE ${alg}/${suite.kdf}/${suite.aead}`;
      t.check(label, 'seal(native)→open(noble)', hint, () => {
        const c = hpkeSeal(nat, suite, pk, pt, { aad, info });
        return eq(hpkeOpen(nob, suite, (e) => nob.prepareDecapsulationKey(alg, seed).decapsulate(e), c.enc, c.ct, { aad, info }), pt);
      });
      t.check(label, 'seal(noble)→open(native)', hint, () => {
        const c = hpkeSeal(nob, suite, pk, pt, { aad, info });
        return eq(hpkeOpen(nat, suite, (e) => nat.prepareDecapsulationKey(alg, seed).decapsulate(e), c.enc, c.ct, { aad, info }), pt);
      });
      if (i % 200 === 199) { await tick(); log(`HPKE ${alg}: ${i + 1}/${n}`); }
    }
    done(`HPKE ${alg}`, t0);
  }

  // Composite ML-DSA (draft-ietf-lamps-pq-composite-sigs): a random composite secret key (noble) gives the
  // same public key on both; each signs, the other verifies; a bit flipped anywhere is rejected by both.
  for (const alg of COMPOSITE_ML_DSA) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const sk = nob.signatureKeygen(alg).secretKey;
      const msg = rnd(1 + (i % 257));
      const context = rnd(i % 3 === 0 ? 0 : (i * 7) % 256);
      const hint = `sk=${toHex(sk)} msg=${toHex(msg)} ctx=${toHex(context)}`;
      const pk = nob.signatureKeygen(alg, sk).publicKey;
      t.check(alg, 'keyGen (sk → pk)', hint, () => eq(nat.signatureKeygen(alg, sk).publicKey, pk));
      let sig: Uint8Array = new Uint8Array(0);
      t.check(alg, 'sign(native)→verify(noble)', hint, () => { sig = nat.sign(alg, sk, msg, { context }); return nob.verify(alg, pk, msg, sig, { context }); });
      t.check(alg, 'sign(noble)→verify(native)', hint, () => nat.verify(alg, pk, msg, nob.sign(alg, sk, msg, { context }), { context }));
      t.check(alg, 'verify(tampered signature) rejected by both', hint, () => {
        const bad = sig.slice();
        bad[(i * 31) % bad.length]! ^= 1 << (i % 8);
        return !nat.verify(alg, pk, msg, bad, { context }) && !nob.verify(alg, pk, msg, bad, { context });
      });
      if (i % 100 === 99) { await tick(); log(`${alg}: ${i + 1}/${n}`); }
    }
    done(alg, t0);
  }

  for (const alg of ML_DSA) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const seed = rnd(32);
      const msg = rnd(i % 257);
      const context = rnd(i % 3 === 0 ? 0 : (i * 7) % 256);
      const hint = `seed=${toHex(seed)} msg=${toHex(msg)} ctx=${toHex(context)}`;
      const a = nat.signatureKeygen(alg, seed);
      const b = nob.signatureKeygen(alg, seed);
      t.check(alg, 'keyGen', hint, () => eq(a.publicKey, b.publicKey) && eq(a.secretKey, b.secretKey));
      let sig: Uint8Array = new Uint8Array(0);
      t.check(alg, 'sign(native)→verify(noble)', hint, () => {
        sig = nat.sign(alg, a.secretKey, msg, { context });
        return nob.verify(alg, b.publicKey, msg, sig, { context });
      });
      t.check(alg, 'sign(noble)→verify(native)', hint, () => {
        const s = nob.sign(alg, b.secretKey, msg, { context });
        return nat.verify(alg, a.publicKey, msg, s, { context });
      });
      t.check(alg, 'verify(tampered signature) rejected by both', hint, () => {
        const bad = sig.slice();
        bad[(i * 31) % bad.length]! ^= 1 << (i % 8);
        return !nat.verify(alg, a.publicKey, msg, bad, { context }) && !nob.verify(alg, b.publicKey, msg, bad, { context });
      });
      if (i % 100 === 99) { await tick(); log(`${alg}: ${i + 1}/${n}`); }
    }
    done(alg, t0);
  }

  for (const alg of SLH_DSA) {
    const t0 = performance.now();
    const slow = alg.endsWith('s');
    const n3 = SIZES[alg].seed;
    for (let i = 0; i < slhN; i++) {
      const msg = rnd(1 + (i % 64));
      const context = rnd(i % 2 === 0 ? 0 : 255);
      const otherContext = context.length === 0 ? new Uint8Array([0]) : Uint8Array.from(context, (x, j) => (j === 0 ? x ^ 1 : x));
      // Native cannot derive a key from the 3n-byte seed (UnsupportedError), but it can make a random
      // key and export SK.seed‖SK.prf‖PK.seed‖PK.root: noble must derive the same PK.root from the first 3n bytes.
      const a = nat.signatureKeygen(alg);
      const hint = `sk-seed=${toHex(a.secretKey.subarray(0, n3))} msg=${toHex(msg)} ctx=${toHex(context)}`;
      const b = nob.signatureKeygen(alg, a.secretKey.slice(0, n3));
      t.check(alg, 'keyGen(native random; noble from its 3n-byte seed)', hint, () => eq(a.publicKey, b.publicKey) && eq(a.secretKey, b.secretKey));
      t.check(alg, 'sign(native)→verify(noble)', hint, () => {
        const s = nat.sign(alg, a.secretKey, msg, { context });
        return nob.verify(alg, b.publicKey, msg, s, { context }) && !nob.verify(alg, b.publicKey, msg, s, { context: otherContext });
      });
      if (!slow || i < slhSlowN) {
        t.check(alg, 'sign(noble)→verify(native)', hint, () => {
          const s = nob.sign(alg, b.secretKey, msg, { context });
          return nat.verify(alg, a.publicKey, msg, s, { context }) && !nat.verify(alg, a.publicKey, msg, s, { context: otherContext });
        });
      }
      await tick();
    }
    if (slow && slhN > slhSlowN) log(`${alg}: noble-signs direction ran ${Math.min(slhN, slhSlowN)} of ${slhN} (pure-JS "s" signing is slow; set slhSlowN)`);
    done(alg, t0);
  }

  await primitives(nat, nob, n, t, rnd);
  log(`differential total: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return [...t.rows.values()];
}

async function primitives(nat: CryptoBackend, nob: CryptoBackend, n: number, t: Tally, rnd: (l: number) => Uint8Array): Promise<void> {
  for (let i = 0; i < n; i++) {
    const data = rnd(i % 300);
    const hint = `data=${toHex(data)}`;
    t.check('X25519', 'x25519(native)=x25519(noble)', hint, () => {
      const a = nat.x25519Keygen(rnd(32)), b = nob.x25519Keygen(rnd(32));
      return eq(nat.x25519Keygen(a.secretKey).publicKey, nob.x25519Keygen(a.secretKey).publicKey)
        && eq(nat.x25519(a.secretKey, b.publicKey), nob.x25519(b.secretKey, a.publicKey));
    });
    for (const h of ['SHA3-256', 'SHA3-512', 'SHA-256', 'SHA-512'] as const) {
      t.check(h, 'hash', hint, () => eq(nat.hash(h, data), nob.hash(h, data)));
    }
    for (const h of ['SHAKE-128', 'SHAKE-256'] as const) {
      const len = 1 + (i % 200);
      t.check(h, 'hash', hint, () => eq(nat.hash(h, data, len), nob.hash(h, data, len)));
    }
    for (const h of ['SHA-256', 'SHA-512'] as const) {
      const salt = rnd(i % 40), info = rnd(i % 20), len = 1 + (i % 255);
      t.check(`HKDF-${h}`, 'hkdf', hint, () => eq(nat.hkdf(h, data, salt, info, len), nob.hkdf(h, data, salt, info, len)));
      const key = rnd(i % 150);
      t.check(`HMAC-${h}`, 'hmac', hint, () => eq(nat.hmac(h, key, data), nob.hmac(h, key, data)));
    }
    for (const alg of AEAD_ALGORITHMS) {
      const key = rnd(32), nonce = rnd(12), aad = rnd(i % 30);
      t.check(alg, 'seal(native)=seal(noble), open both ways', hint, () => {
        const s1 = nat.aeadSeal(alg, key, nonce, data, aad);
        const s2 = nob.aeadSeal(alg, key, nonce, data, aad);
        return eq(s1, s2) && eq(nob.aeadOpen(alg, key, nonce, s1, aad), data) && eq(nat.aeadOpen(alg, key, nonce, s2, aad), data);
      });
    }
    if (i % 500 === 499) await tick();
  }
}

// Direct run: `node test/kat/differential.ts [n] [slhN]` prints the rows (the KAT runner is the usual entry).
if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 50);
  const slhN = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  const rows = await runDifferential({ n, ...(slhN === undefined ? {} : { slhN }), onProgress: (m) => console.error(m) });
  for (const r of rows) console.log(`${r.algorithm.padEnd(20)} ${r.function.padEnd(48)} passed ${r.passed} failed ${r.failed} n/a ${r.notApplicable}`);
  const failed = rows.reduce((s, r) => s + r.failed, 0);
  console.log(`${rows.reduce((s, r) => s + r.passed, 0)} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}
