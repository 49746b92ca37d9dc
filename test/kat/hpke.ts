/**
 * draft-ietf-hpke-pq test vectors (kat/SOURCES.md §5b): 13 base-mode suites, each with DeriveKeyPair,
 * the derandomised encapsulation, the key schedule, 10 encryptions and 5 exports.
 *
 * Per suite with a KEM the backends offer (ML-KEM-512/768/1024, X-Wing), on each backend:
 * - `DeriveKeyPair`: DeriveKeyPair(ikmR) = (skRm, pkRm);
 * - `decap+key schedule`: Decap(enc, skRm) = shared_secret, then key, base_nonce, exporter_secret;
 * - `encap (ikmE)`: SetupBaseS with ikmE as the encapsulation randomness reproduces enc (n/a on a
 *   backend that cannot take given randomness: OpenSSL);
 * - `open` / `seal`: every encryption opens at its sequence number, and sealing pt at that number
 *   (on the recipient's context, which holds the same key and nonce) reproduces ct;
 * - `export`: every exported value.
 * A suite whose KEM the service does not offer (P-256/P-384 hybrids, DHKEMs) is n/a with that reason.
 */
import {
  HPKE_AEAD_IDS, HPKE_KDF_IDS, HPKE_KEM_IDS, HpkeContext, deriveKeyPair, keySchedule, setupBaseR, setupBaseS, type HpkeSuite,
} from '../../src/crypto/hpke.ts';
import type { KemAlgorithm } from '../../src/crypto/algorithms.ts';
import { all, diff, fromHex, readJson, valid, type Job, type Rec } from './lib.ts';

export const HPKE_FILE = 'hpke/draft-ietf-hpke-pq/test-vectors.json';

const invert = <K extends string>(m: Record<K, number>): Map<number, K> => new Map(Object.entries(m).map(([k, v]) => [v as number, k as K]));
const KEMS = invert(HPKE_KEM_IDS);
const KDFS = invert(HPKE_KDF_IDS);
const AEADS = invert(HPKE_AEAD_IDS);
const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

export const hpkeJobs = (): Job[] => [{
  id: 'hpke/draft-ietf-hpke-pq', kind: 'crypto', files: [HPKE_FILE],
  run(ctx) {
    const b = ctx.backend;
    const vectors = readJson<Rec[]>(ctx.dir, HPKE_FILE);
    let read = 0;
    for (const v of vectors) {
      const kem = KEMS.get(v['kem_id']);
      const kdf = KDFS.get(v['kdf_id']);
      const aead = AEADS.get(v['aead_id']);
      const label = `${kem ?? hex4(v['kem_id'])}/${kdf ?? hex4(v['kdf_id'])}/${aead ?? hex4(v['aead_id'])}`;
      const row = (fn: string) => ctx.tally.row('hpke-pq', label, fn, ctx.backendName);
      const encs = v['encryptions'] as Rec[];
      const exps = v['exports'] as Rec[];
      read += 3 + encs.length + exps.length;
      if (v['mode'] !== 0) throw new Error(`vector mode ${v['mode']}: only base-mode vectors are expected here`);
      if (!kem || !kdf || !aead) {
        const why = `KEM ${hex4(v['kem_id'])} is not a CryptoBackend KEM (the service offers ML-KEM-512/768/1024 and X-Wing)`;
        for (const fn of ['DeriveKeyPair', 'decap+key schedule', 'encap (ikmE)']) row(fn).na(why);
        row('open').na(why, encs.length); row('seal').na(why, encs.length); row('export').na(why, exps.length);
        continue;
      }
      const suite: HpkeSuite = { kem, kdf, aead };
      const id = `${label} ${v['suite_id']}`;
      const skRm = fromHex(v['skRm']), pkRm = fromHex(v['pkRm']), enc = fromHex(v['enc']), info = fromHex(v['info']);
      valid(row('DeriveKeyPair'), id, () => {
        const kp = deriveKeyPair(b, kem as KemAlgorithm, fromHex(v['ikmR']));
        return all(diff('skRm', kp.seed, skRm), diff('pkRm', kp.publicKey, pkRm), diff('pk(skRm)', b.keygen(kem, skRm).publicKey, pkRm));
      });
      valid(row('decap+key schedule'), id, () => {
        const ss = b.prepareDecapsulationKey(kem, skRm).decapsulate(enc);
        const ks = keySchedule(b, suite, ss, info);
        return all(diff('shared_secret', ss, fromHex(v['shared_secret'])), diff('key', ks.key, fromHex(v['key'])),
          diff('base_nonce', ks.baseNonce, fromHex(v['base_nonce'])), diff('exporter_secret', ks.exporterSecret, fromHex(v['exporter_secret'])));
      });
      valid(row('encap (ikmE)'), id, () => diff('enc', setupBaseS(b, suite, pkRm, info, fromHex(v['ikmE'])).enc, enc));

      const key = b.prepareDecapsulationKey(kem, skRm);
      const recipient = setupBaseR(b, suite, (e) => key.decapsulate(e), enc, info);
      const sealer = new HpkeContext(b, suite, keySchedule(b, suite, key.decapsulate(enc), info));
      encs.forEach((e, i) => {
        const aad = fromHex(e['aad']), pt = fromHex(e['pt']), ct = fromHex(e['ct']);
        valid(row('open'), `${id} encryption ${i}`, () => all(diff('nonce', recipient.nonce(), fromHex(e['nonce'])), diff('pt', recipient.open(ct, aad), pt)));
        valid(row('seal'), `${id} encryption ${i}`, () => diff('ct', sealer.seal(pt, aad), ct));
      });
      exps.forEach((e, i) => {
        valid(row('export'), `${id} export ${i}`, () => diff('exported_value', recipient.export(fromHex(e['exporter_context']), e['L']), fromHex(e['exported_value'])));
      });
      key.destroy();
    }
    return read;
  },
}];
