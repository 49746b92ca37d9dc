/**
 * Composite ML-DSA vectors of draft-ietf-lamps-pq-composite-sigs-19 (kat/SOURCES.md §5c): 21 cases,
 * each a key pair with `s` (ctx "") and `sWithContext` (ctx = the file's `ctx`) over the file's `m`.
 *
 * Per composite the service offers, on each backend:
 * - `verify s`, `verify sWithContext`; `high-S ECDSA accepted` for the cases whose ECDSA S > n/2;
 * - `keygen (sk → pk)`, `encodings` (our SPKI with the draft's OID appears verbatim in the `x5c`
 *   certificate; our PKCS#8 of `sk` equals `sk_pkcs8`; both decode back);
 * - `sign → verify` (a fresh signature from `sk`) and `cross-backend` (signed here, verified on the
 *   other backend, and the reverse: the native-vs-noble differential);
 * - negatives: a bit flipped in the ML-DSA part, in the traditional part, the other context, a
 *   truncated signature, a bit flipped in the traditional public key;
 * - `downgrade / strip / swap`: the ML-DSA component alone verified as a plain ML-DSA signature over M
 *   and over M' (empty context) under the ML-DSA public part, and given to the composite verifier;
 *   the traditional part alone; the components swapped; the ML-DSA part of `s` with the traditional
 *   part of `sWithContext` (and the reverse); an ML-DSA component of another composite of the same level.
 *   `construction`: the ML-DSA part does verify as ML-DSA over M' with the Label as context (as §3.2 says).
 * The three pure ML-DSA cases verify as plain ML-DSA; composites the service does not offer (RSA,
 * Ed448, brainpool, P-521) are n/a with the reason, counted per signature.
 */
import { COMPOSITE, SIZES, decodePkcs8, decodeSpki, encodePkcs8, encodeSpki, getBackend, isComposite, isMlDsa } from '../../src/crypto/index.ts';
import type { CompositeAlgorithm, CryptoBackend } from '../../src/crypto/index.ts';
import { CURVES, compositeLabel, compositeMessage } from '../../src/crypto/composite.ts';
import { all, diff, equal, invalid, readJson, valid, type Job, type Rec } from './lib.ts';

export const COMPOSITE_FILE = 'composite/draft-ietf-lamps-pq-composite-sigs/testvectors.json';

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const flip = (b: Uint8Array, i: number): Uint8Array => { const c = b.slice(); c[i]! ^= 0x01; return c; };
const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => { const o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; };
const contains = (hay: Uint8Array, needle: Uint8Array): boolean => Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;

/** S of a DER Ecdsa-Sig-Value (short-form lengths, as P-256/P-384 signatures are). */
function ecdsaS(der: Uint8Array): bigint {
  const rLen = der[3]!;
  const sOff = 4 + rLen;
  return BigInt(`0x${Buffer.from(der.subarray(sOff + 2, sOff + 2 + der[sOff + 1]!)).toString('hex')}`);
}

/** The components of a composite signature at the fixed ML-DSA size. */
const parts = (alg: CompositeAlgorithm, sig: Uint8Array) => {
  const n = SIZES[COMPOSITE[alg].mldsa].signature;
  return { ml: sig.subarray(0, n), trad: sig.subarray(n) };
};

