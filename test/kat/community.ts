/**
 * Community vector sets: C2SP CCTV (ML-KEM modulus check, ML-DSA accumulated hash) and X-Wing
 * (draft-connolly-cfrg-xwing-kem and the CFRG concrete-hybrid-KEMs `mlkem768_x25519` set).
 */
import type { MlDsaAlgorithm, MlKemAlgorithm } from '../../src/crypto/algorithms.ts';
import { accepted, all, concat, diff, fromHex, invalid, readGzipLines, readJson, sampled, valid, type Job, type Rec } from './lib.ts';

// ---------- CCTV ML-KEM modulus ----------

function cctvModulus(): Job {
  const sets: Array<[MlKemAlgorithm, string]> = (['512', '768', '1024'] as const).map((n) => [`ML-KEM-${n}`, `ml-kem/cctv/modulus/ML-KEM-${n}.txt.gz`]);
  return {
    id: 'cctv/ml-kem-modulus', kind: 'crypto', files: sets.map(([, f]) => f),
    run(ctx) {
      let read = 0;
      for (const [alg, file] of sets) {
        // Every line is an encapsulation key with one coefficient in [q, 2^12−1]: FIPS 203 §7.2 must reject it.
        const lines = readGzipLines(ctx.dir, file);
        read += lines.length;
        const row = ctx.tally.row('cctv', alg, 'encapsulate rejects ek ≥ q', ctx.backendName);
        sampled(lines, ctx.sample).forEach((line, i) => invalid(row, `line ${i + 1}`, () => accepted(() => ctx.backend.encapsulate(alg, fromHex(line)))));
      }
      return read;
    },
  };
}

// ---------- CCTV ML-DSA accumulated ----------

function cctvAccumulated(): Job {
  const file = 'ml-dsa/cctv-accumulated/mldsa_accumulated.json';
  const N = 100;
  return {
    id: 'cctv/ml-dsa-accumulated', kind: 'crypto', files: [file],
    run(ctx) {
      const b = ctx.backend;
      const doc = readJson<Rec>(ctx.dir, file);
      const results = doc['results'] as Record<MlDsaAlgorithm, Rec>;
      let read = 0;
      for (const alg of Object.keys(results) as MlDsaAlgorithm[]) {
        const want = results[alg][`iterations_${N}`] as string | undefined;
        if (!want) continue;
        read++;
        const row = ctx.tally.row('cctv', alg, `accumulated ${N}`, ctx.backendName);
        ctx.progress(`${alg} accumulated ${N}`);
        // README procedure: seeds from one SHAKE128("") stream; absorb pk ‖ sig of deterministic
        // ML-DSA.Sign(sk, M = "", ctx = "") for each; result = SHAKE128(accumulated, 32).
        valid(row, alg, () => {
          const stream = b.hash('SHAKE-128', new Uint8Array(0), 32 * N);
          const absorbed: Uint8Array[] = [];
          const empty = new Uint8Array(0);
          for (let i = 0; i < N; i++) {
            const kp = b.signatureKeygen(alg, stream.subarray(32 * i, 32 * i + 32));
            const sig = b.sign(alg, kp.secretKey, empty, { deterministic: true });
            if (!b.verify(alg, kp.publicKey, empty, sig)) return `iteration ${i}: own signature rejected`;
            absorbed.push(kp.publicKey, sig);
          }
          return diff('accumulated hash', b.hash('SHAKE-128', concat(...absorbed), 32), fromHex(want));
        });
      }
      return read;
    },
  };
}

// ---------- X-Wing ----------

interface XwingVector { seed: Uint8Array; pk: Uint8Array; sk?: Uint8Array; eseed: Uint8Array; ct: Uint8Array; ss: Uint8Array }

function xwing(id: string, file: string, source: string, parse: (doc: any) => XwingVector[]): Job {
  return {
    id, kind: 'crypto', files: [file],
    run(ctx) {
      const b = ctx.backend;
      const vectors = parse(readJson(ctx.dir, file));
      const row = (fn: string) => ctx.tally.row('xwing', 'X-Wing', `${source} ${fn}`, ctx.backendName);
      sampled(vectors, ctx.sample).forEach((v, i) => {
        valid(row('keygen'), i, () => {
          const kp = b.keygen('X-Wing', v.seed);
          // draft -06+: the decapsulation key IS the 32-byte seed
          return all(diff('pk', kp.publicKey, v.pk), v.sk ? diff('sk', kp.secretKey, v.sk) : true);
        });
        valid(row('encaps (eseed)'), i, () => {
          const r = b.encapsulate('X-Wing', v.pk, v.eseed);
          return all(diff('ct', r.cipherText, v.ct), diff('ss', r.sharedSecret, v.ss));
        });
        valid(row('decaps'), i, () => diff('ss', b.decapsulate('X-Wing', v.ct, v.sk ?? v.seed), v.ss));
      });
      return vectors.length;
    },
  };
}

export const communityJobs = (): Job[] => [
  cctvModulus(),
  cctvAccumulated(),
  xwing('xwing/draft-connolly', 'xwing/draft-connolly-cfrg-xwing-kem/test-vectors.json', 'draft',
    (doc: Rec[]) => doc.map((v) => ({ seed: fromHex(v['seed']), sk: fromHex(v['sk']), pk: fromHex(v['pk']), eseed: fromHex(v['eseed']), ct: fromHex(v['ct']), ss: fromHex(v['ss']) }))),
  xwing('xwing/concrete-hybrid', 'xwing/draft-irtf-cfrg-concrete-hybrid-kems/test-vectors.json', 'concrete mlkem768_x25519',
    (doc: Rec) => (doc['mlkem768_x25519'] as Rec[]).map((v) => ({
      seed: fromHex(v['seed']), sk: fromHex(v['decapsulation_key']), pk: fromHex(v['encapsulation_key']),
      eseed: fromHex(v['randomness']), ct: fromHex(v['ciphertext']), ss: fromHex(v['shared_secret']),
    }))),
];
