/**
 * Project Wycheproof (C2SP/wycheproof, testvectors_v1) jobs, every invalid case included.
 * 'acceptable' results are resolved by their flags (kat/SOURCES.md §2).
 */
import { AEAD_ALGORITHMS, type AeadAlgorithm, type MlDsaAlgorithm } from '../../src/crypto/algorithms.ts';
import type { CryptoBackend } from '../../src/crypto/backend.ts';
import { muFromTr, trFromPk } from './acvp.ts';
import {
  accepted, all, concat, diff, fromHex, hasFlag, invalid, isTyped, isUnsupported, loadWycheproof, sampled, valid,
  type Job, type JobContext, type Row, type WpGroup, type WpTest,
} from './lib.ts';

const wp = (name: string): string => `wycheproof/testvectors_v1/${name}`;

/** Runs every (sampled) test of every group, counting what was read. */
function eachTest(ctx: JobContext, name: string, fn: (g: WpGroup, t: WpTest) => void): number {
  const f = loadWycheproof(ctx.dir, name);
  let read = 0;
  for (const g of f.testGroups) {
    read += g.tests.length;
    for (const t of sampled(g.tests, ctx.sample)) fn(g, t);
  }
  return read;
}

// ---------- X25519 ----------

function x25519(): Job {
  const name = 'x25519_test.json';
  return {
    id: 'wycheproof/x25519', kind: 'crypto', files: [wp(name)],
    run(ctx) {
      const row = ctx.tally.row('wycheproof', 'X25519', 'XdhComp', ctx.backendName);
      return eachTest(ctx, name, (_g, t) => {
        const op = (): Uint8Array => ctx.backend.x25519(fromHex(t['private']), fromHex(t['public']));
        // 'acceptable' by flag: an all-zero shared secret must be refused (CryptoBackend contract,
        // RFC 7748 §6.1 check); twist and non-canonical points must give the RFC 7748 answer.
        if (t.result === 'invalid' || hasFlag(t, 'ZeroSharedSecret')) invalid(row, t.tcId, () => accepted(op));
        else valid(row, t.tcId, () => diff('shared', op(), fromHex(t['shared'])));
      });
    },
  };
}

// ---------- HKDF ----------

function hkdf(hash: 'SHA-256' | 'SHA-512'): Job {
  const name = `hkdf_${hash === 'SHA-256' ? 'sha256' : 'sha512'}_test.json`;
  return {
    id: `wycheproof/hkdf-${hash.toLowerCase()}`, kind: 'crypto', files: [wp(name)],
    run(ctx) {
      const row = ctx.tally.row('wycheproof', `HKDF-${hash}`, 'derive', ctx.backendName);
      return eachTest(ctx, name, (_g, t) => {
        const op = (): Uint8Array => ctx.backend.hkdf(hash, fromHex(t['ikm']), fromHex(t['salt']), fromHex(t['info']), t['size'] as number);
        if (t.result === 'valid') valid(row, t.tcId, () => diff('okm', op(), fromHex(t['okm'])));
        else invalid(row, t.tcId, () => accepted(op));
      });
    },
  };
}

// ---------- AEAD ----------

function aead(name: string, label: string, pick: (g: WpGroup) => AeadAlgorithm | string): Job {
  return {
    id: `wycheproof/${label.toLowerCase()}`, kind: 'crypto', files: [wp(name)],
    run(ctx) {
      const b = ctx.backend;
      return eachTest(ctx, name, (g, t) => {
        const alg = pick(g);
        const offered = (AEAD_ALGORITHMS as readonly string[]).includes(alg);
        const seal = ctx.tally.row('wycheproof', alg, 'seal', ctx.backendName);
        const open = ctx.tally.row('wycheproof', alg, 'open', ctx.backendName);
        if (!offered) {
          const why = `${alg} is not an AeadAlgorithm of CryptoBackend`;
          if (t.result === 'valid') seal.na(why);
          open.na(why);
          return;
        }
        const a = alg as AeadAlgorithm;
        const key = fromHex(t['key']);
        const iv = fromHex(t['iv']);
        const aad = fromHex(t['aad']);
        const msg = fromHex(t['msg']);
        const sealed = concat(fromHex(t['ct']), fromHex(t['tag']));
        // The backends may refuse nonces other than the 96-bit size the service generates (AES-GCM with
        // a 64/128-bit IV is legal in SP 800-38D, but a documented policy here): notApplicable, not failure.
        const ivPolicy = (e: unknown): string | undefined =>
          isTyped(e) && iv.length !== 12 ? `policy: ${a} nonce other than 96 bits refused (legal per spec)` : undefined;
        if (t.result === 'valid' || t.result === 'acceptable') {
          valid(seal, t.tcId, () => diff('ct‖tag', b.aeadSeal(a, key, iv, msg, aad), sealed), ivPolicy);
          valid(open, t.tcId, () => diff('msg', b.aeadOpen(a, key, iv, sealed, aad), msg), ivPolicy);
        } else {
          invalid(open, t.tcId, () => accepted(() => b.aeadOpen(a, key, iv, sealed, aad)));
        }
      });
    },
  };
}