export const compositeJobs = (): Job[] => [{
  id: 'composite/draft-ietf-lamps-pq-composite-sigs', kind: 'crypto', files: [COMPOSITE_FILE],
  run(ctx) {
    const b = ctx.backend;
    const other: CryptoBackend = getBackend(ctx.backendName === 'native' ? 'noble' : 'native');
    const doc = readJson<Rec>(ctx.dir, COMPOSITE_FILE);
    const tests = doc['tests'] as Rec[] | undefined;
    if (!Array.isArray(tests) || typeof doc['m'] !== 'string' || typeof doc['ctx'] !== 'string') throw new Error(`${COMPOSITE_FILE}: not the expected {m, ctx, tests} layout`);
    const m = b64(doc['m']), c = b64(doc['ctx']);
    const row = (alg: string, fn: string) => ctx.tally.row('composite', alg, fn, ctx.backendName);
    // An ML-DSA component of another composite of the same ML-DSA level, for the swap test.
    const mlOf = new Map<string, { alg: CompositeAlgorithm; ml: Uint8Array }>();
    let read = 0;
    for (const t of tests) {
      read++;
      const name = String(t['tcId']).replace(/^id-/, '');
      const pk = b64(t['pk']), sk = b64(t['sk']), s = b64(t['s']), sc = b64(t['sWithContext']);
      if (isMlDsa(name)) {
        valid(row(name, 'verify s (pure ML-DSA)'), name, () => b.verify(name, pk, m, s) || 'rejected');
        valid(row(name, 'verify sWithContext (pure ML-DSA)'), name, () => b.verify(name, pk, m, sc, { context: c }) || 'rejected');
        continue;
      }
      if (!isComposite(name)) {
        const kind = /RSA/.test(name) ? 'RSA' : /Ed448/.test(name) ? 'Ed448' : /brainpool/.test(name) ? 'brainpool ECDSA' : /P521/.test(name) ? 'ECDSA P-521' : name;
        row(name, 'verify s / sWithContext').na(`composite with an ${kind} component: not offered by the service (it offers Ed25519 and ECDSA P-256 / P-384 composites)`, 2);
        continue;
      }
      const alg = name;
      const { mldsa, trad } = COMPOSITE[alg];
      const mlPk = pk.subarray(0, SIZES[mldsa].publicKey);
      valid(row(alg, 'verify s'), alg, () => b.verify(alg, pk, m, s) || 'rejected');
      valid(row(alg, 'verify sWithContext'), alg, () => b.verify(alg, pk, m, sc, { context: c }) || 'rejected');
      if (trad !== 'Ed25519') {
        for (const [label, sig, opts] of [['s', s, {}], ['sWithContext', sc, { context: c }]] as const) {
          if (ecdsaS(parts(alg, sig).trad) > CURVES[trad].n / 2n) {
            valid(row(alg, 'high-S ECDSA accepted'), `${alg} ${label}`, () => b.verify(alg, pk, m, sig, opts) || 'a high-S ECDSA component was rejected');
          }
        }
      }
      valid(row(alg, 'keygen (sk → pk)'), alg, () => diff('pk', b.signatureKeygen(alg, sk).publicKey, pk));
      valid(row(alg, 'encodings'), alg, () => {
        const spki = encodeSpki(alg, pk);
        const p8 = encodePkcs8(alg, { secretKey: sk });
        const back = decodeSpki(spki), p8back = decodePkcs8(b64(t['sk_pkcs8']));
        return all(contains(b64(t['x5c']), spki) || 'our SPKI is not inside x5c', diff('sk_pkcs8', p8, b64(t['sk_pkcs8'])),
          back.algorithm === alg || `SPKI decodes as ${back.algorithm}`, diff('SPKI pk', back.publicKey, pk),
          p8back.algorithm === alg || `PKCS#8 decodes as ${p8back.algorithm}`, diff('PKCS#8 sk', p8back.secretKey ?? new Uint8Array(), sk));
      });
      valid(row(alg, 'sign → verify'), alg, () => b.verify(alg, pk, m, b.sign(alg, sk, m, { context: c }), { context: c }) || 'fresh signature rejected');
      valid(row(alg, 'cross-backend sign → verify'), `${alg} ${ctx.backendName}→${other.name}`,
        () => other.verify(alg, pk, m, b.sign(alg, sk, m, { context: c }), { context: c }) || `signed on ${ctx.backendName}, rejected by ${other.name}`);
      valid(row(alg, 'cross-backend sign → verify'), `${alg} ${other.name}→${ctx.backendName}`,
        () => b.verify(alg, pk, m, other.sign(alg, sk, m), {}) || `signed on ${other.name}, rejected by ${ctx.backendName}`);

      const { ml, trad: tr } = parts(alg, s);
      const neg = (fn: string, id: string, f: () => boolean) => invalid(row(alg, fn), `${alg} ${id}`, f);
      neg('reject: bit flipped in ML-DSA part', 's', () => b.verify(alg, pk, m, flip(s, 100)));
      neg('reject: bit flipped in ML-DSA part', 'sWithContext', () => b.verify(alg, pk, m, flip(sc, 1000), { context: c }));
      neg('reject: bit flipped in traditional part', 's', () => b.verify(alg, pk, m, flip(s, s.length - 1)));
      neg('reject: bit flipped in traditional part', 'sWithContext', () => b.verify(alg, pk, m, flip(sc, sc.length - 5), { context: c }));
      neg('reject: other context', 's under ctx', () => b.verify(alg, pk, m, s, { context: c }));
      neg('reject: other context', 'sWithContext under ""', () => b.verify(alg, pk, m, sc));
      neg('reject: truncated signature', 'last byte', () => b.verify(alg, pk, m, s.subarray(0, s.length - 1)));
      neg('reject: truncated signature', 'ML-DSA part only', () => b.verify(alg, pk, m, ml));
      neg('reject: malformed public key', 'traditional pk bit flipped', () => b.verify(alg, flip(pk, pk.length - 2), m, s));
      neg('reject: malformed public key', 'traditional pk zeroed', () => b.verify(alg, concat(mlPk, new Uint8Array(pk.length - mlPk.length)), m, s));

      const mPrime = compositeMessage(alg, m, undefined, (h, d) => b.hash(h, d));
      neg('downgrade / strip / swap', 'ML-DSA part as ML-DSA over M', () => b.verify(mldsa, mlPk, m, ml));
      neg('downgrade / strip / swap', 'ML-DSA part (ctx) as ML-DSA over M with ctx', () => b.verify(mldsa, mlPk, m, parts(alg, sc).ml, { context: c }));
      neg('downgrade / strip / swap', 'ML-DSA part as ML-DSA over M\' with empty ctx', () => b.verify(mldsa, mlPk, mPrime, ml));
      neg('downgrade / strip / swap', 'ML-DSA part alone to the composite verifier', () => b.verify(alg, pk, m, ml));
      neg('downgrade / strip / swap', 'traditional part alone', () => b.verify(alg, pk, m, tr));
      neg('downgrade / strip / swap', 'components swapped', () => b.verify(alg, pk, m, concat(tr, ml)));
      neg('downgrade / strip / swap', 'ML-DSA of s + traditional of sWithContext', () => b.verify(alg, pk, m, concat(ml, parts(alg, sc).trad)));
      neg('downgrade / strip / swap', 'ML-DSA of sWithContext + traditional of s (under ctx)', () => b.verify(alg, pk, m, concat(parts(alg, sc).ml, tr), { context: c }));
      const peer = mlOf.get(mldsa);
      if (peer) neg('downgrade / strip / swap', `ML-DSA part of ${peer.alg}`, () => b.verify(alg, pk, m, concat(peer.ml, tr)));
      else mlOf.set(mldsa, { alg, ml });
      valid(row(alg, 'construction: ML-DSA part = ML-DSA(M\', ctx = Label)'), alg,
        () => (b.verify(mldsa, mlPk, mPrime, ml, { context: compositeLabel(alg) }) && !equal(mPrime, m)) || 'ML-DSA part does not verify over M\' with the Label');
    }
    ctx.progress(`${read} cases (${tests.filter((t) => isComposite(String(t['tcId']).replace(/^id-/, ''))).length} offered composites)`);
    return read;
  },
}];
