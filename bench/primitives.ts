/**
 * `npm run bench -- primitives [--seconds S] [--all] [--only SUBSTR]`
 *
 * ops/s of keygen / sign / verify / encaps / decaps for every algorithm on both backends in one
 * run, and the native/noble ratio. Each cell runs for about S seconds (default 0.3), and at least
 * once. noble's SLH-DSA "s" signing takes 3–70 s per signature, so those cells need --all.
 * Native sign/decaps include importing the byte-string secret key (what the service pays per call).
 */
import { getBackend, KEM_ALGORITHMS, SIGNATURE_ALGORITHMS } from '../src/crypto/index.ts';
import type { CryptoBackend } from '../src/crypto/index.ts';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const seconds = Number(opt('--seconds') ?? 0.3);
const all = args.includes('--all');
const only = opt('--only');
if (!(seconds > 0)) { console.error('--seconds must be > 0'); process.exit(2); }

function rate(f: () => unknown): number {
  const budget = seconds * 1000;
  let ops = 0;
  const t0 = performance.now();
  let el = 0;
  do { f(); ops++; el = performance.now() - t0; } while (el < budget);
  return (ops * 1000) / el;
}

const backends: CryptoBackend[] = [getBackend('native'), getBackend('noble')];
const msg = new TextEncoder().encode('benchmark message: 32 bytes long');
type Row = { alg: string; op: string; native?: number; noble?: number };
const rows: Row[] = [];
const put = (alg: string, op: string, b: string, v: number | undefined) => {
  let r = rows.find((x) => x.alg === alg && x.op === op);
  if (!r) { r = { alg, op }; rows.push(r); }
  if (v !== undefined) r[b as 'native' | 'noble'] = v;
};

for (const alg of KEM_ALGORITHMS) {
  if (only && !alg.includes(only)) continue;
  for (const b of backends) {
    const kp = b.keygen(alg);
    const e = b.encapsulate(alg, kp.publicKey);
    put(alg, 'keygen', b.name, rate(() => b.keygen(alg)));
    put(alg, 'encaps', b.name, rate(() => b.encapsulate(alg, kp.publicKey)));
    put(alg, 'decaps', b.name, rate(() => b.decapsulate(alg, e.cipherText, kp.secretKey)));
  }
}
for (const alg of SIGNATURE_ALGORITHMS) {
  if (only && !alg.includes(only)) continue;
  for (const b of backends) {
    const slowNoble = b.name === 'noble' && alg.startsWith('SLH') && alg.endsWith('s') && !all;
    const kp = b.signatureKeygen(alg);
    put(alg, 'keygen', b.name, rate(() => b.signatureKeygen(alg)));
    // For noble's slow "s" sets the signature to verify comes from native (same key bytes).
    const sig = (slowNoble ? backends[0]! : b).sign(alg, kp.secretKey, msg);
    put(alg, 'sign', b.name, slowNoble ? undefined : rate(() => b.sign(alg, kp.secretKey, msg)));
    put(alg, 'verify', b.name, rate(() => b.verify(alg, kp.publicKey, msg, sig)));
  }
  process.stderr.write(`${alg} done\n`);
}

const fmt = (v: number | undefined) => (v === undefined ? 'skipped' : v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2));
console.log(`primitives: ops/s, ~${seconds}s per cell, Node ${process.version}, OpenSSL ${process.versions.openssl}`);
console.log(`${'algorithm'.padEnd(20)} ${'op'.padEnd(7)} ${'native'.padStart(10)} ${'noble'.padStart(10)} ${'native/noble'.padStart(13)}`);
for (const r of rows) {
  const ratio = r.native !== undefined && r.noble !== undefined ? `${(r.native / r.noble).toFixed(1)}x` : '-';
  console.log(`${r.alg.padEnd(20)} ${r.op.padEnd(7)} ${fmt(r.native).padStart(10)} ${fmt(r.noble).padStart(10)} ${ratio.padStart(13)}`);
}
if (!all) console.log('noble SLH-DSA "s" sign skipped (3-70 s per signature in pure JS); pass --all to include them.');