// ---------- ML-KEM ----------

const KEM_SETS = [['512', 'ML-KEM-512'], ['768', 'ML-KEM-768'], ['1024', 'ML-KEM-1024']] as const;

function mlKem(): Job[] {
  return KEM_SETS.flatMap(([n, alg]): Job[] => [
    {
      id: `wycheproof/mlkem_${n}_test`, kind: 'crypto', files: [wp(`mlkem_${n}_test.json`)],
      run(ctx) {
        const b = ctx.backend;
        const row = ctx.tally.row('wycheproof', alg, 'keygen+decaps', ctx.backendName);
        return eachTest(ctx, `mlkem_${n}_test.json`, (_g, t) => {
          if (t.result === 'valid') {
            valid(row, t.tcId, () => {
              const kp = b.keygen(alg, fromHex(t['seed']));
              return all(diff('ek', kp.publicKey, fromHex(t['ek'])), diff('K', b.decapsulate(alg, fromHex(t['c']), kp.secretKey), fromHex(t['K'])));
            });
          } else {
            // seed or ciphertext of the wrong length: keygen or decapsulate must refuse
            invalid(row, t.tcId, () => accepted(() => b.decapsulate(alg, fromHex(t['c']), b.keygen(alg, fromHex(t['seed'])).secretKey)));
          }
        });
      },
    },
    {
      id: `wycheproof/mlkem_${n}_encaps`, kind: 'crypto', files: [wp(`mlkem_${n}_encaps_test.json`)],
      run(ctx) {
        const b = ctx.backend;
        const row = ctx.tally.row('wycheproof', alg, 'encaps', ctx.backendName);
        return eachTest(ctx, `mlkem_${n}_encaps_test.json`, (_g, t) => {
          if (t.result === 'valid') {
            valid(row, t.tcId, () => {
              const r = b.encapsulate(alg, fromHex(t['ek']), fromHex(t['m']));
              return all(diff('c', r.cipherText, fromHex(t['c'])), diff('K', r.sharedSecret, fromHex(t['K'])));
            });
          } else {
            // The rejection is about ek (modulus, length), so check it without forcing m (which OpenSSL can't take).
            invalid(row, t.tcId, () => accepted(() => b.encapsulate(alg, fromHex(t['ek']))));
          }
        });
      },
    },
    {
      id: `wycheproof/mlkem_${n}_keygen_seed`, kind: 'crypto', files: [wp(`mlkem_${n}_keygen_seed_test.json`)],
      run(ctx) {
        const row = ctx.tally.row('wycheproof', alg, 'keygen seed', ctx.backendName);
        return eachTest(ctx, `mlkem_${n}_keygen_seed_test.json`, (_g, t) => {
          const run = () => ctx.backend.keygen(alg, fromHex(t['seed']));
          if (t.result === 'valid') valid(row, t.tcId, () => { const kp = run(); return all(diff('ek', kp.publicKey, fromHex(t['ek'])), diff('dk', kp.secretKey, fromHex(t['dk']))); });
          else invalid(row, t.tcId, () => accepted(run));
        });
      },
    },
    {
      id: `wycheproof/mlkem_${n}_semi_expanded_decaps`, kind: 'crypto', files: [wp(`mlkem_${n}_semi_expanded_decaps_test.json`)],
      run(ctx) {
        const row = ctx.tally.row('wycheproof', alg, 'decaps expanded', ctx.backendName);
        return eachTest(ctx, `mlkem_${n}_semi_expanded_decaps_test.json`, (_g, t) => {
          const run = () => ctx.backend.decapsulate(alg, fromHex(t['c']), fromHex(t['dk']));
          if (t.result === 'valid') valid(row, t.tcId, () => diff('K', run(), fromHex(t['K'])));
          else invalid(row, t.tcId, () => accepted(run));
        });
      },
    },
  ]);
}

// ---------- ML-DSA ----------

const DSA_SETS = [['44', 'ML-DSA-44'], ['65', 'ML-DSA-65'], ['87', 'ML-DSA-87']] as const;

/**
 * Wycheproof doc/mldsa.md: no `rnd` = deterministic (rnd = 0^32); flag Internal = only μ is given;
 * absent ctx = empty context.
 */
function mlDsaSign(b: CryptoBackend, alg: MlDsaAlgorithm, sk: Uint8Array, t: WpTest, hedgedFallback = false): Uint8Array {
  const opts = hedgedFallback ? {} : t['rnd'] !== undefined ? { random: fromHex(t['rnd']) } : { deterministic: true };
  if (t['msg'] === undefined) return b.signMu(alg, sk, fromHex(t['mu']), opts);
  return b.sign(alg, sk, fromHex(t['msg']), { context: fromHex(t['ctx'] ?? ''), ...opts });
}

function mlDsaVerifyExpected(b: CryptoBackend, alg: MlDsaAlgorithm, pk: Uint8Array, t: WpTest): boolean {
  const sig = fromHex(t['sig']);
  if (t['msg'] === undefined) return b.verifyMu(alg, pk, fromHex(t['mu']), sig);
  return b.verify(alg, pk, fromHex(t['msg']), sig, { context: fromHex(t['ctx'] ?? '') });
}

/** Invalid sign case: must be rejected; if the exact mode is unsupported, ask for a hedged signature instead. */
function signRejected(row: Row, b: CryptoBackend, alg: MlDsaAlgorithm, sk: () => Uint8Array, t: WpTest): void {
  invalid(row, t.tcId, () => {
    try {
      return accepted(() => mlDsaSign(b, alg, sk(), t));
    } catch (e) {
      if (!isUnsupported(e)) throw e;
      return accepted(() => mlDsaSign(b, alg, sk(), t, true));
    }
  });
}

function mlDsa(): Job[] {
  return DSA_SETS.flatMap(([n, alg]): Job[] => [
    {
      id: `wycheproof/mldsa_${n}_sign_seed`, kind: 'crypto', files: [wp(`mldsa_${n}_sign_seed_test.json`)],
      run(ctx) {
        const b = ctx.backend;
        const row = ctx.tally.row('wycheproof', alg, 'sign seed', ctx.backendName);
        return eachTest(ctx, `mldsa_${n}_sign_seed_test.json`, (g, t) => {
          const keys = () => b.signatureKeygen(alg, fromHex(g['privateSeed']));
          if (t.result !== 'valid') { signRejected(row, b, alg, () => keys().secretKey, t); return; }
          let pk: Uint8Array | undefined;
          const outcome = valid(row, t.tcId, () => {
            const kp = keys();
            pk = kp.publicKey;
            return all(diff('publicKey', kp.publicKey, fromHex(g['publicKey'])), diff('sig', mlDsaSign(b, alg, kp.secretKey, t), fromHex(t['sig'])));
          });
          if (outcome === 'na' && pk) verifyFallback(ctx, alg, 'sign seed', pk, t);
        });
      },
    },
    {
      id: `wycheproof/mldsa_${n}_sign_noseed`, kind: 'crypto', files: [wp(`mldsa_${n}_sign_noseed_test.json`)],
      run(ctx) {
        const b = ctx.backend;
        const row = ctx.tally.row('wycheproof', alg, 'sign noseed', ctx.backendName);
        return eachTest(ctx, `mldsa_${n}_sign_noseed_test.json`, (g, t) => {
          const sk = () => fromHex(g['privateKey']);
          if (t.result !== 'valid') { signRejected(row, b, alg, sk, t); return; }
          const outcome = valid(row, t.tcId, () => diff('sig', mlDsaSign(b, alg, sk(), t), fromHex(t['sig'])));
          if (outcome === 'na' && g['publicKey']) verifyFallback(ctx, alg, 'sign noseed', fromHex(g['publicKey']), t);
        });
      },
    },
    {
      id: `wycheproof/mldsa_${n}_verify`, kind: 'crypto', files: [wp(`mldsa_${n}_verify_test.json`)],
      run(ctx) {
        const b = ctx.backend;
        const row = ctx.tally.row('wycheproof', alg, 'verify', ctx.backendName);
        return eachTest(ctx, `mldsa_${n}_verify_test.json`, (g, t) => {
          const run = () => mlDsaVerifyExpected(b, alg, fromHex(g['publicKey']), t);
          if (t.result === 'valid') valid(row, t.tcId, () => (run() ? true : 'valid signature rejected'));
          else invalid(row, t.tcId, run);
        });
      },
    },
  ]);
}

/** A signature the backend cannot reproduce (no deterministic / explicit-rnd signing) must still verify. */
function verifyFallback(ctx: JobContext, alg: MlDsaAlgorithm, fn: string, pk: Uint8Array, t: WpTest): void {
  const b = ctx.backend;
  const row = ctx.tally.row('wycheproof', alg, `${fn} →verify`, ctx.backendName);
  valid(row, t.tcId, () => {
    if (t['mu'] !== undefined && t['msg'] !== undefined) {
      // Cross-check the published μ against FIPS 204 Algorithm 2 line 10's M′ = 0 ‖ |ctx| ‖ ctx ‖ M.
      const ctxBytes = fromHex(t['ctx'] ?? '');
      const mu = muFromTr(b, trFromPk(b, pk), concat(Uint8Array.of(0, ctxBytes.length), ctxBytes, fromHex(t['msg'])));
      const d = diff('mu', mu, fromHex(t['mu']));
      if (d !== true) return d;
    }
    return mlDsaVerifyExpected(b, alg, pk, t) ? true : 'expected signature rejected';
  });
}

export const wycheproofJobs = (): Job[] => [
  x25519(), hkdf('SHA-256'), hkdf('SHA-512'),
  aead('aes_gcm_test.json', 'aes-gcm', (g) => `AES-${g['keySize']}-GCM`),
  aead('chacha20_poly1305_test.json', 'chacha20-poly1305', () => 'ChaCha20-Poly1305'),
  aead('xchacha20_poly1305_test.json', 'xchacha20-poly1305', () => 'XChaCha20-Poly1305'),
  ...mlKem(), ...mlDsa(),
];
